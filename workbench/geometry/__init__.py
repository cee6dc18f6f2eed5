"""Geometry at the boundary: DXF drawings in, pocket regions (shapely polygons, mm) out.

- :class:`Region`, :func:`region_from_polygon` (``workbench.geometry.region``)
- :func:`read_regions`, :func:`layer_report`, :func:`write_regions_dxf`,
  :class:`UnitsWarning`, :class:`DuplicateLoopWarning`, :class:`SkippedLayerWarning` (``workbench.geometry.dxf``)
"""

from .dxf import (DuplicateLoopWarning, SkippedLayerWarning, UnitsWarning, layer_report, read_regions,
                  write_regions_dxf)
from .region import Region, region_from_polygon

__all__ = [
    "Region",
    "region_from_polygon",
    "read_regions",
    "layer_report",
    "write_regions_dxf",
    "UnitsWarning",
    "DuplicateLoopWarning",
    "SkippedLayerWarning",
]
