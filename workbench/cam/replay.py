"""Engagement replay: the radial engagement of emitted moves, measured on a material raster.

A planner's own estimate of engagement is only as good as its model; this module replays the
emitted moves (after arc fitting) against the material at one depth level and reports, per
horizontal move, the largest engagement angle its front half meets. Used by
:func:`workbench.cam.adaptive.plan_adaptive` for ``engagement_deg``; the tests' referee
(``benchmarks/_raster_engagement.py``) is an independent, slower implementation.

Engagement = the arc of the front half of the tool circle lying in material (the radial
engagement angle of Sandvik Coromant's milling guide, as in :mod:`workbench.cam.engagement`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

from ..toolpath import Toolpath

__all__ = ["measure_engagement", "measure_level", "remove_capsules"]

# raster cells per tool diameter, arcs per front half, samples per D
_GRID_CELLS_PER_D = 100.0
_BINS = 360
_SAMPLES_PER_D = 30.0


def remove_capsules(mat: np.ndarray, xs: np.ndarray, ys: np.ndarray, x0: float, y0: float,
                     h: float, pts: np.ndarray, r: float) -> None:
    """Clear (in place) the cells of boolean raster ``mat`` (cell centres ``xs``, ``ys``,
    origin ``x0``, ``y0``, cell ``h``) whose centre lies within ``r`` of the polyline ``pts``
    (n, 2). The polyline is processed in runs of consecutive segments whose bounding box stays
    small; within a run only the cells still True are tested against every segment."""
    n = len(pts)
    ny, nx = mat.shape
    rr = r * r
    # runs of at most 64 segments and about r of path length each
    seg = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    cuts = np.searchsorted(cum, np.arange(r, cum[-1], r))
    bounds = np.unique(np.concatenate([[0], cuts, [n - 1]]))
    bounds = np.unique(np.concatenate([bounds] + [np.arange(b0, b1, 64) for b0, b1 in
                                                  zip(bounds[:-1], bounds[1:]) if b1 - b0 > 64]))
    for k, m in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if m <= k:
            continue
        run = pts[k:m + 1]
        lo = run.min(axis=0) - r
        hi = run.max(axis=0) + r
        i0 = max(0, int((lo[0] - x0) / h)); i1 = min(nx, int((hi[0] - x0) / h) + 2)
        j0 = max(0, int((lo[1] - y0) / h)); j1 = min(ny, int((hi[1] - y0) / h) + 2)
        if i0 >= i1 or j0 >= j1:
            continue
        sub = mat[j0:j1, i0:i1]
        jj, ii = np.nonzero(sub)
        if not len(jj):
            continue
        cx = xs[i0 + ii]
        cy = ys[j0 + jj]
        if len(run) > 2:
            # pre-filter against the run's chord widened by the run's deviation from it
            c = run[-1] - run[0]
            c2 = float(c @ c)
            qx, qy = run[:, 0] - run[0, 0], run[:, 1] - run[0, 1]
            if c2 > 1e-18:
                tq = np.clip((qx * c[0] + qy * c[1]) / c2, 0.0, 1.0)
                dev = float(np.sqrt(((qx - tq * c[0]) ** 2 + (qy - tq * c[1]) ** 2).max()))
                ux, uy = cx - run[0, 0], cy - run[0, 1]
                tc = (ux * c[0] + uy * c[1]) / c2
                np.maximum(tc, 0.0, out=tc)
                np.minimum(tc, 1.0, out=tc)
                ex, ey = ux - tc * c[0], uy - tc * c[1]
                near = ex * ex + ey * ey <= (r + dev + 1e-9) ** 2
                jj, ii, cx, cy = jj[near], ii[near], cx[near], cy[near]
                if not len(jj):
                    continue
        px = cx[:, None] - run[None, :-1, 0]
        py = cy[:, None] - run[None, :-1, 1]
        d = run[1:] - run[:-1]
        L2 = np.maximum((d * d).sum(axis=1), 1e-18)
        t = (px * d[None, :, 0] + py * d[None, :, 1]) / L2[None, :]
        np.maximum(t, 0.0, out=t)
        np.minimum(t, 1.0, out=t)
        ex = px - t * d[None, :, 0]
        ey = py - t * d[None, :, 1]
        hit = ((ex * ex + ey * ey) <= rr).any(axis=1)
        sub[jj[hit], ii[hit]] = False


def measure_level(poly: Polygon, moves: Any, start: tuple[float, float, float], z: float,
                  tool_d: float, tol: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Replay the moves that reach level ``z`` on a fine material raster and measure the
    engagement of every horizontal cut/link move at ``z`` (on the emitted geometry: fitted
    arcs are discretised, so the reported figure is that of the arc, not of the chords).

    Material at the level: the region (cell ``D/100``, coarser past 2e7 cells). Moves
    ending at ``z`` that descend into it (helix turns, ramps, plunges, drops) only remove; horizontal moves are sampled
    every ``D/30`` against the material left before the move (front half of the tool
    circle, 360 arcs: the definition of ``workbench.cam.engagement``), then their capsule of
    radius r is removed (only cells still holding material are tested).

    Returns:
        (rows, engagement_deg): the measured row indices and their largest engagement, deg.
    """
    from .checks import tool_centre_paths

    D = float(tool_d)
    r = D / 2.0
    minx, miny, maxx, maxy = poly.bounds
    pad = D + 1.0
    area = (maxx - minx + 2 * pad) * (maxy - miny + 2 * pad)
    h = max(D / _GRID_CELLS_PER_D, math.sqrt(area / 2.0e7))
    x0, y0 = minx - pad, miny - pad
    nx = int(math.ceil((maxx - minx + 2 * pad) / h))
    ny = int(math.ceil((maxy - miny + 2 * pad) / h))
    xs = x0 + (np.arange(nx) + 0.5) * h
    ys = y0 + (np.arange(ny) + 0.5) * h
    X, Y = np.meshgrid(xs, ys)
    mat = shapely.contains_xy(poly, X, Y)
    del X, Y
    tp = Toolpath(moves=moves, start=start, meta={})
    st = tp.starts()
    end = moves[["x", "y", "z"]].to_numpy(dtype=float)
    codes = moves["code"].to_numpy()
    kinds = moves["kind"].to_numpy()
    at = (np.abs(end[:, 2] - z) < 1e-6) & (codes != "G0")
    rows = np.flatnonzero(at)
    paths = tool_centre_paths(tp, rows=list(rows), max_sagitta=min(0.005, tol))
    phi = np.radians(-90.0 + (np.arange(_BINS) + 0.5) * (180.0 / _BINS))
    cph, sph = np.cos(phi), np.sin(phi)
    ds = D / _SAMPLES_PER_D
    rr = r * r
    out_rows, out_eng = [], []

    for k, pth in zip(rows, paths):
        xy = pth[:, :2]
        horizontal = abs(st[k, 2] - z) < 1e-6 and kinds[k] in ("cut", "link")
        if len(xy) == 1:
            xy = np.vstack([xy, xy])
        if horizontal:
            # every sample of the move against the material left before the move: exact for
            # lines; for an arc the front half of the tool never reaches the area the same
            # arc swept earlier unless its radius is under r (then the figure errs high)
            d = xy[1:] - xy[:-1]
            L = np.hypot(d[:, 0], d[:, 1])
            keep = L > 1e-9
            emax = 0.0
            if keep.any():
                a, d, L = xy[:-1][keep], d[keep], L[keep]
                n = np.maximum(1, np.ceil(L / ds).astype(np.int64))
                seg = np.repeat(np.arange(len(L)), n)
                first = np.cumsum(n) - n
                t = (np.arange(len(seg)) - first[seg] + 1) / n[seg]
                ux, uy = d[seg, 0] / L[seg], d[seg, 1] / L[seg]
                bx = a[seg, 0] + t * d[seg, 0]
                by = a[seg, 1] + t * d[seg, 1]
                cx = bx[:, None] + r * (cph[None, :] * ux[:, None] - sph[None, :] * uy[:, None])
                cy = by[:, None] + r * (cph[None, :] * uy[:, None] + sph[None, :] * ux[:, None])
                ix = ((cx - x0) / h).astype(np.int64)  # in range: the grid pads the region by D
                iy = ((cy - y0) / h).astype(np.int64)
                emax = float(mat[iy, ix].sum(axis=1).max()) * (180.0 / _BINS)
            out_rows.append(k)
            out_eng.append(emax)
        remove_capsules(mat, xs, ys, x0, y0, h, xy, r)
    return np.asarray(out_rows, dtype=np.int64), np.asarray(out_eng, dtype=float), h


def measure_engagement(poly: Polygon, moves: Any, start: tuple[float, float, float],
                       zs: list[float], tool_d: float, tol: float) -> tuple[np.ndarray, float]:
    """``engagement_deg`` of every row of ``moves``: measured on the lowest level by
    :func:`measure_level` and copied to the same horizontal moves of the other levels (the
    2-D plan is the same at every level, each level cutting fresh material); a level whose
    horizontal moves do not line up is measured on its own. NaN for rows not measured."""
    eng = np.full(len(moves), np.nan)
    ref_rows, ref_eng, grid_h = measure_level(poly, moves, start, zs[-1], tool_d, tol)
    eng[ref_rows] = ref_eng
    end_z = moves["z"].to_numpy(dtype=float)
    st_z = np.concatenate([[start[2]], end_z[:-1]])
    hor = (moves["kind"].isin(["cut", "link"]).to_numpy() & (moves["code"] != "G0").to_numpy()
           & (np.abs(end_z - st_z) < 1e-6))
    xy = moves[["x", "y"]].to_numpy(dtype=float)
    for z in zs[:-1]:
        rows = np.flatnonzero(hor & (np.abs(end_z - z) < 1e-6))
        if len(rows) == len(ref_rows) and np.allclose(xy[rows], xy[ref_rows], atol=1e-9):
            eng[rows] = ref_eng
        else:
            rr, ee, _ = measure_level(poly, moves, start, z, tool_d, tol)
            eng[rr] = ee
    return eng, grid_h
