"""``workbench sim run FILE [--project x.camotics] [--tool SPEC] [--stock BOX] ...``.

Simulates a G-code program (or a planned ``moves.json``), writes
``reports/sim/<job>-<timestamp>/`` (report.json, snapshot.png, sim.mp4, sim.gif, sim.log) and a
``sim_runs`` row, and prints the summary. Progress is a tqdm bar on stderr. Exit code 0 on
success (even with violations: they are findings, listed), 2 on a failed run, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import threading

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sim`` (with ``run``) to the top-level ``workbench`` parser."""
    p = subparsers.add_parser("sim", help="simulate G-code cutting: removed volume, collisions, video",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    r = sub.add_parser("run", help="simulate one program and write its sim_report")
    r.add_argument("file", help="G-code program (.nc, .ngc, .gcode, ...) or a moves.json toolpath")
    r.add_argument("--project", help="CAMotics project (.camotics): tools and workpiece")
    r.add_argument("--tool", action="append", default=[], metavar="SPEC",
                   help="tool spec, repeatable: [N=]SHAPE:D[:X][,flute=L,shank=D,shank_len=L,holder=DxL+DxL], "
                        "e.g. 'flat:6', '2=ball:1/8in', 'vbit:12.7:60' (mm unless 'in')")
    r.add_argument("--tool-table", help="JSON tool table (CAMotics 'tools' layout)")
    r.add_argument("--stock", help="xmin,ymin,zmin,xmax,ymax,zmax in mm (suffix 'in' for inch); default: "
                                   "the project's workpiece or the toolpath extent")
    r.add_argument("--cell", type=float, help="cell size, mm (default: smallest tool diameter / 24)")
    r.add_argument("--machine", help="machine profile id for the cycle time (default GRBL_3018_Default)")
    r.add_argument("--pocket-dxf", help="DXF of the planned pocket: material removed outside it is a gouge")
    r.add_argument("--layer", action="append", help="DXF layer(s) of the pocket")
    r.add_argument("--floor", type=float, help="floor/fixture Z, mm")
    r.add_argument("--max-plunge", type=float, help="vertical feed limit for plunges, mm/min")
    r.add_argument("--timeout", type=float, help="simulation time limit, s")
    r.add_argument("--out", help="report root folder (default reports/sim)")
    r.add_argument("--db", help="database URL or SQLite path (default $WORKBENCH_DB_URL or var/workbench.db)")
    r.add_argument("--no-media", action="store_true", help="skip snapshot, MP4 and GIF")
    r.set_defaults(func=_cmd_run)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _cmd_run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .runs import run_job

    pocket = None
    if args.pocket_dxf:
        try:
            from ..geometry import read_regions
        except ImportError as exc:
            raise InputError(f"--pocket-dxf needs workbench.geometry.read_regions ({exc})") from None
        regions = read_regions(args.pocket_dxf, layers=args.layer)
        if len(regions) != 1:
            raise InputError(f"{args.pocket_dxf}: expected one pocket region, found {len(regions)}; "
                             "choose it with --layer")
        pocket = regions[0]
    cancel = threading.Event()
    bar = None
    try:
        from tqdm import tqdm

        bar = tqdm(total=0, unit="move", desc="simulating", file=sys.stderr, leave=False)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        bar = None

    def progress(done: int, total: int) -> None:
        if bar is not None:
            if bar.total != total:
                bar.total = total
            bar.n = done
            bar.refresh()

    try:
        run = run_job(args.file, project=args.project, tools=args.tool or None, tool_table=args.tool_table,
                      stock=args.stock, cell_mm=args.cell, machine=args.machine, pocket=pocket,
                      floor_z=args.floor, max_plunge_mm_min=args.max_plunge, timeout_s=args.timeout,
                      cancel=cancel, progress=progress, out_root=args.out, db_url=args.db,
                      media=not args.no_media)
    except KeyboardInterrupt:
        cancel.set()
        raise
    finally:
        if bar is not None:
            bar.close()
    if run.status != "succeeded":
        print(f"workbench sim run: {run.status}: {run.error_class}: {run.error}", file=sys.stderr)
        print(f"  partial artefacts and log: {run.out_dir}", file=sys.stderr)
        return 2
    rep = run.report or {}
    print(f"report:    {run.report_path}")
    print(f"removed:   {rep['removed_volume_mm3']:.1f} mm^3")
    print(f"time:      {rep['est_time_s']:.1f} s ({rep.get('time_source')})")
    print(f"collisions: {rep['collision_count']}")
    for v in rep.get("violations", [])[:20]:
        print(f"  {v['severity']:7s} {v['code']:22s} {v['message']}")  # the message names the line
    if len(rep.get("violations", [])) > 20:
        print(f"  ... {len(rep['violations']) - 20} more in report.json")
    return 0
