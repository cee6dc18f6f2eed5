"""Region: validation, orientation, properties; DXF export round trip."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from workbench.errors import InputError
from workbench.geometry import Region, read_regions, region_from_polygon, write_regions_dxf


def _signed_area(coords) -> float:
    pts = list(coords)
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]))


def test_region_from_polygon_orients_exterior_ccw_and_islands_cw():
    shell_cw = [(0, 0), (0, 50), (100, 50), (100, 0)]
    hole_ccw = [(40, 20), (60, 20), (60, 30), (40, 30)]
    reg = region_from_polygon(Polygon(shell_cw, [hole_ccw]), layer="GEOMETRY", source="x.dxf")
    assert _signed_area(reg.polygon.exterior.coords) > 0
    assert all(_signed_area(r.coords) < 0 for r in reg.polygon.interiors)
    assert reg.area == pytest.approx(5000 - 200, abs=1e-12)
    assert reg.islands == 1
    assert reg.bounds == (0.0, 0.0, 100.0, 50.0)
    assert reg.name == "GEOMETRY#0"
    assert "GEOMETRY#0" in repr(reg)


def test_region_from_polygon_rejects_bow_tie_naming_the_crossing():
    with pytest.raises(InputError, match=r"Self-intersection\[5 5\]") as exc:
        region_from_polygon(Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]), layer="L1")
    assert "'L1'" in str(exc.value)


@pytest.mark.parametrize("bad", [Polygon(), Point(0, 0), box(0, 0, 1, 1).boundary,
                                 MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)])])
def test_region_from_polygon_rejects_non_polygons(bad):
    with pytest.raises(InputError):
        region_from_polygon(bad)


def test_region_from_polygon_accepts_single_part_multipolygon():
    reg = region_from_polygon(MultiPolygon([box(0, 0, 2, 3)]))
    assert reg.area == 6.0


def test_region_is_frozen():
    reg = region_from_polygon(box(0, 0, 1, 1))
    with pytest.raises(AttributeError):
        reg.layer = "X"  # type: ignore[misc]


def test_write_then_read_round_trip(tmp_path):
    outer = Point(0, 0).buffer(30, quad_segs=32)
    regs = [
        region_from_polygon(Polygon(box(0, 0, 100, 50).exterior.coords,
                                    [box(40, 20, 60, 30).exterior.coords]), layer="GEOMETRY"),
        region_from_polygon(outer.difference(Point(5, 5).buffer(4)), layer="ROUND", index=0),
        region_from_polygon(box(200, 0, 210, 10), layer="ROUND", index=1),
    ]
    path = write_regions_dxf(regs, tmp_path / "out.dxf")
    back = read_regions(path)
    assert [(r.layer, r.index, r.islands) for r in back] == [("GEOMETRY", 0, 1), ("ROUND", 0, 1), ("ROUND", 1, 0)]
    for a, b in zip(regs, back):
        assert a.polygon.symmetric_difference(b.polygon).area < 1e-9
        assert b.source == str(path)
        assert b.source_units == "mm"


def test_write_regions_dxf_unwritable_path_is_input_error(tmp_path):
    reg = region_from_polygon(box(0, 0, 1, 1))
    with pytest.raises(InputError, match="cannot write"):
        write_regions_dxf([reg], tmp_path / "no_such_dir" / "x.dxf")


def test_region_area_of_circle_region_matches_shapely():
    poly = Point(0, 0).buffer(10, quad_segs=64)
    reg = region_from_polygon(poly)
    assert reg.area == pytest.approx(poly.area, rel=0, abs=1e-12)
    assert reg.area < math.pi * 100
