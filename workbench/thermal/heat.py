"""Heat over time: per-move power resampled onto time bins by integrating energy.

Each move i runs from ``t0_i`` to ``t1_i = t0_i + t_s_i`` at constant mean power
``P_i = E_i / t_s_i``. The cumulative energy ``W(t)`` is then piecewise linear through the
points ``(t1_i, sum_{k<=i} E_k)``; the energy falling in bin ``[b_k, b_{k+1})`` is
``W(b_{k+1}) - W(b_k)`` (exact for piecewise-constant power: the integral of P over the
overlap of each move with the bin) and the bin's mean power is that energy over the bin width.
The binned series therefore integrates to the job's total energy to rounding (the original
added the powers of the moves that fell in a bin, which is not an energy and depends on how
many moves a bin holds).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import InputError
from .materials import SINKS


def heat_series(table: pd.DataFrame, bins: int = 50, *, partition: dict[str, float] | None = None
                ) -> pd.DataFrame:
    """Mean power per time bin of an energy table (:func:`workbench.thermal.energy.annotate`).

    Args:
        table: needs ``t_s`` (s) and ``energy_j`` (J) per move, in execution order; with
            ``heat_chip_j``/``heat_tool_j``/``heat_work_j`` the sinks are binned too.
        bins: number of equal time bins over [0, total time] (>= 1).
        partition: unused when the heat columns are present; else splits ``power_w``.

    Returns:
        DataFrame with one row per bin: ``t0_s, t1_s, energy_j, power_w`` and
        ``power_{chip,tool,work}_w``; ``sum(power_w * (t1_s - t0_s)) == sum(energy_j)`` of the
        table (to float rounding).

    Raises:
        InputError: bins < 1, negative or non-finite times or energies.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise InputError(f"bins must be an integer >= 1, got {bins!r}")
    t = table["t_s"].to_numpy(dtype=float)
    E = table["energy_j"].to_numpy(dtype=float)
    if not (np.isfinite(t).all() and np.isfinite(E).all()) or (t < 0).any() or (E < 0).any():
        raise InputError("heat_series: t_s and energy_j must be finite and >= 0")
    T = float(t.sum())
    edges = np.linspace(0.0, T, bins + 1) if T > 0 else np.zeros(bins + 1)
    width = np.diff(edges)
    tc = np.concatenate([[0.0], np.cumsum(t)])

    def binned(e: np.ndarray) -> np.ndarray:
        ec = np.concatenate([[0.0], np.cumsum(e)])
        keep = np.concatenate([[True], t > 0])      # zero-time moves carry no energy (checked upstream)
        W = np.interp(edges, tc[keep], ec[keep])
        W[-1] = ec[-1]
        return np.diff(W)

    out = pd.DataFrame({"t0_s": edges[:-1], "t1_s": edges[1:]})
    eb = binned(E)
    out["energy_j"] = eb
    with np.errstate(invalid="ignore", divide="ignore"):
        out["power_w"] = np.where(width > 0, eb / np.where(width > 0, width, 1), 0.0)
        for s in SINKS:
            col = f"heat_{s}_j"
            if col in table:
                es = binned(table[col].to_numpy(dtype=float))
            elif partition is not None:
                es = eb * partition[s]
            else:
                continue
            out[f"power_{s}_w"] = np.where(width > 0, es / np.where(width > 0, width, 1), 0.0)
    return out


def integrate(series: pd.DataFrame, column: str = "power_w") -> float:
    """Integral of a binned power column over time (J): ``sum(P_k * (t1_k - t0_k))``."""
    return float((series[column] * (series["t1_s"] - series["t0_s"])).sum())


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: np.ndarray | list[float]) -> str:
    """A one-line Unicode sparkline (8 levels, scaled to the maximum; empty input -> '')."""
    v = np.asarray(values, dtype=float)
    if not len(v):
        return ""
    top = float(np.nanmax(v)) if np.isfinite(v).any() else 0.0
    if top <= 0 or not math.isfinite(top):
        return SPARK[0] * len(v)
    idx = np.clip(np.round(v / top * (len(SPARK) - 1)), 0, len(SPARK) - 1).astype(int)
    return "".join(SPARK[i] for i in idx)
