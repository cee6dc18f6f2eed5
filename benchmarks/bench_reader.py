"""Speed of the G-code reader against pygcode and gcodeparser, in one run.

Input: LesPaul_Body_Complete.nc (SHARED_DATA/gcode, ~19k lines, inch program with a nested
comment on line 33, so the lenient ``nested_comments="allow"`` is used) repeated to at least
1,000,000 lines. Prints lines/s of:

- workbench ``read`` (auto engine = fast engine on this program), whole text, best of N runs;
- workbench general engine (per-line state machine), measured on a slice, extrapolated;
- pygcode (``pygcode.Line`` per line), measured on a slice (default 20k lines), extrapolated;
- gcodeparser (``GcodeParser(text)``), measured on a slice, extrapolated;

and the ratios workbench / baseline. Also prints per shared file: lines, moves, read time.

Usage: ``python benchmarks/bench_reader.py [--target-lines 1000000] [--slice 20000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from workbench.gcode.reader import read, read_file
from workbench.paths import SHARED_DATA


def _rate(fn, nlines: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return nlines / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target-lines", type=int, default=1_000_000)
    ap.add_argument("--slice", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    src = SHARED_DATA / "gcode" / "LesPaul_Body_Complete.nc"
    if not src.is_file():
        raise SystemExit(f"shared data not found: {src}")

    print("per shared file (auto engine; LesPaul with nested_comments='allow'):")
    for f in sorted((SHARED_DATA / "gcode").iterdir()) + sorted((SHARED_DATA / "groundtruth" / "fed").iterdir()):
        kw = {"nested_comments": "allow"} if f.name.startswith("LesPaul") else {}
        t = time.perf_counter()
        tp = read_file(f, **kw)
        dt = time.perf_counter() - t
        print(f"  {f.parent.name}/{f.name:32s} {tp.meta['line_count']:7d} lines {len(tp.moves):7d} moves "
              f"{dt * 1000:8.1f} ms  engine={tp.meta['engine']}")

    text = src.read_text()
    if not text.endswith("\n"):
        text += "\n"
    per = text.count("\n")
    copies = -(-args.target_lines // per)
    big = text * copies
    nbig = big.count("\n")
    lines = big.split("\n")[:-1]
    sl = "\n".join(lines[: args.slice]) + "\n"
    nsl = min(args.slice, nbig)
    print(f"\ninput: {src.name} x {copies} = {nbig:,} lines, {len(big) / 1e6:.1f} MB")

    tp = read(big, nested_comments="allow")
    print(f"workbench read: engine={tp.meta['engine']}, {len(tp.moves):,} moves")
    wb = _rate(lambda: read(big, nested_comments="allow"), nbig, args.repeat)
    print(f"workbench read (fast engine, whole {nbig:,} lines): {wb:12,.0f} lines/s")
    gen = _rate(lambda: read(sl, nested_comments="allow", engine="general"), nsl, 1)
    print(f"workbench general engine ({nsl:,}-line slice, extrapolated): {gen:12,.0f} lines/s")

    import pygcode

    failed = [0]

    def run_pygcode() -> None:
        failed[0] = 0
        for ln in sl.split("\n"):
            try:
                pygcode.Line(ln)
            except Exception:  # pygcode rejects line 33's nested comment; count and go on
                failed[0] += 1

    pg = _rate(run_pygcode, nsl, 1)
    print(f"pygcode.Line per line ({nsl:,}-line slice, extrapolated): {pg:12,.0f} lines/s "
          f"({failed[0]} lines rejected)")

    import warnings

    from gcodeparser import GcodeParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        gp = _rate(lambda: GcodeParser(sl), nsl, 1)
    print(f"gcodeparser.GcodeParser ({nsl:,}-line slice, extrapolated): {gp:12,.0f} lines/s")

    print("\nratios (same run):")
    print(f"  workbench fast / pygcode     = {wb / pg:8.1f}x")
    print(f"  workbench fast / gcodeparser = {wb / gp:8.1f}x")
    print(f"  workbench general / pygcode  = {gen / pg:8.1f}x")
    print(f"  goal >= 1,000,000 lines/s: {'met' if wb >= 1e6 else 'NOT met'} ({wb:,.0f})")


if __name__ == "__main__":
    main()
