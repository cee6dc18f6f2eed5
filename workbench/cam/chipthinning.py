"""Radial chip thinning: feed compensation for light radial engagement.

With a radial depth of cut ``ae`` smaller than half the tool diameter ``D`` the tooth never
cuts at the full feed per tooth: the maximum chip thickness is (Sandvik Coromant, *Technical
guide: milling*, "radial chip thinning"; Machinery's Handbook, 31st ed., "Chip thinning")::

    hex = fz * sqrt(1 - (1 - 2 ae / D)^2)          for ae < D / 2   (hex = fz for ae >= D/2)

so to keep the planned chip thickness ``fz`` the feed is raised by::

    factor = 1 / sqrt(1 - (1 - 2 ae / D)^2) = 1 / sin(theta),  theta = acos(1 - 2 ae / D)

In terms of the engagement angle theta (<= 90 deg): ``factor = 1 / sin(theta)``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

__all__ = ["max_chip_thickness", "chip_thinning_factor", "chip_thinning_factor_deg"]


def max_chip_thickness(fz: float, ae: float, tool_d: float) -> float:
    """Maximum chip thickness hex, mm: ``fz * sqrt(1 - (1 - 2 ae/D)^2)`` for ae < D/2, else fz.

    Raises:
        InputError: non-positive D, negative fz or ae.
    """
    if not tool_d > 0 or fz < 0 or ae < 0:
        raise InputError(f"chip thickness needs D > 0, fz >= 0, ae >= 0; got {tool_d}, {fz}, {ae}")
    if ae >= tool_d / 2:
        return float(fz)
    return float(fz * math.sqrt(1.0 - (1.0 - 2.0 * ae / tool_d) ** 2))


def chip_thinning_factor(ae: float, tool_d: float, max_factor: float = 4.0) -> float:
    """Feed factor ``1 / sqrt(1 - (1 - 2 ae/D)^2)`` for ae < D/2 (1.0 otherwise), capped at
    ``max_factor`` (the factor diverges as ae -> 0).

    Raises:
        InputError: non-positive D or ae.
    """
    if not tool_d > 0 or not ae > 0:
        raise InputError(f"chip thinning needs D > 0 and ae > 0 mm; got D={tool_d}, ae={ae}")
    if ae >= tool_d / 2:
        return 1.0
    return float(min(max_factor, 1.0 / math.sqrt(1.0 - (1.0 - 2.0 * ae / tool_d) ** 2)))


def chip_thinning_factor_deg(theta_deg: np.ndarray | float, max_factor: float = 4.0) -> np.ndarray:
    """The same factor from engagement angles (degrees): ``1 / sin(theta)`` for theta < 90,
    1.0 at or above 90 deg and for NaN; capped at ``max_factor``."""
    th = np.asarray(theta_deg, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(th < 90.0, 1.0 / np.sin(np.radians(th)), 1.0)
    f = np.where(np.isnan(th), 1.0, f)
    return np.clip(f, 1.0, max_factor)
