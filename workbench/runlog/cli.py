"""``workbench logs``: write a run from JSON, show a machine's bottleneck caps, migrate.

    workbench logs write run.json [--db URL]     # {"run": {...}, "segments": [...]}; "-" = stdin
    workbench logs caps MACHINE [--db URL] [--json]
    workbench logs migrate [--db URL]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .store import RunLogError, open_log


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as exc:
        raise RunLogError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunLogError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _write(args: argparse.Namespace) -> int:
    body = _read_json(args.file)
    if not isinstance(body, dict) or "run" not in body:
        raise RunLogError(f"{args.file}: expected an object {{\"run\": {{...}}, \"segments\": [...]}}")
    run_id = open_log(args.db).write_run(body["run"], body.get("segments") or [])
    print(json.dumps({"status": "ok", "run_id": run_id}))
    return 0


def _caps(args: argparse.Namespace) -> int:
    c = open_log(args.db).caps(args.machine)
    if args.json:
        print(json.dumps(c, indent=2))
        return 0
    print(f"{c['machine_id']}: {c['runs']} run(s), {c['segments']} segment(s)")
    print(f"{'limit':10s} {'count':>8s} {'share':>7s} {'time s':>10s} {'time share':>10s}")
    for k, n in c["counts"].items():
        print(f"{k:10s} {n:8d} {c['count_share'][k]:7.1%} {c['time_s'][k]:10.1f} {c['time_share'][k]:10.1%}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from ..migrations import current_revision
    log = open_log(args.db)
    print(f"database at revision {current_revision(log.engine)}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``workbench logs`` (write, caps, migrate) to the CLI."""
    p = subparsers.add_parser("logs", help="CAM run log: write runs, bottleneck caps",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="logs_command", metavar="ACTION", required=True)
    db_help = "SQLAlchemy URL or SQLite file (default $WORKBENCH_DB_URL or $WORKBENCH_HOME/workbench.db)"
    w = sub.add_parser("write", help="log one run from a JSON file ({run, segments})")
    w.add_argument("file", help="JSON file, or - for stdin")
    w.add_argument("--db", default=None, help=db_help)
    w.set_defaults(func=_write)
    c = sub.add_parser("caps", help="bottleneck distribution of a machine's logged segments")
    c.add_argument("machine")
    c.add_argument("--db", default=None, help=db_help)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_caps)
    m = sub.add_parser("migrate", help="create/upgrade the workbench database schema")
    m.add_argument("--db", default=None, help=db_help)
    m.set_defaults(func=_migrate)
