"""Radial engagement: analytic formula, exact shapely measure, raster measure, slowdown rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely import affinity
from shapely.geometry import Point, Polygon, box

from workbench.cam.engagement import (MaterialGrid, corner_contact_bound, engagement_angle,
                                      slowdown_for_engagement, straight_cut_engagement_deg)
from workbench.errors import InputError

D = 6.0
R = D / 2


@pytest.mark.parametrize("ae, expected", [
    (0.2 * D, math.degrees(math.acos(0.6))),   # 53.130 deg
    (0.5 * D, 90.0),
    (D, 180.0),
    (1.5 * D, 180.0),                          # wider than a slot is still a slot
    (0.0, 0.0),
])
def test_straight_cut_formula(ae: float, expected: float) -> None:
    assert straight_cut_engagement_deg(ae, D) == pytest.approx(expected, abs=1e-9)


def test_straight_cut_formula_value_at_02D() -> None:
    assert straight_cut_engagement_deg(1.2, 6.0) == pytest.approx(53.1301, abs=1e-4)


@pytest.mark.parametrize("ae, d", [(-0.1, 6.0), (1.0, 0.0), (1.0, -2.0), (math.nan, 6.0)])
def test_straight_cut_formula_rejects_bad_input(ae: float, d: float) -> None:
    with pytest.raises(InputError):
        straight_cut_engagement_deg(ae, d)


def _side_wall(ae: float, angle_deg: float = 0.0):
    """Tool at the origin moving along +x; material on its right below y = -R + ae."""
    mat = box(-50, -50, 50, -R + ae)
    return affinity.rotate(mat, angle_deg, origin=(0, 0))


@pytest.mark.parametrize("frac", [0.1, 0.2, 0.5, 0.8])
@pytest.mark.parametrize("angle", [0.0, 37.0, 180.0, 271.0])
def test_exact_engagement_straight_cut(frac: float, angle: float) -> None:
    ae = frac * D
    a = math.radians(angle)
    got = engagement_angle((0.0, 0.0), (math.cos(a), math.sin(a)), R, _side_wall(ae, angle))
    assert got == pytest.approx(straight_cut_engagement_deg(ae, D), abs=0.05)


def test_exact_engagement_slot_and_half_and_air() -> None:
    ahead = box(0, -50, 100, 50)  # everything ahead of the tool is material: a slot
    assert engagement_angle((0, 0), (1, 0), R, ahead) == pytest.approx(180.0, abs=1e-9)
    assert engagement_angle((0, 0), (1, 0), R, _side_wall(R)) == pytest.approx(90.0, abs=0.05)
    assert engagement_angle((0, 0), (1, 0), R, box(20, 20, 30, 30)) == 0.0
    # material behind the tool does not count
    assert engagement_angle((0, 0), (1, 0), R, box(-100, -50, -1e-9, 50)) == 0.0


def test_exact_engagement_material_on_left_is_symmetric() -> None:
    left = affinity.scale(_side_wall(1.2), yfact=-1, origin=(0, 0))
    assert engagement_angle((0, 0), (1, 0), R, left) == pytest.approx(53.13, abs=0.05)


def test_exact_engagement_rejects_zero_direction() -> None:
    with pytest.raises(InputError):
        engagement_angle((0, 0), (0, 0), R, box(0, 0, 1, 1))
    with pytest.raises(InputError):
        engagement_angle((0, 0), (1, 0), 0.0, box(0, 0, 1, 1))


@pytest.mark.parametrize("frac", [0.2, 0.5, 0.8])
def test_grid_engagement_matches_formula(frac: float) -> None:
    ae = frac * D
    g = MaterialGrid((-60, -20, 60, 20), D / 120)
    g.remove_segment((-50, 0.0), (50, 0.0), R)  # previous pass along y = 0
    centers = np.column_stack([np.linspace(-20, 20, 9), np.full(9, -ae)])
    eng = g.engagement(centers, (1.0, 0.0), R)
    assert np.abs(eng - straight_cut_engagement_deg(ae, D)).max() <= 1.5


def test_grid_engagement_slot_and_cleared() -> None:
    g = MaterialGrid((-20, -20, 20, 20), 0.05)
    assert g.engagement(np.array([[0.0, 0.0]]), (0, 1), R)[0] == pytest.approx(180.0)
    g.remove_segment((0, -15), (0, 15), R + 1.0)
    assert g.engagement(np.array([[0.0, 0.0]]), (0, 1), R)[0] == 0.0
    assert g.segment_cleared((0, -10), (0, 10))
    assert not g.segment_cleared((0, 0), (10, 0))


def test_grid_agrees_with_exact_on_a_curved_boundary() -> None:
    cleared = Point(0, 0).buffer(8.0, quad_segs=128)
    remaining = box(-40, -40, 40, 40).difference(cleared)
    g = MaterialGrid((-40, -40, 40, 40), D / 120)
    g.remove_segment((0, 0), (0, 0), 8.0)
    for c, d in [((6.5, 0.0), (0, 1)), ((0.0, 7.0), (1, 1)), ((-5.0, -5.5), (1, -0.3))]:
        exact = engagement_angle(c, d, R, remaining)
        raster = g.engagement(np.array([c]), d, R)[0]
        assert raster == pytest.approx(exact, abs=2.0), (c, d)


def test_grid_long_segment_is_stamped_whole() -> None:
    g = MaterialGrid((-5, -5, 105, 105), 0.1)
    g.remove_segment((0, 0), (100, 100), 1.0)
    t = np.linspace(0, 100, 301)
    assert g.is_removed(t, t).all()
    assert not g.is_removed(np.array([50.0]), np.array([52.0]))[0]  # 1.41 mm off the line


def test_slowdown_rule() -> None:
    f = slowdown_for_engagement(np.array([10.0, 53.13, 106.26, 180.0, np.nan]), 53.13)
    assert f[0] == 1.0 and f[1] == 1.0
    assert f[2] == pytest.approx(0.5)
    assert f[3] == pytest.approx(0.3)  # 53.13/180 = 0.295 -> floor
    assert f[4] == 1.0


# ---------------------------------------------------------------- corner_contact_bound

def test_corner_bound_square_corners_force_90_deg() -> None:
    b = corner_contact_bound(box(0, 0, 40, 30), 6.0)
    assert b.contact_deg == pytest.approx(90.0, abs=1e-9)
    assert len(b.corners) == 4 and all(c[2] == pytest.approx(90.0) for c in b.corners)
    assert b.at in [(3.0, 3.0), (37.0, 3.0), (37.0, 27.0), (3.0, 27.0)]


def test_corner_bound_follows_the_corner_angle() -> None:
    # equilateral triangle: the tool-centre area is a triangle turning 120 deg at each corner
    tri = Polygon([(0, 0), (40, 0), (20, 40 * math.sin(math.radians(60)))])
    b = corner_contact_bound(tri, 6.0)
    assert b.contact_deg == pytest.approx(120.0, abs=1e-3) and len(b.corners) == 3


def test_corner_bound_rounded_corners_and_islands_force_nothing() -> None:
    # inside corners of radius >= D/2 leave the tool-centre area round: no forced contact
    rounded = box(0, 0, 40, 30).buffer(-4.0).buffer(4.0, quad_segs=32)
    assert corner_contact_bound(rounded, 6.0).contact_deg == 0.0
    # a square island's offset is round; the count is the outer wall's four corners
    b = corner_contact_bound(box(0, 0, 40, 30).difference(box(15, 10, 25, 20)), 6.0)
    assert b.contact_deg == pytest.approx(90.0) and len(b.corners) == 4


def test_corner_bound_is_met_by_the_move_into_the_corner() -> None:
    # every tool centre of the area but those within 0.05 mm of the corner has cut: the
    # move into the corner, from either wall or along the bisector, still meets 90 deg
    pocket = box(0, 0, 40, 30)
    T = pocket.buffer(-3.0, join_style="mitre")
    cleared = T.difference(Point(3, 3).buffer(0.05)).buffer(3.0, quad_segs=64)
    remaining = pocket.difference(cleared)
    for d in [(0, -1), (-1, 0), (-1, -1)]:
        # at least the bound; a little more from the 0.05 mm the walls keep beside the corner
        assert 90.0 - 0.1 <= engagement_angle((3, 3), d, 3.0, remaining) <= 92.0
    assert corner_contact_bound(pocket, 6.0).contact_deg == pytest.approx(90.0)


def test_corner_bound_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="does not fit"):
        corner_contact_bound(box(0, 0, 5, 5), 6.0)
    with pytest.raises(InputError, match="positive"):
        corner_contact_bound(box(0, 0, 40, 30), 0.0)
    with pytest.raises(InputError, match="polygon"):
        corner_contact_bound(Point(0, 0), 6.0)
