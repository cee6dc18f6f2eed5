"""The swept-tool envelope: how low the tool's cutting surface reaches over each cell.

For a tool moving along a straight segment from ``p0`` to ``p1`` (tip positions, mm), the
lowest point of its cutting surface above a cell centre ``c`` is

    g(c) = min over t in [0, 1] of  z(t) + f(|c - xy(t)|),   |c - xy(t)| <= R,

with ``z(t) = z0 + t dz``, ``xy(t) = a + t u`` and ``f`` the tool profile
(:meth:`workbench.sim.tools.Tool.profile`). This is the Z-buffer (dexel) swept-volume model of
Van Hook, "Real-time shaded NC milling display", SIGGRAPH 1986, and of CAMotics; it is exact
for 3-axis cutting where no undercut exists.

Evaluation, per cell, vectorised with numpy over the cells of the move's bounding box:

- horizontal move (dz = 0): ``r(t)`` is smallest at the projection of ``c`` on the segment,
  and ``f`` is non-decreasing, so ``g = z0 + f(d)`` with ``d`` the distance to the segment
  (exact);
- flat end mill with dz != 0: the cell is under the disc for ``t`` in
  ``[tp - h, tp + h]`` (``tp`` the projection parameter, ``h = sqrt(R² - d⊥²) / |u|``) and
  ``g`` is ``z`` at the lower end of that interval (exact);
- other profiles with dz != 0: ``z(t) + f(r(t))`` is convex in ``t`` (``r(t)`` is convex,
  ``f`` convex non-decreasing), so a golden-section search over the same interval converges
  to the minimum (Kiefer 1953); 40 iterations shrink the interval by 0.618^40 ≈ 4e-9 (two evaluations each).

Arcs (G2/G3, any plane, helical) are split into chords whose sagitta is at most a given
tolerance: ``dθ = 2 acos(1 - tol / r)`` (chord-height formula, Machinery's Handbook).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["segment_envelope", "arc_chords"]

_GOLD = (math.sqrt(5.0) - 1.0) / 2.0


def segment_envelope(X: np.ndarray, Y: np.ndarray, p0: tuple[float, float, float],
                     p1: tuple[float, float, float], radius: float,
                     profile: Callable[[np.ndarray], np.ndarray] | None = None,
                     golden_iters: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower envelope of a tool swept along one straight segment, over a block of cells.

    Args:
        X: cell-centre x coordinates, shape (nx,), mm.
        Y: cell-centre y coordinates, shape (ny,), mm.
        p0, p1: tip position at the start and end of the segment, mm.
        radius: tool radius R, mm.
        profile: ``f(r)`` height of the cutting surface above the tip (mm, vectorised);
            ``None`` for a flat end mill (``f = 0``; closed form).
        golden_iters: golden-section iterations for non-flat tools on moves with dz != 0.

    Returns:
        ``(g, d, znear)``, each of shape (ny, nx): ``g`` the lowest z of the cutting surface
        over the cell centre (``+inf`` where the tool never covers it), ``d`` the horizontal
        distance from the cell centre to the swept xy segment, ``znear`` the tip z at the point
        of the segment nearest the cell (used for the anti-aliased rim).
    """
    ax, ay, az = (float(v) for v in p0)
    bx, by, bz = (float(v) for v in p1)
    ux, uy, dz = bx - ax, by - ay, bz - az
    L2 = ux * ux + uy * uy
    DX = X[None, :] - ax
    DY = Y[:, None] - ay
    R = float(radius)
    if L2 < 1e-12:  # plunge or pure z move: a disc at the lowest z
        d = np.sqrt(DX * DX + DY * DY)
        zlow = min(az, bz)
        prof = 0.0 if profile is None else profile(d)
        g = np.where(d <= R, zlow + prof, np.inf)
        return g, d, np.full_like(d, zlow)
    tp = (DX * ux + DY * uy) / L2
    tc = np.clip(tp, 0.0, 1.0)
    ex = DX - tc * ux
    ey = DY - tc * uy
    d = np.sqrt(ex * ex + ey * ey)
    znear = az + tc * dz
    if abs(dz) < 1e-12:
        prof = 0.0 if profile is None else profile(d)
        return np.where(d <= R, az + prof, np.inf), d, znear
    perp2 = np.maximum(DX * DX + DY * DY - tp * tp * L2, 0.0)
    h = np.sqrt(np.maximum(R * R - perp2, 0.0)) / math.sqrt(L2)
    lo = np.maximum(tp - h, 0.0)
    hi = np.minimum(tp + h, 1.0)
    feasible = (perp2 <= R * R) & (lo <= hi) & (d <= R)
    if profile is None:
        t = hi if dz < 0 else lo
        return np.where(feasible, az + t * dz, np.inf), d, znear

    def F(t: np.ndarray) -> np.ndarray:
        r = np.sqrt(perp2 + L2 * (t - tp) ** 2)
        return az + t * dz + profile(r)

    a, b = lo.copy(), np.maximum(hi, lo)
    for _ in range(golden_iters):
        c = b - _GOLD * (b - a)
        e = a + _GOLD * (b - a)
        left = F(c) < F(e)
        b = np.where(left, e, b)
        a = np.where(left, a, c)
    fc = F(0.5 * (a + b))
    fe = fc
    g = np.minimum(np.minimum(fc, fe), np.minimum(F(lo), F(np.maximum(hi, lo))))
    return np.where(feasible, g, np.inf), d, znear


def arc_chords(start: tuple[float, float, float], end: tuple[float, float, float],
               offset: tuple[float, float, float], plane: int, clockwise: bool,
               tol: float) -> np.ndarray:
    """Points along a (helical) arc, chord sagitta at most ``tol``.

    Args:
        start, end: tip positions (x, y, z), mm.
        offset: (i, j, k), the centre minus the start point, mm (NaN read as 0).
        plane: 17 (XY, axis Z), 18 (ZX, axis Y) or 19 (YZ, axis X).
        clockwise: G2 (True) or G3 (False), seen from the positive plane axis.
        tol: maximum chord sagitta, mm.

    Returns:
        array (n + 1, 3) from ``start`` to ``end`` (exactly), mm. A start equal to the end is a
        full circle (RS274/NGC, Kramer et al., NIST IR 6556 section 3.5.3).
    """
    s = np.asarray(start, dtype=float)
    e = np.asarray(end, dtype=float)
    off = np.nan_to_num(np.asarray(offset, dtype=float))
    # in-plane axes (a, b) and the helix axis, per RS274/NGC
    ia, ib, ic = {17: (0, 1, 2), 18: (2, 0, 1), 19: (1, 2, 0)}.get(int(plane), (0, 1, 2))
    ca, cb = s[ia] + off[ia], s[ib] + off[ib]
    r = math.hypot(s[ia] - ca, s[ib] - cb)
    if r < 1e-9:
        return np.vstack([s, e])
    th0 = math.atan2(s[ib] - cb, s[ia] - ca)
    th1 = math.atan2(e[ib] - cb, e[ia] - ca)
    sweep = th1 - th0
    if clockwise:
        sweep = sweep if sweep < 0 else sweep - 2 * math.pi
        if abs(sweep) < 1e-9:
            sweep = -2 * math.pi
    else:
        sweep = sweep if sweep > 0 else sweep + 2 * math.pi
        if abs(sweep) < 1e-9 or abs(sweep - 2 * math.pi) < 1e-9:
            sweep = 2 * math.pi
    tol = max(float(tol), 1e-6)
    dth = 2.0 * math.acos(max(1.0 - tol / r, -1.0)) if tol < r else math.pi / 2
    n = max(int(math.ceil(abs(sweep) / max(dth, 1e-6))), 1)
    n = min(n, 100_000)
    t = np.linspace(0.0, 1.0, n + 1)
    th = th0 + sweep * t
    pts = np.empty((n + 1, 3))
    pts[:, ia] = ca + r * np.cos(th)
    pts[:, ib] = cb + r * np.sin(th)
    pts[:, ic] = s[ic] + (e[ic] - s[ic]) * t
    pts[0] = s
    pts[-1] = e
    return pts
