"""The persistent telemetry recorder: :class:`TelemetryCollector` and :func:`get_collector`.

Design (telemetry plan, "Internal design"; GitHub issue 6):

- Producers (any thread) call :meth:`TelemetryCollector.emit` or a typed ``log_*`` method.
  The call validates and converts the event to a row of its table *in the producer thread*
  (so a bad payload raises there, with a clear :class:`TelemetryInputError`, and the writer
  only ever sees valid rows) and appends it to one FIFO queue (a ``collections.deque``:
  appends are atomic under the GIL).
- One daemon writer thread drains the queue. It wakes when ``batch_size`` events are queued or
  ``flush_interval_s`` has passed since the last commit, whichever comes first, groups the
  events by table and inserts them in one transaction. Under a backlog one transaction takes up
  to ``max_batch_rows`` events, so the writer catches up instead of committing every
  ``batch_size`` rows.
- Inserts use multi-row ``INSERT ... VALUES (...),(...)`` statements of up to
  :data:`ROWS_PER_STATEMENT` rows rather than ``executemany``: the sqlite3 module releases the
  GIL around every ``sqlite3_step``, i.e. once per row with ``executemany``, and with busy
  producer threads each re-acquisition waits for the interpreter's switch interval (5 ms), which
  starves the writer (measured: 3,800 rows/s instead of 105,000). One statement per 100 rows
  releases the GIL 100 times less often. ``benchmarks/bench_telemetry_ingest.py`` measures it.
- Back-pressure: the queue holds at most ``max_queue`` events; a producer that finds it full
  waits up to ``put_timeout_s`` for the writer, then drops the event. Drops, write failures and
  the last error are counted in :meth:`get_stats` and logged; nothing is dropped silently.
- A failed transaction is rolled back and retried (3 attempts, 0.1/0.5 s apart); if it still
  fails its events are counted as dropped and the writer carries on. If the writer thread ever
  dies, every later ``emit``/``log_*`` raises :class:`TelemetryWriterError`.
- Read-your-writes: the legacy getters (:meth:`get_events`, :meth:`get_pipeline`,
  :meth:`get_stats`) read the committed rows *and* the events still queued or in flight, under
  the lock the writer holds while it commits, so every event emitted so far is seen exactly once
  whether or not the writer has started.
- Retention: when the writer starts it deletes rows older than ``retention_days``
  (``$TELEMETRY_RETENTION_DAYS``, default 7) in chunks, reclaims the pages with
  ``PRAGMA incremental_vacuum`` and truncates the WAL (``wal_checkpoint(TRUNCATE)``); while it
  runs, a WAL file larger than ``schema.JOURNAL_SIZE_LIMIT`` triggers a ``RESTART`` checkpoint.

Durability: ``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a
process crash (SQLite, "WAL mode" docs), so a ``SIGKILL`` loses only the events not yet
committed: at most those emitted during the last ``flush_interval_s`` plus the batch being
written (``benchmarks/bench_telemetry_crash.py`` measures it).

Rows read back through the legacy getters carry the table's canonical source (``dds`` for the
DDS tables, ``web``, ``camera``; ``system_events`` keeps its ``source`` column) and have no
correlation id where the table has no such column (dds_feedback, camera_health).
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import TelemetryError, TelemetryInputError, TelemetryWriterError
from .events import EventType, TelemetryEvent
from .retention import apply_retention, retention_days_from_env
from .schema import (GRIPPER_JOINT, JOURNAL_SIZE_LIMIT, N_JOINTS, TABLE_COLUMNS, connect_readonly,
                     init_db)

log = logging.getLogger("workbench.telemetry")

#: Rows per multi-row INSERT statement (16 columns x 100 rows = 1,600 bound parameters, well
#: under SQLite's 32,766 limit).
ROWS_PER_STATEMENT: int = 100

#: Table each routed event type goes to (telemetry plan, ``emit`` docstring). WS_SEND: skipped.
ROUTES: dict[EventType, str | None] = {
    EventType.DDS_PUBLISH: "dds_commands",
    EventType.DDS_RECEIVE: "dds_feedback",
    EventType.CMD_SENT: "web_requests",
    EventType.CAM_FRAME: "camera_health",
    EventType.ERROR: "system_events",
    EventType.STATE_UPDATE: "system_events",
    EventType.CMD_ACK: "system_events",
    EventType.CMD_EXEC: "system_events",
    EventType.WS_RECEIVE: "system_events",
    EventType.WS_SEND: None,
}

#: Canonical source of the rows of tables without a ``source`` column.
TABLE_SOURCE: dict[str, str] = {"dds_commands": "dds", "dds_feedback": "dds",
                                "web_requests": "web", "camera_health": "camera",
                                "smoother_state": "smoother"}
_TABLE_EVENT: dict[str, EventType] = {"dds_commands": EventType.DDS_PUBLISH,
                                      "dds_feedback": EventType.DDS_RECEIVE,
                                      "web_requests": EventType.CMD_SENT,
                                      "camera_health": EventType.CAM_FRAME}
SMOOTHER_TICK = "smoother_tick"
_STATUS_KEYS = ("power_status", "enable_status", "error_status", "recv_status", "exec_status")
_NEW, _RUNNING, _STOPPED, _DEAD = "new", "running", "stopped", "dead"


def _json(value: Any, what: str) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TelemetryInputError(f"{what}: payload is not JSON-serialisable ({exc})") from None


def _num(value: Any, what: str, field: str, conv: Callable[[Any], Any] = float) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    try:
        out = conv(value)
    except (TypeError, ValueError):
        raise TelemetryInputError(f"{what}: field {field!r} must be a number, got {value!r:.60}") from None
    return out


def _int(value: Any, what: str, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and not value.is_integer():
        raise TelemetryInputError(f"{what}: field {field!r} must be an integer, got {value!r}")
    return _num(value, what, field, int)


def _angles(angles: Any, what: str) -> list[float | None]:
    """Normalise positions to 7 slots: a sequence (joint order), or a mapping keyed by joint
    number (0..6), ``"angle0".."angle6"`` or ``"j0".."j6"``, ``"gripper"`` for joint 6."""
    out: list[float | None] = [None] * N_JOINTS
    if angles is None:
        return out
    if isinstance(angles, Mapping):
        for k, v in angles.items():
            key = str(k).lower()
            if key == "gripper":
                j = GRIPPER_JOINT
            else:
                digits = key.removeprefix("angle").removeprefix("joint").removeprefix("j")
                if not digits.isdigit():
                    raise TelemetryInputError(f"{what}: unknown joint key {k!r} in angles")
                j = int(digits)
            if not 0 <= j < N_JOINTS:
                raise TelemetryInputError(f"{what}: joint {j} out of range 0..{N_JOINTS - 1}")
            out[j] = _num(v, what, f"angle{j}")
    elif isinstance(angles, (list, tuple)):
        if len(angles) > N_JOINTS:
            raise TelemetryInputError(f"{what}: {len(angles)} angles, at most {N_JOINTS}")
        for j, v in enumerate(angles):
            out[j] = _num(v, what, f"angle{j}")
    else:
        raise TelemetryInputError(f"{what}: angles must be a list or a dict, got {type(angles).__name__}")
    return out


def _row_dicts(table: str, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    cols = TABLE_COLUMNS[table]
    return [dict(zip(cols, r)) for r in rows]


def row_to_event(table: str, row: Mapping[str, Any], mono_offset_s: float) -> TelemetryEvent | None:
    """Rebuild the legacy :class:`TelemetryEvent` of a stored row (``None`` for smoother rows).

    ``mono_offset_s`` = ``time.time() - time.monotonic()`` of this process, used for tables
    without ``ts_mono``.
    """
    ts = float(row["ts"])
    mono = row.get("ts_mono")
    mono_ms = (float(mono) if mono is not None else ts - mono_offset_s) * 1000.0
    payload = {k: v for k, v in row.items() if k not in ("id", "ts", "ts_mono", "correlation_id")}
    for key in ("data_json", "params_json"):
        if key in payload:
            text = payload.pop(key)
            payload[key[:-5]] = json.loads(text) if text else None
    if table == "system_events":
        et_text = str(row["event_type"])
        try:
            et = EventType(et_text)
        except ValueError:
            et = EventType.STATE_UPDATE
        return TelemetryEvent(mono_ms, ts * 1000.0, str(row["source"]), et, payload,
                              row.get("correlation_id"))
    if table not in _TABLE_EVENT:
        return None
    if table == "dds_feedback":
        payload = {k: v for k, v in payload.items() if v is not None}
    return TelemetryEvent(mono_ms, ts * 1000.0, TABLE_SOURCE[table], _TABLE_EVENT[table], payload,
                          row.get("correlation_id"))


class TelemetryCollector:
    """Persistent telemetry recorder writing to SQLite through one background thread.

    Args:
        db_path: SQLite file (created with its directories on :meth:`start`).
        batch_size: commit as soon as this many events are queued.
        flush_interval_s: commit at least this often while events are queued.
        max_queue: queue capacity (events) before back-pressure applies.
        put_timeout_s: how long a producer waits on a full queue before the event is dropped
            (counted in ``get_stats()["dropped"]``).
        max_batch_rows: most events written in one transaction when the writer has a backlog.
        retention_days: delete rows older than this on start; ``None`` reads
            ``$TELEMETRY_RETENTION_DAYS`` (default 7); ``0`` or negative keeps everything.
        on_commit: called in the writer thread after every commit with the total number of
            events committed so far (events commit in queue order).

    Raises:
        TelemetryInputError: a non-positive ``batch_size``, ``flush_interval_s`` or ``max_queue``.
    """

    def __init__(self, db_path: str | os.PathLike[str] = "var/telemetry.db", batch_size: int = 50,
                 flush_interval_s: float = 1.0, *, max_queue: int = 100_000,
                 put_timeout_s: float = 1.0, max_batch_rows: int = 5000,
                 retention_days: float | None = None,
                 on_commit: Callable[[int], None] | None = None) -> None:
        if int(batch_size) < 1 or not flush_interval_s > 0 or int(max_queue) < 1:
            raise TelemetryInputError(
                f"TelemetryCollector: batch_size ({batch_size}), flush_interval_s "
                f"({flush_interval_s}) and max_queue ({max_queue}) must be positive")
        self.db_path = Path(db_path)
        self.batch_size = int(batch_size)
        self.flush_interval_s = float(flush_interval_s)
        self.max_queue = int(max_queue)
        self.put_timeout_s = float(put_timeout_s)
        self.max_batch_rows = max(int(max_batch_rows), self.batch_size)
        self.retention_days = (retention_days_from_env() if retention_days is None
                               else float(retention_days))
        self.on_commit = on_commit
        self._enabled = True
        self._state = _NEW
        self._q: deque[tuple[str, str | None, tuple[Any, ...]]] = deque()
        self._inflight: list[tuple[str, str | None, tuple[Any, ...]]] = []
        self._wake = threading.Event()
        self._commit_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._lifecycle_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._counts: dict[str, int] = {}
        self._first_emit_wall: float | None = None
        self._created_wall = time.time()
        self._mono_offset = time.time() - time.monotonic()
        self._written = 0
        self._written_by_table: dict[str, int] = {t: 0 for t in TABLE_COLUMNS}
        self._dropped = 0
        self._dropped_full = 0
        self._write_errors = 0
        self._blocked = 0
        self._skipped_disabled = 0
        self._commits = 0
        self._last_error: str | None = None
        self._last_drop_log = 0.0
        self._retention_deleted: dict[str, int] = {}
        self._stmt_cache: dict[tuple[str, int], str] = {}

    # ------------------------------------------------------------------ switches
    def enable(self) -> None:
        """Record events again after :meth:`disable`."""
        self._enabled = True

    def disable(self) -> None:
        """Ignore events (``emit`` still returns the event; they are counted as skipped)."""
        self._enabled = False

    @property
    def enabled(self) -> bool:
        """Whether events are recorded."""
        return self._enabled

    @staticmethod
    def new_correlation_id() -> str:
        """A fresh correlation id (12 hex digits of a random UUID4)."""
        return uuid.uuid4().hex[:12]

    # ------------------------------------------------------------------ enqueue
    def _check_state(self) -> None:
        if self._state in (_STOPPED, _DEAD):
            if self._state == _DEAD:
                raise TelemetryWriterError(
                    f"{self.db_path}: the telemetry writer thread died ({self._last_error}); "
                    "events are refused")
            raise TelemetryWriterError(f"{self.db_path}: the collector is stopped; call start() first")

    def _put(self, kind: str, table: str | None, row: tuple[Any, ...]) -> None:
        with self._count_lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            if self._first_emit_wall is None:
                self._first_emit_wall = time.time()
        if table is None:
            return
        q = self._q
        if len(q) >= self.max_queue and not self._wait_for_room():
            return
        q.append((kind, table, row))
        if len(q) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def _wait_for_room(self) -> bool:
        with self._count_lock:
            self._blocked += 1
        deadline = time.monotonic() + self.put_timeout_s
        while len(self._q) >= self.max_queue:
            self._check_state()
            self._wake.set()
            if self._state != _RUNNING or time.monotonic() >= deadline:
                now = time.monotonic()
                with self._count_lock:
                    self._dropped += 1
                    self._dropped_full += 1
                    self._last_error = f"queue full ({self.max_queue} events): event dropped"
                    should_log = now - self._last_drop_log > 5.0
                    if should_log:
                        self._last_drop_log = now
                if should_log:
                    log.warning("%s: telemetry queue full (%d events); dropping events "
                                "(%d dropped so far)", self.db_path, self.max_queue, self._dropped)
                return False
            time.sleep(0.001)
        return True

    def emit(self, source: str, event_type: EventType | str, payload: dict[str, Any] | None = None,
             correlation_id: str | None = None) -> TelemetryEvent:
        """Record one event, routed to its table by ``event_type`` (see :data:`ROUTES`).

        Payload keys read per route (others are kept in the JSON column where there is one):
        ``dds_publish``: seq, funcode (default 1), joint_id, target_value (or angle/value), data
        (default: the payload), raw_len; ``dds_receive``: seq, funcode (1 positions, 3 status),
        angles (list or dict), the five ``*_status`` flags (or a ``status`` dict);
        ``cmd_sent``: endpoint (or path), method, params, response_ms, status_code, ok;
        ``cam_frame``: camera_id and the camera_health columns; system events: detail (or
        message), level (``error`` for ERROR events).

        Returns:
            the :class:`TelemetryEvent` (also when disabled or for WS_SEND, which is not stored).

        Raises:
            TelemetryInputError: unknown event type, payload not a dict or not JSON-serialisable,
                a non-numeric numeric field.
            TelemetryWriterError: the collector is stopped or its writer died.
        """
        et = EventType.parse(event_type)
        if payload is not None and not isinstance(payload, Mapping):
            raise TelemetryInputError(
                f"emit({source!r}, {et.value}): payload must be a dict, got {type(payload).__name__}")
        payload = dict(payload or {})
        now, mono = time.time(), time.monotonic()
        ev = TelemetryEvent(mono * 1000.0, now * 1000.0, str(source), et, payload, correlation_id)
        self._check_state()
        if not self._enabled:
            self._skip()
            return ev
        what = f"emit({source!r}, {et.value})"
        p = payload
        if et is EventType.DDS_PUBLISH:
            target = p.get("target_value", p.get("angle", p.get("value")))
            row = (now, mono, _int(p.get("seq"), what, "seq"),
                   _int(p.get("funcode", 1), what, "funcode"),
                   _int(p.get("joint_id", p.get("joint")), what, "joint_id"),
                   _num(target, what, "target_value"),
                   _json(p.get("data", p), what), correlation_id,
                   _int(p.get("raw_len"), what, "raw_len"))
            self._put(et.value, "dds_commands", row)
        elif et is EventType.DDS_RECEIVE:
            status = p.get("status") if isinstance(p.get("status"), Mapping) else p
            self._put(et.value, "dds_feedback",
                      self._feedback_row(p.get("seq"), p.get("funcode", 1), p.get("angles"),
                                         status, what, now, mono))
        elif et is EventType.CMD_SENT:
            endpoint = p.get("endpoint", p.get("path", p.get("action", source)))
            ok = p.get("ok")
            self._put(et.value, "web_requests",
                      (str(endpoint), str(p.get("method", "POST")),
                       _json(p.get("params", p), what), _num(p.get("response_ms"), what, "response_ms"),
                       _int(p.get("status_code"), what, "status_code"), correlation_id,
                       None if ok is None else int(bool(ok)), now))
        elif et is EventType.CAM_FRAME:
            cam = p.get("camera_id", p.get("cam_id", source))
            self._put(et.value, "camera_health", self._camera_row(str(cam), p, what, now))
        elif et is EventType.WS_SEND:
            self._put(et.value, None, ())
        else:
            level = "error" if et is EventType.ERROR else str(p.get("level", "info"))
            detail = p.get("detail", p.get("message", p.get("error", "")))
            self._put(et.value, "system_events",
                      (now, et.value, str(source), None if detail is None else str(detail),
                       _json(p, what), correlation_id, level))
        return ev

    def _skip(self) -> None:
        with self._count_lock:
            self._skipped_disabled += 1

    def _feedback_row(self, seq: Any, funcode: Any, angles: Any, status: Any, what: str,
                      now: float, mono: float) -> tuple[Any, ...]:
        st = status if isinstance(status, Mapping) else {}
        if status is not None and not isinstance(status, Mapping):
            raise TelemetryInputError(f"{what}: status must be a dict, got {type(status).__name__}")
        return (now, mono, _int(seq, what, "seq"), _int(funcode, what, "funcode"),
                *_angles(angles, what), *(_int(st.get(k), what, k) for k in _STATUS_KEYS))

    def _camera_row(self, camera_id: str, s: Mapping[str, Any], what: str, now: float) -> tuple[Any, ...]:
        res = s.get("resolution")
        w, h = (res if isinstance(res, (list, tuple)) and len(res) == 2
                else (s.get("resolution_w"), s.get("resolution_h")))
        return (now, camera_id, _num(s.get("actual_fps"), what, "actual_fps"),
                _num(s.get("target_fps"), what, "target_fps"),
                _int(s.get("drop_count"), what, "drop_count"),
                _num(s.get("motion_score"), what, "motion_score"),
                _int(s.get("connected"), what, "connected"), _int(w, what, "resolution_w"),
                _int(h, what, "resolution_h"), _int(s.get("stalled"), what, "stalled"))

    # ------------------------------------------------------------------ typed inserts
    def log_command(self, seq: int | None, funcode: int, joint_id: int | None,
                    target_value: float | None, data: dict[str, Any] | None,
                    correlation_id: str | None = None, raw_len: int = 0, *,
                    ts: float | None = None, ts_mono: float | None = None) -> None:
        """Insert one row into ``dds_commands``.

        ``ts``/``ts_mono`` (epoch / monotonic seconds) default to now; replayed or simulated
        data (virtual machine, grbl log) passes its own.

        Raises:
            TelemetryInputError: non-numeric fields or ``data`` not JSON-serialisable.
            TelemetryWriterError: the collector is stopped or its writer died.
        """
        self._check_state()
        if not self._enabled:
            return self._skip()
        what = "log_command"
        now = time.time() if ts is None else float(ts)
        mono = (time.monotonic() if ts is None else now - self._mono_offset) if ts_mono is None else ts_mono
        self._put(EventType.DDS_PUBLISH.value, "dds_commands",
                  (now, mono, _int(seq, what, "seq"), _int(funcode, what, "funcode"),
                   _int(joint_id, what, "joint_id"), _num(target_value, what, "target_value"),
                   _json(data, what), correlation_id, _int(raw_len, what, "raw_len")))

    def log_feedback(self, seq: int | None, funcode: int, angles: Mapping[Any, Any] | Sequence[Any] | None,
                     status: Mapping[str, Any] | None, *, ts: float | None = None,
                     ts_mono: float | None = None) -> None:
        """Insert one row into ``dds_feedback``.

        Args:
            funcode: 1 = positions, 3 = status.
            angles: positions (deg or mm), as a list in joint order or a dict keyed by joint
                number, ``angleN`` or ``jN`` (``gripper`` = joint 6).
            status: ``power_status``, ``enable_status``, ``error_status``, ``recv_status``,
                ``exec_status`` (ints; missing ones are NULL).

        Raises:
            TelemetryInputError: bad joint key, joint out of 0..6, non-numeric value.
            TelemetryWriterError: the collector is stopped or its writer died.
        """
        self._check_state()
        if not self._enabled:
            return self._skip()
        now = time.time() if ts is None else float(ts)
        mono = (time.monotonic() if ts is None else now - self._mono_offset) if ts_mono is None else ts_mono
        self._put(EventType.DDS_RECEIVE.value, "dds_feedback",
                  self._feedback_row(seq, funcode, angles, status, "log_feedback", now, mono))

    def log_smoother_tick(self, states: Sequence[Mapping[str, Any]], *, ts: float | None = None) -> None:
        """Insert one ``smoother_state`` row per dict ``{joint_id, target, current, sent,
        step_size, dirty}`` (all rows share one timestamp).

        Raises:
            TelemetryInputError: a missing required key (joint_id, target, current, sent) or a
                non-numeric value.
        """
        self._check_state()
        if not self._enabled:
            return self._skip()
        now = time.time() if ts is None else float(ts)
        rows = []
        for n, s in enumerate(states):
            what = f"log_smoother_tick(states[{n}])"
            if not isinstance(s, Mapping):
                raise TelemetryInputError(f"{what}: expected a dict, got {type(s).__name__}")
            for k in ("joint_id", "target", "current", "sent"):
                if s.get(k) is None:
                    raise TelemetryInputError(f"{what}: missing {k!r}")
            rows.append((now, _int(s["joint_id"], what, "joint_id"), _num(s["target"], what, "target"),
                         _num(s["current"], what, "current"), _num(s["sent"], what, "sent"),
                         _num(s.get("step_size"), what, "step_size"),
                         int(bool(s.get("dirty", True)))))
        for row in rows:
            self._put(SMOOTHER_TICK, "smoother_state", row)

    def log_web_request(self, endpoint: str, method: str, params: dict[str, Any] | None,
                        response_ms: float | None, status_code: int | None, ok: bool,
                        correlation_id: str | None = None, *, ts: float | None = None) -> None:
        """Insert one row into ``web_requests`` (strings are stored verbatim, never as SQL).

        Raises:
            TelemetryInputError: ``params`` not JSON-serialisable or non-numeric timing/status.
        """
        self._check_state()
        if not self._enabled:
            return self._skip()
        what = f"log_web_request({endpoint!r:.60})"
        self._put(EventType.CMD_SENT.value, "web_requests",
                  (str(endpoint), str(method), _json(params, what),
                   _num(response_ms, what, "response_ms"), _int(status_code, what, "status_code"),
                   correlation_id, int(bool(ok)), time.time() if ts is None else float(ts)))

    def log_camera_health(self, camera_id: str, stats: Mapping[str, Any], *,
                          ts: float | None = None) -> None:
        """Insert one row into ``camera_health`` from a stats dict (``actual_fps``,
        ``target_fps``, ``drop_count``, ``motion_score``, ``connected``, ``resolution`` (w, h)
        or ``resolution_w``/``resolution_h``, ``stalled``)."""
        self._check_state()
        if not self._enabled:
            return self._skip()
        if not isinstance(stats, Mapping):
            raise TelemetryInputError(f"log_camera_health({camera_id!r}): stats must be a dict")
        self._put(EventType.CAM_FRAME.value, "camera_health",
                  self._camera_row(str(camera_id), stats, f"log_camera_health({camera_id!r})",
                                   time.time() if ts is None else float(ts)))

    def log_system_event(self, event_type: str, source: str, detail: str = "",
                         data: dict[str, Any] | None = None, correlation_id: str | None = None,
                         level: str = "info", *, ts: float | None = None) -> None:
        """Insert one row into ``system_events`` (``event_type`` is free text here: 'connect',
        'estop', ...; ``level`` one of info, warning, error).

        Raises:
            TelemetryInputError: an unknown level or ``data`` not JSON-serialisable.
        """
        self._check_state()
        if not self._enabled:
            return self._skip()
        if level not in ("info", "warning", "error"):
            raise TelemetryInputError(f"log_system_event({event_type!r}): level must be info, "
                                      f"warning or error, got {level!r}")
        what = f"log_system_event({event_type!r:.60})"
        kind = str(event_type) if str(event_type) in EventType._value2member_map_ else EventType.STATE_UPDATE.value
        self._put(kind, "system_events",
                  (time.time() if ts is None else float(ts), str(event_type), str(source),
                   str(detail), _json(data, what), correlation_id, level))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Open (creating) the database and start the writer thread. Idempotent.

        Raises:
            TelemetryDatabaseError: read-only directory, corrupt or foreign database file.
        """
        with self._lifecycle_lock:
            if self._state == _RUNNING:
                return
            self._conn = init_db(self.db_path)
            self._state = _RUNNING
            self._thread = threading.Thread(target=self._writer_main, daemon=True,
                                            name=f"telemetry-writer:{self.db_path.name}")
            self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Write every queued event, checkpoint the WAL and close the database.

        Events emitted after ``stop()`` raise :class:`TelemetryWriterError` until the next
        :meth:`start`. A collector never started just keeps its queue (nothing to flush to).
        """
        with self._lifecycle_lock:
            if self._state != _RUNNING or self._thread is None:
                return
            self._state = _STOPPED
            self._wake.set()
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("%s: telemetry writer did not finish within %s s", self.db_path, timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """Whether the writer thread is alive."""
        return self._state == _RUNNING and self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ writer
    def _writer_main(self) -> None:
        conn = self._conn
        assert conn is not None
        try:
            if self.retention_days > 0:
                try:
                    self._retention_deleted = apply_retention(conn, self.retention_days)
                except sqlite3.Error as exc:
                    self._last_error = f"retention: {exc}"
                    log.error("%s: retention failed: %s", self.db_path, exc)
            self._writer_loop(conn)
        except BaseException as exc:  # noqa: BLE001 - record why the writer died
            self._last_error = f"{type(exc).__name__}: {exc}"
            self._state = _DEAD
            log.exception("%s: telemetry writer died", self.db_path)
        finally:
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            conn.close()
            self._conn = None

    def _writer_loop(self, conn: sqlite3.Connection) -> None:
        last_flush = time.monotonic()
        q = self._q
        while True:
            stopping = self._state != _RUNNING
            n = len(q)
            if n == 0 and stopping:
                return
            due = time.monotonic() - last_flush >= self.flush_interval_s
            if n >= self.batch_size or (n and (due or stopping)):
                self._write_batch(conn, min(n, self.max_batch_rows))
                last_flush = time.monotonic()
                continue
            if due:
                last_flush = time.monotonic()
            self._wake.wait(max(0.0, self.flush_interval_s - (time.monotonic() - last_flush)))
            self._wake.clear()

    def _sql(self, table: str, nrows: int) -> str:
        key = (table, nrows)
        sql = self._stmt_cache.get(key)
        if sql is None:
            cols = TABLE_COLUMNS[table]
            one = "(" + ",".join("?" * len(cols)) + ")"
            sql = f"INSERT INTO {table} ({','.join(cols)}) VALUES " + ",".join([one] * nrows)
            self._stmt_cache[key] = sql
        return sql

    def _write_batch(self, conn: sqlite3.Connection, n: int) -> None:
        q = self._q
        with self._commit_lock:
            batch = [q.popleft() for _ in range(n)]
            self._inflight = batch
        by_table: dict[str, list[tuple[Any, ...]]] = {}
        for _kind, table, row in batch:
            by_table.setdefault(table, []).append(row)  # type: ignore[arg-type]
        chain = itertools.chain.from_iterable
        for attempt in range(3):
            try:
                conn.execute("BEGIN")
                for table, rows in by_table.items():
                    full = len(rows) - len(rows) % ROWS_PER_STATEMENT
                    if full:
                        sql = self._sql(table, ROWS_PER_STATEMENT)
                        for k in range(0, full, ROWS_PER_STATEMENT):
                            conn.execute(sql, list(chain(rows[k:k + ROWS_PER_STATEMENT])))
                    if full < len(rows):
                        conn.execute(self._sql(table, len(rows) - full), list(chain(rows[full:])))
                with self._commit_lock:
                    conn.execute("COMMIT")
                    self._inflight = []
                    self._written += n
                    for table, rows in by_table.items():
                        self._written_by_table[table] += len(rows)
                    self._commits += 1
                break
            except sqlite3.Error as exc:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self._write_errors += 1
                self._last_error = f"write failed (attempt {attempt + 1}/3): {exc}"
                log.warning("%s: telemetry %s", self.db_path, self._last_error)
                if attempt < 2:
                    time.sleep((0.1, 0.5)[attempt])
        else:
            with self._commit_lock:
                self._inflight = []
                self._dropped += n
            log.error("%s: telemetry batch of %d events dropped after 3 failed writes: %s",
                      self.db_path, n, self._last_error)
            return
        if self.on_commit is not None:
            self.on_commit(self._written)
        if self._commits % 200 == 0:
            self._bound_wal(conn)

    def _bound_wal(self, conn: sqlite3.Connection) -> None:
        wal = Path(str(self.db_path) + "-wal")
        try:
            if wal.exists() and wal.stat().st_size > JOURNAL_SIZE_LIMIT:
                conn.execute("PRAGMA wal_checkpoint(RESTART)")
        except (OSError, sqlite3.Error) as exc:
            self._last_error = f"checkpoint: {exc}"

    # ------------------------------------------------------------------ legacy getters
    def _snapshot(self, tables: Sequence[str], sql_for: Callable[[str], tuple[str, list[Any]]]
                  ) -> list[tuple[str, dict[str, Any]]]:
        """Committed rows (via ``sql_for(table)``) plus queued/in-flight rows, consistently."""
        out: list[tuple[str, dict[str, Any]]] = []
        with self._commit_lock:
            if self.db_path.is_file():
                conn = connect_readonly(self.db_path)
                try:
                    conn.row_factory = sqlite3.Row
                    for t in tables:
                        sql, args = sql_for(t)
                        out.extend((t, dict(r)) for r in conn.execute(sql, args))
                finally:
                    conn.close()
            pending = list(self._inflight) + list(self._q.copy())
        want = set(tables)
        for _kind, table, row in pending:
            if table in want:
                out.append((table, dict(zip(TABLE_COLUMNS[table], row))))  # type: ignore[index]
        return out

    def get_events(self, limit: int = 100, event_type: EventType | str | None = None,
                   source: str | None = None) -> list[TelemetryEvent]:
        """The ``limit`` most recent stored or queued events, oldest first.

        Smoother rows and WS_SEND events are not events here (the old ring buffer never held
        them). ``source`` filters on the ``system_events.source`` column or the table's
        canonical source (``dds``, ``web``, ``camera``).

        Raises:
            TelemetryInputError: unknown ``event_type``.
        """
        et = EventType.parse(event_type) if event_type is not None else None
        if et is EventType.WS_SEND:
            return []
        tables = [ROUTES[et]] if et is not None else list(_TABLE_EVENT) + ["system_events"]
        lim = max(int(limit), 0)

        def sql_for(t: str) -> tuple[str, list[Any]]:
            where, args = [], []
            if t == "system_events" and et is not None:
                where.append("event_type = ?")
                args.append(et.value)
            if t == "system_events" and source is not None:
                where.append("source = ?")
                args.append(source)
            w = f"WHERE {' AND '.join(where)}" if where else ""
            return f"SELECT * FROM {t} {w} ORDER BY id DESC LIMIT {lim}", args

        if source is not None:
            tables = [t for t in tables if t == "system_events" or TABLE_SOURCE.get(t) == source]
        events = []
        for table, row in self._snapshot(tables, sql_for):
            ev = row_to_event(table, row, self._mono_offset)
            if ev is None:
                continue
            if et is not None and ev.event_type is not et:
                continue
            if source is not None and ev.source != source:
                continue
            events.append(ev)
        events.sort(key=lambda e: e.wall_time_ms)
        return events[-lim:] if lim else []

    def get_pipeline(self, correlation_id: str) -> list[dict[str, Any]]:
        """Every stored or queued event of one correlation id, in time order.

        Returns:
            ``[{"timestamp_ms", "wall_time_ms", "source", "event_type", "payload",
            "correlation_id", "delta_ms"}]`` where ``delta_ms`` is the time since the first
            event of the pipeline.
        """
        tables = ["dds_commands", "web_requests", "system_events"]
        rows = self._snapshot(tables, lambda t: (f"SELECT * FROM {t} WHERE correlation_id = ?",
                                                 [correlation_id]))
        events = [row_to_event(t, r, self._mono_offset) for t, r in rows
                  if r.get("correlation_id") == correlation_id]
        evs = sorted((e for e in events if e is not None), key=lambda e: e.wall_time_ms)
        t0 = evs[0].wall_time_ms if evs else 0.0
        return [{"timestamp_ms": e.timestamp_ms, "wall_time_ms": e.wall_time_ms, "source": e.source,
                 "event_type": e.event_type.value, "payload": e.payload,
                 "correlation_id": e.correlation_id, "delta_ms": e.wall_time_ms - t0} for e in evs]

    def get_stats(self) -> dict[str, Any]:
        """Counters of the recorder.

        Returns:
            ``{"total_events", "by_type": {type: count}, "rates_hz": {type: events/s since the
            first event}, "queue_depth", "in_flight", "written", "written_by_table", "dropped",
            "dropped_queue_full", "write_errors", "producer_waits", "skipped_disabled",
            "commits", "last_error", "running", "state", "enabled", "retention_deleted",
            "db_path", "uptime_s"}``. ``by_type`` counts every event emitted or logged,
            including unstored ``ws_send`` (smoother rows under ``smoother_tick``).
        """
        with self._count_lock:
            counts = dict(self._counts)
            first = self._first_emit_wall
        now = time.time()
        span = max(now - first, 1e-9) if first is not None else None
        with self._commit_lock:
            depth, inflight = len(self._q), len(self._inflight)
            written, by_table = self._written, dict(self._written_by_table)
        return {
            "total_events": sum(counts.values()),
            "by_type": counts,
            "rates_hz": {k: (v / span if span else 0.0) for k, v in counts.items()},
            "queue_depth": depth,
            "in_flight": inflight,
            "written": written,
            "written_by_table": by_table,
            "dropped": self._dropped,
            "dropped_queue_full": self._dropped_full,
            "write_errors": self._write_errors,
            "producer_waits": self._blocked,
            "skipped_disabled": self._skipped_disabled,
            "commits": self._commits,
            "last_error": self._last_error,
            "running": self.running,
            "state": self._state,
            "enabled": self._enabled,
            "retention_deleted": dict(self._retention_deleted),
            "db_path": str(self.db_path),
            "uptime_s": now - self._created_wall,
        }


_default: TelemetryCollector | None = None
_default_lock = threading.Lock()


def default_db_path() -> Path:
    """``$TELEMETRY_DB`` or ``<WORKBENCH_HOME>/telemetry.db`` (``var/`` of the checkout)."""
    env = os.environ.get("TELEMETRY_DB")
    if env:
        return Path(env)
    from ..db import WORKBENCH_HOME
    return Path(WORKBENCH_HOME) / "telemetry.db"


def get_collector() -> TelemetryCollector:
    """The process-wide collector on :func:`default_db_path`, started on first access and
    stopped (flushed) at interpreter exit.

    Raises:
        TelemetryDatabaseError: the database cannot be opened (see :func:`schema.init_db`).
    """
    global _default
    with _default_lock:
        if _default is None or _default._state in (_STOPPED, _DEAD):
            c = TelemetryCollector(default_db_path())
            c.start()
            atexit.register(c.stop)
            _default = c
        return _default


__all__ = ["TelemetryCollector", "TelemetryEvent", "EventType", "get_collector", "ROUTES",
           "TelemetryError", "default_db_path", "row_to_event"]
