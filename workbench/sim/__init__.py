"""G-code cutting simulation: stock heightmap, tool sweeps, collisions, sim_report, media.

- :func:`simulate` (:mod:`.simulate`): Toolpath + tools + stock -> :class:`SimResult`
  (removed volume, heightmap, violations with line numbers, cycle time from the motion planner).
- :class:`Tool`, :func:`parse_tool_spec`, :func:`load_tool_table` (:mod:`.tools`);
  :class:`Stock`, :class:`Heightmap` (:mod:`.stock`); :func:`load_project` (CAMotics, :mod:`.camotics`).
- :func:`build_report`, :func:`validate_report`, :func:`write_report` (sim_report v1, :mod:`.report`).
- :func:`write_snapshot`, :func:`write_video`, :func:`write_gif` (:mod:`.media`).
- :func:`run_job` and the ``sim_runs`` table (:mod:`.runs`); ``workbench sim run`` (:mod:`.cli`).
"""

from __future__ import annotations

from .camotics import CamoticsProject, cross_check, load_project
from .errors import (EncodingError, MissingToolError, SimCancelled, SimError, SimTimeout, StockError,
                     ToolSpecError)
from .report import SCHEMA_PATH, build_report, validate_report, write_report
from .simulate import (COLLISION_CODES, VIOLATION_CODES, SimResult, Violation, auto_stock,
                       default_cell_size, simulate)
from .stock import Heightmap, Stock, parse_stock
from .tools import Tool, load_tool_table, parse_tool_spec, tools_from_comments

__all__ = ["CamoticsProject", "cross_check", "load_project", "EncodingError", "MissingToolError",
           "SimCancelled", "SimError", "SimTimeout", "StockError", "ToolSpecError", "SCHEMA_PATH",
           "build_report", "validate_report", "write_report", "COLLISION_CODES", "VIOLATION_CODES",
           "SimResult", "Violation", "auto_stock", "default_cell_size", "simulate", "Heightmap",
           "Stock", "parse_stock", "Tool", "load_tool_table", "parse_tool_spec", "tools_from_comments",
           "run_job", "write_snapshot", "write_video", "write_gif"]


def __getattr__(name: str):  # lazy: media pulls matplotlib/imageio, runs pulls SQLAlchemy
    if name == "run_job":
        from .runs import run_job
        return run_job
    if name in ("write_snapshot", "write_video", "write_gif"):
        from . import media
        return getattr(media, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
