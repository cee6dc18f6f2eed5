"""Engagement replay (workbench.cam.replay): speed of the numba kernels against the former
scalar-numpy implementation, kept below as the reference and measured in the same run, and the
largest engagement difference between the two.

Cases: the sample pocket (90 x 40 mm with a D12 island, D6 tool, stepover 0.2, one level) and,
when ../shared/data is present, LesPaul_CAM_Closed.dxf PICKUP_CAVITY (two levels). Figures:
- ``measure_engagement``: seconds (best of ``--repeat``) of each, ratio, max |difference| (deg).
- ``remove_capsules``: the same calls of both on the same raster: the replay's (one per move,
  cell D/100) and the planner's (recorded while planning, replayed on a D/60 raster, the
  planner's finest cell); cells that differ.
- the first call of the process (numba cache load, or compilation when no cache exists).

Run: ``.venv/bin/python benchmarks/bench_replay.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, Polygon, box

import workbench.cam.adaptive as adaptive
from workbench.cam import replay
from workbench.cam.checks import tool_centre_paths
from workbench.paths import SHARED_DATA
from workbench.toolpath import Toolpath

_GRID_CELLS_PER_D = 100.0
_BINS = 360
_SAMPLES_PER_D = 30.0


# ---------------------------------------------------------------- scalar-numpy reference
# workbench/cam/replay.py as of commit fdebac5, unchanged but for the names.
def ref_remove_capsules(mat: np.ndarray, xs: np.ndarray, ys: np.ndarray, x0: float, y0: float,
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


def ref_measure_level(poly: Polygon, moves: Any, start: tuple[float, float, float], z: float,
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
        ref_remove_capsules(mat, xs, ys, x0, y0, h, xy, r)
    return np.asarray(out_rows, dtype=np.int64), np.asarray(out_eng, dtype=float), h


def ref_measure_engagement(poly: Polygon, moves: Any, start: tuple[float, float, float],
                           zs: list[float], tool_d: float, tol: float) -> tuple[np.ndarray, float]:
    """``engagement_deg`` of every row of ``moves``: measured on the lowest level by
    :func:`measure_level` and copied to the same horizontal moves of the other levels (the
    2-D plan is the same at every level, each level cutting fresh material); a level whose
    horizontal moves do not line up is measured on its own. NaN for rows not measured."""
    eng = np.full(len(moves), np.nan)
    ref_rows, ref_eng, grid_h = ref_measure_level(poly, moves, start, zs[-1], tool_d, tol)
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
            rr, ee, _ = ref_measure_level(poly, moves, start, z, tool_d, tol)
            eng[rr] = ee
    return eng, grid_h


# ---------------------------------------------------------------- measurements
def best_of(fn: Any, repeat: int) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def capsule_runs(mat0: np.ndarray, grid: tuple, calls: list[tuple[np.ndarray, float]],
                 repeat: int) -> tuple[float, float, int]:
    """Both remove_capsules over the same sequence of calls, each from a copy of ``mat0``."""
    xs, ys, x0, y0, h = grid

    def run(fn):
        def go():
            m = mat0.copy()
            for pts, r in calls:
                fn(m, xs, ys, x0, y0, h, pts, r)
            return m
        return go

    t_ref, m_ref = best_of(run(ref_remove_capsules), repeat)
    t_new, m_new = best_of(run(replay.remove_capsules), repeat)
    return t_ref, t_new, int((m_ref != m_new).sum())


def grid_of(poly: Polygon, D: float, cells_per_d: float, pad: float) -> tuple:
    minx, miny, maxx, maxy = poly.bounds
    h = D / cells_per_d
    x0, y0 = minx - pad, miny - pad
    nx = int(math.ceil((maxx - minx + 2 * pad) / h))
    ny = int(math.ceil((maxy - miny + 2 * pad) / h))
    xs = x0 + (np.arange(nx) + 0.5) * h
    ys = y0 + (np.arange(ny) + 0.5) * h
    return xs, ys, x0, y0, h


def bench_case(name: str, poly: Polygon, D: float, depth: float, repeat: int) -> None:
    planner_calls: list[tuple[np.ndarray, float]] = []
    new_rc = replay.remove_capsules

    def recording(mat, xs, ys, x0, y0, h, pts, r):
        planner_calls.append((np.array(pts, dtype=float), float(r)))
        new_rc(mat, xs, ys, x0, y0, h, pts, r)

    adaptive.remove_capsules = recording
    try:
        tp = adaptive.plan_adaptive(poly, tool_d=D, stepover=0.2, stepdown=3.0, depth=depth)
    finally:
        adaptive.remove_capsules = new_rc
    zs = tp.meta["levels"]
    args = (poly, tp.moves, tp.start, zs, D, 0.01)
    t_ref, (e_ref, h_ref) = best_of(lambda: ref_measure_engagement(*args), repeat)
    t_new, (e_new, h_new) = best_of(lambda: replay.measure_engagement(*args), repeat)
    same_nan = bool(np.array_equal(np.isnan(e_ref), np.isnan(e_new)))
    ok = ~np.isnan(e_ref)
    diff = float(np.max(np.abs(e_ref[ok] - e_new[ok]))) if ok.any() else 0.0
    print(f"\n{name}: {poly.area:.0f} mm2, {len(tp.moves)} moves, {len(zs)} level(s), "
          f"{int(ok.sum())} measured")
    print(f"  measure_engagement  reference {t_ref:7.3f} s   new {t_new:7.3f} s   "
          f"ratio {t_ref / t_new:5.1f}x   max |diff| {diff:.3f} deg   NaN rows equal {same_nan}   "
          f"grid h {h_ref:g} / {h_new:g} mm")
    # the replay's calls: the paths of the lowest level on the D/100 raster of the region
    g = grid_of(poly, D, _GRID_CELLS_PER_D, D + 1.0)
    X, Y = np.meshgrid(g[0], g[1])
    mat0 = shapely.contains_xy(poly, X, Y)
    rows = np.flatnonzero((np.abs(tp.moves["z"].to_numpy(dtype=float) - zs[-1]) < 1e-6)
                          & (tp.moves["code"] != "G0").to_numpy())
    paths = tool_centre_paths(Toolpath(tp.moves, tp.start, {}), rows=list(rows),
                              max_sagitta=0.005)
    calls = [(p[:, :2] if len(p) > 1 else np.repeat(p[:, :2], 2, axis=0), D / 2) for p in paths]
    tr, tn, bad = capsule_runs(mat0, g, calls, repeat)
    print(f"  remove_capsules     reference {tr:7.3f} s   new {tn:7.3f} s   ratio {tr / tn:5.1f}x"
          f"   ({len(calls)} replay calls, cell D/100, cells differing: {bad})")
    g = grid_of(poly, D, 60.0, 1.5 * D)
    X, Y = np.meshgrid(g[0], g[1])
    mat0 = shapely.contains_xy(poly, X, Y)
    tr, tn, bad = capsule_runs(mat0, g, planner_calls, repeat)
    print(f"  remove_capsules     reference {tr:7.3f} s   new {tn:7.3f} s   ratio {tr / tn:5.1f}x"
          f"   ({len(planner_calls)} planner calls, cell D/60, cells differing: {bad})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    xs = (np.arange(50) + 0.5) * 0.1
    t0 = time.perf_counter()
    replay.remove_capsules(np.ones((50, 50), dtype=bool), xs, xs, 0.0, 0.0, 0.1,
                           np.array([[1.0, 1.0], [2.0, 2.0]]), 1.0)
    t_first = time.perf_counter() - t0
    print(f"first remove_capsules call of the process (import numba + cache load or compile): "
          f"{t_first:.2f} s")
    poly = box(0, 0, 90, 40).difference(Point(60, 20).buffer(6))
    bench_case("sample pocket", poly, 6.0, 3.0, args.repeat)
    if SHARED_DATA.is_dir():
        from workbench.geometry import read_regions

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            regs = read_regions(SHARED_DATA / "dxf" / "LesPaul_CAM_Closed.dxf",
                                layers=["PICKUP_CAVITY"])
        bench_case("LesPaul PICKUP_CAVITY", regs[0].polygon, 6.0, 6.0, args.repeat)
    else:
        print(f"\n(shared data not found at {SHARED_DATA}: real pocket skipped)")


if __name__ == "__main__":
    main()
