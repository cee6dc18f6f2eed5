"""Machine telemetry: a persistent SQLite recorder, a read-only query API, a CLI and sources.

For machines with axes or joints: a CNC's X/Y/Z are joints 0-2 (positions in mm), a robot arm's
six joints and its gripper are joints 0-6 (degrees, gripper in mm). Names follow the telemetry
plan (``/work/shared/specs/telemetry_plan.md``) and GitHub issue 6.

- :class:`TelemetryCollector` (``collector``): ``emit`` and typed ``log_*`` methods, one
  background writer thread, retention, the legacy ``get_events``/``get_pipeline``/``get_stats``.
- :class:`TelemetryQuery` (``query``): read-only analysis (rates, joint history, tracking error,
  latency percentiles, session summary, db stats).
- ``schema``: tables, indexes, pragmas, :func:`init_db`.
- ``middleware``: :class:`TelemetryMiddleware`, ASGI request logging into ``web_requests``.
- ``sources``: a virtual machine (``sources.virtual_machine``) and a grbl status-report reader
  (``sources.grbl``).
- ``cli``: ``workbench telemetry ...``.
"""

from __future__ import annotations

from .collector import TelemetryCollector, default_db_path, get_collector
from .errors import (TelemetryDatabaseError, TelemetryError, TelemetryInputError,
                     TelemetryWriterError)
from .events import EventType, TelemetryEvent
from .query import TelemetryQuery
from .schema import TABLES, init_db

__all__ = ["EventType", "TelemetryEvent", "TelemetryCollector", "TelemetryQuery", "get_collector",
           "default_db_path", "init_db", "TABLES", "TelemetryError", "TelemetryDatabaseError",
           "TelemetryInputError", "TelemetryWriterError"]
