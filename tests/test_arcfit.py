"""Arc fitting (workbench.cam.arcfit): arcs within tolerance of the points they replace."""

import math

import numpy as np
import pandas as pd
import pytest

from workbench.cam import arcfit
from workbench.cam.arcfit import fit_arcs, fit_polyline
from workbench.toolpath import moves_frame
from workbench.errors import InputError


def _arc_dist(row, start, pts):
    cx, cy = start[0] + row["i"], start[1] + row["j"]
    return np.abs(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) - row["radius_mm"])


def test_semicircle_becomes_one_arc_and_lines_stay_lines():
    t = np.linspace(0, math.pi, 60)
    arc = np.c_[10 * np.cos(t), 10 * np.sin(t)]
    pts = np.vstack([arc, [[-10, -5], [-10, -10], [-5, -10]]])
    m = fit_arcs(pts, 0.01)
    assert list(m["code"]) == ["G3", "G1", "G1"]
    r0 = m.iloc[0]
    assert r0["radius_mm"] == pytest.approx(10.0, abs=1e-6)
    assert r0["len_mm"] == pytest.approx(10 * math.pi, rel=1e-6)
    assert _arc_dist(r0, pts[0], arc).max() <= 0.01
    assert m["len_mm"].iloc[1:].tolist() == pytest.approx([10.0, 5.0])


def test_clockwise_noisy_arc_within_tolerance():
    rng = np.random.default_rng(1)
    t = np.linspace(0, -1.5 * math.pi, 120)
    pts = np.c_[5 + 8 * np.cos(t), 8 * np.sin(t)] + rng.normal(0, 0.002, (120, 2))
    m = fit_arcs(pts, 0.01)
    assert set(m["code"]) <= {"G2", "G1"} and (m["code"] == "G2").any()
    start = pts[0]
    k = 0
    for _, row in m.iterrows():
        # points replaced by this row
        end = np.array([row["x"], row["y"]])
        j = k + 1 + int(np.argmin(np.hypot(*(pts[k + 1:] - end).T)))
        if row["code"] == "G2":
            assert _arc_dist(row, start, pts[k:j + 1]).max() <= 0.01 + 1e-9
        start, k = end, j
    assert len(m) < 10


def test_zigzag_is_not_fitted():
    pts = np.array([[0, 0], [1, 1], [2, 0], [3, 1], [4, 0]], float)
    m = fit_arcs(pts, 0.01)
    assert (m["code"] == "G1").all() and len(m) == 4


def test_bad_tolerance():
    with pytest.raises(InputError):
        fit_arcs(np.zeros((3, 2)), 0.0)


# ---------------------------------------------------------------------------------------------
# Long polylines: tolerance invariant, exact chaining, same decisions as the point-by-point greedy
# ---------------------------------------------------------------------------------------------

def _known_path(rng: np.random.Generator, noise: float) -> np.ndarray:
    """Lines and arcs of known radius, sampled at 0.1-0.6 mm, plus Gaussian noise (mm)."""
    pts = [np.zeros((1, 2))]
    p, heading = np.zeros(2), 0.0
    pieces = [("L", 20.0), ("A", 15.0, 2.1), ("L", 8.0), ("A", -5.0, 3.5), ("A", 40.0, 1.0),
              ("L", 3.0), ("A", -2.5, 4.0), ("L", 12.0), ("A", 8.0, 6.0), ("A", -30.0, 0.8)] * 3
    for pc in pieces:
        step = rng.uniform(0.1, 0.6)
        if pc[0] == "L":
            n = max(2, int(pc[1] / step))
            s = np.linspace(0, pc[1], n + 1)[1:]
            seg = p + s[:, None] * [math.cos(heading), math.sin(heading)]
        else:
            r, sweep = pc[1], pc[2]  # r > 0: turn left (CCW), r < 0: right (CW)
            c = p + abs(r) * np.array([-math.sin(heading), math.cos(heading)]) * np.sign(r)
            a0 = math.atan2(p[1] - c[1], p[0] - c[0])
            n = max(3, int(abs(r) * sweep / step))
            a = a0 + np.sign(r) * np.linspace(0, sweep, n + 1)[1:]
            seg = c + abs(r) * np.c_[np.cos(a), np.sin(a)]
            heading += np.sign(r) * sweep
        pts.append(seg)
        p = seg[-1]
    out = np.vstack(pts)
    return out + rng.normal(0, noise, out.shape)


def _check_fit(pts: np.ndarray, m, tol: float) -> None:
    """Every row ends exactly on an input point, in order, the last on the last point; every arc
    is within ``tol`` of the points and chord midpoints it replaces, monotonic, under 359 deg;
    every line is within ``tol`` of the points it replaces."""
    k = 0
    for row in m.itertuples():
        end = np.array([row.x, row.y])
        hits = np.flatnonzero((pts[k + 1:, 0] == end[0]) & (pts[k + 1:, 1] == end[1]))
        assert len(hits), f"row {row.Index} does not end on an input point"
        j = k + 1 + int(hits[0])
        run = pts[k: j + 1]
        mids = 0.5 * (run[1:] + run[:-1])
        if row.code in ("G2", "G3"):
            c = pts[k] + [row.i, row.j]
            for q in (run, mids):
                assert np.abs(np.hypot(*(q - c).T) - row.radius_mm).max() <= tol + 1e-9
            da = np.diff(np.unwrap(np.arctan2(run[:, 1] - c[1], run[:, 0] - c[0])))
            assert (da > 0).all() if row.code == "G3" else (da < 0).all()
            assert 0 < row.len_mm / row.radius_mm < math.radians(359)
            assert row.len_mm == pytest.approx(row.radius_mm * abs(da.sum()), rel=1e-9)
        else:
            ab = run[-1] - run[0]
            L = math.hypot(*ab)
            assert row.len_mm == pytest.approx(L, abs=1e-12)
            dist = np.abs((run[:, 0] - run[0, 0]) * ab[1] - (run[:, 1] - run[0, 1]) * ab[0]) / L
            assert dist.max() <= tol + 1e-12
        k = j
    assert k == len(pts) - 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_long_noisy_polyline_of_known_arcs_and_lines(seed):
    rng = np.random.default_rng(seed)
    pts = _known_path(rng, 0.002)
    m = fit_arcs(pts, 0.01)
    _check_fit(pts, m, 0.01)
    arcs = m[m["code"].isin(["G2", "G3"])]
    # the known arcs are found (radii within noise of the drawn ones) and the program shrinks
    for r in (2.5, 5.0, 8.0, 15.0, 30.0, 40.0):
        assert (np.abs(arcs["radius_mm"] - r) < 0.05).any(), r
    assert len(m) < len(pts) / 5


def test_dense_circle_is_cut_at_the_sweep_and_run_limits():
    # 3000 points on one circle: runs far longer than SHORT_RUN, bounded by MAX_RUN and 359 deg
    t = np.linspace(0, 3 * 2 * math.pi, 3001)
    pts = np.c_[50 * np.cos(t), 50 * np.sin(t)]
    m = fit_arcs(pts, 0.01)
    _check_fit(pts, m, 0.01)
    assert (m["code"] == "G3").all()
    assert m["radius_mm"].to_numpy() == pytest.approx(50.0, abs=1e-9)
    assert (m["len_mm"].to_numpy() / 50.0 <= math.radians(359)).all()
    assert len(m) == math.ceil(3000 / arcfit.MAX_RUN)


def _ref_arc_ok(pts, i, j, tol, max_radius):
    """The point-by-point window test the fitter was first written with (one call per window)."""
    a, b, c = pts[i], pts[(i + j) // 2], pts[j]
    d = 2.0 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]))
    if abs(d) < 1e-12:
        return None
    a2, b2, c2 = a[0] * a[0] + a[1] * a[1], b[0] * b[0] + b[1] * b[1], c[0] * c[0] + c[1] * c[1]
    ux = (a2 * (b[1] - c[1]) + b2 * (c[1] - a[1]) + c2 * (a[1] - b[1])) / d
    uy = (a2 * (c[0] - b[0]) + b2 * (a[0] - c[0]) + c2 * (b[0] - a[0])) / d
    R = math.hypot(a[0] - ux, a[1] - uy)
    if R > max_radius or R < tol:
        return None
    run = pts[i: j + 1]
    mids = 0.5 * (run[1:] + run[:-1])
    for q in (run, mids):
        if np.abs(np.hypot(q[:, 0] - ux, q[:, 1] - uy) - R).max() > tol:
            return None
    da = np.diff(np.unwrap(np.arctan2(run[:, 1] - uy, run[:, 0] - ux)))
    ccw = bool(da[0] > 0)
    if (da <= 0).any() if ccw else (da >= 0).any():
        return None
    if abs(da.sum()) > math.radians(359) or (np.abs(da) > math.pi / 2).any():
        return None
    return ux, uy, R, ccw


def _ref_line_ok(pts, i, j, tol):
    a, ab = pts[i], pts[j] - pts[i]
    L = math.hypot(*ab)
    run = pts[i: j + 1]
    if L < 1e-12:
        return bool((np.hypot(*(run - a).T) <= tol).all())
    t = ((run - a) @ ab) / (L * L)
    dist = np.abs((run[:, 0] - a[0]) * ab[1] - (run[:, 1] - a[1]) * ab[0]) / L
    return not (np.diff(t) < -1e-12).any() and dist.max() <= tol


def _ref_fit_polyline(pts, tol, max_radius=5000.0):
    n, i, out = len(pts), 0, []
    while i < n - 1:
        jl = i + 1
        while jl + 1 < n and jl + 1 - i <= arcfit.MAX_RUN and _ref_line_ok(pts, i, jl + 1, tol):
            jl += 1
        ja, best, j = i, None, i + 2
        while j < n and j - i <= arcfit.MAX_RUN:
            res = _ref_arc_ok(pts, i, j, tol, max_radius)
            if res is None:
                break
            ja, best, j = j, res, j + 1
        if best is not None and ja > jl:
            out.append(("G3" if best[3] else "G2", ja, best[0], best[1], best[2]))
            i = ja
        else:
            out.append(("G1", jl))
            i = jl
    return out


@pytest.mark.parametrize("seed", [3, 4])
def test_same_pieces_as_the_point_by_point_greedy(seed):
    rng = np.random.default_rng(seed)
    pts = _known_path(rng, 0.003)[:900]
    got = fit_polyline(pts, 0.01)
    ref = _ref_fit_polyline(pts, 0.01)
    assert [g[:2] for g in got] == [r[:2] for r in ref]
    for g, r in zip(got, ref):
        if g[0] != "G1":
            assert g[2:] == pytest.approx(r[2:], rel=1e-9)


def test_moves_table_never_merges_across_kind_feed_or_flags():
    t = np.linspace(0, math.pi, 41)[1:]
    x, y = 10 * np.cos(t), 10 * np.sin(t)
    n = len(t)
    mv = moves_frame({"code": "G1", "x": x[k], "y": y[k], "z": -1.0, "feed": 1000.0, "kind": "cut",
                      "engagement_deg": float(k), "slowdown": 1.0 - k / 100, "slot": False}
                     for k in range(n))
    mv.loc[10:19, "feed"] = 800.0          # rows 10-19: other feed
    mv.loc[20:24, "trochoid"] = True       # rows 20-24: trochoid
    mv.loc[25:29, "slot"] = True           # rows 25-29: slot
    mv.loc[30, "code"] = "G0"              # row 30: rapid (copied)
    mv.loc[30, "kind"] = "rapid"
    out = fit_arcs(mv, 0.01, start=(10.0, 0.0, -1.0))
    assert list(out["x"]) == [x[9], x[19], x[24], x[29], x[30], x[n - 1]]
    assert list(out["code"]) == ["G3", "G3", "G3", "G3", "G0", "G3"]
    assert list(out["feed"]) == [1000.0, 800.0, 1000.0, 1000.0, 1000.0, 1000.0]
    assert list(out["trochoid"]) == [False, False, True, False, False, False]
    assert list(out["slot"]) == [False, False, False, True, False, False]
    assert list(out["engagement_deg"]) == [9.0, 19.0, 24.0, 29.0, 30.0, n - 1.0]
    assert out["slowdown"].tolist() == pytest.approx([0.91, 0.81, 0.76, 0.71, 0.70, 1 - (n - 1) / 100])
    assert out["radius_mm"].iloc[[0, 1, 2, 3, 5]].to_numpy() == pytest.approx(10.0, abs=1e-9)
    pd.testing.assert_series_equal(out.iloc[4], mv.iloc[30], check_names=False)


def test_moves_table_fits_each_level_and_keeps_other_rows():
    t = np.linspace(0, math.pi / 2, 21)
    ring = np.c_[5 * np.cos(t), 5 * np.sin(t)]
    rows = []
    for z in (-1.0, -2.0):
        rows.append({"code": "G1", "x": ring[0, 0], "y": ring[0, 1], "z": z, "feed": 300.0,
                     "kind": "plunge"})
        rows += [{"code": "G1", "x": p[0], "y": p[1], "z": z, "feed": 1000.0, "kind": "cut"}
                 for p in ring[1:]]
    mv = moves_frame(rows)
    out = fit_arcs(mv, 0.01, start=(5.0, 0.0, 5.0))
    assert list(out["code"]) == ["G1", "G3", "G1", "G3"]
    assert list(out["z"]) == [-1.0, -1.0, -2.0, -2.0]
    assert out.iloc[1]["i"] == pytest.approx(-5.0) and out.iloc[1]["j"] == pytest.approx(0.0)
    assert out.iloc[1]["len_mm"] == pytest.approx(5 * math.pi / 2, rel=1e-9)
    pd.testing.assert_series_equal(out.iloc[2], mv.iloc[21], check_names=False)
    assert list(out.columns) == list(mv.columns)


def test_fit_polyline_contract():
    assert fit_polyline(np.zeros((1, 2))) == []
    with pytest.raises(InputError):
        fit_polyline(np.zeros((4,)))
    with pytest.raises(InputError):
        fit_polyline(np.zeros((4, 2)), tolerance=math.nan)
    with pytest.raises(InputError):
        fit_arcs(np.c_[np.arange(4.0), np.zeros(4), np.arange(4.0)], 0.01)


def _bulging_ring() -> tuple[pd.DataFrame, tuple[float, float, float]]:
    """Vertices 2.4 deg apart on a circle of radius 19.001 mm, none on the x axis: in the
    40 mm square about the origin a 2 mm tool on them keeps 1.0032 mm from the wall x = 20
    (the nearest vertices are 1.2 deg off the axis), the arc through them 0.999 mm (r - 1 um);
    the chords' sagitta is 4.2 um, within the 0.01 mm tolerance."""
    t = np.radians(np.arange(-49.2, 49.2 + 1e-9, 2.4))
    pts = np.c_[19.001 * np.cos(t), 19.001 * np.sin(t)]
    rows = [{"code": "G1", "x": x, "y": y, "z": -1.0, "feed": 1000.0, "kind": "cut"} for x, y in pts[1:]]
    return moves_frame(rows), (float(pts[0, 0]), float(pts[0, 1]), -1.0)


def test_guard_puts_back_a_fitted_arc_that_would_gouge():
    from shapely.geometry import box

    from workbench.cam.checks import clearance_guard, gouge_check
    from workbench.toolpath import Toolpath
    mv, start = _bulging_ring()
    sq = box(-20, -20, 20, 20)
    assert gouge_check(Toolpath(mv, start), sq, 2.0).min_clearance_mm == pytest.approx(0.0032, abs=1e-4)
    free = fit_arcs(mv, 0.01, start=start)
    assert list(free["code"]) == ["G3"]
    assert gouge_check(Toolpath(free, start), sq, 2.0).min_clearance_mm == pytest.approx(-0.001, abs=1e-5)
    guarded = fit_arcs(mv, 0.01, start=start, guard=clearance_guard(sq, 2.0, start))
    assert guarded.attrs["arcfit_guarded"] == 1
    assert gouge_check(Toolpath(guarded, start), sq, 2.0).ok
    cols = ["code", "x", "y", "z", "kind", "feed"]
    pd.testing.assert_frame_equal(guarded[cols], mv[cols])
    # a wall 1 mm farther away: the arc stands
    wide = box(-21, -21, 21, 21)
    kept = fit_arcs(mv, 0.01, start=start, guard=clearance_guard(wide, 2.0, start))
    assert list(kept["code"]) == ["G3"] and kept.attrs["arcfit_guarded"] == 0
