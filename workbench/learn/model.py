"""Learned feed-override models: file layout, validation, per-process cache, rule matching.

A model is JSON at ``<models_dir>/overrides_<machine_id>.json`` (default models_dir:
``$WORKBENCH_HOME/models``)::

    {"machine_id": "Mach4_Router_4x8",
     "rules": {"arc_tight_mm<=5.00": 0.75, "trochoid": 0.85},
     "meta": {"samples": 1234, "r_min": 5.0, "trained_at": "2025-11-05T10:00:00Z",
              "samples_by_rule": {...}, "skipped": {...}, "calibration": {...}}}

Rules: ``arc_tight_mm<=R`` matches G2/G3 moves of radius <= R mm; ``trochoid`` matches moves
flagged trochoidal. A move matching both takes the *smaller* factor (both rules are averages of
the same segments' slowdown, so multiplying them would count one slowdown twice).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import db
from ..errors import InputError

ARC_RULE_RE = re.compile(r"^arc_tight_mm<=(\d+(?:\.\d+)?)$")
TROCHOID_RULE = "trochoid"
_MACHINE_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class OverrideModelError(InputError):
    """A learned-override model file is malformed, or a machine id cannot name a file."""


def arc_rule_name(r_min_mm: float) -> str:
    """``arc_tight_mm<=5.00`` for r_min 5 (two decimals, as the original)."""
    return f"arc_tight_mm<={r_min_mm:.2f}"


def models_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """``override`` or ``$WORKBENCH_HOME/models`` (read at call time)."""
    if override is not None:
        return Path(override)
    home = os.environ.get("WORKBENCH_HOME")
    return (Path(home) if home else db.WORKBENCH_HOME) / "models"


def check_machine_id(machine_id: Any) -> str:
    """Return ``machine_id`` if it is usable in a file name (letters, digits, ``_ - .``)."""
    if not isinstance(machine_id, str) or not _MACHINE_RE.match(machine_id) or machine_id in (".", ".."):
        raise OverrideModelError(
            f"machine_id must be letters, digits, '_', '-', '.', got {machine_id!r}")
    return machine_id


def model_path(machine_id: str, models_dir_: str | os.PathLike[str] | None = None) -> Path:
    """``<models_dir>/overrides_<machine_id>.json``."""
    return models_dir(models_dir_) / f"overrides_{check_machine_id(machine_id)}.json"


def validate_model(model: Any, where: str = "model") -> dict[str, Any]:
    """Check a model object: machine_id, rules {name: factor in (0, 1]}, meta object.

    Raises:
        OverrideModelError: naming ``where`` and the bad part (unknown rule name, factor out of
            range, missing key).
    """
    if not isinstance(model, Mapping):
        raise OverrideModelError(f"{where}: expected a JSON object")
    for k in ("machine_id", "rules", "meta"):
        if k not in model:
            raise OverrideModelError(f"{where}: missing {k!r}")
    rules = model["rules"]
    if not isinstance(rules, Mapping):
        raise OverrideModelError(f"{where}: 'rules' must be an object")
    for name, f in rules.items():
        if name != TROCHOID_RULE and not ARC_RULE_RE.match(str(name)):
            raise OverrideModelError(f"{where}: unknown rule {name!r} (known: 'arc_tight_mm<=R', 'trochoid')")
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f) or not 0 < f <= 1:
            raise OverrideModelError(f"{where}: rule {name!r} factor must be in (0, 1], got {f!r}")
    if not isinstance(model["meta"], Mapping):
        raise OverrideModelError(f"{where}: 'meta' must be an object")
    return dict(model)


def save_model(model: Mapping[str, Any], models_dir_: str | os.PathLike[str] | None = None) -> Path:
    """Write a model atomically (temp file + rename) and drop it from the cache; return the path."""
    m = validate_model(model)
    path = model_path(m["machine_id"], models_dir_)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(m, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    _CACHE.pop(str(path), None)
    return path


# path -> (mtime_ns, size, model)
_CACHE: dict[str, tuple[int, int, dict[str, Any]]] = {}


def clear_cache() -> None:
    """Forget every cached model."""
    _CACHE.clear()


def load_model(machine_id: str, models_dir_: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The machine's model, or None when it has none.

    Cached per process, keyed by path and revalidated by the file's mtime and size on every
    call, so a model trained by another process (or re-trained here) is seen without a restart.

    Raises:
        OverrideModelError: unreadable or malformed file (names the path).
    """
    path = model_path(machine_id, models_dir_)
    key = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        _CACHE.pop(key, None)
        return None
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
        return hit[2]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise OverrideModelError(f"{path}: cannot read model: {exc}") from None
    model = validate_model(data, where=str(path))
    _CACHE[key] = (st.st_mtime_ns, st.st_size, model)
    return model


def _parsed_rules(rules: Mapping[str, float]) -> tuple[list[tuple[float, float]], float | None]:
    arcs = []
    troch = None
    for name, f in rules.items():
        m = ARC_RULE_RE.match(name)
        if m:
            arcs.append((float(m.group(1)), float(f)))
        elif name == TROCHOID_RULE:
            troch = float(f)
    return arcs, troch


def factors_for_moves(moves: pd.DataFrame, rules: Mapping[str, float]) -> np.ndarray:
    """Feed factor per move (1.0 where no rule matches) for a moves table.

    ``arc_tight_mm<=R``: code G2/G3 and ``radius_mm <= R`` (radius from ``i, j`` when the column
    is missing). ``trochoid``: the ``trochoid`` column is true (G1-G3 only). Several matches:
    the smallest factor.
    """
    n = len(moves)
    out = np.ones(n)
    arcs, troch = _parsed_rules(rules)
    code = moves["code"].to_numpy(dtype=object)
    feed_move = np.isin(code, ["G1", "G2", "G3"])
    is_arc = np.isin(code, ["G2", "G3"])
    if "radius_mm" in moves.columns:
        rad = moves["radius_mm"].to_numpy(dtype=float)
    else:
        rad = np.hypot(moves["i"].to_numpy(dtype=float), moves["j"].to_numpy(dtype=float))
    for r_max, f in arcs:
        m = is_arc & np.isfinite(rad) & (rad <= r_max + 1e-9)
        out[m] = np.minimum(out[m], f)
    if troch is not None and "trochoid" in moves.columns:
        m = feed_move & moves["trochoid"].fillna(False).to_numpy(dtype=bool)
        out[m] = np.minimum(out[m], troch)
    return out


def factor_for_move_dict(move: Mapping[str, Any], rules: Mapping[str, float]) -> float:
    """Feed factor of one move in the JSON form (``{"code", "i", "j", "meta": {...}}``) or a row dict."""
    meta = move.get("meta") or {}
    code = str(move.get("code", "")).upper()
    rad = move.get("radius_mm", meta.get("radius_mm"))
    if rad is None and code in ("G2", "G3") and move.get("i") is not None and move.get("j") is not None:
        rad = math.hypot(float(move["i"]), float(move["j"]))
    troch = bool(move.get("trochoid", meta.get("trochoid", False)))
    row = pd.DataFrame([{"code": code, "radius_mm": float(rad) if rad is not None else math.nan,
                         "trochoid": troch}])
    return float(factors_for_moves(row, rules)[0])


def feed_factor_for_move(move: Mapping[str, Any], machine_id: str, *,
                         models_dir: str | os.PathLike[str] | None = None) -> float:
    """Learned feed factor (0..1] for one move on ``machine_id``; 1.0 without a model.

    ``move`` is a JSON move (``{"code": "G2", "i": .., "j": .., "meta": {"trochoid": ..}}``) or a
    moves-table row as a dict. The model comes from the per-process cache of :func:`load_model`.
    """
    model = load_model(machine_id, models_dir)
    if model is None:
        return 1.0
    return factor_for_move_dict(move, model["rules"])
