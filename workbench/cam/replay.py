"""Engagement replay: the radial engagement of emitted moves, measured on a material raster.

A planner's own estimate of engagement is only as good as its model; this module replays the
emitted moves (after arc fitting) against the material at one depth level and reports, per
horizontal move, the largest engagement angle its front half meets. Used by
:func:`workbench.cam.adaptive.plan_adaptive` for ``engagement_deg``; the tests' referee
(``benchmarks/_raster_engagement.py``) is an independent, slower implementation.

Engagement = the arc of the front half of the tool circle lying in material (the radial
engagement angle of Sandvik Coromant's milling guide, as in :mod:`workbench.cam.engagement`).

Speed: the raster work runs in numba kernels (``njit(cache=True)``, applied by :func:`_jit` on
the first call, so ``import workbench`` does not import numba), compiled on the first call of a
process that finds no cache (``workbench/cam/__pycache__``; a few seconds) and loaded from it
afterwards. They give the same cells and angles as the former scalar-numpy code (kept as the
baseline of ``benchmarks/bench_replay.py``): every cell whose state could depend on a rounding
is decided by the same floating-point expression as before; only cells inside or outside by a
margin (1e-9 mm) are decided by the row spans of :func:`_clear_run`. The material raster is
filled by scanline (:func:`rasterise`, numpy) with shapely's answer on the boundary.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from ..toolpath import Toolpath

__all__ = ["measure_engagement", "measure_level", "rasterise", "remove_capsules"]

# raster cells per tool diameter, arcs per front half, samples per D
_GRID_CELLS_PER_D = 100.0
_BINS = 360
_SAMPLES_PER_D = 30.0
# margin (mm) between the row spans of the capsule grown / shrunk by it and the exact test
_EPS = 1e-9
# longest run of segments cleared together (see _clear_polyline)
_RUN_MAX = 32


# ------------------------------------------------------------------ kernels (compiled by _jit)
def _capsule_span(e: float, f: float, ax: float, bx: float, dx: float, dy: float,
                  idx: float, idy: float, L2: float, rad: float,
                  rL: float) -> tuple[float, float]:  # pragma: no cover - compiled
    """x-interval ``(lo, hi)`` of {x : dist((x, y), segment ab) <= rad} on the row y, with
    e = y - ay, f = y - by, d = b - a, idx = 1/dx, idy = 1/dy (0 when dx, dy = 0), L2 = |d|^2,
    rL = rad |d|; lo > hi if empty.

    The capsule is convex, so its trace on the row is one interval: the union of the traces of
    the two end discs (|x - ax| <= sqrt(rad^2 - e^2)) and of the band
    {0 <= (p - a).d <= |d|^2, |(p - a) x d| <= rad |d|}, whose two conditions are linear in x
    (point-segment distance: Ericson, Real-Time Collision Detection, 2005, sec. 5.1.2)."""
    lo = np.inf
    hi = -np.inf
    w2 = rad * rad - e * e
    if w2 >= 0.0:
        w = math.sqrt(w2)
        lo = ax - w
        hi = ax + w
    w2 = rad * rad - f * f
    if w2 >= 0.0:
        w = math.sqrt(w2)
        lo = min(lo, bx - w)
        hi = max(hi, bx + w)
    if L2 > 0.0:
        ulo = -np.inf
        uhi = np.inf
        ok = True
        if dx != 0.0:  # 0 <= u dx + e dy <= L2, u = x - ax
            p = -e * dy * idx
            q = (L2 - e * dy) * idx
            ulo = min(p, q)
            uhi = max(p, q)
        elif e * dy < 0.0 or e * dy > L2:
            ok = False
        if dy != 0.0:  # |e dx - u dy| <= rad |d|
            p = (e * dx - rL) * idy
            q = (e * dx + rL) * idy
            ulo = max(ulo, min(p, q))
            uhi = min(uhi, max(p, q))
        elif abs(e * dx) > rL:
            ok = False
        if ok and ulo <= uhi:
            lo = min(lo, ax + ulo)
            hi = max(hi, ax + uhi)
    return lo, hi


def _clear_run(mat: np.ndarray, xs: np.ndarray, ys: np.ndarray, x0: float, y0: float,
               h: float, pts: np.ndarray, k0: int, k1: int, dev: float,
               r: float) -> None:  # pragma: no cover - compiled
    """Clear the cells of ``mat`` whose centre is within ``r`` of the polyline
    ``pts[k0..k1]`` (a run whose vertices lie within ``dev`` of its chord ab, a = pts[k0],
    b = pts[k1]), row by row. The run lies within dev of the chord and the chord within dev of
    the run (every chord point is the projection of a run point), so the union of the
    capsules of radius r holds the chord's capsule of radius r - dev and lies in the one of
    radius r + dev: cells inside the row span of the former (less eps) are cleared outright (a
    slice); those between it and the span of the latter (plus eps) are tested against every
    segment of the run with the scalar formula of the former code
    (t = clip((p - s).d / |d|^2, 0, 1), |p - s - t d|^2 <= r^2). The spans need not be exact:
    their rounding (~1e-15 mm) is far inside eps."""
    ny, nx = mat.shape
    rr = r * r
    ax = pts[k0, 0]
    ay = pts[k0, 1]
    bx = pts[k1, 0]
    by = pts[k1, 1]
    dx = bx - ax
    dy = by - ay
    L2s = dx * dx + dy * dy
    L = math.sqrt(L2s)
    idx = 1.0 / dx if dx != 0.0 else 0.0
    idy = 1.0 / dy if dy != 0.0 else 0.0
    ih = 1.0 / h
    r_out = r + dev + _EPS
    r_in = r - dev - _EPS
    ylo = ay
    yhi = ay
    for k in range(k0 + 1, k1 + 1):
        ylo = min(ylo, pts[k, 1])
        yhi = max(yhi, pts[k, 1])
    j0 = max(0, int(math.ceil((min(ay, by) - r_out - y0) * ih - 0.5)) - 1)
    j1 = min(ny - 1, int(math.floor((max(ay, by) + r_out - y0) * ih - 0.5)) + 1)
    for j in range(j0, j1 + 1):
        yc = ys[j]
        e = yc - ay
        f = yc - by
        lo, hi = _capsule_span(e, f, ax, bx, dx, dy, idx, idy, L2s, r_out, r_out * L)
        if lo > hi:
            continue
        c0 = max(0, int(math.ceil((lo - x0) * ih - 0.5)) - 1)
        c1 = min(nx - 1, int(math.floor((hi - x0) * ih - 0.5)) + 1)
        if c0 > c1:
            continue
        s0 = c1 + 1
        s1 = c1
        if r_in > 0.0:
            lo_in, hi_in = _capsule_span(e, f, ax, bx, dx, dy, idx, idy, L2s, r_in, r_in * L)
            if lo_in <= hi_in:
                s0 = max(c0, int(math.ceil((lo_in - x0) * ih - 0.5)))
                s1 = min(c1, int(math.floor((hi_in - x0) * ih - 0.5)))
                if s0 > s1:
                    s0 = c1 + 1
                    s1 = c1
        if s0 <= s1:
            mat[j, s0:s1 + 1] = False
        if yc < ylo - r - _EPS or yc > yhi + r + _EPS:
            continue
        for part in range(2):
            lo_i = c0 if part == 0 else max(c0, s1 + 1)
            hi_i = min(c1, s0 - 1) if part == 0 else c1
            for i in range(lo_i, hi_i + 1):
                if not mat[j, i]:
                    continue
                for k in range(k0, max(k1, k0 + 1)):  # k1 == k0: the point's disc
                    sx = pts[k, 0]
                    sy = pts[k, 1]
                    sdx = pts[min(k + 1, k1), 0] - sx
                    sdy = pts[min(k + 1, k1), 1] - sy
                    px = xs[i] - sx
                    py = yc - sy
                    t = (px * sdx + py * sdy) / max(sdx * sdx + sdy * sdy, 1e-18)
                    t = min(max(t, 0.0), 1.0)
                    ex = px - t * sdx
                    ey = py - t * sdy
                    if ex * ex + ey * ey <= rr:
                        mat[j, i] = False
                        break


def _point_chord_dist(px: float, py: float, ax: float, ay: float, dx: float, dy: float,
                      L2: float) -> float:  # pragma: no cover - compiled
    """Distance from (px, py) to the segment a -> a + d (|d|^2 = L2)."""
    qx = px - ax
    qy = py - ay
    t = (qx * dx + qy * dy) / L2 if L2 > 0.0 else 0.0
    t = min(max(t, 0.0), 1.0)
    return math.hypot(qx - t * dx, qy - t * dy)


def _clear_polyline(mat: np.ndarray, xs: np.ndarray, ys: np.ndarray, x0: float, y0: float,
                    h: float, pts: np.ndarray, i0: int, i1: int,
                    r: float) -> None:  # pragma: no cover - compiled
    """Clear the cells within ``r`` of the polyline ``pts[i0:i1]`` (one point: its disc), in
    runs of at most ``_RUN_MAX`` segments whose vertices stay within h/2 of the run's chord
    (greedy), so that consecutive short segments share their rows."""
    if i1 - i0 == 1:
        _clear_run(mat, xs, ys, x0, y0, h, pts, i0, i0, 0.0, r)
        return
    dmax = 0.5 * h
    k = i0
    while k < i1 - 1:
        m = k + 1
        dev = 0.0
        while m + 1 < i1 and m + 1 - k <= _RUN_MAX:
            c = m + 1
            ax = pts[k, 0]
            ay = pts[k, 1]
            dx = pts[c, 0] - ax
            dy = pts[c, 1] - ay
            L2 = dx * dx + dy * dy
            dc = 0.0
            for q in range(k + 1, c):
                dc = max(dc, _point_chord_dist(pts[q, 0], pts[q, 1], ax, ay, dx, dy, L2))
                if dc > dmax:
                    break
            if dc > dmax:
                break
            m = c
            dev = dc
        _clear_run(mat, xs, ys, x0, y0, h, pts, k, m, dev, r)
        k = m


def _replay(mat: np.ndarray, xs: np.ndarray, ys: np.ndarray, x0: float, y0: float, h: float,
            pts: np.ndarray, seg_len: np.ndarray, seg_n: np.ndarray, offs: np.ndarray,
            horizontal: np.ndarray, cph: np.ndarray, sph: np.ndarray,
            r: float) -> np.ndarray:  # pragma: no cover - compiled
    """Replay the polylines ``pts[offs[k]:offs[k+1]]`` in order: for a horizontal one, the
    largest number of front-half arc bins in material over its samples, then clear its capsule.
    Returns the counts (int64, one per polyline; 0 when not horizontal).

    Segment a -> a + d (length L = ``seg_len``, direction u = d / L, normal v = (-uy, ux)) is
    sampled at p = a + ((m + 1) / n) d, m < n = ``seg_n``; bin b of a sample is the cell holding
    p + r (cos phi_b u + sin phi_b v), i.e. (px + r (cph ux - sph uy), py + r (cph uy + sph ux)),
    its index truncated from (c - origin) / h: the expressions of the former code, so the
    counts are bit-identical to it. ``mat`` must be C-contiguous."""
    ny, nx = mat.shape
    flat = mat.reshape(ny * nx)
    m_moves = len(offs) - 1
    nb = len(cph)
    out = np.zeros(m_moves, dtype=np.int64)
    offx = np.empty(nb)
    offy = np.empty(nb)
    cell = np.empty(nb, dtype=np.int64)
    for k in range(m_moves):
        a_i = offs[k]
        b_i = offs[k + 1]
        if horizontal[k]:
            best = 0
            for s in range(a_i, b_i - 1):
                L = seg_len[s]
                if not L > 1e-9:
                    continue
                n = seg_n[s]
                ax = pts[s, 0]
                ay = pts[s, 1]
                dx = pts[s + 1, 0] - ax
                dy = pts[s + 1, 1] - ay
                ux = dx / L
                uy = dy / L
                for b in range(nb):
                    offx[b] = r * (cph[b] * ux - sph[b] * uy)
                    offy[b] = r * (cph[b] * uy + sph[b] * ux)
                for m in range(n):
                    t = (m + 1) / n
                    px = ax + t * dx
                    py = ay + t * dy
                    for b in range(nb):  # index pass (vectorised by LLVM), then gather
                        ix = int(((px + offx[b]) - x0) / h)
                        iy = int(((py + offy[b]) - y0) / h)
                        inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
                        cell[b] = iy * nx + ix if inside else -1
                    cnt = 0
                    for b in range(nb):
                        q = cell[b]
                        if q >= 0 and flat[q]:
                            cnt += 1
                    if cnt > best:
                        best = cnt
            out[k] = best
        _clear_polyline(mat, xs, ys, x0, y0, h, pts, a_i, b_i, r)
    return out


_KERNELS = ("_capsule_span", "_clear_run", "_point_chord_dist", "_clear_polyline", "_replay")
_compiled = False


def _jit() -> None:
    """Replace the kernels above by their numba versions (``njit(cache=True)``), once per
    process: numba is imported on first use, not by ``import workbench``."""
    global _compiled
    if not _compiled:
        from numba import njit

        g = globals()
        for name in _KERNELS:
            g[name] = njit(cache=True)(g[name])
        _compiled = True


# ------------------------------------------------------------------ public API
def remove_capsules(mat: np.ndarray, xs: np.ndarray, ys: np.ndarray, x0: float, y0: float,
                    h: float, pts: np.ndarray, r: float) -> None:
    """Clear (in place) the cells of a boolean raster whose centre lies within ``r`` of a
    polyline (the area swept by a tool of radius ``r`` whose centre follows it).

    Args:
        mat: (ny, nx) bool raster, modified in place (row j is y, column i is x).
        xs, ys: (nx,), (ny,) cell-centre coordinates, mm: ``x0 + (i + 0.5) h``, ``y0 + (j + 0.5) h``.
        x0, y0: raster origin (lower-left corner of cell (0, 0)), mm.
        h: cell size, mm.
        pts: (n, 2) polyline vertices, mm (extra columns such as z are ignored); n = 1 clears
            the disc of radius r around the point, n = 0 nothing.
        r: radius, mm.

    A cell is cleared when its centre c satisfies |c - a - t d|^2 <= r^2 for some segment
    (a, d) with t = clip((c - a).d / |d|^2, 0, 1) (point-segment distance, Ericson, Real-Time
    Collision Detection, 2005, sec. 5.1.2). Rasterised by rows, in runs of consecutive
    segments that stay within h/2 of their chord (:func:`_clear_polyline`): the work follows
    the capsule's rows, not its bounding box nor every segment; identical cells to the former
    per-cell test (``benchmarks/bench_replay.py``). (The former code cleared nothing for n = 1;
    the callers pass the point twice, which gives the same disc.)

    Raises:
        ValueError: ``mat`` is not a 2-D bool array or ``pts`` not of shape (n, >=2).
    """
    if not (isinstance(mat, np.ndarray) and mat.ndim == 2 and mat.dtype == np.bool_):
        raise ValueError("mat must be a 2-D bool numpy array")
    p = np.asarray(pts, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"pts must have shape (n, 2), got {p.shape}")
    if len(p) == 0:
        return
    p = np.ascontiguousarray(p[:, :2])
    _jit()
    _clear_polyline(mat, np.ascontiguousarray(xs, dtype=np.float64),
                    np.ascontiguousarray(ys, dtype=np.float64), float(x0), float(y0), float(h),
                    p, 0, len(p), float(r))


def rasterise(poly: Any, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``shapely.contains_xy(poly, X, Y)`` on the grid of cell centres ``X, Y = meshgrid(xs,
    ys)`` (boundary excluded), as a (len(ys), len(xs)) bool array, by a scanline even-odd fill
    (Foley, van Dam, Feiner, Hughes, Computer Graphics: Principles and Practice, 2nd ed.,
    sec. 3.6): each row's crossings with the edges (edge y1-y2 crosses the row y when exactly
    one end lies above y), sorted, bound the inside spans. Cells the fill cannot decide (the row
    passes within 1e-9 mm (relative to the coordinates) of a vertex, or the centre lies that
    close to a crossing) and invalid or non-polygonal geometries go to shapely.

    Args:
        poly: shapely geometry, mm.
        xs, ys: (nx,), (ny,) increasing cell-centre coordinates, mm.

    Returns:
        (ny, nx) bool array, row j for ``ys[j]``. Raises nothing of its own (shapely's errors
        for a non-geometry pass through)."""
    if not isinstance(poly, (Polygon, MultiPolygon)) or poly.is_empty or not poly.is_valid:
        X, Y = np.meshgrid(xs, ys)
        return shapely.contains_xy(poly, X, Y)
    ny, nx = len(ys), len(xs)
    rings = shapely.get_rings(shapely.get_parts(poly))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    tol = _EPS * max(1.0, float(np.abs(xy).max()))
    same = ring[1:] == ring[:-1]
    x1, y1 = xy[:-1, 0][same], xy[:-1, 1][same]
    x2, y2 = xy[1:, 0][same], xy[1:, 1][same]
    # rows passing within tol of a vertex: undecided
    vy = np.sort(xy[:, 1])
    p = np.minimum(np.searchsorted(vy, ys - tol), len(vy) - 1)
    undecided_row = np.abs(vy[p] - ys) <= tol
    # crossings: rows j with min(y1, y2) <= ys[j] < max(y1, y2)
    ja = np.searchsorted(ys, np.minimum(y1, y2), side="left")
    jb = np.searchsorted(ys, np.maximum(y1, y2), side="left")
    cnt = np.maximum(jb - ja, 0)
    e = np.repeat(np.arange(len(x1)), cnt)
    j = np.arange(len(e)) - np.repeat(np.cumsum(cnt) - cnt, cnt) + ja[e]
    yc = ys[j]
    xc = x1[e] + (yc - y1[e]) * (x2[e] - x1[e]) / (y2[e] - y1[e])
    undecided_row |= np.bincount(j, minlength=ny) % 2 == 1
    keep = ~undecided_row[j]
    j, xc = j[keep], xc[keep]
    order = np.lexsort((xc, j))
    j, xc = j[order], xc[order]
    # spans (xc[2k], xc[2k+1]) of row j[2k]: cells strictly inside by more than tol
    js, xa, xb = j[0::2], xc[0::2], xc[1::2]
    i0 = np.searchsorted(xs, xa + tol, side="right")
    i1 = np.searchsorted(xs, xb - tol, side="left")
    ok = i1 > i0
    diff = np.zeros((ny, nx + 1), dtype=np.int8)
    np.add.at(diff, (js[ok], i0[ok]), 1)
    np.add.at(diff, (js[ok], i1[ok]), -1)
    mat = np.cumsum(diff, axis=1, dtype=np.int8)[:, :nx] > 0
    # undecided: whole rows, and centres within tol of a crossing
    und = np.zeros((ny, nx), dtype=bool)
    und[undecided_row] = True
    c0 = np.searchsorted(xs, xc - tol, side="left")
    c1 = np.searchsorted(xs, xc + tol, side="right")
    for jj, a, b in zip(j[c1 > c0], c0[c1 > c0], c1[c1 > c0]):
        und[jj, a:b] = True
    jj, ii = np.nonzero(und)
    if len(jj):
        mat[jj, ii] = shapely.contains_xy(poly, xs[ii], ys[jj])
    return mat


def measure_level(poly: Polygon, moves: Any, start: tuple[float, float, float], z: float,
                  tool_d: float, tol: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Replay the moves that reach level ``z`` on a fine material raster and measure the
    engagement of every horizontal cut/link move at ``z`` (on the emitted geometry: fitted
    arcs are discretised, so the reported figure is that of the arc, not of the chords).

    Material at the level: the region (cell ``D/100``, coarser past 2e7 cells). Moves
    ending at ``z`` that descend into it (helix turns, ramps, plunges, drops) only remove;
    horizontal moves are sampled every ``D/30`` against the material left before the move
    (front half of the tool circle, 360 arcs: the definition of ``workbench.cam.engagement``),
    then their capsule of radius r is removed (:func:`remove_capsules`).

    Args:
        poly: the region (shapely Polygon or MultiPolygon), mm.
        moves: the toolpath's moves DataFrame (columns code, kind, x, y, z, i, j).
        start: tool position before the first move, mm.
        z: the level, mm.
        tool_d: tool diameter D, mm.
        tol: planning tolerance, mm (arcs are discretised at sagitta min(0.005, tol)).

    Returns:
        (rows, engagement_deg, h): the measured row indices (int64, (m,)), their largest
        engagement (float, (m,), deg, a multiple of 180/360) and the raster cell h, mm.
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
    mat = rasterise(poly, xs, ys)
    tp = Toolpath(moves=moves, start=start, meta={})
    st = tp.starts()
    end = moves[["x", "y", "z"]].to_numpy(dtype=float)
    codes = moves["code"].to_numpy()
    kinds = moves["kind"].to_numpy()
    at = (np.abs(end[:, 2] - z) < 1e-6) & (codes != "G0")
    rows = np.flatnonzero(at)
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0), h
    paths = tool_centre_paths(tp, rows=list(rows), max_sagitta=min(0.005, tol))
    horizontal = (np.abs(st[rows, 2] - z) < 1e-6) & np.isin(kinds[rows], ["cut", "link"])
    xy = [p[:, :2] if len(p) > 1 else np.repeat(p[:, :2], 2, axis=0) for p in paths]
    offs = np.zeros(len(xy) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in xy], out=offs[1:])
    pts = np.ascontiguousarray(np.concatenate(xy), dtype=np.float64)
    d = np.diff(pts, axis=0)
    seg_len = np.concatenate([np.hypot(d[:, 0], d[:, 1]), [0.0]])
    ds = D / _SAMPLES_PER_D
    seg_n = np.maximum(1, np.ceil(seg_len / ds).astype(np.int64))
    phi = np.radians(-90.0 + (np.arange(_BINS) + 0.5) * (180.0 / _BINS))
    _jit()
    counts = _replay(mat, xs, ys, x0, y0, h, pts, seg_len, seg_n, offs, horizontal,
                     np.cos(phi), np.sin(phi), r)
    eng = counts[horizontal].astype(float) * (180.0 / _BINS)
    return rows[horizontal].astype(np.int64), eng, h


def measure_engagement(poly: Polygon, moves: Any, start: tuple[float, float, float],
                       zs: list[float], tool_d: float, tol: float) -> tuple[np.ndarray, float]:
    """``engagement_deg`` of every row of ``moves``: measured on the lowest level by
    :func:`measure_level` and copied to the same horizontal moves of the other levels (the
    2-D plan is the same at every level, each level cutting fresh material); a level whose
    horizontal moves do not line up is measured on its own.

    Args: as :func:`measure_level`, with ``zs`` the levels, mm, top to bottom.

    Returns:
        (engagement_deg, h): float array of shape (len(moves),), deg, NaN for rows not
        measured; and the raster cell h, mm.
    """
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
