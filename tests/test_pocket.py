"""Offset pocket planner: invariants (no gouge, full coverage, depths), entries, direction,
errors, JSON round trip, and the real pockets of the shared DXF files."""

from __future__ import annotations

import json
import math
import time
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon, box
from shapely.ops import unary_union

from workbench.cam import (depth_levels, depths_reached, gouge_check, plan_pocket,
                           straight_cut_engagement_deg, tool_centre_paths, uncut_area)
from workbench.errors import InputError, PlanningError
from workbench.toolpath import from_json_moves, to_json_moves, validate_moves

D = 6.0
R = D / 2
RECT = box(0, 0, 100, 50)
RECT_ISLAND = box(0, 0, 100, 50).difference(box(40, 20, 60, 30))
DUMBBELL = unary_union([box(0, 0, 30, 30), box(29, 11, 61, 19), box(60, 0, 90, 30)])  # neck 8 mm
L_SHAPE = Polygon([(0, 0), (80, 0), (80, 20), (20, 20), (20, 60), (0, 60)])


def _staircase_ellipse() -> Polygon:
    """An ellipse traced on a 2.54 mm grid, like the Les Paul outlines."""
    a = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    q = np.round(np.column_stack([40 * np.cos(a), 25 * np.sin(a)]) / 2.54) * 2.54
    pts = []
    for p0, p1 in zip(q, np.roll(q, -1, axis=0)):
        pts += [tuple(p0), (p1[0], p0[1])]
    return Polygon(pts).buffer(0)


def _plan(poly, **kw):
    args = dict(tool_d=D, stepover=0.3, stepdown=3.0, depth=6.0)
    args.update(kw)
    return plan_pocket(poly, **args)


def _assert_invariants(tp, poly, tool_d=D, levels=None):
    validate_moves(tp.moves)
    g = gouge_check(tp, poly, tool_d)
    assert g.ok, f"gouge at rows {g.violations[:5]}: clearance {g.min_clearance_mm}"
    assert g.min_clearance_mm >= -1e-6
    tol = tp.meta["params"]["tolerance"]
    u = uncut_area(tp, poly, tool_d, min_width=max(0.02, 2 * tol))
    # only slivers thinner than the wall margin + chord errors stay uncut
    assert u.significant_area == 0.0, f"uncut area {u.significant_area} mm², width {u.largest_width_mm}"
    assert u.largest_width_mm < 4 * tol
    perimeter = poly.exterior.length + sum(h.length for h in poly.interiors)
    assert u.uncut_area < perimeter * 2 * tol
    d = depths_reached(tp, levels if levels is not None else tp.meta["levels"])
    assert d.ok, d.missing
    return g, u


# ----------------------------------------------------------------------------- depths

@pytest.mark.parametrize("depth, stepdown, expected", [
    (7.0, 3.0, [-3.0, -6.0, -7.0]),
    (6.0, 3.0, [-3.0, -6.0]),
    (2.0, 3.0, [-2.0]),
    (0.9, 0.3, [-0.3, -0.6, -0.9]),
])
def test_depth_levels(depth: float, stepdown: float, expected: list[float]) -> None:
    got = depth_levels(0.0, stepdown, depth)
    assert len(got) == len(expected)
    assert got[-1] == -depth  # exact, not accumulated
    assert got == pytest.approx(expected, abs=1e-12)


def test_depth_passes_non_multiple() -> None:
    tp = _plan(box(0, 0, 30, 20), depth=7.0, stepdown=3.0, stock_top=2.0)
    assert tp.meta["levels"] == pytest.approx([-1.0, -4.0, -5.0])
    assert depths_reached(tp, [-1.0, -4.0, -5.0]).ok
    assert tp.moves["z"].min() == -5.0
    cut_z = sorted(set(tp.moves.loc[tp.moves.kind == "cut", "z"].round(9)))
    assert cut_z == [-5.0, -4.0, -1.0]
    # the program starts and ends at safe Z
    assert tp.start[2] == 5.0 and tp.moves["z"].iloc[-1] == 5.0


# ----------------------------------------------------------------------------- invariants

@pytest.mark.parametrize("stepover", [0.2, 0.5, 1.0])
def test_rectangle_invariants(stepover: float) -> None:
    tp = _plan(RECT, stepover=stepover)
    _assert_invariants(tp, RECT)
    assert tp.meta["stepover_mm"] <= D - 4 * 0.01 + 1e-12
    assert tp.meta["stepover_mm"] == pytest.approx(min(stepover * D, D - 0.04))


@pytest.mark.parametrize("stepover", [0.2, 0.5, 1.0])
def test_rectangle_with_island_invariants(stepover: float) -> None:
    tp = _plan(RECT_ISLAND, stepover=stepover)
    _assert_invariants(tp, RECT_ISLAND)
    # the tool never enters the island (gouge check covers it; spot check the centre)
    pts = np.vstack(tool_centre_paths(tp))
    pts = pts[pts[:, 2] < 0]
    d = shapely.distance(box(40, 20, 60, 30), shapely.points(pts[:, :2]))
    assert d.min() >= R - 1e-6


def test_stepover_one_needs_cleanup_spurs_and_gets_them() -> None:
    tri = Polygon([(0, 0), (60, 0), (10, 40)])  # sharp corners: cusps between rings
    tp = _plan(tri, stepover=1.0)
    assert tp.meta["spurs"] > 0
    _assert_invariants(tp, tri)


def test_split_pocket_plans_every_piece() -> None:
    tp = _plan(DUMBBELL)
    _assert_invariants(tp, DUMBBELL)
    # the offsets split into the two lobes: each needs its own entry at every level
    assert tp.meta["entries"]["helix"] == 2
    helix_rows = tp.moves[tp.moves.code.isin(["G2", "G3"])]
    centres_x = (tp.starts()[helix_rows.index, 0] + helix_rows["i"]).round(3).unique()
    assert len(centres_x) == 2 and centres_x.min() < 30 and centres_x.max() > 60


@pytest.mark.parametrize("poly", [L_SHAPE, _staircase_ellipse()], ids=["L", "staircase"])
def test_other_shapes_invariants(poly: Polygon) -> None:
    _assert_invariants(_plan(poly, stepover=0.4), poly)


def test_staircase_offsets_are_simplified() -> None:
    poly = _staircase_ellipse()
    tp = _plan(poly, stepover=0.4, tolerance=0.05)
    fine = _plan(poly, stepover=0.4, tolerance=0.01)
    assert len(tp.moves) < len(fine.moves)
    _assert_invariants(tp, poly)


def test_finish_allowance_is_left_then_finished() -> None:
    fa = 0.5
    rough = _plan(RECT_ISLAND, finish_allowance=fa, finish_pass=False)
    # roughing alone keeps the tool centre r + fa from every wall
    g = gouge_check(rough, RECT_ISLAND, D + 2 * fa)
    assert g.ok and g.min_clearance_mm >= -1e-6
    assert uncut_area(rough, RECT_ISLAND, D).significant_area > 0.9 * fa * 290
    full = _plan(RECT_ISLAND, finish_allowance=fa, finish_pass=True)
    _assert_invariants(full, RECT_ISLAND)


def test_links_run_in_cleared_material() -> None:
    """A 'link' move at depth lies in the area swept by the moves before it at that level."""
    tp = _plan(DUMBBELL, depth=3.0)
    mv = tp.moves
    paths = tool_centre_paths(tp)
    z = -3.0
    at = [k for k in range(len(mv)) if abs(paths[k][:, 2] - z).max() < 1e-9]
    links = [k for k in at if mv.kind[k] == "link"]
    assert links
    h = tp.meta["grid_cell_mm"]
    for k in links:
        before = [paths[m][:, :2] for m in at if m < k and len(paths[m]) >= 2
                  and np.abs(np.diff(paths[m][:, :2], axis=0)).sum() > 0]
        seg = paths[k][:, :2]
        n = int(np.ceil(np.hypot(*(seg[-1] - seg[0])) / h)) + 1
        samples = seg[0] + np.linspace(0, 1, n)[:, None] * (seg[-1] - seg[0])
        dist = shapely.distance(MultiLineString(before), shapely.points(samples))
        assert dist.max() <= R + 2 * h, f"link row {k} leaves the cleared area"


# ----------------------------------------------------------------------------- entries

def test_helix_entry_fits() -> None:
    tp = _plan(RECT, helix_d=4.0)
    mv = tp.moves
    arcs = mv[mv.code.isin(["G2", "G3"])]
    assert len(arcs) and tp.meta["entries"]["helix"] >= 1
    assert (arcs.kind == "ramp").all() and (arcs.plane == 17).all()
    assert arcs.radius_mm.to_numpy() == pytest.approx(2.0)
    assert np.hypot(arcs.i, arcs.j).to_numpy() == pytest.approx(2.0)
    # descent per half turn never steeper than the ramp angle
    st = tp.starts()[arcs.index]
    dz = st[:, 2] - arcs.z.to_numpy()
    assert (dz >= -1e-12).all()
    assert dz.max() <= math.pi * 2.0 * math.tan(math.radians(3.0)) + 1e-9
    assert (arcs.code == "G3").all()  # climb: CCW helix (material outside the circle)
    _assert_invariants(tp, RECT)


def test_narrow_slot_falls_back_to_ramp() -> None:
    slot = box(0, 0, 40, 6.5)  # 0.5 mm wider than the tool: no helix fits
    tp = _plan(slot)
    mv = tp.moves
    assert tp.meta["entries"]["ramp"] >= 1 and tp.meta["entries"]["helix"] == 0
    assert not mv.code.isin(["G2", "G3"]).any()
    ramps = mv[mv.kind == "ramp"]
    st = tp.starts()[ramps.index]
    horiz = np.hypot(ramps.x - st[:, 0], ramps.y - st[:, 1]).to_numpy()
    dz = st[:, 2] - ramps.z.to_numpy()
    assert (dz <= horiz * math.tan(math.radians(3.0)) + 1e-9).all()
    assert not tp.meta["warnings"]
    _assert_invariants(tp, slot)


def test_tiny_round_pocket_plunges_with_warning() -> None:
    hole = Point(0, 0).buffer(3.1, quad_segs=64)
    tp = _plan(hole, plunge_feed=250.0)
    mv = tp.moves
    plunges = mv[mv.kind == "plunge"]
    assert tp.meta["entries"]["plunge"] == 1 and len(plunges) == 2  # one per level
    assert (plunges.feed == 250.0).all()
    assert any("plunge" in w for w in tp.meta["warnings"])
    _assert_invariants(tp, hole)


def test_entry_choice_is_honoured() -> None:
    tp = _plan(RECT, entry="ramp")
    assert tp.meta["entries"]["helix"] == 0 and tp.meta["entries"]["ramp"] >= 1
    _assert_invariants(tp, RECT)
    tp = _plan(RECT, entry="plunge")
    assert tp.meta["entries"]["plunge"] >= 1 and tp.meta["warnings"]
    _assert_invariants(tp, RECT)


# ----------------------------------------------------------------------------- direction

def _signed_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _wall_ring_points(tp, ring, tol=0.05):
    """End points of the final-level cut moves that run along ``ring`` (at r + margin)."""
    mv = tp.moves
    zmin = mv.z.min()
    sel = (mv.kind == "cut") & (mv.z == zmin)
    pts = mv.loc[sel, ["x", "y"]].to_numpy()
    d = shapely.distance(ring, shapely.points(pts))
    return pts[np.abs(d - R - tp.meta["wall_margin_mm"]) < tol]


@pytest.mark.parametrize("climb", [True, False])
def test_climb_direction(climb: bool) -> None:
    tp = _plan(RECT_ISLAND, climb=climb)
    outer = _wall_ring_points(tp, RECT_ISLAND.exterior)
    island = _wall_ring_points(tp, RECT_ISLAND.interiors[0])
    assert len(outer) >= 4 and len(island) >= 4
    # M3 spindle, climb: material on the right of the motion -> outer wall CCW, island CW
    assert (_signed_area(outer) > 0) == climb
    assert (_signed_area(island) < 0) == climb
    arcs = tp.moves[tp.moves.code.isin(["G2", "G3"])]
    assert (arcs.code == ("G3" if climb else "G2")).all()


# ----------------------------------------------------------------------------- engagement

def test_engagement_is_measured_not_assumed() -> None:
    tp = _plan(RECT_ISLAND, stepover=0.2)
    mv = tp.moves
    at_depth = mv[(mv.kind.isin(["cut", "link"])) & (mv.code == "G1")]
    assert at_depth.engagement_deg.notna().all()
    assert mv.loc[mv.kind.isin(["rapid", "ramp", "plunge"]), "engagement_deg"].isna().all()
    target = straight_cut_engagement_deg(0.2 * D, D)
    assert tp.meta["engagement_target_deg"] == pytest.approx(target)
    # ring moves along the island's long edges (x 40..60) are straight cuts at ae = stepover
    st = tp.starts()
    edge = (mv.kind == "cut") & (np.abs(mv.len_mm - 20.0) < 1e-6) & \
        (np.minimum(mv.x, st[:, 0]) == 40.0) & (np.maximum(mv.x, st[:, 0]) == 60.0)
    eng = mv.loc[edge, "engagement_deg"].to_numpy()
    assert np.count_nonzero(np.abs(eng - target) <= 2.0) >= 8
    assert (eng >= target - 2.0).all()
    # full slots exist (the first ring around the helix) and get slowed down
    assert mv.engagement_deg.max() == pytest.approx(180.0, abs=1.0)
    hot = mv.engagement_deg > target + 1e-9
    assert (mv.loc[hot, "slowdown"] < 1.0).all()
    assert (mv.loc[~hot, "slowdown"] == 1.0).all()
    assert (mv.slowdown >= 0.3).all()
    assert (mv.loc[mv.code != "G0", "feed"].isin([1200.0, 300.0])).all()


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("kw, match", [
    (dict(stepover=0.0), "stepover"),
    (dict(stepover=1.5), "stepover"),
    (dict(depth=-1.0), "depth"),
    (dict(depth=0.0), "depth"),
    (dict(tool_d=0.0), "tool_d"),
    (dict(stepdown=-3.0), "stepdown"),
    (dict(feed=0.0), "feed"),
    (dict(plunge_feed=-1.0), "plunge_feed"),
    (dict(safe_z=-1.0), "safe_z"),
    (dict(entry="spiral"), "entry"),
    (dict(finish_allowance=-0.1), "finish_allowance"),
])
def test_bad_parameters(kw: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        _plan(RECT, **kw)


def test_tool_larger_than_pocket() -> None:
    region = SimpleNamespace(polygon=box(0, 0, 5, 5), name="SMALL#3")
    with pytest.raises(PlanningError, match=r"tool D=6 mm does not fit in region SMALL#3: "
                                            r"the largest inscribed circle is 5\.000 mm"):
        _plan(region)


def test_partly_reachable_region_plans_what_fits() -> None:
    # a wide room and a 4 mm corridor the 6 mm tool cannot enter
    poly = unary_union([box(0, 0, 30, 30), box(29, 13, 60, 17)])
    tp = _plan(poly)
    assert tp.meta["unreachable_area_mm2"] > 0
    _assert_invariants(tp, poly)


def test_bad_region() -> None:
    with pytest.raises(InputError):
        _plan(LineString([(0, 0), (1, 1)]))
    bow = Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (12, 5)])  # self-crossing
    with pytest.raises(InputError, match="invalid"):
        _plan(bow)
    # a bow-tie's two loops cancel (signed area 0): the error still says where it crosses
    # itself (it said "empty or has zero area")
    tie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    assert tie.area == 0.0
    with pytest.raises(InputError, match=r"invalid polygon: Self-intersection\[5 5\]"):
        _plan(tie)
    with pytest.raises(InputError, match="empty"):
        _plan(Polygon())


# ----------------------------------------------------------------------------- contract

def test_meta_start_and_json_round_trip() -> None:
    tp = _plan(RECT_ISLAND, name="job-7")
    json.dumps(tp.meta)  # JSON-serialisable
    assert tp.meta["params"]["tool_d"] == D and tp.meta["params"]["name"] == "job-7"
    assert tp.meta["tool"]["diameter_mm"] == D
    first = tp.moves.iloc[0]
    assert first.code == "G0" and (first.x, first.y) == tp.start[:2] and tp.start[2] == 5.0
    back = from_json_moves(json.loads(json.dumps(to_json_moves(tp.moves))))
    for col in ("code", "kind", "plane"):
        assert (back[col] == tp.moves[col]).all(), col
    for col in ("x", "y", "z", "i", "j", "feed", "len_mm", "radius_mm", "engagement_deg", "slowdown"):
        a, b = back[col].to_numpy(float), tp.moves[col].to_numpy(float)
        assert np.array_equal(a, b, equal_nan=True), col


def test_lengths_match_geometry() -> None:
    tp = _plan(RECT)
    st = tp.starts()
    mv = tp.moves
    lines = mv.code.isin(["G0", "G1"]).to_numpy()
    direct = np.linalg.norm(mv[["x", "y", "z"]].to_numpy() - st, axis=1)
    assert mv.len_mm.to_numpy()[lines] == pytest.approx(direct[lines])
    arcs = ~lines
    dz = (st[:, 2] - mv.z.to_numpy())[arcs]
    assert mv.len_mm.to_numpy()[arcs] == pytest.approx(np.hypot(np.pi * mv.radius_mm.to_numpy()[arcs], dz))


# ----------------------------------------------------------------------------- real pockets

REAL = [
    ("LesPaul_CAM_Closed.dxf", "PICKUP_CAVITY"),
    ("LesPaul_CAM_Closed.dxf", "ELECTRONIC_CAVITIES"),
    ("LesPaul_CAM_Closed.dxf", "NECK_MORTISE"),
    ("smart_guitar_back_v5.dxf", "VOID_CHAMBERS"),
    ("smart_guitar_back_v5.dxf", "CONTROL_CAVITY"),
    ("mvp_rect_with_island.dxf", "GEOMETRY"),
]


@pytest.mark.parametrize("fname, layer", REAL, ids=[f"{f.split('_')[0]}-{l}" for f, l in REAL])
def test_real_pockets(shared_data, fname: str, layer: str) -> None:
    geometry = pytest.importorskip("workbench.geometry")
    if not hasattr(geometry, "read_regions"):
        pytest.skip("workbench.geometry.read_regions not available yet")
    with warnings.catch_warnings():  # NECK_MORTISE declares metres but holds mm
        warnings.simplefilter("ignore")
        regions = geometry.read_regions(shared_data / "dxf" / fname, layers=[layer])
    expected = {"PICKUP_CAVITY": 2, "VOID_CHAMBERS": 4}.get(layer, 1)
    assert len(regions) == expected
    for reg in regions:
        t0 = time.perf_counter()
        tp = plan_pocket(reg, tool_d=6.0, stepover=0.3, stepdown=3.0, depth=6.0, name=reg.name)
        dt = time.perf_counter() - t0
        g, u = _assert_invariants(tp, reg.polygon, levels=[-3.0, -6.0])
        eng = tp.moves.engagement_deg.dropna().to_numpy()
        cut = tp.moves[tp.moves.kind == "cut"]
        print(f"\n{reg.name}: moves={len(tp.moves)} cut_len={cut.len_mm.sum():.0f} mm "
              f"eng max={eng.max():.1f} p95={np.percentile(eng, 95):.1f} deg "
              f"opened={u.opened_area:.1f} swept={u.swept_area:.1f} uncut={u.uncut_area:.2f} mm² "
              f"clearance={g.min_clearance_mm:.4f} mm plan={dt:.2f}s")
        assert eng.max() <= 180.0



def test_corner_spikes_are_split_off_long_straights() -> None:
    """Offset rings slot into their sharp corners; that overload must sit on short moves of its
    own, so most of the cutting length reports the straight-cut engagement of the stepover
    (and keeps slowdown 1.0) instead of carrying the corner's spike."""
    from shapely.geometry import box

    from workbench.cam import plan_pocket, straight_cut_engagement_deg

    tp = plan_pocket(box(0, 0, 60, 40), tool_d=6.0, stepover=0.4, stepdown=3.0, depth=3.0)
    cut = tp.moves[tp.moves["kind"] == "cut"]
    target = straight_cut_engagement_deg(0.4 * 6.0, 6.0)
    e = cut["engagement_deg"].to_numpy()
    length = cut["len_mm"].to_numpy()
    over = e > target + 5.0
    assert length[~over].sum() > 0.6 * length.sum()
    assert (cut["slowdown"].to_numpy()[over] < 0.95).all()
    assert (cut["slowdown"].to_numpy()[~over] > 0.9).all()
    # links run through removed material only
    links = tp.moves[tp.moves["kind"] == "link"]
    assert (links["engagement_deg"].fillna(0.0) <= 2.0).all()
    # the overloaded stretches are short, except the first ring around the entry (a slot)
    assert np.median(length[over]) <= 6.0


def _chord_clearance(ring, boundary) -> float:
    """Smallest distance from any chord of ``ring`` to ``boundary``, mm."""
    c = np.asarray(ring.coords)
    return float(shapely.distance(boundary, shapely.linestrings(np.stack([c[:-1], c[1:]], axis=1))).min())


@pytest.mark.parametrize("d", [1.5975, 3.01, 6.36])
def test_offset_chords_keep_the_sagitta_bound(d):
    # _quad_segs(d, tol): every chord of a round join of radius d lies within tol of the arc,
    # also when GEOS rounds a fillet of just under 1.5 quanta to one chord (its
    # addDirectedFillet takes int(angle / quantum + 0.5) chords). Islands: regular n-gons,
    # whose vertices turn by 2 pi / n (0.05 to 2.1 rad); their offset rings are fillets
    from workbench.cam.pocket import _quad_segs
    tol = 0.005
    qs = _quad_segs(d, tol)
    worst = math.inf
    for n in range(3, 121):
        t = 2 * math.pi * np.arange(n) / n
        island = Polygon(np.c_[5 * np.cos(t), 5 * np.sin(t)])
        pocket = box(-30, -30, 30, 30).difference(island)
        T = pocket.buffer(-d, quad_segs=qs, join_style="round")
        worst = min(worst, _chord_clearance(T.interiors[0], island.boundary))
    assert worst >= d - tol - 1e-9
    assert worst < d - 0.4 * tol  # the bound is met, not exceeded by far


def test_tool_centre_area_of_a_void_chamber_keeps_the_margin(shared_data):
    # smart_guitar_back_v5 VOID_CHAMBERS#1 with a 1/8" tool: the tool-centre area's chords
    # came 0.8 um inside the tool radius (a 0.01 mm margin less a 10.8 um sagitta)
    from workbench.cam.pocket import _quad_segs
    from workbench.geometry import read_regions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poly = read_regions(shared_data / "dxf" / "smart_guitar_back_v5.dxf", layers=["VOID_CHAMBERS"])[1].polygon
    r, m = 3.175 / 2, 0.01
    T = poly.buffer(-(r + m), quad_segs=_quad_segs(r + m, m / 2), join_style="round")
    assert _chord_clearance(T.exterior, poly.boundary) >= r + m / 2 - 1e-9
