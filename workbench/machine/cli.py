"""``workbench machine``: list, show and build machine profiles.

- ``workbench machine list``: the profiles in ``data/machines`` (id, controller, rates, accel).
- ``workbench machine show ID|profile.json [--json]``: one profile.
- ``workbench machine from-grbl dump.txt [--id NAME] [--controller grbl|grblHAL]
  [--out file.json]``: a profile from a grbl ``$$`` dump (printed, or written to ``--out``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MachineProfileError
from .profile import from_grbl_settings, list_machines, load_machine


def _fmt3(v: tuple[float, float, float] | None) -> str:
    return "-" if v is None else "/".join(f"{x:g}" for x in v)


def _cmd_list(args: argparse.Namespace) -> int:
    rows = [("id", "controller", "max rate mm/min", "accel mm/s2", "jd mm", "buffer")]
    for mid in list_machines():
        p = load_machine(mid)
        rows.append((p.id, p.controller, _fmt3(p.max_rate_mm_min), _fmt3(p.accel_mm_s2),
                     f"{p.junction_deviation_mm:g}", str(p.lookahead or "unlimited")))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    p = load_machine(args.machine)
    if args.json:
        print(p.to_json(), end="")
        return 0
    d = p.to_dict()
    d["feed_cap (effective)"] = p.feed_cap
    d["lookahead (effective)"] = p.lookahead or "unlimited"
    w = max(len(k) for k in d)
    for k, v in d.items():
        if k == "sources":
            print(f"{k.ljust(w)}  " + ("\n" + " " * (w + 2)).join(v))
        elif isinstance(v, list):
            print(f"{k.ljust(w)}  {_fmt3(tuple(v)) if len(v) == 3 else v}")
        else:
            print(f"{k.ljust(w)}  {v if v is not None else '-'}")
    return 0


def _cmd_from_grbl(args: argparse.Namespace) -> int:
    path = Path(args.dump)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise MachineProfileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        prof = from_grbl_settings(text, id=args.id or path.stem.replace(".settings", ""),
                                  controller=args.controller, planner_blocks=args.planner_blocks,
                                  source=path.name)
    except MachineProfileError as exc:
        raise MachineProfileError(f"{path}: {exc}") from None
    if args.out:
        Path(args.out).write_text(prof.to_json(), encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(prof.to_json(), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``workbench machine`` and its subcommands."""
    p = subparsers.add_parser("machine", help="machine profiles: list, show, build from a grbl $$ dump",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="machine_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    pl = sub.add_parser("list", help="profiles in data/machines")
    pl.set_defaults(func=_cmd_list)
    ps = sub.add_parser("show", help="one profile")
    ps.add_argument("machine", help="profile id or path to a profile JSON")
    ps.add_argument("--json", action="store_true", help="print the JSON form")
    ps.set_defaults(func=_cmd_show)
    pg = sub.add_parser("from-grbl", help="profile from a grbl/grblHAL $$ dump")
    pg.add_argument("dump", help="text file with the $$ output")
    pg.add_argument("--id", help="profile id (default: the file name)")
    pg.add_argument("--controller", choices=("grbl", "grblHAL"), default="grblHAL")
    pg.add_argument("--planner-blocks", type=int, default=None,
                    help="planner buffer size (default: the controller's: grbl 16, grblHAL 100)")
    pg.add_argument("--out", help="write the profile JSON here instead of printing it")
    pg.set_defaults(func=_cmd_from_grbl)
