"""Event vocabulary of the telemetry recorder: :class:`EventType` and :class:`TelemetryEvent`.

The values are those of the original in-memory collector (telemetry plan, "EventType enum:
keep existing values"), so existing call sites such as
``tc.emit("dds", EventType.DDS_PUBLISH, {...}, cid)`` keep working.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .errors import TelemetryInputError


class EventType(str, enum.Enum):
    """Kinds of telemetry event, and the table each is routed to by ``emit``.

    ========================  ==================================================
    value                     stored in
    ========================  ==================================================
    ``cmd_sent``              ``web_requests``
    ``dds_publish``           ``dds_commands``
    ``dds_receive``           ``dds_feedback`` (funcode 1 = positions, 3 = status)
    ``cmd_ack``, ``cmd_exec``, ``state_update``, ``error``  ``system_events``
    ``ws_send``               not stored (counted by ``get_stats`` only)
    ``ws_receive``            ``system_events``
    ``cam_frame``             ``camera_health``
    ========================  ==================================================
    """

    CMD_SENT = "cmd_sent"
    DDS_PUBLISH = "dds_publish"
    DDS_RECEIVE = "dds_receive"
    CMD_ACK = "cmd_ack"
    CMD_EXEC = "cmd_exec"
    STATE_UPDATE = "state_update"
    WS_SEND = "ws_send"
    WS_RECEIVE = "ws_receive"
    CAM_FRAME = "cam_frame"
    ERROR = "error"

    @classmethod
    def parse(cls, value: "EventType | str") -> "EventType":
        """``value`` as an :class:`EventType` (accepts the enum or its string value).

        Raises:
            TelemetryInputError: naming the unknown value and the valid ones.
        """
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).lower()) if isinstance(value, str) else cls(value)
        except ValueError:
            valid = ", ".join(e.value for e in cls)
            raise TelemetryInputError(
                f"unknown telemetry event type {value!r} (valid: {valid})") from None


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One telemetry event, as returned by ``emit`` and by the legacy getters.

    Attributes:
        timestamp_ms: ``time.monotonic()`` in ms (for intervals within one process).
        wall_time_ms: ``time.time()`` in ms (epoch).
        source: producer name, e.g. ``"dds"``, ``"web"``, ``"camera"``.
        event_type: the :class:`EventType`.
        payload: the event data (for events read back from the database: the stored form).
        correlation_id: ties the events of one command together, or ``None``.
    """

    timestamp_ms: float
    wall_time_ms: float
    source: str
    event_type: EventType
    payload: dict[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None
