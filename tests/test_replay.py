"""Engagement replay (workbench.cam.replay): exact geometric cases, the capsule raster against a
brute-force distance check, and the material raster against shapely."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, Polygon, box

from workbench.cam.replay import rasterise, measure_engagement, measure_level, remove_capsules

D = 6.0
R = D / 2


def _moves(rows: list[tuple]) -> pd.DataFrame:
    """rows of (code, kind, x, y, z[, i, j])."""
    out = []
    for row in rows:
        code, kind, x, y, z, *ij = row
        i, j = ij if ij else (0.0, 0.0)
        out.append({"code": code, "kind": kind, "x": x, "y": y, "z": z, "i": i, "j": j})
    return pd.DataFrame(out)


def _brute_force_clear(mat, xs, ys, pts, r):
    """Cells whose centre lies within r of a segment of pts (point-segment distance)."""
    X, Y = np.meshgrid(xs, ys)
    hit = np.zeros(mat.shape, dtype=bool)
    segs = list(zip(pts[:-1], pts[1:])) if len(pts) > 1 else [(pts[0], pts[0])]
    for a, b in segs:
        d = b - a
        L2 = max(float(d @ d), 1e-18)
        px, py = X - a[0], Y - a[1]
        t = np.clip((px * d[0] + py * d[1]) / L2, 0.0, 1.0)
        hit |= (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2 <= r * r
    return mat & ~hit


@pytest.mark.parametrize("ae", [0.6, 1.2, 2.0, 3.0, 4.5])
def test_straight_cut_at_ae_gives_the_textbook_angle(ae):
    # block y <= 30; the tool runs along +x with its edge ae below the top face
    poly = box(0, 0, 60, 30)
    y = 30 + R - ae
    mv = _moves([("G1", "cut", 50.0, y, -3.0)])
    rows, eng, h = measure_level(poly, mv, (10.0, y, -3.0), -3.0, D, 0.01)
    assert rows.tolist() == [0]
    assert h == pytest.approx(D / 100)
    assert eng[0] == pytest.approx(math.degrees(math.acos(1 - 2 * ae / D)), abs=1.0)


def test_full_slot_gives_180_and_cleared_material_gives_0():
    poly = box(0, 0, 60, 30)
    mv = _moves([("G1", "cut", 50.0, 15.0, -3.0)])
    rows, eng, _ = measure_level(poly, mv, (10.0, 15.0, -3.0), -3.0, D, 0.01)
    assert rows.tolist() == [0]
    assert eng.tolist() == [180.0]
    # a channel wider than D, already open (or opened by the previous move): exactly nothing
    open_poly = box(0, 0, 60, 30).difference(box(5, 10, 55, 20))
    mv = _moves([("G1", "cut", 50.0, 15.0, -3.0)])
    _, eng, _ = measure_level(open_poly, mv, (10.0, 15.0, -3.0), -3.0, D, 0.01)
    assert eng.tolist() == [0.0]
    # two passes 4 mm apart open y in [10, 20]; a move along y = 15 then meets nothing
    mv = _moves([("G1", "cut", 50.0, 13.0, -3.0), ("G1", "cut", 50.0, 17.0, -3.0),
                 ("G1", "cut", 10.0, 17.0, -3.0), ("G1", "link", 20.0, 15.0, -3.0),
                 ("G1", "link", 40.0, 15.0, -3.0)])
    rows, eng, _ = measure_level(poly, mv, (10.0, 13.0, -3.0), -3.0, D, 0.01)
    assert rows.tolist() == [0, 1, 2, 3, 4]
    assert eng[0] == 180.0 and eng[4] == 0.0


def test_arc_in_fresh_material_is_a_slot_and_descents_only_remove():
    poly = box(0, 0, 60, 60)
    mv = _moves([
        ("G1", "plunge", 30.0, 20.0, -3.0),
        ("G3", "cut", 40.0, 30.0, -3.0, 0.0, 10.0),  # quarter circle about (30, 30)
        ("G0", "rapid", 40.0, 30.0, 5.0),
    ])
    eng, h = measure_engagement(poly, mv, (30.0, 20.0, 5.0), [-3.0], D, 0.01)
    assert math.isnan(eng[0]) and math.isnan(eng[2])
    # the first samples still see the plunge's disc behind them, none ahead
    assert eng[1] == 180.0
    assert h == pytest.approx(D / 100)


def test_upper_levels_copy_the_lowest_when_the_plan_repeats():
    poly = box(0, 0, 60, 30)
    y = 30 + R - 1.2
    rows = []
    for z in (-3.0, -6.0):
        rows += [("G1", "plunge", 10.0, y, z), ("G1", "cut", 50.0, y, z),
                 ("G0", "rapid", 50.0, y, 5.0), ("G0", "rapid", 10.0, y, 5.0)]
    mv = _moves(rows)
    eng, _ = measure_engagement(poly, mv, (10.0, y, 5.0), [-3.0, -6.0], D, 0.01)
    assert eng[1] == eng[5]
    assert eng[1] == pytest.approx(math.degrees(math.acos(0.6)), abs=1.0)
    assert np.isnan(eng[[0, 2, 3, 4, 6, 7]]).all()


@pytest.mark.parametrize("seed", range(6))
def test_remove_capsules_clears_exactly_the_cells_within_r(seed):
    rng = np.random.default_rng(seed)
    h = 0.05
    x0, y0 = -1.0, -2.0
    nx, ny = 220, 180
    xs = x0 + (np.arange(nx) + 0.5) * h
    ys = y0 + (np.arange(ny) + 0.5) * h
    mat = rng.random((ny, nx)) < 0.8
    n = int(rng.integers(1, 7))
    scale = [0.0, 0.02, 0.7, 3.0][seed % 4]
    pts = rng.uniform([x0, y0], [x0 + nx * h, y0 + ny * h], size=(1, 2)) + np.cumsum(
        rng.normal(scale=scale, size=(n, 2)), axis=0)
    if seed == 5:  # axis-aligned segments, a repeated vertex, a capsule past the grid edges
        pts = np.array([[0.0, 0.0], [5.0, 0.0], [5.0, 0.0], [5.0, 6.0], [-2.0, 6.0]])
    r = float(rng.uniform(0.3, 2.5))
    want = _brute_force_clear(mat, xs, ys, pts, r)
    got = mat.copy()
    remove_capsules(got, xs, ys, x0, y0, h, pts, r)
    assert (got != want).sum() == 0
    # a second pass changes nothing; a 3-column path (x, y, z) is accepted
    again = got.copy()
    remove_capsules(again, xs, ys, x0, y0, h, np.column_stack([pts, np.zeros(len(pts))]), r)
    assert np.array_equal(again, got)


@pytest.mark.parametrize("seed", range(4))
def test_remove_capsules_long_polylines_of_short_segments(seed):
    # planner-like paths (arcs, loops, jitter below and above the cell) exercise the runs of
    # segments that share rows
    rng = np.random.default_rng(100 + seed)
    h = 0.05
    x0, y0 = 0.0, 0.0
    xs = x0 + (np.arange(240) + 0.5) * h
    ys = y0 + (np.arange(200) + 0.5) * h
    mat = np.ones((200, 240), dtype=bool)
    ang = np.linspace(0.0, [1.5, 2 * np.pi, 4.0, 2 * np.pi][seed], 120)
    rad = 3.0 + 1.5 * np.sin(3 * ang) * (seed % 2)
    pts = np.column_stack([6 + rad * np.cos(ang), 5 + rad * np.sin(ang)])
    pts += rng.normal(scale=[0.0, 0.003, 0.03, 0.2][seed], size=pts.shape)
    r = [0.8, 1.5, 2.2, 0.4][seed]
    want = _brute_force_clear(mat, xs, ys, pts, r)
    got = mat.copy()
    remove_capsules(got, xs, ys, x0, y0, h, pts, r)
    assert (got != want).sum() == 0


def test_remove_capsules_cells_on_the_circle_and_bad_inputs():
    # h = 1/4: centres and the point are exact binary fractions; cells at distance exactly r
    # are cleared (<=), the next ones are not
    h = 0.25
    xs = (np.arange(40) + 0.5) * h
    mat = np.ones((40, 40), dtype=bool)
    remove_capsules(mat, xs, xs, 0.0, 0.0, h, np.array([[5.125, 5.125]]), 1.0)
    X, Y = np.meshgrid(xs, xs)
    assert np.array_equal(~mat, (X - 5.125) ** 2 + (Y - 5.125) ** 2 <= 1.0)
    assert not mat[20, 24] and mat[20, 25]  # (6.125, 5.125) at exactly r; (6.375, ...) beyond
    with pytest.raises(ValueError):
        remove_capsules(mat.astype(int), xs, xs, 0.0, 0.0, h, np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError):
        remove_capsules(mat, xs, xs, 0.0, 0.0, h, np.zeros(4), 1.0)
    before = mat.copy()
    remove_capsules(mat, xs, xs, 0.0, 0.0, h, np.zeros((0, 2)), 1.0)
    assert np.array_equal(mat, before)


@pytest.mark.parametrize("poly", [
    box(0.125, 0.125, 10.125, 7.625),  # edges through rows and columns of cell centres
    box(0, 0, 10, 8).difference(Point(5, 4).buffer(2.5)),
    affinity.rotate(box(1, 1, 11, 7).difference(box(3, 3, 5, 5)), 33, origin=(6, 4)),
    MultiPolygon([box(0, 0, 3, 3), box(3.125, 0, 6, 3), box(7, 4, 9, 8)]),
    Polygon([(0.125, 0.125), (10.125, 0.125), (5.125, 7.625)]),
    Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]),  # invalid (bow-tie): shapely decides
])
def test_material_raster_is_shapely_contains(poly):
    h = 0.25
    xs = -2 + (np.arange(64) + 0.5) * h
    ys = -2 + (np.arange(52) + 0.5) * h
    X, Y = np.meshgrid(xs, ys)
    assert np.array_equal(rasterise(poly, xs, ys), shapely.contains_xy(poly, X, Y))
