"""Read-only analysis of a telemetry database: :class:`TelemetryQuery`.

Every method of the telemetry plan ("TelemetryQuery"), with its names and return shapes. Time
ranges are ``(start, end)`` epoch seconds, inclusive (``WHERE ts BETWEEN ? AND ?``). The
connection is opened read-only (``file:...?mode=ro``), so a query can never modify the
recorder's file; it sees every committed transaction (WAL readers do not block the writer).

Positions are degrees for a robot joint and mm for a CNC axis or the gripper; "deg" in key names
follows the plan.

Percentiles are nearest-rank (the value at rank ``ceil(p/100 * n)`` of the sorted sample, as the
plan's "sorted subquery" computes them; numpy ``method="inverted_cdf"``).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import TelemetryInputError
from .schema import GRIPPER_JOINT, N_JOINTS, TABLES, connect_readonly

#: Slack added to ``feedback.ts - delay_s`` before the as-of match so that a command stamped
#: exactly ``delay_s`` before a sample is matched despite float rounding of epoch seconds
#: (a REAL epoch timestamp near 1.7e9 s resolves about 2.4e-7 s).
TS_EPSILON_S: float = 1e-6

TimeRange = tuple[float, float] | None


def _check_joint(joint: Any) -> int:
    try:
        j = int(joint)
    except (TypeError, ValueError):
        raise TelemetryInputError(f"joint must be an integer 0..{N_JOINTS - 1}, got {joint!r}") from None
    if j != joint or not 0 <= j < N_JOINTS:
        raise TelemetryInputError(f"joint must be an integer 0..{N_JOINTS - 1}, got {joint!r}")
    return j


def _range(time_range: TimeRange, col: str = "ts") -> tuple[list[str], list[float]]:
    if time_range is None:
        return [], []
    try:
        start, end = (float(v) for v in time_range)
    except (TypeError, ValueError):
        raise TelemetryInputError(f"time_range must be (start, end) epoch seconds, got {time_range!r}") from None
    if math.isnan(start) or math.isnan(end) or start > end:
        raise TelemetryInputError(f"time_range start {start} is after end {end} (or NaN)")
    return [f"{col} BETWEEN ? AND ?"], [start, end]


def _limit(limit: Any) -> int:
    try:
        n = int(limit)
    except (TypeError, ValueError):
        raise TelemetryInputError(f"limit must be a positive integer, got {limit!r}") from None
    if n < 1:
        raise TelemetryInputError(f"limit must be a positive integer, got {limit!r}")
    return n


def nearest_rank(values: np.ndarray, pct: Sequence[float]) -> list[float | None]:
    """Nearest-rank percentiles of ``values`` (``None`` for an empty sample)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return [None for _ in pct]
    return [float(x) for x in np.percentile(v, list(pct), method="inverted_cdf")]


class TelemetryQuery:
    """Read-only queries over a telemetry database (see module docstring).

    Args:
        db_path: the SQLite file written by :class:`TelemetryCollector`.

    Raises:
        TelemetryDatabaseError: the file is missing, not SQLite, corrupt, or lacks a table.
    """

    def __init__(self, db_path: str | os.PathLike[str] = "var/telemetry.db") -> None:
        self.db_path = Path(db_path)
        self._conn = connect_readonly(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> "TelemetryQuery":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers
    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._conn.execute(sql, list(args))]

    def _frame(self, sql: str, args: Sequence[Any] = ()) -> pd.DataFrame:
        with self._lock:
            cur = self._conn.cursor()
            cur.row_factory = None  # plain tuples: sqlite3.Row objects make from_records ~3x slower
            cur.execute(sql, list(args))
            cols = [d[0] for d in cur.description]
            data = cur.fetchall()
        return pd.DataFrame.from_records(data, columns=cols)

    def _scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._conn.execute(sql, list(args)).fetchone()[0]

    def _recent(self, table: str, cols: str, where: list[str], args: list[Any], limit: int
                ) -> list[dict[str, Any]]:
        w = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._rows(f"SELECT {cols} FROM {table} {w} ORDER BY ts DESC, id DESC LIMIT ?",
                          [*args, _limit(limit)])
        rows.reverse()
        return rows

    # ------------------------------------------------------------------ commands
    def get_commands(self, time_range: TimeRange = None, funcode: int | None = None,
                     limit: int = 1000) -> list[dict[str, Any]]:
        """The last ``limit`` ``dds_commands`` rows (oldest first), ``data_json`` decoded into
        ``data``."""
        where, args = _range(time_range)
        if funcode is not None:
            where.append("funcode = ?")
            args.append(int(funcode))
        rows = self._recent("dds_commands", "*", where, args, limit)
        for r in rows:
            text = r.pop("data_json")
            r["data"] = json.loads(text) if text else None
        return rows

    def get_command_rate(self, window_s: float = 10.0, *, now: float | None = None) -> dict[str, Any]:
        """Command and feedback rates over ``[now - window_s, now]`` (``now`` default: wall clock).

        Returns:
            ``{window_s, total_commands, rate_hz, by_funcode: {funcode: rate_hz},
            total_feedback, feedback_rate_hz}``.
        """
        if not window_s > 0:
            raise TelemetryInputError(f"window_s must be positive, got {window_s!r}")
        t1 = time.time() if now is None else float(now)
        t0 = t1 - float(window_s)
        by = {int(r["funcode"]): r["n"] / window_s for r in self._rows(
            "SELECT funcode, COUNT(*) AS n FROM dds_commands WHERE ts > ? AND ts <= ? GROUP BY funcode",
            [t0, t1])}
        total = self._scalar("SELECT COUNT(*) FROM dds_commands WHERE ts > ? AND ts <= ?", [t0, t1])
        fb = self._scalar("SELECT COUNT(*) FROM dds_feedback WHERE ts > ? AND ts <= ?", [t0, t1])
        return {"window_s": float(window_s), "total_commands": int(total),
                "rate_hz": total / window_s, "by_funcode": by, "total_feedback": int(fb),
                "feedback_rate_hz": fb / window_s}

    # ------------------------------------------------------------------ feedback
    def get_joint_history(self, joint: int, time_range: TimeRange = None,
                          limit: int = 5000) -> list[dict[str, Any]]:
        """``[{ts, angle}]`` of one joint from position feedback (funcode 1), oldest first."""
        j = _check_joint(joint)
        where, args = _range(time_range)
        where += ["funcode = 1", f"angle{j} IS NOT NULL"]
        return self._recent("dds_feedback", f"ts, angle{j} AS angle", where, args, limit)

    def get_all_joints_snapshot(self, time_range: TimeRange = None,
                                limit: int = 1000) -> list[dict[str, Any]]:
        """Position feedback rows ``{ts, seq, angle0..angle6}`` (funcode 1), oldest first."""
        where, args = _range(time_range)
        where.append("funcode = 1")
        cols = "ts, seq, " + ", ".join(f"angle{j}" for j in range(N_JOINTS))
        return self._recent("dds_feedback", cols, where, args, limit)

    def get_gripper_log(self, time_range: TimeRange = None, limit: int = 1000) -> list[dict[str, Any]]:
        """``[{ts, position, source}]``: gripper commands (funcode 1, joint 6; source
        ``command``) and gripper feedback (``angle6``; source ``feedback``), oldest first."""
        where, args = _range(time_range)
        w = (" AND " + " AND ".join(where)) if where else ""
        sql = (f"SELECT ts, target_value AS position, 'command' AS source FROM dds_commands "
               f"WHERE funcode = 1 AND joint_id = {GRIPPER_JOINT} AND target_value IS NOT NULL{w} "
               f"UNION ALL SELECT ts, angle{GRIPPER_JOINT} AS position, 'feedback' AS source "
               f"FROM dds_feedback WHERE funcode = 1 AND angle{GRIPPER_JOINT} IS NOT NULL{w} "
               f"ORDER BY ts DESC LIMIT ?")
        rows = self._rows(sql, [*args, *args, _limit(limit)])
        rows.reverse()
        return rows

    # ------------------------------------------------------------------ tracking error
    def _commands_for_joint(self, j: int, t0: float | None, t1: float | None) -> pd.DataFrame:
        single = f"SELECT ts, target_value AS target FROM dds_commands WHERE funcode = 1 AND joint_id = {j} AND target_value IS NOT NULL"
        multi = (f"SELECT ts, json_extract(data_json, '$.angles[{j}]') AS target FROM dds_commands "
                 f"WHERE funcode = 2 AND json_valid(data_json) "
                 f"AND json_extract(data_json, '$.angles[{j}]') IS NOT NULL")
        if t0 is None:
            return self._frame(f"{single} UNION ALL {multi}")
        rng = " AND ts BETWEEN ? AND ?"
        before = " AND ts < ? ORDER BY ts DESC LIMIT 1"
        frames = [self._frame(f"{single}{rng} UNION ALL {multi}{rng}", [t0, t1, t0, t1]),
                  self._frame(f"SELECT * FROM ({single}{before})", [t0]),
                  self._frame(f"SELECT * FROM ({multi}{before})", [t0])]
        return pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]

    def get_tracking_error(self, joint: int, time_range: TimeRange = None, delay_s: float = 0.2,
                           *, frame: bool = False) -> dict[str, Any]:
        """Commanded vs actual position of one joint, with the servo delay taken out.

        Each position-feedback sample at time ``t`` is paired with the command in force at
        ``t - delay_s`` (the last command with ``ts <= t - delay_s + TS_EPSILON_S``: an as-of
        join, :func:`pandas.merge_asof`). Commands are set_joint rows (funcode 1,
        ``joint_id = joint``) and set_all rows (funcode 2) whose ``data_json`` has
        ``{"angles": [...]}``. Samples with no command in force yet are left out.
        ``error = actual - target``.

        Args:
            frame: return ``errors`` as a DataFrame (fast for millions of samples) instead of a
                list of dicts.

        Returns:
            ``{joint, delay_s, samples, mean_error_deg (mean |error|), max_error_deg (max
            |error|), rms_error_deg, bias_deg (mean signed error), errors: [{ts, target,
            actual, error}]}``; the statistics are ``None`` when no sample pairs.

        Raises:
            TelemetryInputError: joint outside 0..6, negative or NaN delay, bad time range.
        """
        j = _check_joint(joint)
        try:
            delay = float(delay_s)
        except (TypeError, ValueError):
            raise TelemetryInputError(f"delay_s must be a number of seconds, got {delay_s!r}") from None
        if not delay >= 0:
            raise TelemetryInputError(f"delay_s must be >= 0, got {delay_s!r}")
        where, args = _range(time_range)
        where += ["funcode = 1", f"angle{j} IS NOT NULL"]
        fb = self._frame(f"SELECT ts, angle{j} AS actual FROM dds_feedback WHERE "
                         f"{' AND '.join(where)} ORDER BY ts", args)
        t0 = t1 = None
        if time_range is not None:
            t0, t1 = float(time_range[0]) - delay, float(time_range[1])
        cmd = self._commands_for_joint(j, t0, t1)
        cols = ["ts", "target", "actual", "error"]
        if len(fb) and len(cmd):
            cmd = cmd.astype({"ts": "float64", "target": "float64"}).sort_values("ts", kind="stable")
            cmd = cmd.rename(columns={"ts": "cmd_ts"})
            fb = fb.astype("float64")
            fb["key"] = fb["ts"] - delay + TS_EPSILON_S
            m = pd.merge_asof(fb, cmd, left_on="key", right_on="cmd_ts", direction="backward")
            m = m.loc[m["target"].notna()].copy()
            m["error"] = m["actual"] - m["target"]
            err = m[cols].reset_index(drop=True)
        else:
            err = pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
        e = err["error"].to_numpy(dtype=float)
        a = np.abs(e)
        n = len(e)
        return {"joint": j, "delay_s": delay, "samples": n,
                "mean_error_deg": float(a.mean()) if n else None,
                "max_error_deg": float(a.max()) if n else None,
                "rms_error_deg": float(np.sqrt(np.mean(e * e))) if n else None,
                "bias_deg": float(e.mean()) if n else None,
                "errors": err if frame else err.to_dict("records")}

    # ------------------------------------------------------------------ smoother
    def get_smoother_history(self, joint: int, time_range: TimeRange = None,
                             limit: int = 2000) -> list[dict[str, Any]]:
        """``[{ts, target, current, sent, step_size}]`` of one joint, oldest first."""
        j = _check_joint(joint)
        where, args = _range(time_range)
        where.append("joint_id = ?")
        args.append(j)
        return self._recent("smoother_state", "ts, target, current, sent, step_size", where, args, limit)

    # ------------------------------------------------------------------ web
    def get_web_requests(self, time_range: TimeRange = None, endpoint: str | None = None,
                         limit: int = 500) -> list[dict[str, Any]]:
        """The last ``limit`` ``web_requests`` rows (oldest first), ``params_json`` decoded
        into ``params``. ``endpoint`` is matched exactly (bound as a parameter, never as SQL)."""
        where, args = _range(time_range)
        if endpoint is not None:
            where.append("endpoint = ?")
            args.append(str(endpoint))
        rows = self._recent("web_requests", "*", where, args, limit)
        for r in rows:
            text = r.pop("params_json")
            r["params"] = json.loads(text) if text else None
        return rows

    def get_web_latency_stats(self, time_range: TimeRange = None) -> dict[str, Any]:
        """Response-time statistics of ``web_requests`` (rows with a ``response_ms``).

        Returns:
            ``{count, mean_ms, p50_ms, p95_ms, p99_ms, by_endpoint: {endpoint: {count, mean_ms,
            p50_ms, p95_ms, p99_ms}}}`` (nearest-rank percentiles; ``None`` when empty).
        """
        where, args = _range(time_range)
        where.append("response_ms IS NOT NULL")
        df = self._frame(f"SELECT endpoint, response_ms FROM web_requests WHERE {' AND '.join(where)}", args)

        def stats(v: np.ndarray) -> dict[str, Any]:
            p50, p95, p99 = nearest_rank(v, (50, 95, 99))
            return {"count": int(len(v)), "mean_ms": float(v.mean()) if len(v) else None,
                    "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}

        out = stats(df["response_ms"].to_numpy(dtype=float))
        out["by_endpoint"] = {str(ep): stats(g.to_numpy(dtype=float))
                              for ep, g in df.groupby("endpoint", sort=True)["response_ms"]}
        return out

    # ------------------------------------------------------------------ camera, events
    def get_camera_health(self, camera_id: str | None = None, time_range: TimeRange = None,
                          limit: int = 500) -> list[dict[str, Any]]:
        """The last ``limit`` ``camera_health`` rows (oldest first), optionally of one camera."""
        where, args = _range(time_range)
        if camera_id is not None:
            where.append("camera_id = ?")
            args.append(str(camera_id))
        return self._recent("camera_health", "*", where, args, limit)

    def get_events(self, event_type: str | None = None, source: str | None = None,
                   level: str | None = None, time_range: TimeRange = None,
                   limit: int = 500) -> list[dict[str, Any]]:
        """The last ``limit`` ``system_events`` rows (oldest first), ``data_json`` decoded into
        ``data``; filters are exact matches."""
        where, args = _range(time_range)
        for col, val in (("event_type", event_type), ("source", source), ("level", level)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(str(val))
        rows = self._recent("system_events", "*", where, args, limit)
        for r in rows:
            text = r.pop("data_json")
            r["data"] = json.loads(text) if text else None
        return rows

    def get_events_after(self, after_id: int, limit: int = 1000) -> list[dict[str, Any]]:
        """``system_events`` rows with ``id > after_id``, oldest first (for ``tail --follow``)."""
        rows = self._rows("SELECT * FROM system_events WHERE id > ? ORDER BY id LIMIT ?",
                          [int(after_id), _limit(limit)])
        for r in rows:
            text = r.pop("data_json")
            r["data"] = json.loads(text) if text else None
        return rows

    # ------------------------------------------------------------------ utilities
    def get_session_summary(self) -> dict[str, Any]:
        """Totals over the whole database.

        Returns:
            ``{first_event_ts, last_event_ts, duration_s, total_commands, total_feedback,
            total_events, command_rate_hz, feedback_rate_hz, error_count}``; ``total_events``
            counts rows of every table; ``error_count`` counts system events of level
            ``error`` or type ``error``.
        """
        firsts, lasts, counts = [], [], {}
        for t in TABLES:
            lo, hi, n = self._rows(f"SELECT MIN(ts) AS lo, MAX(ts) AS hi, COUNT(*) AS n FROM {t}")[0].values()
            counts[t] = int(n)
            if lo is not None:
                firsts.append(lo)
                lasts.append(hi)
        first = min(firsts) if firsts else None
        last = max(lasts) if lasts else None
        dur = (last - first) if firsts else 0.0
        errors = self._scalar("SELECT COUNT(*) FROM system_events WHERE level = 'error' OR event_type = 'error'")
        return {"first_event_ts": first, "last_event_ts": last, "duration_s": dur,
                "total_commands": counts["dds_commands"], "total_feedback": counts["dds_feedback"],
                "total_events": sum(counts.values()),
                "command_rate_hz": counts["dds_commands"] / dur if dur > 0 else 0.0,
                "feedback_rate_hz": counts["dds_feedback"] / dur if dur > 0 else 0.0,
                "error_count": int(errors)}

    def get_db_stats(self) -> dict[str, Any]:
        """``{table_name: row_count, ..., total_rows, db_file_bytes, wal_file_bytes, page_size,
        page_count, freelist_pages, auto_vacuum, journal_mode, path}``."""
        out: dict[str, Any] = {t: int(self._scalar(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}
        out["total_rows"] = sum(out[t] for t in TABLES)
        wal = Path(str(self.db_path) + "-wal")
        out["db_file_bytes"] = self.db_path.stat().st_size
        out["wal_file_bytes"] = wal.stat().st_size if wal.exists() else 0
        for pragma in ("page_size", "page_count"):
            out[pragma] = int(self._scalar(f"PRAGMA {pragma}"))
        out["freelist_pages"] = int(self._scalar("PRAGMA freelist_count"))
        out["auto_vacuum"] = {0: "none", 1: "full", 2: "incremental"}.get(
            int(self._scalar("PRAGMA auto_vacuum")), "?")
        out["journal_mode"] = str(self._scalar("PRAGMA journal_mode"))
        out["path"] = str(self.db_path)
        return out

    def table_frame(self, table: str, time_range: TimeRange = None) -> pd.DataFrame:
        """A whole table (optionally a time range of it) as a DataFrame, for export.

        Raises:
            TelemetryInputError: ``table`` is not a telemetry table.
        """
        if table not in TABLES:
            raise TelemetryInputError(f"unknown telemetry table {table!r} (valid: {', '.join(TABLES)})")
        where, args = _range(time_range)
        w = f"WHERE {' AND '.join(where)}" if where else ""
        return self._frame(f"SELECT * FROM {table} {w} ORDER BY id", args)
