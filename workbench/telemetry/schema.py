"""SQLite schema of the telemetry recorder: tables, indexes, pragmas, :func:`init_db`.

The tables and indexes are those of the telemetry plan (``/work/shared/specs/telemetry_plan.md``,
"SQLite Schema"), unchanged, so that every user of the plan recognises them:

- ``dds_commands``: one row per command sent to the machine (``funcode`` 1=set_joint,
  2=set_all, 5=enable, 6=power, 7=reset). ``target_value`` is the joint target: degrees for a
  robot joint, mm for a CNC axis (X/Y/Z are joints 0-2) or the gripper (joint 6).
- ``dds_feedback``: one row per feedback frame (``funcode`` 1=positions in ``angle0..angle6``,
  3=status flags).
- ``smoother_state``, ``web_requests``, ``camera_health``, ``system_events``.

Every table has ``ts`` = ``time.time()`` epoch seconds (REAL).

Pragmas (SQLite docs, https://www.sqlite.org/pragma.html and https://www.sqlite.org/wal.html):
``journal_mode=WAL`` (readers do not block the writer), ``synchronous=NORMAL`` (in WAL mode a
commit is durable against a process crash; only a power loss can roll back the last commits),
``auto_vacuum=INCREMENTAL`` (set before the first table exists, so that retention can hand
freed pages back with ``PRAGMA incremental_vacuum``), ``journal_size_limit`` (the WAL file is
truncated to this size after a checkpoint, keeping it bounded) and ``busy_timeout``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from .errors import TelemetryDatabaseError

#: The plan's DDL, verbatim (comments kept).
SCHEMA_SQL: str = """
CREATE TABLE IF NOT EXISTS dds_commands (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          REAL NOT NULL,           -- time.time() epoch seconds
    ts_mono     REAL NOT NULL,           -- time.monotonic() for interval math
    seq         INTEGER,                 -- DDS sequence number
    funcode     INTEGER NOT NULL,        -- 1=set_joint, 2=set_all, 5=enable, 6=power, 7=reset
    joint_id    INTEGER,                 -- NULL for multi-joint/system commands
    target_value REAL,                   -- angle_deg or gripper_mm
    data_json   TEXT,                    -- full data dict as JSON (for set_all_joints etc)
    correlation_id TEXT,
    raw_len     INTEGER                  -- bytes published
);
CREATE INDEX IF NOT EXISTS idx_dds_commands_ts ON dds_commands(ts);
CREATE INDEX IF NOT EXISTS idx_dds_commands_cid ON dds_commands(correlation_id);
CREATE INDEX IF NOT EXISTS idx_dds_commands_funcode ON dds_commands(funcode);

CREATE TABLE IF NOT EXISTS dds_feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          REAL NOT NULL,
    ts_mono     REAL NOT NULL,
    seq         INTEGER,
    funcode     INTEGER NOT NULL,        -- 1=angles, 3=status
    angle0      REAL, angle1 REAL, angle2 REAL, angle3 REAL,
    angle4      REAL, angle5 REAL, angle6 REAL,  -- angle6 = gripper
    power_status  INTEGER,
    enable_status INTEGER,
    error_status  INTEGER,
    recv_status   INTEGER,
    exec_status   INTEGER
);
CREATE INDEX IF NOT EXISTS idx_dds_feedback_ts ON dds_feedback(ts);
CREATE INDEX IF NOT EXISTS idx_dds_feedback_funcode ON dds_feedback(funcode);

CREATE TABLE IF NOT EXISTS smoother_state (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          REAL NOT NULL,
    joint_id    INTEGER NOT NULL,        -- 0-5 for joints, 6 for gripper
    target      REAL NOT NULL,
    current     REAL NOT NULL,
    sent        REAL NOT NULL,           -- what was actually sent to arm
    step_size   REAL,                    -- the interpolation step applied
    dirty       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS idx_smoother_ts ON smoother_state(ts);
CREATE INDEX IF NOT EXISTS idx_smoother_joint ON smoother_state(joint_id, ts);

CREATE TABLE IF NOT EXISTS web_requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          REAL NOT NULL,
    endpoint    TEXT NOT NULL,            -- e.g. "/api/command/set-joint"
    method      TEXT NOT NULL DEFAULT 'POST',
    params_json TEXT,                     -- request parameters as JSON
    response_ms REAL,                    -- response time in ms
    status_code INTEGER,
    correlation_id TEXT,
    ok          INTEGER                  -- 1=success, 0=failure
);
CREATE INDEX IF NOT EXISTS idx_web_requests_ts ON web_requests(ts);
CREATE INDEX IF NOT EXISTS idx_web_requests_endpoint ON web_requests(endpoint, ts);

CREATE TABLE IF NOT EXISTS camera_health (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          REAL NOT NULL,
    camera_id   TEXT NOT NULL,
    actual_fps  REAL,
    target_fps  REAL,
    drop_count  INTEGER,
    motion_score REAL,
    connected   INTEGER,
    resolution_w INTEGER,
    resolution_h INTEGER,
    stalled     INTEGER
);
CREATE INDEX IF NOT EXISTS idx_camera_health_ts ON camera_health(ts);
CREATE INDEX IF NOT EXISTS idx_camera_health_cam ON camera_health(camera_id, ts);

CREATE TABLE IF NOT EXISTS system_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          REAL NOT NULL,
    event_type  TEXT NOT NULL,           -- 'power_on','power_off','enable','disable','error','estop','connect','disconnect'
    source      TEXT NOT NULL,           -- 'web','dds','smoother','camera','system'
    detail      TEXT,                    -- human-readable detail
    data_json   TEXT,                    -- structured data as JSON
    correlation_id TEXT,
    level       TEXT DEFAULT 'info'      -- 'info','warning','error'
);
CREATE INDEX IF NOT EXISTS idx_system_events_ts ON system_events(ts);
CREATE INDEX IF NOT EXISTS idx_system_events_type ON system_events(event_type, ts);
"""

#: Insertable columns of each table, in insert order (``id`` is assigned by SQLite).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "dds_commands": ("ts", "ts_mono", "seq", "funcode", "joint_id", "target_value", "data_json",
                     "correlation_id", "raw_len"),
    "dds_feedback": ("ts", "ts_mono", "seq", "funcode", "angle0", "angle1", "angle2", "angle3",
                     "angle4", "angle5", "angle6", "power_status", "enable_status",
                     "error_status", "recv_status", "exec_status"),
    "smoother_state": ("ts", "joint_id", "target", "current", "sent", "step_size", "dirty"),
    "web_requests": ("endpoint", "method", "params_json", "response_ms", "status_code",
                     "correlation_id", "ok", "ts"),
    "camera_health": ("ts", "camera_id", "actual_fps", "target_fps", "drop_count",
                      "motion_score", "connected", "resolution_w", "resolution_h", "stalled"),
    "system_events": ("ts", "event_type", "source", "detail", "data_json", "correlation_id",
                      "level"),
}
TABLES: tuple[str, ...] = tuple(TABLE_COLUMNS)

#: Number of joints stored in ``dds_feedback`` (angle0..angle6; angle6 = gripper).
N_JOINTS: int = 7
GRIPPER_JOINT: int = 6

#: WAL size kept after a checkpoint (bytes); see ``PRAGMA journal_size_limit``.
JOURNAL_SIZE_LIMIT: int = 64 * 1024 * 1024
BUSY_TIMEOUT_MS: int = 5000


def _connect_error(path: Path, exc: BaseException) -> TelemetryDatabaseError:
    msg = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in msg or "malformed" in msg):
        return TelemetryDatabaseError(f"{path}: not a telemetry database, or corrupt ({msg})")
    return TelemetryDatabaseError(f"{path}: cannot open the telemetry database for writing ({msg})")


def init_db(db_path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating if needed) the telemetry database at ``db_path`` for writing.

    Creates the parent directories, sets the pragmas of the module docstring and creates every
    table and index of the plan (idempotent). The connection is in autocommit mode
    (``isolation_level=None``); callers open their transactions with ``BEGIN``.

    Returns:
        the open :class:`sqlite3.Connection` (``check_same_thread=False``: the collector hands it
        to its writer thread).

    Raises:
        TelemetryDatabaseError: the directory cannot be created or written (read-only), the
            file is not a SQLite database or is corrupt, or it lacks a table column of the plan.
    """
    path = Path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TelemetryDatabaseError(
            f"{path}: cannot create the directory {path.parent} ({exc.strerror or exc})") from exc
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise _connect_error(path, exc) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # auto_vacuum only takes effect before the first table is created.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise TelemetryDatabaseError(f"{path}: cannot switch to WAL journal mode (got {mode!r})")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        conn.executescript(SCHEMA_SQL)
        check_columns(conn, path)
    except TelemetryDatabaseError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        try:  # a foreign database with same-named tables: say which column is missing
            check_columns(conn, path)
        except TelemetryDatabaseError:
            conn.close()
            raise
        except sqlite3.Error:
            pass
        conn.close()
        raise _connect_error(path, exc) from exc
    return conn


def check_columns(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> None:
    """Check that every table of :data:`TABLE_COLUMNS` exists with its columns.

    Raises:
        TelemetryDatabaseError: naming the file, the table and the missing column(s).
    """
    for table, cols in TABLE_COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if not have:
            raise TelemetryDatabaseError(f"{path}: table {table} is missing")
        missing = [c for c in cols if c not in have]
        if missing:
            raise TelemetryDatabaseError(f"{path}: table {table} lacks column(s) {missing}")


def connect_readonly(db_path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open the telemetry database read-only (``file:...?mode=ro`` URI).

    Raises:
        TelemetryDatabaseError: the file does not exist, is not a SQLite database, or lacks the
            telemetry tables.
    """
    path = Path(db_path)
    if not path.is_file():
        raise TelemetryDatabaseError(f"{path}: no telemetry database here (file not found)")
    uri = "file:" + str(path.resolve()).replace("?", "%3f").replace("#", "%23") + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        check_columns(conn, path)
    except sqlite3.Error as exc:
        msg = str(exc)
        if "not a database" in msg or "malformed" in msg:
            raise TelemetryDatabaseError(f"{path}: not a telemetry database, or corrupt ({msg})") from exc
        raise TelemetryDatabaseError(f"{path}: cannot open read-only ({msg})") from exc
    return conn
