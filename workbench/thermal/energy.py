"""Cutting energy per move: removed volume, material removal rate, power, energy, heat split.

Formulas (units: mm, mm/min, s, J, W):

- radial engagement from the engagement angle theta of a cutter of diameter D:
  ``ae = D/2 * (1 - cos theta)`` (the engagement arc of a peripheral cut spans
  ``theta = arccos(1 - 2 ae / D)``; Altintas Y., Manufacturing Automation, 2nd ed., CUP 2012,
  sec. 2.3 "Mechanics of milling");
- material removal rate ``MRR = ae * ap * vf`` (mm^3/min; /60 for mm^3/s) (Sandvik Coromant,
  Technical guide, "Milling formulas": Q = ap * ae * vf / 1000 cm^3/min);
- mean chip thickness of a peripheral cut ``hm = fz * (1 - cos theta) / theta`` (theta in rad:
  the average of h(phi) = fz sin(phi) over the engagement arc; Altintas, sec. 2.3);
- specific cutting energy from Kienzle's law ``kc = kc1 * hm^-mc`` (N/mm^2 = mJ/mm^3), so
  ``u = kc / 1000`` J/mm^3 (Kienzle O., VDI-Z 94, 1952; Sandvik Coromant, "Milling formulas":
  Pc = ap ae vf kc / (60e6) kW);
- cutting power ``P = u * MRR`` (W), energy ``E = P * t`` (J) with t the move's time from the
  motion planner (equal to ``u * V`` since MRR * t = V);
- heat ``Q_sink = E * fraction_sink`` for sink in chip/tool/work (the material's partition:
  all cutting energy ends as heat, Trent & Wright, Metal Cutting, ch. 5).

:func:`annotate` takes the removed volume of each move from a heightmap of the stock
(:mod:`workbench.thermal.heightmap`, default: real engagement including corners and slotting) or
from the planner's ``engagement_deg`` and the pass depth (``method="engagement"``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from .heightmap import removed_by_moves
from .materials import SINKS, Material, load_material

ENERGY_COLUMNS: tuple[str, ...] = (
    "t_s", "ae_mm", "ap_mm", "removed_mm3", "mrr_mm3_s", "fz_mm", "hm_mm", "u_j_mm3", "power_w",
    "energy_j", "heat_chip_j", "heat_tool_j", "heat_work_j",
)


def ae_from_engagement(theta_deg: Any, tool_d: float) -> Any:
    """Radial engagement ae (mm) from the engagement angle (degrees) of a cutter of diameter D.

    ``ae = D/2 * (1 - cos theta)``: 0 at 0 deg, D/2 at 90 deg, D (slot) at 180 deg. Works on
    scalars and arrays; angles are clipped to [0, 180].
    """
    th = np.radians(np.clip(np.asarray(theta_deg, dtype=float), 0.0, 180.0))
    out = tool_d / 2.0 * (1.0 - np.cos(th))
    return float(out) if np.ndim(out) == 0 else out


def engagement_from_ae(ae: Any, tool_d: float) -> Any:
    """Engagement angle theta (rad) of a peripheral cut: ``arccos(1 - 2 ae / D)``, ae clipped to [0, D]."""
    x = np.clip(np.asarray(ae, dtype=float) / tool_d, 0.0, 1.0)
    out = np.arccos(1.0 - 2.0 * x)
    return float(out) if np.ndim(out) == 0 else out


def mean_chip_thickness(fz: Any, ae: Any, tool_d: float) -> Any:
    """Mean chip thickness hm (mm) of a peripheral cut: ``fz * (1 - cos theta) / theta``.

    Args: fz feed per tooth (mm), ae radial engagement (mm), tool_d cutter diameter (mm).
    Returns 0 where ae is 0. Slot (ae = D): hm = 2 fz / pi.
    """
    th = np.asarray(engagement_from_ae(ae, tool_d), dtype=float)
    fz = np.asarray(fz, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(th > 0, fz * (1.0 - np.cos(th)) / np.where(th > 0, th, 1.0), 0.0)
    return float(out) if np.ndim(out) == 0 else out


def specific_energy(material: Material, hm_mm: Any) -> Any:
    """Specific cutting energy u (J/mm^3) of ``material`` at mean chip thickness ``hm_mm``.

    The material's own ``specific_energy_j_mm3`` when it has one (constant); otherwise Kienzle:
    ``u = kc1 * hm^-mc / 1000``. hm is floored at 1 micrometre (Kienzle's law does not hold
    below the cutting-edge radius; the floor keeps u finite for grazing cuts).
    """
    if material.specific_energy_j_mm3 is not None:
        if np.ndim(hm_mm) == 0:
            return material.specific_energy_j_mm3
        return np.full(np.shape(hm_mm), material.specific_energy_j_mm3)
    hm = np.maximum(np.asarray(hm_mm, dtype=float), 1e-3)
    out = material.kc1_n_mm2 * hm ** (-material.mc) / 1000.0
    return float(out) if np.ndim(out) == 0 else out


def mrr_mm3_s(ae: Any, ap: Any, vf_mm_min: Any) -> Any:
    """Material removal rate ``ae * ap * vf / 60`` in mm^3/s (ae, ap in mm, vf in mm/min)."""
    return np.asarray(ae, dtype=float) * np.asarray(ap, dtype=float) * np.asarray(vf_mm_min, dtype=float) / 60.0


def cutting_power_w(u_j_mm3: Any, mrr: Any) -> Any:
    """Cutting power ``P = u * MRR`` in W (u in J/mm^3, MRR in mm^3/s)."""
    return np.asarray(u_j_mm3, dtype=float) * np.asarray(mrr, dtype=float)


def pass_depths(moves: pd.DataFrame, top_z: float = 0.0) -> np.ndarray:
    """Axial depth ap (mm) of every move from the z levels of the depth passes.

    The distinct z of horizontal cutting moves (G1/G2/G3 whose start and end z agree), sorted
    from the top; the first level's ap is ``top_z - z``, each deeper level's ap the step from the
    level above. Moves that are not horizontal cuts get NaN. A column ``ap_mm`` in ``moves``
    takes precedence.
    """
    if "ap_mm" in moves.columns:
        return moves["ap_mm"].to_numpy(dtype=float)
    z = moves["z"].to_numpy(dtype=float)
    zprev = np.concatenate([[np.nan], z[:-1]])
    horiz = moves["code"].isin(["G1", "G2", "G3"]).to_numpy() & (np.abs(z - zprev) < 1e-6) & (z < top_z)
    levels = np.unique(np.round(z[horiz], 6))[::-1]  # top first
    above = np.concatenate([[top_z], levels[:-1]])
    step = dict(zip(levels.tolist(), (above - levels).tolist()))
    out = np.full(len(moves), np.nan)
    out[horiz] = [step[v] for v in np.round(z[horiz], 6).tolist()]
    return out


def move_times(moves: pd.DataFrame, rapid_mm_min: float | None = None) -> tuple[np.ndarray, str]:
    """Time per move (s): the motion planner's ``t_s`` when present, else the nominal
    ``len_mm / feed * 60`` (G0 at ``rapid_mm_min`` or 0 when unknown; G4 its ``dwell_s``).

    Returns (times, source) with source ``"motion planner"`` or ``"nominal (len/feed)"``.
    """
    if "t_s" in moves.columns and moves["t_s"].notna().all():
        return moves["t_s"].to_numpy(dtype=float), "motion planner"
    ln = moves["len_mm"].to_numpy(dtype=float)
    f = moves["feed"].to_numpy(dtype=float)
    if rapid_mm_min:
        f = np.where(moves["code"].to_numpy() == "G0", rapid_mm_min, f)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(np.isfinite(f) & (f > 0), ln / f * 60.0, 0.0)
    t = t + moves["dwell_s"].to_numpy(dtype=float) if "dwell_s" in moves else t
    return t, "nominal (len/feed)"


def _moves_and_meta(toolpath: Any) -> tuple[pd.DataFrame, tuple[float, float, float], dict]:
    if isinstance(toolpath, pd.DataFrame):
        return toolpath, (0.0, 0.0, 0.0), {}
    moves = getattr(toolpath, "moves", None)
    if not isinstance(moves, pd.DataFrame):
        raise InputError(f"expected a Toolpath, MotionPlan or moves DataFrame, got {type(toolpath).__name__}")
    meta = dict(getattr(toolpath, "meta", {}) or {})
    start = getattr(toolpath, "start", None)
    tp = getattr(toolpath, "toolpath", None)  # a MotionPlan may carry its Toolpath
    if tp is not None:
        meta = {**dict(getattr(tp, "meta", {}) or {}), **meta}
        start = start if start is not None else getattr(tp, "start", None)
    return moves, tuple(start) if start is not None else (0.0, 0.0, 0.0), meta


def meta_param(meta: dict, key: str) -> Any:
    """A job parameter from toolpath meta: ``meta[key]``, else ``meta["params"][key]``
    (``cam.plan_pocket``), else for ``tool_d`` ``meta["tool"]["diameter_mm"]``; None if absent."""
    if meta.get(key) is not None:
        return meta[key]
    params = meta.get("params")
    if isinstance(params, dict) and params.get(key) is not None:
        return params[key]
    if key == "tool_d" and isinstance(meta.get("tool"), dict):
        return meta["tool"].get("diameter_mm")
    return None


def _pos(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(v)) or float(v) <= 0:
        raise InputError(f"{name} must be a positive number, got {v!r}")
    return float(v)


def annotate(toolpath: Any, material: str | Material, *, tool_d: float | None = None,
             rpm: float | None = None, flutes: int | None = None,
             method: Literal["heightmap", "engagement"] = "heightmap", top_z: float | None = None,
             cell_mm: float | None = None) -> pd.DataFrame:
    """Energy and heat of every move of a toolpath or motion plan.

    Args:
        toolpath: a ``Toolpath``, a ``MotionPlan`` (``.moves`` with ``t_s``/``limit``) or a
            moves DataFrame. Times come from ``t_s`` when present (see :func:`move_times`).
        material: material id (``data/materials``) or :class:`Material`.
        tool_d: cutter diameter (mm); default ``meta["tool_d"]``.
        rpm, flutes: spindle speed and flute count for fz = vf / (rpm * flutes); default
            ``meta["rpm"]``/``meta["flutes"]``; when unknown fz is the material's chip load.
        method: ``"heightmap"`` (removed volume from a stock heightmap: real ae and ap) or
            ``"engagement"`` (ae from ``engagement_deg``, ap from the pass depths). The
            planner's ``engagement_deg`` is the *largest* engagement along a move, so the
            engagement method over-counts (1.3-1.5x the pocket volume on the shared DXF
            pockets); it is kept for quick estimates and comparison, the heightmap is the default
            (within 0.4 % of area x depth on the same pockets).
        top_z: top of the stock (mm); default the plan's ``stock_top`` parameter, else 0.
        cell_mm: heightmap cell side (mm).

    Returns:
        DataFrame, one row per move (same index), with ``code, kind, len_mm, feed, limit`` (when
        present) and :data:`ENERGY_COLUMNS`: ae/ap (mm; NaN where the move removes nothing),
        removed volume (mm^3), MRR (mm^3/s), fz/hm (mm), u (J/mm^3), power (W), energy and heat
        per sink (J). ``attrs`` holds tool_d, material id, method, time source, cell size.

    Raises:
        InputError: no tool diameter, non-positive rpm/flutes, unknown method;
        MaterialError: unknown material.
    """
    mat = load_material(material)
    moves, start, meta = _moves_and_meta(toolpath)
    D = _pos("tool_d", tool_d if tool_d is not None else meta_param(meta, "tool_d"))
    rpm = rpm if rpm is not None else meta_param(meta, "rpm")
    flutes = flutes if flutes is not None else meta_param(meta, "flutes")
    if top_z is None:
        top_z = float(meta_param(meta, "stock_top") or 0.0)
    n = len(moves)
    t, tsrc = move_times(moves)
    ln = moves["len_mm"].to_numpy(dtype=float)
    if method == "heightmap":
        rem = removed_by_moves(moves, start, D, top_z=top_z, cell_mm=cell_mm)
        V, A = rem.volume_mm3, rem.area_mm2
        with np.errstate(invalid="ignore", divide="ignore"):
            ae = np.where((A > 0) & (ln > 0), A / np.where(ln > 0, ln, 1), np.nan)
            ap = np.where(A > 0, V / np.where(A > 0, A, 1), np.nan)
        cell = rem.cell_mm
    elif method == "engagement":
        if "engagement_deg" not in moves:
            raise InputError("method='engagement' needs the moves column 'engagement_deg'")
        cut = moves["kind"].isin(["cut"]).to_numpy() & moves["code"].isin(["G1", "G2", "G3"]).to_numpy()
        ae = np.where(cut, ae_from_engagement(moves["engagement_deg"].fillna(0.0).to_numpy(), D), np.nan)
        ap = np.where(cut, pass_depths(moves, top_z), np.nan)
        V = np.nan_to_num(ae * ap * ln)
        cell = None
    else:
        raise InputError(f"unknown method {method!r}; use 'heightmap' or 'engagement'")

    with np.errstate(invalid="ignore", divide="ignore"):
        vf = np.where(t > 0, ln / np.where(t > 0, t, 1) * 60.0, moves["feed"].to_numpy(dtype=float))
    if rpm is not None and flutes is not None:
        fz = vf / (_pos("rpm", rpm) * _pos("flutes", flutes))
        fz_src = "vf / (rpm * flutes)"
    else:
        fz = np.full(n, mat.chip_load_mm)
        fz_src = f"material chip load ({mat.chip_load_mm} mm)"
    hm = np.where(V > 0, mean_chip_thickness(fz, np.nan_to_num(ae), D), np.nan)
    u = np.where(V > 0, specific_energy(mat, np.nan_to_num(hm, nan=1.0)), np.nan)
    E = np.nan_to_num(u) * V                     # = P * t, since MRR * t = V
    with np.errstate(invalid="ignore", divide="ignore"):
        mrr = np.where(t > 0, V / np.where(t > 0, t, 1), 0.0)
    P = np.nan_to_num(u) * mrr
    if np.any((E > 0) & ~(t > 0)):
        r = int(np.flatnonzero((E > 0) & ~(t > 0))[0])
        raise InputError(f"moves row {r} removes {V[r]:.3g} mm^3 in zero time: check t_s/feed")
    out = pd.DataFrame({"code": moves["code"].to_numpy(), "kind": moves["kind"].to_numpy(),
                        "len_mm": ln, "feed": moves["feed"].to_numpy(dtype=float)}, index=moves.index)
    if "limit" in moves:
        out["limit"] = moves["limit"].to_numpy()
    cols = {"t_s": t, "ae_mm": ae, "ap_mm": ap, "removed_mm3": V, "mrr_mm3_s": mrr, "fz_mm": fz,
            "hm_mm": hm, "u_j_mm3": u, "power_w": P, "energy_j": E}
    for k, v in cols.items():
        out[k] = np.asarray(v, dtype=float)
    for s in SINKS:
        out[f"heat_{s}_j"] = E * mat.partition[s]
    out.attrs.update({"tool_d": D, "material": mat.id, "method": method, "time_source": tsrc,
                      "cell_mm": cell, "fz_source": fz_src, "top_z": top_z})
    return out


def totals(table: pd.DataFrame) -> dict[str, float]:
    """Job totals of an :func:`annotate` table.

    Returns: removed_mm3, energy_j, heat_{chip,tool,work}_j, time_s (all moves), cut_time_s
    (moves that remove material), mean_power_w (energy / cut time), peak_power_w (largest
    per-move mean power).
    """
    cutting = table["removed_mm3"] > 0
    cut_t = float(table.loc[cutting, "t_s"].sum())
    E = float(table["energy_j"].sum())
    out = {"removed_mm3": float(table["removed_mm3"].sum()), "energy_j": E,
           "time_s": float(table["t_s"].sum()), "cut_time_s": cut_t,
           "mean_power_w": E / cut_t if cut_t > 0 else 0.0,
           "peak_power_w": float(table["power_w"].max()) if len(table) else 0.0}
    for s in SINKS:
        out[f"heat_{s}_j"] = float(table[f"heat_{s}_j"].sum())
    return out
