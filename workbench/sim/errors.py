"""Error classes of the cutting simulation.

They extend :mod:`workbench.errors` (which this package may not edit) so that a caller that
catches :class:`~workbench.errors.WorkbenchError` sees every simulation failure as one line,
and a sim run records a ``failed`` status with the class name as its reason.
"""

from __future__ import annotations

from ..errors import InputError, WorkbenchError

__all__ = ["SimError", "SimTimeout", "SimCancelled", "MissingToolError", "StockError",
           "EncodingError", "ToolSpecError"]


class SimError(WorkbenchError):
    """Base class of every simulation failure."""


class SimTimeout(SimError):
    """The simulation ran longer than its ``timeout_s``.

    Attributes:
        moves_done: moves simulated before the deadline.
        moves_total: moves in the program.
    """

    def __init__(self, message: str, *, moves_done: int = 0, moves_total: int = 0) -> None:
        super().__init__(message)
        self.moves_done = moves_done
        self.moves_total = moves_total


class SimCancelled(SimError):
    """The caller cancelled the simulation (cancel event set, or progress callback returned False)."""

    def __init__(self, message: str, *, moves_done: int = 0, moves_total: int = 0) -> None:
        super().__init__(message)
        self.moves_done = moves_done
        self.moves_total = moves_total


class ToolSpecError(InputError, SimError):
    """A tool definition (spec string, tool table, .camotics project) is malformed."""


class MissingToolError(InputError, SimError):
    """The program selects a tool number that no tool table defines (and defaults are off)."""


class StockError(InputError, SimError):
    """The stock is missing, empty, or does not overlap the toolpath."""


class EncodingError(SimError):
    """The snapshot, MP4 or GIF could not be written (ffmpeg or pillow failed)."""
