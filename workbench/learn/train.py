"""Training learned feed overrides from the run log (the original Module M.4 rules).

For one machine, over its logged segments:

- ``arc_tight_mm<=R`` (R = ``r_min_mm``, two decimals): the mean ``slowdown`` of G2/G3 segments
  with ``radius_mm <= R``, clamped to [0.5, 1.0];
- ``trochoid``: the mean ``slowdown`` of trochoidal segments, clamped to [0.6, 1.0];
- a rule needs at least ``min_samples`` (50) segments with a slowdown; with fewer it is left
  out and ``meta.skipped`` says why.

Beyond the original, runs with a measured ``act_time_s`` calibrate the machine's estimate
(:mod:`workbench.learn.calibration`); the calibration is saved in ``meta.calibration``.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from typing import Any

import numpy as np

from ..errors import InputError
from .calibration import calibration_from_runs
from .model import TROCHOID_RULE, arc_rule_name, check_machine_id, save_model

MIN_SAMPLES: int = 50
ARC_CLAMP: tuple[float, float] = (0.5, 1.0)
TROCHOID_CLAMP: tuple[float, float] = (0.6, 1.0)


def train_overrides(machine_id: str, r_min_mm: float = 5.0, *, log: Any = None,
                    url: str | None = None, models_dir: str | os.PathLike[str] | None = None,
                    min_samples: int = MIN_SAMPLES, save: bool = True) -> dict[str, Any]:
    """Train and save the feed-override model of ``machine_id``.

    Args:
        machine_id: machine profile id (must have logged runs).
        r_min_mm: tight-arc radius threshold, mm (> 0).
        log / url: the run log (default :func:`workbench.runlog.open_log`).
        models_dir: where to save (default ``$WORKBENCH_HOME/models``).
        min_samples: samples needed per rule.
        save: write ``overrides_<machine_id>.json``.

    Returns:
        ``{"machine_id", "rules": {name: factor}, "meta": {"samples", "r_min", "trained_at",
        "samples_by_rule", "skipped", "min_samples", "runs", "calibration": {ratio, spread, n}}}``
        (the original response shape; ``samples`` is the number of segments examined).

    Raises:
        NoLogsError: the machine has no runs; InputError: bad r_min_mm.
    """
    from ..runlog import NoLogsError, open_log
    check_machine_id(machine_id)
    if isinstance(r_min_mm, bool) or not isinstance(r_min_mm, (int, float)) \
            or not math.isfinite(r_min_mm) or r_min_mm <= 0:
        raise InputError(f"r_min_mm must be a positive number of mm, got {r_min_mm!r}")
    lg = log or open_log(url)
    runs = lg.runs(machine_id)
    if not len(runs):
        known = lg.machines()
        raise NoLogsError(f"no runs logged for machine {machine_id!r}; cannot train"
                          + (f" (machines with logs: {known})" if known else " (the log is empty)"))
    seg = lg.segments(machine_id)
    slow = seg["slowdown"].to_numpy(dtype=float)
    has = np.isfinite(slow)
    code = seg["code"].to_numpy(dtype=object)
    rad = seg["radius_mm"].to_numpy(dtype=float)
    troch = seg["trochoid"].fillna(0).to_numpy(dtype=float) > 0
    arc_name = arc_rule_name(float(r_min_mm))
    selections = {
        arc_name: (np.isin(code, ["G2", "G3"]) & np.isfinite(rad) & (rad <= r_min_mm + 1e-9) & has, ARC_CLAMP),
        TROCHOID_RULE: (troch & has, TROCHOID_CLAMP),
    }
    rules: dict[str, float] = {}
    by_rule: dict[str, int] = {}
    skipped: dict[str, str] = {}
    for name, (m, (lo, hi)) in selections.items():
        k = int(m.sum())
        by_rule[name] = k
        if k < min_samples:
            skipped[name] = f"{k} sample(s) < {min_samples} required"
            continue
        rules[name] = float(min(hi, max(lo, slow[m].mean())))
    cal = calibration_from_runs(runs["est_time_s"].to_numpy(dtype=float),
                                runs["act_time_s"].to_numpy(dtype=float))
    model = {
        "machine_id": machine_id,
        "rules": rules,
        "meta": {
            "samples": int(len(seg)), "r_min": float(r_min_mm),
            "trained_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "samples_by_rule": by_rule, "skipped": skipped, "min_samples": int(min_samples),
            "runs": int(len(runs)), "calibration": cal.to_dict(),
        },
    }
    if save:
        model["meta"]["path"] = str(save_model(model, models_dir))
    return model
