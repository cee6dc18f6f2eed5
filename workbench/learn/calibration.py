"""Calibration of a machine's cycle-time estimate from measured run times.

Every logged run with both ``est_time_s`` (the planner's prediction) and ``act_time_s`` (the
measured time) gives a ratio ``r_i = act_i / est_i``. The calibration is their mean ``r``, the
sample standard deviation ``s`` (ddof = 1; 0 for a single run) and the count ``n``. A future
estimate ``T`` is reported as ``T * r`` with the band ``T * (r +- s)``: an explicit, visible
correction, never folded silently into the motion planner.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Calibration:
    """Measured / estimated time ratio of one machine: mean ``ratio``, ``spread`` (sample std),
    ``n`` runs; ``ratio`` is 1.0 and ``n`` 0 when no run carries a measured time."""

    ratio: float = 1.0
    spread: float = 0.0
    n: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CalibratedEstimate:
    """A cycle-time estimate with its calibration applied.

    Attributes:
        estimate_s: the motion planner's estimate (s).
        ratio, spread, n: the machine's :class:`Calibration`.
        corrected_s: ``estimate_s * ratio``.
        low_s, high_s: ``estimate_s * (ratio -+ spread)``.
        note: human-readable statement of the correction.
    """

    estimate_s: float
    ratio: float
    spread: float
    n: int
    corrected_s: float
    low_s: float
    high_s: float
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibration_from_runs(est_time_s: Any, act_time_s: Any) -> Calibration:
    """Calibration from paired estimated and measured times (s); pairs with a missing,
    non-finite or non-positive value are skipped."""
    est = np.asarray(est_time_s, dtype=float)
    act = np.asarray(act_time_s, dtype=float)
    ok = np.isfinite(est) & np.isfinite(act) & (est > 0) & (act > 0)
    r = act[ok] / est[ok]
    if not len(r):
        return Calibration()
    return Calibration(ratio=float(r.mean()), spread=float(r.std(ddof=1)) if len(r) > 1 else 0.0,
                       n=int(len(r)))


def machine_calibration(machine_id: str, *, log: Any = None, url: str | None = None) -> Calibration:
    """The calibration of ``machine_id`` from the run log (runs with ``act_time_s``)."""
    from ..runlog import open_log
    lg = log or open_log(url)
    runs = lg.runs(machine_id)
    return calibration_from_runs(runs["est_time_s"].to_numpy(dtype=float) if len(runs) else [],
                                 runs["act_time_s"].to_numpy(dtype=float) if len(runs) else [])


def apply_calibration(cycle_time_s: float, cal: Calibration | Mapping[str, Any]) -> CalibratedEstimate:
    """Apply a calibration to an estimate (s); see the module docstring.

    Raises:
        InputError: negative or non-finite cycle time.
    """
    if isinstance(cycle_time_s, bool) or not isinstance(cycle_time_s, (int, float, np.floating)) \
            or not np.isfinite(cycle_time_s) or cycle_time_s < 0:
        raise InputError(f"cycle_time_s must be a finite number >= 0, got {cycle_time_s!r}")
    if isinstance(cal, Mapping):
        cal = Calibration(ratio=float(cal.get("ratio", 1.0)), spread=float(cal.get("spread", 0.0)),
                          n=int(cal.get("n", 0)))
    T = float(cycle_time_s)
    if cal.n == 0:
        note = "no measured runs: estimate not corrected"
    else:
        note = (f"x{cal.ratio:.3f} (+-{cal.spread:.3f}) from {cal.n} measured run(s)"
                + (": low confidence" if cal.n < 3 else ""))
    return CalibratedEstimate(estimate_s=T, ratio=cal.ratio, spread=cal.spread, n=cal.n,
                              corrected_s=T * cal.ratio, low_s=T * (cal.ratio - cal.spread),
                              high_s=T * (cal.ratio + cal.spread), note=note)


def calibrated_estimate(cycle_time_s: float, machine_id: str, *,
                        models_dir: str | os.PathLike[str] | None = None,
                        model: Mapping[str, Any] | None = None) -> CalibratedEstimate:
    """Correct a cycle-time estimate with the machine's trained calibration.

    The calibration is the one saved with the machine's model by
    :func:`workbench.learn.train_overrides` (``meta.calibration``); without a model or without
    measured runs the estimate comes back unchanged (ratio 1, n 0, and the note says so).
    """
    from .model import load_model
    m = model if model is not None else load_model(machine_id, models_dir)
    cal = (m or {}).get("meta", {}).get("calibration") or {}
    return apply_calibration(cycle_time_s, cal)
