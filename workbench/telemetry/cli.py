"""``workbench telemetry``: query a telemetry database from the shell (telemetry plan, "CLI Tool").

Subcommands (the plan's): summary, commands, joints, gripper, tracking, smoother, requests,
latency, cameras, events, rate, tail [--follow], export [--format csv|json|parquet], dbstats;
plus ``simulate`` (fill a database from the virtual machine) and ``grbl`` (ingest a grbl log or
serial port). Output is an aligned table by default, ``--format json`` for machines.
``--last`` windows (``30``, ``30s``, ``5m``, ``2h``) end at the newest row of the database, so
they work on recorded or replayed data as on live data.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .errors import TelemetryInputError
from .query import TelemetryQuery
from .schema import TABLES

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """``"30"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"`` -> seconds.

    Raises:
        TelemetryInputError: not a positive duration.
    """
    t = str(text).strip().lower()
    mult = _UNITS.get(t[-1:], None)
    num = t[:-1] if mult else t
    try:
        v = float(num) * (mult or 1.0)
    except ValueError:
        raise TelemetryInputError(f"--last: expected a duration like 30s, 5m, 2h; got {text!r}") from None
    if not v > 0:
        raise TelemetryInputError(f"--last: duration must be positive, got {text!r}")
    return v


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.3f}" if abs(v) < 1e6 else f"{v:.3f}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as an aligned text table (header, dashes, one line per row; numbers right-aligned)."""
    if not rows:
        return "(no rows)"
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    cells = [[_fmt(r.get(c)) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    numeric = [all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows) for c in cols]
    def line(vals: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(vals, width, numeric)).rstrip()
    return "\n".join([line(cols), line(["-" * w for w in width]), *(line(r) for r in cells)])


def _kv_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in d.items()]


def _emit(args: argparse.Namespace, data: Any) -> None:
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
        return
    if isinstance(data, dict):
        data = _kv_rows(data)
    print(format_table(data))


def _range(q: TelemetryQuery, table: str, last: str | None) -> tuple[float, float] | None:
    if not last:
        return None
    span = parse_duration(last)
    hi = q._scalar(f"SELECT MAX(ts) FROM {table}")  # table is from a fixed list
    if hi is None:
        return None
    return (hi - span, hi)


def _q(args: argparse.Namespace) -> TelemetryQuery:
    return TelemetryQuery(args.db)


def cmd_summary(a: argparse.Namespace) -> int:
    with _q(a) as q:
        _emit(a, q.get_session_summary())
    return 0


def cmd_commands(a: argparse.Namespace) -> int:
    with _q(a) as q:
        _emit(a, q.get_commands(funcode=a.funcode, limit=a.last))
    return 0


def cmd_joints(a: argparse.Namespace) -> int:
    with _q(a) as q:
        rng = _range(q, "dds_feedback", a.last)
        if a.joint is None:
            _emit(a, q.get_all_joints_snapshot(rng, limit=a.limit))
        else:
            _emit(a, q.get_joint_history(a.joint, rng, limit=a.limit))
    return 0


def cmd_gripper(a: argparse.Namespace) -> int:
    with _q(a) as q:
        _emit(a, q.get_gripper_log(_range(q, "dds_feedback", a.last), limit=a.limit))
    return 0


def cmd_tracking(a: argparse.Namespace) -> int:
    with _q(a) as q:
        res = q.get_tracking_error(a.joint, _range(q, "dds_feedback", a.last), delay_s=a.delay)
    if a.format == "json":
        if not a.errors:
            res.pop("errors")
        _emit(a, res)
    else:
        errs = res.pop("errors")
        _emit(a, res)
        if a.errors:
            print()
            print(format_table(errs))
    return 0


def cmd_smoother(a: argparse.Namespace) -> int:
    with _q(a) as q:
        _emit(a, q.get_smoother_history(a.joint, _range(q, "smoother_state", a.last), limit=a.limit))
    return 0


def cmd_requests(a: argparse.Namespace) -> int:
    with _q(a) as q:
        _emit(a, q.get_web_requests(endpoint=a.endpoint, limit=a.limit))
    return 0


def cmd_latency(a: argparse.Namespace) -> int:
    with _q(a) as q:
        st = q.get_web_latency_stats()
    if a.format == "json":
        _emit(a, st)
        return 0
    by = st.pop("by_endpoint")
    rows = [{"endpoint": "(all)", **st}] + [{"endpoint": ep, **v} for ep, v in by.items()]
    print(format_table(rows))
    return 0


def cmd_cameras(a: argparse.Namespace) -> int:
    with _q(a) as q:
        _emit(a, q.get_camera_health(camera_id=a.cam, limit=a.limit))
    return 0


def cmd_events(a: argparse.Namespace) -> int:
    with _q(a) as q:
        _emit(a, q.get_events(event_type=a.type, level=a.level, source=a.source, limit=a.limit))
    return 0


def cmd_rate(a: argparse.Namespace) -> int:
    with _q(a) as q:
        now = None
        if not a.wall_clock:  # window ends at the newest row
            now = max((q._scalar(f"SELECT MAX(ts) FROM {t}") or 0.0) for t in ("dds_commands", "dds_feedback")) or None
        r = q.get_command_rate(a.window, now=now)
    _emit(a, r)
    return 0


def cmd_tail(a: argparse.Namespace) -> int:
    with _q(a) as q:
        rows = q.get_events(limit=a.lines)
        last_id = rows[-1]["id"] if rows else 0
        for r in rows:
            _print_event(a, r)
        polls = 0
        while a.follow and (a.max_polls is None or polls < a.max_polls):
            time.sleep(a.interval)
            polls += 1
            for r in q.get_events_after(last_id):
                _print_event(a, r)
                last_id = r["id"]
            sys.stdout.flush()
    return 0


def _print_event(a: argparse.Namespace, r: dict[str, Any]) -> None:
    if a.format == "json":
        print(json.dumps(r, default=str))
    else:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["ts"])) + f".{int(r['ts'] % 1 * 1000):03d}"
        print(f"{stamp}  {r['level']:<7}  {r['source']:<8}  {r['event_type']:<14}  {r['detail'] or ''}")


def cmd_export(a: argparse.Namespace) -> int:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with _q(a) as q:
        for t in TABLES:
            df = q.table_frame(t)
            path = out / f"{t}.{a.format}"
            if a.format == "csv":
                df.to_csv(path, index=False)
            elif a.format == "json":
                df.to_json(path, orient="records", indent=1)
            else:
                df.to_parquet(path, index=False)
            rows.append({"table": t, "rows": len(df), "file": str(path)})
    print(format_table(rows))
    return 0


def cmd_dbstats(a: argparse.Namespace) -> int:
    with _q(a) as q:
        _emit(a, q.get_db_stats())
    return 0


def cmd_simulate(a: argparse.Namespace) -> int:
    from .collector import TelemetryCollector
    from .sources.virtual_machine import VirtualMachine, demo_toolpath
    c = TelemetryCollector(a.db, batch_size=200, flush_interval_s=0.25)
    c.start()
    try:
        vm = VirtualMachine(c, a.gcode or demo_toolpath(), profile=a.machine, rate_hz=a.rate,
                            servo_tau_s=a.tau, transport_delay_s=a.delay, noise_sd=a.noise,
                            time_scale=a.time_scale)
        run = vm.run()
    finally:
        c.stop()
    _emit(a, {"db": str(a.db), "samples": run.samples, "duration_s": run.duration_s,
              "commands": run.commands,
              **{f"true_tracking_error_j{j}": v for j, v in run.true_tracking_error.items()}})
    return 0


def cmd_grbl(a: argparse.Namespace) -> int:
    from .collector import TelemetryCollector
    from .sources.grbl import ingest_log, read_serial
    c = TelemetryCollector(a.db)
    c.start()
    try:
        if a.port:
            res = read_serial(c, a.port, baudrate=a.baud, poll_hz=a.poll_hz, duration_s=a.duration)
        else:
            res = ingest_log(c, a.log, poll_hz=a.poll_hz)
    finally:
        c.stop()
    _emit(a, dict(vars(res)))
    return 0


def _default_db() -> str:
    from .collector import default_db_path
    return str(default_db_path())


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``telemetry`` and its subcommands to the ``workbench`` command."""
    p = subparsers.add_parser("telemetry", help="query the machine telemetry database",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default=None, help="telemetry database (default $TELEMETRY_DB or var/telemetry.db)")
    sub = p.add_subparsers(dest="telemetry_command", metavar="COMMAND")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    def add(name: str, func: Any, help: str, table: bool = True) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        if table:
            sp.add_argument("--format", choices=("table", "json"), default="table")
        sp.set_defaults(func=_wrap(func))
        return sp

    add("summary", cmd_summary, "session summary stats")
    s = add("commands", cmd_commands, "recent commands")
    s.add_argument("--last", type=int, default=20, metavar="N", help="number of commands")
    s.add_argument("--funcode", type=int)
    s = add("joints", cmd_joints, "joint position history (all joints without --joint)")
    s.add_argument("--joint", type=int)
    s.add_argument("--last", metavar="DURATION", help="e.g. 30s, 5m")
    s.add_argument("--limit", type=int, default=50)
    s = add("gripper", cmd_gripper, "gripper position log (commands and feedback)")
    s.add_argument("--last", metavar="DURATION")
    s.add_argument("--limit", type=int, default=50)
    s = add("tracking", cmd_tracking, "tracking error: feedback vs the command delay seconds earlier")
    s.add_argument("--joint", type=int, default=0)
    s.add_argument("--delay", type=float, default=0.2, help="servo delay, s (default 0.2)")
    s.add_argument("--last", metavar="DURATION")
    s.add_argument("--errors", action="store_true", help="also list every sample")
    s = add("smoother", cmd_smoother, "smoother interpolation history")
    s.add_argument("--joint", type=int, default=0)
    s.add_argument("--last", metavar="DURATION")
    s.add_argument("--limit", type=int, default=50)
    s = add("requests", cmd_requests, "web request log")
    s.add_argument("--endpoint")
    s.add_argument("--limit", type=int, default=50)
    add("latency", cmd_latency, "web request latency percentiles (overall and per endpoint)")
    s = add("cameras", cmd_cameras, "camera health log")
    s.add_argument("--cam")
    s.add_argument("--limit", type=int, default=50)
    s = add("events", cmd_events, "system events")
    s.add_argument("--type")
    s.add_argument("--level", choices=("info", "warning", "error"))
    s.add_argument("--source")
    s.add_argument("--limit", type=int, default=50)
    s = add("rate", cmd_rate, "command/feedback rates over the last window")
    s.add_argument("--window", type=float, default=10.0, help="seconds (default 10)")
    s.add_argument("--wall-clock", action="store_true", help="window ends now, not at the newest row")
    s = add("tail", cmd_tail, "live tail of system events (polls every second with --follow)")
    s.add_argument("--follow", "-f", action="store_true")
    s.add_argument("--lines", "-n", type=int, default=10)
    s.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    s.add_argument("--max-polls", type=int, default=None, help=argparse.SUPPRESS)
    s = add("export", cmd_export, "export every table to files", table=False)
    s.add_argument("--format", choices=("csv", "json", "parquet"), default="csv")
    s.add_argument("--out", default=None, help="folder (default reports/telemetry_export)")
    add("dbstats", cmd_dbstats, "database size and row counts")
    s = add("simulate", cmd_simulate, "record a virtual machine run (demo toolpath or G-code file)")
    s.add_argument("--gcode", help="G-code file (default: a demo pocket)")
    s.add_argument("--machine", help="machine profile id for the motion planner")
    s.add_argument("--rate", type=float, default=100.0, help="samples/s")
    s.add_argument("--tau", type=float, default=0.02, help="servo time constant, s")
    s.add_argument("--delay", type=float, default=0.0, help="transport delay, s")
    s.add_argument("--noise", type=float, default=0.0, help="position noise sd, mm")
    s.add_argument("--time-scale", type=float, default=0.0, help="1 = real time, 0 = as fast as possible")
    s = add("grbl", cmd_grbl, "ingest grbl status reports from a log file or a serial port")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--log", help="captured serial log")
    g.add_argument("--port", help="serial port or pyserial URL")
    s.add_argument("--baud", type=int, default=115200)
    s.add_argument("--poll-hz", type=float, default=5.0)
    s.add_argument("--duration", type=float, default=None, help="seconds (serial)")


def _wrap(func: Any) -> Any:
    def run(a: argparse.Namespace) -> int:
        if a.db is None:
            a.db = _default_db()
        if getattr(a, "out", "x") is None:
            from ..paths import REPORTS_DIR
            a.out = str(REPORTS_DIR / "telemetry_export")
        return func(a)
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``telemetry`` subcommands without the top-level ``workbench`` parser (tests, tools)."""
    from ..errors import WorkbenchError
    parser = argparse.ArgumentParser(prog="workbench")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["telemetry", *(argv or [])])
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"workbench telemetry: error: {exc}", file=sys.stderr)
        return 2
