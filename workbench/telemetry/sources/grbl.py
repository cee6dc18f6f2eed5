"""grbl / grblHAL status reports as telemetry.

A grbl 1.1 controller answers the real-time ``?`` command with one status report line
(grbl wiki, "Grbl v1.1 Interface", Real-time Status Reports)::

    <Run|MPos:12.000,3.500,-1.000|FS:800,12000|WCO:0.000,0.000,0.000>

Fields used: the machine state (``Idle``, ``Run``, ``Hold:0``, ``Jog``, ``Alarm``, ``Door:1``,
``Check``, ``Home``, ``Sleep``), ``MPos`` (or ``WPos`` + the last ``WCO``: MPos = WPos + WCO),
``FS``/``F`` (feed mm/min, spindle rpm), ``Ln``, ``Bf``, ``Ov``, ``Pn``. Axes go to joints in
order (X, Y, Z = 0, 1, 2; grblHAL A/B/C = 3, 4, 5). ``ALARM:n`` and ``error:n`` lines become
error events.

Each report becomes a position-feedback row (``dds_feedback`` funcode 1, ``seq`` = report
number). A state change becomes a status row (funcode 3: ``exec_status`` 1 when moving
(Run/Jog/Home), ``error_status`` 1 in Alarm, ``enable_status`` 0 in Sleep) and a
``state_update`` system event with the feed and spindle speed. Log lines may start with an
epoch timestamp (``1700000000.125 <Idle|...>``) or an ISO-8601 one; otherwise reports are
spaced ``1 / poll_hz`` seconds apart from ``start_ts``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..collector import TelemetryCollector
from ..errors import TelemetryInputError

_REPORT = re.compile(r"<([^>]*)>")
_TS = re.compile(r"^\s*\[?(\d{9,11}(?:\.\d+)?|\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)\]?\s+")
_ALARM = re.compile(r"^\s*(ALARM|error):\s*(\d+)", re.IGNORECASE)
MOVING_STATES = ("Run", "Jog", "Home")


@dataclass
class StatusReport:
    """One parsed ``<...>`` status report (positions in mm, machine coordinates)."""

    state: str
    substate: int | None
    mpos: tuple[float, ...] | None
    feed: float | None = None
    spindle: float | None = None
    fields: dict[str, str] = field(default_factory=dict)


def _floats(text: str, what: str, line_no: int) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise TelemetryInputError(f"line {line_no}: bad {what} value {text!r}") from None


def parse_status(report: str, wco: tuple[float, ...] | None = None, line_no: int = 0) -> StatusReport:
    """Parse the inside or the whole of a ``<...>`` report.

    Raises:
        TelemetryInputError: naming the line when a numeric field is malformed or neither MPos
            nor WPos is present.
    """
    text = report.strip().strip("<>")
    parts = text.split("|")
    state, _, sub = parts[0].partition(":")
    fields = {}
    for p in parts[1:]:
        k, _, v = p.partition(":")
        fields[k] = v
    if "WCO" in fields:
        wco = _floats(fields["WCO"], "WCO", line_no)
    if "MPos" in fields:
        mpos = _floats(fields["MPos"], "MPos", line_no)
    elif "WPos" in fields:
        w = _floats(fields["WPos"], "WPos", line_no)
        mpos = tuple(a + b for a, b in zip(w, wco)) if wco else w
    else:
        raise TelemetryInputError(f"line {line_no}: status report without MPos or WPos: <{text}>")
    feed = spindle = None
    if "FS" in fields:
        fs = _floats(fields["FS"], "FS", line_no)
        feed, spindle = fs[0], (fs[1] if len(fs) > 1 else None)
    elif "F" in fields:
        feed = _floats(fields["F"], "F", line_no)[0]
    return StatusReport(state, int(sub) if sub.isdigit() else None, mpos, feed, spindle, fields)


def _parse_ts(text: str) -> float:
    if text[0].isdigit() and "-" not in text:
        return float(text)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class IngestResult:
    """Counts of one ingest: reports, state changes, alarms/errors, skipped lines, time span."""

    reports: int = 0
    state_changes: int = 0
    errors: int = 0
    skipped: int = 0
    first_ts: float | None = None
    last_ts: float | None = None


class GrblStatusReader:
    """Turns grbl output lines into telemetry rows of a :class:`TelemetryCollector`.

    Args:
        collector: destination.
        poll_hz: report spacing for lines without a timestamp.
        start_ts: epoch of the first untimestamped report (default: now).
        source: ``source`` of the system events.
    """

    def __init__(self, collector: TelemetryCollector, *, poll_hz: float = 5.0,
                 start_ts: float | None = None, source: str = "grbl") -> None:
        self.c = collector
        self.poll_hz = float(poll_hz)
        self.t0 = time.time() if start_ts is None else float(start_ts)
        self.source = source
        self.wco: tuple[float, ...] | None = None
        self.state: str | None = None
        self.result = IngestResult()

    def feed_line(self, line: str, line_no: int = 0, ts: float | None = None) -> None:
        """Ingest one line of controller output (anything that is not a report, an alarm or an
        error, such as ``ok`` or echoed commands, is counted as skipped)."""
        r = self.result
        m = _TS.match(line)
        if m:
            ts = _parse_ts(m.group(1))
            line = line[m.end():]
        a = _ALARM.match(line)
        rep = _REPORT.search(line)
        if ts is None:
            ts = self.t0 + r.reports / self.poll_hz
        if a:
            kind = a.group(1).lower()
            r.errors += 1
            self.c.log_system_event("error", self.source, f"{a.group(1)}:{a.group(2)}",
                                    {"code": int(a.group(2)), "kind": kind, "line": line_no},
                                    level="error", ts=ts)
            return
        if not rep:
            r.skipped += 1
            return
        st = parse_status(rep.group(1), self.wco, line_no)
        if "WCO" in st.fields:
            self.wco = tuple(float(v) for v in st.fields["WCO"].split(","))
        self.c.log_feedback(r.reports, 1, list(st.mpos[:7]), None, ts=ts)
        if st.state != self.state:
            self.c.log_feedback(r.reports, 3, None, {
                "power_status": 1, "enable_status": 0 if st.state == "Sleep" else 1,
                "error_status": 1 if st.state == "Alarm" else 0, "recv_status": 1,
                "exec_status": 1 if st.state in MOVING_STATES else 0}, ts=ts)
            self.c.log_system_event("state_update", self.source, f"{self.state} -> {st.state}",
                                    {"state": st.state, "substate": st.substate, "feed": st.feed,
                                     "spindle": st.spindle, "line": line_no},
                                    level="error" if st.state == "Alarm" else "info", ts=ts)
            self.state = st.state
            r.state_changes += 1
        r.reports += 1
        r.first_ts = ts if r.first_ts is None else r.first_ts
        r.last_ts = ts

    def feed_lines(self, lines: Iterable[str]) -> IngestResult:
        """Ingest many lines (1-based line numbers in errors)."""
        for n, line in enumerate(lines, 1):
            self.feed_line(line, n)
        return self.result


def ingest_log(collector: TelemetryCollector, path: str | os.PathLike[str], **kw: Any) -> IngestResult:
    """Ingest a captured serial log file (UTF-8 or ASCII text, one line per controller line).

    Raises:
        TelemetryInputError: the file cannot be read, or a report is malformed (naming the line).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise TelemetryInputError(f"{p}: cannot read the grbl log ({exc.strerror or exc})") from exc
    try:
        return GrblStatusReader(collector, **kw).feed_lines(text.splitlines())
    except TelemetryInputError as exc:
        raise TelemetryInputError(f"{p}: {exc}") from None


def read_serial(collector: TelemetryCollector, port: str, *, baudrate: int = 115200,
                poll_hz: float = 5.0, duration_s: float | None = None, serial_obj: Any = None) -> IngestResult:
    """Poll a live controller: send ``?`` at ``poll_hz`` and ingest what it prints.

    Args:
        port: a pyserial port name or URL (``/dev/ttyUSB0``, ``loop://``, ``socket://host:23``).
        duration_s: stop after this long (``None``: until KeyboardInterrupt).
        serial_obj: an already open pyserial object (tests).

    Raises:
        TelemetryInputError: the port cannot be opened.
    """
    import serial  # pyserial

    ser = serial_obj
    if ser is None:
        try:
            ser = serial.serial_for_url(port, baudrate=baudrate, timeout=0.05)
        except (serial.SerialException, ValueError) as exc:
            raise TelemetryInputError(f"{port}: cannot open serial port ({exc})") from exc
    reader = GrblStatusReader(collector, poll_hz=poll_hz)
    t_end = None if duration_s is None else time.monotonic() + duration_s
    next_poll = 0.0
    buf = b""
    n = 0
    try:
        while t_end is None or time.monotonic() < t_end:
            now = time.monotonic()
            if now >= next_poll:
                ser.write(b"?")
                next_poll = now + 1.0 / poll_hz
            buf += ser.read(ser.in_waiting or 1)
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                n += 1
                line = raw.decode("ascii", errors="replace").strip().lstrip("?")
                if line:
                    reader.feed_line(line, n, ts=time.time())
    finally:
        if serial_obj is None:
            ser.close()
    return reader.result
