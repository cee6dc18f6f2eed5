"""Errors of the telemetry recorder (all :class:`workbench.errors.WorkbenchError` subclasses)."""

from __future__ import annotations

from ..errors import InputError, WorkbenchError


class TelemetryError(WorkbenchError):
    """The telemetry recorder cannot do what was asked (writer stopped, database unusable)."""


class TelemetryDatabaseError(TelemetryError):
    """The telemetry database cannot be opened: read-only directory, corrupt or foreign file."""


class TelemetryInputError(TelemetryError, InputError):
    """An event is malformed: unknown event type, payload not JSON-serialisable, bad field."""


class TelemetryWriterError(TelemetryError):
    """The background writer thread has died; the collector refuses further events."""
