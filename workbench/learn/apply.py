"""Adopting learned feed overrides: scale the feeds of matching moves, then replan.

:func:`apply_overrides` works on a motion plan (or a toolpath): for every G1-G3 move that a
rule of the machine's model matches (:func:`workbench.learn.model.factors_for_moves`)

- a move the previous plan labelled ``feed_cap`` (already held at the machine's feed cap) is
  left alone: slowing the request would not change what the controller does at the cap, and
  the original rule was "don't touch feeds where the controller is the bottleneck";
- otherwise ``feed_new = min(feed * factor, feed_cap)``: never above the machine's feed cap.

The result is a new :class:`~workbench.toolpath.Toolpath` (motion columns dropped, the previous
``limit`` kept as ``limit_before``) with a column ``override_factor`` (the factor applied, 1.0
where untouched) and ``meta["overrides"]`` describing what was done. :func:`plan_with_overrides`
is the pipeline's ``adopt_overrides=True``: plan, apply, replan, calibrate the estimate.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from ..toolpath import MOTION_COLUMNS, Toolpath
from .calibration import CalibratedEstimate, calibrated_estimate
from .model import OverrideModelError, factors_for_moves, load_model, validate_model


def _feed_cap(profile: Any) -> float | None:
    if profile is None:
        return None
    if isinstance(profile, (int, float)) and not isinstance(profile, bool):
        return float(profile)
    if isinstance(profile, str):
        from ..machine.profile import load_machine
        profile = load_machine(profile)
    cap = getattr(profile, "feed_cap", None)
    if cap is None and isinstance(profile, Mapping):
        cap = profile.get("feed_cap_mm_min")
    return float(cap) if cap is not None else None


def apply_overrides(plan: Any, model: str | Mapping[str, Any], profile: Any = None, *,
                    models_dir: str | os.PathLike[str] | None = None) -> Toolpath:
    """Scale the feeds of moves matching the learned rules; see the module docstring.

    Args:
        plan: a ``MotionPlan`` (its ``limit`` column protects moves held at the feed cap; its
            ``toolpath`` gives start and meta), a ``Toolpath`` or a moves DataFrame.
        model: a machine id (its saved model is loaded through the cache) or a model object.
        profile: ``MachineProfile``, profile id, or feed cap (mm/min); None: no cap clamp.
        models_dir: where models live (default ``$WORKBENCH_HOME/models``).

    Returns:
        a new Toolpath with ``override_factor`` (and ``limit_before`` when the input had a
        ``limit`` column); without a model for the machine every factor is 1.0.

    Raises:
        OverrideModelError: malformed model; InputError: not a plan/toolpath.
    """
    if isinstance(plan, pd.DataFrame):
        moves, start, meta = plan, (0.0, 0.0, 0.0), {}
    else:
        moves = getattr(plan, "moves", None)
        if not isinstance(moves, pd.DataFrame):
            raise InputError(f"apply_overrides: expected a MotionPlan, Toolpath or moves DataFrame, "
                             f"got {type(plan).__name__}")
        tp = getattr(plan, "toolpath", None) or plan
        start = tuple(getattr(tp, "start", (0.0, 0.0, 0.0)))
        meta = copy.deepcopy(dict(getattr(tp, "meta", {}) or {}))
    if isinstance(model, str):
        machine_id = model
        m = load_model(model, models_dir)
        rules = dict(m["rules"]) if m else {}
        trained_at = m["meta"].get("trained_at") if m else None
    else:
        m = validate_model(model)
        machine_id, rules, trained_at = m["machine_id"], dict(m["rules"]), m["meta"].get("trained_at")
    cap = _feed_cap(profile)
    f = factors_for_moves(moves, rules)
    held = moves["limit"].to_numpy(dtype=object) == "feed_cap" if "limit" in moves.columns \
        else np.zeros(len(moves), dtype=bool)
    match = f < 1.0
    f = np.where(held, 1.0, f)
    feed = moves["feed"].to_numpy(dtype=float)
    new = feed * f
    touched = match & ~held
    if cap is not None:
        new = np.where(touched, np.minimum(new, cap), new)
    out = moves.drop(columns=[c for c in MOTION_COLUMNS if c in moves.columns]).copy()
    if "limit" in moves.columns:
        out["limit_before"] = moves["limit"].to_numpy(dtype=object)
    out["feed"] = new
    out["override_factor"] = f
    meta["overrides"] = {"machine_id": machine_id, "rules": rules, "trained_at": trained_at,
                         "feed_cap_mm_min": cap, "matched": int(match.sum()),
                         "changed": int(touched.sum()), "held_at_cap": int((match & held).sum())}
    return Toolpath(moves=out.reset_index(drop=True), start=start, meta=meta)


@dataclass
class AdoptedPlan:
    """Result of :func:`plan_with_overrides`.

    Attributes:
        before: the plan without overrides.
        after: the plan of the toolpath with overrides applied.
        toolpath: the overridden toolpath (``override_factor`` column).
        estimate: ``after``'s cycle time with the machine's calibration applied.
    """

    before: Any
    after: Any
    toolpath: Toolpath
    estimate: CalibratedEstimate


def plan_with_overrides(toolpath: Toolpath, profile: Any, *, machine_id: str | None = None,
                        model: Mapping[str, Any] | None = None,
                        models_dir: str | os.PathLike[str] | None = None,
                        **plan_kw: Any) -> AdoptedPlan:
    """``adopt_overrides=True``: plan, apply the machine's learned overrides, replan, calibrate.

    Args:
        toolpath: the planned toolpath (``cam.plan_pocket`` output or a G-code read).
        profile: machine profile or id (passed to ``machine.plan_motion``).
        machine_id: whose model to use (default: the profile's id).
        model: use this model object instead of the saved one.
        plan_kw: extra arguments of ``plan_motion`` (mode, lookahead).
    """
    from ..machine import plan_motion
    from ..machine.profile import load_machine
    prof = load_machine(profile)
    mid = machine_id or prof.id
    before = plan_motion(toolpath, prof, **plan_kw)
    tp = apply_overrides(before, model if model is not None else mid, prof, models_dir=models_dir)
    after = plan_motion(tp, prof, **plan_kw)
    m = model if model is not None else load_model(mid, models_dir)
    est = calibrated_estimate(after.cycle_time_s, mid, model=m or {"meta": {}})
    return AdoptedPlan(before=before, after=after, toolpath=tp, estimate=est)
