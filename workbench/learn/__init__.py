"""Learned feed overrides: training from the run log, loading (cached), applying, calibration.

- :func:`train_overrides` (``arc_tight_mm<=R`` and ``trochoid`` rules, + time calibration);
- :func:`feed_factor_for_move` / :func:`load_model` (per-process cache that sees new models);
- :func:`apply_overrides` / :func:`plan_with_overrides` (the planner's ``adopt_overrides``);
- :func:`calibrated_estimate` (measured / estimated time correction).
"""

from .apply import AdoptedPlan, apply_overrides, plan_with_overrides
from .calibration import (CalibratedEstimate, Calibration, apply_calibration, calibrated_estimate,
                          calibration_from_runs, machine_calibration)
from .demo import seed_demo_runs
from .model import (OverrideModelError, arc_rule_name, clear_cache, factors_for_moves,
                    feed_factor_for_move, load_model, model_path, models_dir, save_model)
from .train import ARC_CLAMP, MIN_SAMPLES, TROCHOID_CLAMP, train_overrides

__all__ = [
    "ARC_CLAMP", "AdoptedPlan", "CalibratedEstimate", "Calibration", "MIN_SAMPLES",
    "OverrideModelError", "TROCHOID_CLAMP", "apply_calibration", "apply_overrides",
    "arc_rule_name", "calibrated_estimate", "calibration_from_runs", "clear_cache",
    "factors_for_moves", "feed_factor_for_move", "load_model", "machine_calibration",
    "model_path", "models_dir", "plan_with_overrides", "save_model", "seed_demo_runs", "train_overrides",
]
