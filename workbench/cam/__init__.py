"""CAM: pocket planners, radial engagement and toolpath invariant checks.

- :func:`plan_pocket` (``workbench.cam.pocket``): offset (contour-parallel) pocket clearing.
- :func:`plan_adaptive` (``workbench.cam.adaptive``): adaptive (bounded-engagement) clearing.
- :func:`fit_arcs` (``workbench.cam.arcfit``): G2/G3 arcs fitted to polylines within a tolerance.
- ``workbench.cam.chipthinning``: radial chip-thinning feed compensation.
- ``workbench.cam.engagement``: radial engagement angle (exact and raster), slowdown rule.
- ``workbench.cam.checks``: gouge, uncut area, depth checks used by tests and later planners.
"""

from .adaptive import AdaptiveParams, plan_adaptive
from .arcfit import fit_arcs, fit_polyline
from .checks import (DepthReport, GougeReport, UncutReport, depths_reached, gouge_check,
                     straight_line_inside, tool_centre_paths, uncut_area)
from .engagement import (MaterialGrid, engagement_angle, slowdown_for_engagement,
                         straight_cut_engagement_deg)
from .pocket import PocketParams, depth_levels, plan_pocket, region_polygon

__all__ = [
    "plan_pocket", "PocketParams", "depth_levels", "region_polygon",
    "plan_adaptive", "AdaptiveParams", "fit_arcs", "fit_polyline",
    "engagement_angle", "straight_cut_engagement_deg", "slowdown_for_engagement", "MaterialGrid",
    "gouge_check", "uncut_area", "depths_reached", "straight_line_inside", "tool_centre_paths",
    "GougeReport", "UncutReport", "DepthReport",
]
