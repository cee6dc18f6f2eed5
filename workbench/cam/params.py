"""Validation shared by the pocket planners' parameter records.

Both :class:`~workbench.cam.pocket.PocketParams` and
:class:`~workbench.cam.adaptive.AdaptiveParams` carry the same cutting parameters (tool,
stepover, stepdown, depth, heights, feeds, entry, tolerance); this checks them once, with
errors that name the pocket, the parameter and the accepted range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError

ENTRIES: tuple[str, ...] = ("helix", "ramp", "plunge")

#: Rapids between cuts travel at safe_z; it must clear the stock top by at least this much
#: (a warped board or a clamp is the usual crash).
MIN_SAFE_CLEARANCE_MM: float = 1.0


def finite(label: str, name: str, v: Any) -> float:
    """``v`` as a float, or InputError("<label>: <name> must be a finite number")."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(v)):
        raise InputError(f"{label}: {name} must be a finite number, got {v!r}")
    return float(v)


def check_cutting_params(p: Any, label: str, max_stepover: float = 1.0, why: str = "") -> None:
    """Check the cutting parameters every planner shares.

    Args:
        p: a parameter record with tool_d, stepover, stepdown, depth, stock_top, safe_z,
            feed, plunge_feed, entry, ramp_angle_deg, finish_allowance, tolerance (mm, mm/min,
            degrees; stepover a fraction of the tool diameter).
        label: how errors name the pocket, e.g. ``"pocket 'NECK#0'"``.
        max_stepover: the largest stepover fraction the planner accepts.
        why: appended to the stepover error to say why the bound holds.

    Raises:
        InputError: naming the parameter and the accepted range.
    """
    for nm in ("tool_d", "stepdown", "depth", "feed", "plunge_feed", "tolerance"):
        if finite(label, nm, getattr(p, nm)) <= 0:
            unit = "mm/min" if "feed" in nm else "mm"
            raise InputError(f"{label}: {nm} must be > 0 {unit}, got {getattr(p, nm)!r}")
    if not (0.0 < finite(label, "stepover", p.stepover) <= max_stepover):
        raise InputError(f"{label}: stepover must be a fraction of the tool diameter in "
                         f"(0, {max_stepover:g}]{why}, got {p.stepover!r}")
    if finite(label, "safe_z", p.safe_z) < finite(label, "stock_top", p.stock_top) + MIN_SAFE_CLEARANCE_MM:
        raise InputError(f"{label}: safe_z={p.safe_z} mm must be at least {MIN_SAFE_CLEARANCE_MM:g} mm "
                         f"above the stock top {p.stock_top} mm (rapids travel at safe_z)")
    if finite(label, "finish_allowance", p.finish_allowance) < 0:
        raise InputError(f"{label}: finish_allowance must be >= 0 mm, got {p.finish_allowance!r}")
    a = finite(label, "ramp_angle_deg", p.ramp_angle_deg)
    if not (0.0 < a <= 45.0):
        raise InputError(f"{label}: ramp_angle_deg must be in (0, 45], got {a!r}")
    if p.entry not in ENTRIES:
        raise InputError(f"{label}: entry must be one of {ENTRIES}, got {p.entry!r}")
    if p.tolerance > p.tool_d / 20.0:
        raise InputError(f"{label}: tolerance {p.tolerance} mm is too coarse for a {p.tool_d} mm "
                         f"tool (at most D/20)")
