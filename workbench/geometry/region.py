"""Pocket regions: one outer boundary with its islands, in millimetres.

A :class:`Region` is what the CAM planners take: a shapely ``Polygon`` whose exterior is the
pocket boundary (counter-clockwise) and whose interiors are the islands left standing
(clockwise), all coordinates in mm. The orientation convention is the one of OGC Simple
Features / shapely's :func:`shapely.geometry.polygon.orient` with ``sign=1.0``: a positive
signed area for the shell, so offsetting inwards is a negative buffer everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

from ..errors import InputError

__all__ = ["Region", "region_from_polygon"]


@dataclass(frozen=True)
class Region:
    """A pocket region: outer boundary plus islands, in mm.

    Attributes:
        polygon: valid shapely ``Polygon`` in mm; exterior counter-clockwise, interiors
            (islands) clockwise.
        layer: the DXF layer it came from ("" when built in code).
        source: the file it came from ("" when built in code).
        index: order within the layer (0-based, drawing order of the outer boundary).
        source_units: the drawing unit the coordinates were converted from ("mm", "inch",
            ...); the polygon itself is always in mm.
    """

    polygon: Polygon
    layer: str = ""
    source: str = ""
    index: int = 0
    source_units: str = "mm"

    @property
    def area(self) -> float:
        """Area of the pocket (outer area minus islands), mm²."""
        return float(self.polygon.area)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the outer boundary, mm."""
        return tuple(float(v) for v in self.polygon.bounds)  # type: ignore[return-value]

    @property
    def islands(self) -> int:
        """Number of islands (holes of the polygon)."""
        return len(self.polygon.interiors)

    @property
    def name(self) -> str:
        """``"LAYER#index"``, e.g. ``"PICKUP_CAVITY#1"``."""
        return f"{self.layer}#{self.index}"

    def __repr__(self) -> str:  # short: the polygon's WKT can be thousands of numbers
        minx, miny, maxx, maxy = self.bounds
        return (f"Region({self.name!r}, area={self.area:.3f} mm², islands={self.islands}, "
                f"bounds=({minx:.3f}, {miny:.3f}, {maxx:.3f}, {maxy:.3f}), source={self.source!r})")


def region_from_polygon(poly: Polygon, layer: str = "", source: str = "", index: int = 0,
                        source_units: str = "mm") -> Region:
    """Validate and orient a polygon (mm) into a :class:`Region`.

    Args:
        poly: a shapely ``Polygon`` (a ``MultiPolygon`` of exactly one part is accepted).
        layer, source, index, source_units: carried into the Region.

    Returns:
        A Region whose polygon is ``orient(poly, sign=1.0)``: exterior CCW, islands CW.

    Raises:
        InputError: not a polygon, empty, zero area, or invalid; the message quotes
            ``shapely.validation.explain_validity`` (reason and location of the defect).
            The polygon is never repaired (no ``buffer(0)``/``make_valid``): a silent repair
            would change the pocket that gets cut.
    """
    where = f"{source}: layer {layer!r}: " if source else (f"layer {layer!r}: " if layer else "")
    if isinstance(poly, MultiPolygon) and len(poly.geoms) == 1:
        poly = poly.geoms[0]
    if not isinstance(poly, Polygon):
        raise InputError(f"{where}expected a shapely Polygon, got {type(poly).__name__}")
    if poly.is_empty:
        raise InputError(f"{where}the polygon is empty")
    if not poly.is_valid:
        raise InputError(f"{where}invalid polygon: {explain_validity(poly)}")
    if poly.area <= 0.0:
        raise InputError(f"{where}the polygon has zero area")
    return Region(polygon=orient(poly, sign=1.0), layer=layer, source=source, index=index,
                  source_units=source_units)
