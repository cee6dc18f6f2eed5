"""Speed of the G-code reader against pygcode and gcodeparser, in one run.

Input: LesPaul_Body_Complete.nc (SHARED_DATA/gcode, ~19k lines, inch program with a nested
comment on line 33, so the lenient ``nested_comments="allow"`` is used) repeated to at least
1,000,000 lines. Prints lines/s of:

- workbench ``read`` (auto engine = fast engine on this program), whole text, best of N runs;
- workbench general engine (per-line state machine), measured on a slice, extrapolated;
- pygcode (``pygcode.Line`` per line), measured on a slice (default 20k lines), extrapolated;
- gcodeparser (``GcodeParser(text)``), measured on a slice, extrapolated;

and the ratios workbench / baseline. Also prints per shared file: lines, moves, read time.

With ``--baseline-ref REF`` (a git revision, e.g. ``HEAD``) the fast engine of that revision
(``workbench/gcode/_fast.py`` as stored in git, loaded next to the current package) is timed
in the same run on the same text, and its table is checked equal to the current one: the
before/after figure of a change to the fast engine. The machine may be shared: every figure
is the best of ``--repeat`` runs, and only ratios within one run are meaningful.

Usage: ``python benchmarks/bench_reader.py [--target-lines 1000000] [--slice 20000]
[--repeat 5] [--baseline-ref HEAD]``
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import time
from pathlib import Path
from types import ModuleType

import pandas as pd

from workbench.gcode import _fast
from workbench.gcode.reader import read, read_file
from workbench.paths import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]


def _fast_module_at(ref: str) -> ModuleType:
    """workbench/gcode/_fast.py as stored at git revision ``ref``, imported as a sibling
    module of the current one (so its relative imports resolve to the current package)."""
    src = subprocess.run(["git", "show", f"{ref}:workbench/gcode/_fast.py"], cwd=REPO,
                         check=True, capture_output=True, text=True).stdout
    name = "workbench.gcode._fast_baseline"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "workbench.gcode"
    exec(compile(src, f"{ref}:workbench/gcode/_fast.py", "exec"), mod.__dict__)
    return mod


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
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline-ref", default=None,
                    help="git revision whose fast engine is timed too (before/after)")
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
    base = None
    if args.baseline_ref:
        old = _fast_module_at(args.baseline_ref)
        data = big.encode()
        kw = dict(nested_comments="allow")
        new_df = _fast.read_fast(big, data, **kw)
        old_df = old.read_fast(big, data, **kw)
        assert new_df is not None and old_df is not None
        pd.testing.assert_frame_equal(new_df[0], old_df[0], check_exact=True)
        assert new_df[1] == old_df[1]
        now = _rate(lambda: _fast.read_fast(big, data, **kw), nbig, args.repeat)
        base = _rate(lambda: old.read_fast(big, data, **kw), nbig, max(1, args.repeat // 2))
        print(f"fast engine alone, current:       {now:12,.0f} lines/s")
        print(f"fast engine alone, {args.baseline_ref:14s}: {base:12,.0f} lines/s "
              f"(same table: checked)")
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
    print(f"  workbench fast / general     = {wb / gen:8.1f}x")
    if base is not None:
        print(f"  fast engine current / {args.baseline_ref} = {now / base:8.1f}x")
    print(f"  goal >= 1,000,000 lines/s: {'met' if wb >= 1e6 else 'NOT met'} ({wb:,.0f})")


if __name__ == "__main__":
    main()
