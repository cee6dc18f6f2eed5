"""``workbench gcode``: read a program, estimate its cycle time on a machine.

- ``workbench gcode read FILE [--json]``: summary of the program as the reader sees it (source
  lines, moves by code, bounds, tools, feeds).
- ``workbench gcode estimate FILE (--machine ID|profile.json | --grbl-settings dump.txt)
  [--mode grbl|scurve] [--lookahead N] [--json] [--top N]``: cycle time (h:mm:ss and s), time
  and count by limit, cutting vs rapid time and the slowest source lines, planned the way the
  machine's controller plans (:func:`workbench.machine.plan_motion`).

``--nested allow`` reads programs whose comments contain ``(`` (lenient; real controllers end the
comment at the first ``)``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import InputError, MachineProfileError
from ..toolpath import LIMITS, Toolpath


def _read(args: argparse.Namespace) -> Toolpath:
    from . import read_file
    kw: dict[str, Any] = {}
    if getattr(args, "nested", None):
        kw["nested_comments"] = args.nested
    return read_file(args.file, **kw)


def _table(rows: list[tuple[str, ...]], right: set[int] | None = None) -> str:
    right = right or set()
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        out.append("  ".join(c.rjust(w[i]) if i in right else c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
    return "\n".join(out)


def read_summary(tp: Toolpath, path: str | Path | None = None) -> dict[str, Any]:
    """Summary of a toolpath: source lines, moves by code, bounds of the move end points (mm),
    tools, feeds (mm/min)."""
    mv = tp.moves
    lines = None
    if path is not None:
        try:
            with open(path, "rb") as fh:
                lines = sum(1 for _ in fh)
        except OSError:
            lines = None
    motion = mv[mv["code"].isin(["G0", "G1", "G2", "G3"])]
    bounds = None
    if len(motion):
        xyz = motion[["x", "y", "z"]].to_numpy(dtype=float)
        lo, hi = xyz.min(axis=0), xyz.max(axis=0)
        bounds = {a: [float(lo[k]), float(hi[k])] for k, a in enumerate("xyz")}
    feeds = mv.loc[mv["code"].isin(["G1", "G2", "G3"]), "feed"].dropna()
    tools = tp.meta.get("tools")
    if tools is None and "tool" in mv.columns:
        tools = sorted({int(t) for t in mv["tool"].dropna().unique()})
    return {
        "file": str(path) if path is not None else None,
        "source_lines": lines,
        "moves": int(len(mv)),
        "moves_by_code": {str(k): int(v) for k, v in mv["code"].value_counts().sort_index().items()},
        "bounds_mm": bounds,
        "path_length_mm": float(mv["len_mm"].sum()),
        "tools": tools,
        "feeds_mm_min": sorted(float(f) for f in feeds.unique())[:50],
        "feed_range_mm_min": [float(feeds.min()), float(feeds.max())] if len(feeds) else None,
    }


def _cmd_read(args: argparse.Namespace) -> int:
    tp = _read(args)
    s = read_summary(tp, args.file)
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"file         {s['file']}")
    print(f"source lines {s['source_lines']}")
    print(f"moves        {s['moves']}  (" + ", ".join(f"{k} {v}" for k, v in s["moves_by_code"].items()) + ")")
    if s["bounds_mm"]:
        b = s["bounds_mm"]
        print("bounds mm    " + "  ".join(f"{a} {b[a][0]:.3f} .. {b[a][1]:.3f}" for a in "xyz"))
    print(f"path length  {s['path_length_mm']:.1f} mm")
    print(f"tools        {s['tools'] if s['tools'] else '-'}")
    feeds = s["feeds_mm_min"]
    print(f"feeds mm/min {', '.join(f'{f:g}' for f in feeds) if feeds else '-'}")
    return 0


def _machine(args: argparse.Namespace):
    from ..machine import from_grbl_settings, load_machine
    if args.grbl_settings:
        p = Path(args.grbl_settings)
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise MachineProfileError(f"{p}: cannot read ({exc.strerror})") from None
        try:
            return from_grbl_settings(text, id=p.name.split(".")[0], source=p.name)
        except MachineProfileError as exc:
            raise MachineProfileError(f"{p}: {exc}") from None
    if not args.machine:
        raise InputError("give --machine ID|profile.json or --grbl-settings dump.txt")
    return load_machine(args.machine)


def _cmd_estimate(args: argparse.Namespace) -> int:
    from ..machine import format_hms, plan_motion
    from ..machine.motion import slowest_lines
    prof = _machine(args)
    tp = _read(args)
    plan = plan_motion(tp, prof, mode=args.mode, lookahead=args.lookahead)
    s = plan.summary
    top = slowest_lines(plan.moves, args.top)
    if args.json:
        out = dict(s)
        out["file"] = str(args.file)
        out["cycle_time_hms"] = format_hms(s["cycle_time_s"])
        out["slowest_lines"] = top.to_dict("records")
        print(json.dumps(out, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
        return 0
    total = s["cycle_time_s"]
    print(f"{args.file}  on {s['machine']}  (mode {s['mode']}, lookahead {s['lookahead'] or 'unlimited'})")
    print(f"cycle time   {format_hms(total)}  ({total:.2f} s)")
    print(f"cutting      {s['cutting_time_s']:.2f} s   rapid {s['rapid_time_s']:.2f} s   "
          f"dwell {s['dwell_time_s']:.2f} s")
    print(f"moves        {s['n_moves']}   planner blocks {s['n_blocks']}")
    print()
    rows = [("limit", "moves", "time s", "share")]
    for k in LIMITS:
        t = s["time_by_limit_s"][k]
        rows.append((k, str(s["count_by_limit"][k]), f"{t:.2f}", f"{100 * t / total:.1f} %" if total else "-"))
    print(_table(rows, right={1, 2, 3}))
    if len(top):
        print()
        print(f"slowest lines (top {len(top)})")
        rows = [("line", "code", "moves", "time s", "share", "limit")]
        for r in top.itertuples(index=False):
            rows.append((str(r.line), str(r.code), str(r.moves), f"{r.t_s:.2f}", f"{100 * r.share:.1f} %", str(r.limit)))
        print(_table(rows, right={0, 2, 3, 4}))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``workbench gcode`` and its subcommands."""
    p = subparsers.add_parser("gcode", help="read G-code, estimate cycle time on a machine",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="gcode_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    pr = sub.add_parser("read", help="summary of a program (moves, bounds, tools, feeds)")
    pr.add_argument("file")
    pr.add_argument("--json", action="store_true", help="print the summary as JSON")
    pr.add_argument("--nested", choices=("error", "allow"), default=None,
                    help="'(' inside comments: error (like grbl) or allow (lenient)")
    pr.set_defaults(func=_cmd_read)
    pe = sub.add_parser("estimate", help="cycle time on a machine, time by limit, slowest lines")
    pe.add_argument("file")
    g = pe.add_mutually_exclusive_group()
    g.add_argument("--machine", help="profile id (workbench machine list) or profile JSON path")
    g.add_argument("--grbl-settings", help="a grbl/grblHAL $$ dump to build the profile from")
    pe.add_argument("--mode", choices=("grbl", "scurve"), default="grbl")
    pe.add_argument("--lookahead", type=int, default=None,
                    help="planner buffer in blocks (default: the machine's; 0 = unlimited)")
    pe.add_argument("--top", type=int, default=10, help="how many slowest lines to list")
    pe.add_argument("--json", action="store_true", help="print the results as JSON")
    pe.add_argument("--nested", choices=("error", "allow"), default=None,
                    help="'(' inside comments: error (like grbl) or allow (lenient)")
    pe.set_defaults(func=_cmd_estimate)
