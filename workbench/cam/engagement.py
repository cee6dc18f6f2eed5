"""Radial engagement: the arc of the cutter in contact with the material.

The radial engagement angle (also "engagement angle", "arc of contact", symbol ``theta`` or
``phi_e``) is the angle, seen from the tool axis, of the part of the cutter circle that touches
uncut material. For a straight cut at radial depth ``ae`` into a straight wall with a tool of
diameter ``D`` it is (Sandvik Coromant, *Technical guide: milling*, "radial engagement /
engagement angle"; Machinery's Handbook, 31st ed., "Milling: radial engagement")::

    theta = acos(1 - 2 * ae / D)            (0 <= ae <= D; ae = D/2 -> 90 deg, slot -> 180 deg)

Two ways of measuring it live here:

- :func:`engagement_angle` — exact (to 0.025 deg), from a shapely geometry of the remaining
  material. Pure, slow-ish (one point-in-polygon test per 0.025 deg of arc); for tests, notebooks
  and the occasional spot check.
- :class:`MaterialGrid` — a boolean raster of removed material at one depth level, updated move
  by move (``remove_segment``) and queried for the engagement of many tool positions at once
  (``engagement``). This is what the planners use: cost per move is independent of how much
  has been cut before. Accuracy: one raster cell ``h`` along the tool circle, i.e. about
  ``degrees(h / (r * sin(crossing angle)))`` per boundary crossing, plus half a bin (0.25 deg).

Both only look at the half of the tool circle *ahead* of the motion (the half-plane
``(p - center) . direction >= 0``): the trailing half of a moving tool only rubs the surface it
has just cut.

:func:`corner_contact_bound` gives the engagement a pocket's sharp corners force on any path that
clears them to the tool radius.

:func:`slowdown_for_engagement` turns an engagement into the advisory feed factor of the moves
table (``slowdown`` column).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import InputError

__all__ = [
    "straight_cut_engagement_deg",
    "corner_contact_bound",
    "CornerBound",
    "engagement_angle",
    "slowdown_for_engagement",
    "MaterialGrid",
    "SLOWDOWN_FLOOR",
]

#: Lowest advisory feed factor :func:`slowdown_for_engagement` returns.
SLOWDOWN_FLOOR: float = 0.3


def straight_cut_engagement_deg(ae: float, tool_d: float) -> float:
    """Radial engagement angle of a straight cut at radial depth ``ae``, degrees.

    ``theta = degrees(acos(1 - 2 ae / D))`` (Sandvik Coromant technical guide, milling,
    "engagement angle"; Machinery's Handbook, "radial engagement"). ``ae = 0.2 D`` gives
    53.13 deg, ``ae = D/2`` gives 90 deg, ``ae >= D`` (a slot) gives 180 deg.

    Args:
        ae: radial depth of cut (stepover), mm, >= 0. Values above ``tool_d`` are a slot.
        tool_d: tool diameter D, mm, > 0.

    Raises:
        InputError: ``tool_d <= 0``, ``ae < 0`` or either is not finite.
    """
    if not (math.isfinite(tool_d) and tool_d > 0):
        raise InputError(f"tool diameter must be a positive number of mm, got {tool_d!r}")
    if not (math.isfinite(ae) and ae >= 0):
        raise InputError(f"radial depth ae must be >= 0 mm, got {ae!r}")
    c = max(-1.0, 1.0 - 2.0 * ae / tool_d)
    return math.degrees(math.acos(c))


@dataclass(frozen=True)
class CornerBound:
    """Result of :func:`corner_contact_bound`.

    Attributes:
        contact_deg: the largest contact arc a sharp corner of the tool-centre area forces,
            degrees in [0, 180); 0 when the area has no corner sharper than its offset arcs.
        at: (x, y) of the tool centre at that corner, mm; None with no such corner.
        corners: every corner forcing more than ``min_deg``, as (x, y, contact_deg) of the
            tool centre there (mm, mm, degrees), in ring order.
    """
    contact_deg: float
    at: tuple[float, float] | None
    corners: tuple[tuple[float, float, float], ...]


def corner_contact_bound(region: BaseGeometry, tool_d: float, *, min_deg: float = 10.0,
                         quad_segs: int = 16) -> CornerBound:
    """The engagement a pocket's sharp corners force on any path that clears them to the tool
    radius: a lower bound on the largest engagement of every such toolpath.

    Geometry: the tool centre is confined to ``T = region.buffer(-D/2)``. At a vertex of ``T``
    where its boundary turns by ``tau`` towards the inside (a convex corner; an inside corner
    of the pocket with a radius under ``D/2`` gives one with ``tau`` = the corner's exterior
    angle, 90 deg for a square corner), the tool touches both walls, at two points ``tau``
    apart on its circle. The arc between them is reached by no other tool centre in ``T``
    (every other centre lies farther from each of its points than ``D/2``), so it holds stock
    until the tool stands in the corner, and the move that brings it there has all of it on its
    front half, whatever its direction (every direction into the corner from ``T`` has that arc
    ahead). Its engagement is at least ``tau``: leaving no stock beyond the tool-radius corners
    and keeping every engagement under ``tau`` exclude each other. (A planner can keep under
    ``tau`` only by not entering the corner: FreeCAD's Adaptive2d leaves such corners uncut.)
    The bound is on the exact contact arc; a raster measure can read a little less, where the
    stock near the two tangent points is thinner than its cell.

    Args:
        region: the pocket (shapely Polygon or MultiPolygon, islands as holes), mm.
        tool_d: tool diameter D, mm, > 0.
        min_deg: corners turning by less are not counted (the offset arcs of ``buffer`` turn
            by ``90 / quad_segs`` deg per vertex; a polyline's flat vertices by less).
        quad_segs: segments per quarter circle of the offset arcs.

    Returns:
        :class:`CornerBound` (the sharpest corner; ``contact_deg`` 0 when none).

    Raises:
        InputError: a region that is not a polygon, ``tool_d <= 0``, or no room for the tool.
    """
    if not (math.isfinite(tool_d) and tool_d > 0):
        raise InputError(f"tool diameter must be a positive number of mm, got {tool_d!r}")
    if region.geom_type not in ("Polygon", "MultiPolygon") or region.is_empty:
        raise InputError(f"corner_contact_bound needs a polygon region, got {region.geom_type}")
    T = shapely.simplify(region.buffer(-tool_d / 2.0, quad_segs=quad_segs), 1e-4)
    if T.is_empty:
        raise InputError(f"a {tool_d:g} mm tool does not fit in the region")
    found: list[tuple[float, float, float]] = []
    for poly in getattr(T, "geoms", [T]):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        poly = shapely.geometry.polygon.orient(poly, 1.0)  # inside on the left of every ring
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:-1, :2]
            if len(xy) < 3:
                continue
            d_in = xy - np.roll(xy, 1, axis=0)      # edge arriving at each vertex
            d_out = np.roll(xy, -1, axis=0) - xy    # edge leaving it
            turn = np.degrees(np.arctan2(d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0],
                                         (d_in * d_out).sum(axis=1)))
            found += [(float(x), float(y), float(t)) for (x, y), t in zip(xy, turn) if t > min_deg]
    if not found:
        return CornerBound(contact_deg=0.0, at=None, corners=())
    x, y, t = max(found, key=lambda c: c[2])
    return CornerBound(contact_deg=t, at=(x, y), corners=tuple(found))


def _unit(direction: Sequence[float]) -> tuple[float, float]:
    dx, dy = float(direction[0]), float(direction[1])
    n = math.hypot(dx, dy)
    if not (math.isfinite(n) and n > 0):
        raise InputError(f"direction of motion must be a non-zero 2-D vector, got {direction!r}")
    return dx / n, dy / n


def engagement_angle(center: Sequence[float], direction: Sequence[float], tool_r: float,
                     remaining: BaseGeometry, *, bins: int = 7200) -> float:
    """Radial engagement angle of a tool at ``center`` moving along ``direction``, degrees.

    The front half of the tool circle (radius ``tool_r``, the half-plane ahead of the motion)
    is split into ``bins`` equal arcs; the angle is the total arc (``180 / bins`` deg each)
    whose mid-point lies strictly inside ``remaining``. Contact arcs need not be contiguous (a
    tool crossing a thin rib touches material on both sides): they are summed.

    Args:
        center: (x, y) of the tool axis, mm.
        direction: (dx, dy) of the motion (any length > 0).
        tool_r: tool radius, mm, > 0.
        remaining: the material still standing at this depth (shapely Polygon/MultiPolygon,
            mm). Everything outside it counts as air.
        bins: resolution of the arc (default 7200, i.e. 0.025 deg).

    Returns:
        Angle in [0, 180] degrees. A straight cut at ``ae`` into a straight wall gives
        ``straight_cut_engagement_deg(ae, 2 * tool_r)`` within 180/bins deg.

    Raises:
        InputError: zero direction, non-positive radius.
    """
    ux, uy = _unit(direction)
    if not (math.isfinite(tool_r) and tool_r > 0):
        raise InputError(f"tool radius must be > 0 mm, got {tool_r!r}")
    phi0 = math.atan2(uy, ux)
    phi = phi0 + np.radians(-90.0 + (np.arange(bins) + 0.5) * (180.0 / bins))
    xs = float(center[0]) + tool_r * np.cos(phi)
    ys = float(center[1]) + tool_r * np.sin(phi)
    shapely.prepare(remaining)
    inside = shapely.contains_xy(remaining, xs, ys)
    return float(np.count_nonzero(inside)) * 180.0 / bins


def slowdown_for_engagement(theta_deg: np.ndarray | float, target_deg: float,
                            floor: float = SLOWDOWN_FLOOR) -> np.ndarray:
    """Advisory feed factor from engagement: 1.0 at or under target, ``target/theta`` above.

    Rule: the load on the cutter grows roughly with the length of the engaged arc at a given
    chip load, so holding ``feed * theta`` at its planned value (``feed * target``) keeps the
    load of an over-engaged move (a corner, a slotting link) near the planned one. This is
    the "constant engagement arc x feed" heuristic of adaptive-clearing literature (e.g.
    Stori & Wright, "Constant engagement tool path generation for convex geometries", J. Manuf.
    Systems 19(3), 2000: cutting forces scale with the engagement angle). Clamped to
    ``[floor, 1]``. NaN engagement (entries, rapids) gives 1.0.

    Args:
        theta_deg: engagement angle(s), degrees.
        target_deg: planned engagement, degrees (the straight-cut engagement of the stepover).
        floor: lowest factor returned (default 0.3).

    Returns:
        Array of factors, same shape as ``theta_deg``.
    """
    th = np.asarray(theta_deg, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(th > target_deg, target_deg / th, 1.0)
    f = np.where(np.isnan(th), 1.0, f)
    return np.clip(f, floor, 1.0)


class MaterialGrid:
    """Removed material at one depth level, as a boolean raster (``True`` = cut away).

    Cell ``(iy, ix)`` covers ``[x0 + ix h, x0 + (ix+1) h) x [y0 + iy h, ...)``; a cell is
    removed when its centre is within ``r`` of a tool-centre segment passed to
    :meth:`remove_segment`. Points outside the raster count as material.

    Args:
        bounds: (minx, miny, maxx, maxy) to cover, mm (include the tool radius beyond the
            region so that the walls are material).
        h: cell size, mm (> 0). Memory is one byte per cell.

    Raises:
        InputError: non-positive cell size, or more than 60 million cells.
    """

    def __init__(self, bounds: Sequence[float], h: float) -> None:
        if not (h > 0 and math.isfinite(h)):
            raise InputError(f"grid cell size must be > 0 mm, got {h!r}")
        x0, y0, x1, y1 = (float(b) for b in bounds)
        self.h = float(h)
        self.x0, self.y0 = x0, y0
        self.nx = max(1, int(math.ceil((x1 - x0) / h)))
        self.ny = max(1, int(math.ceil((y1 - y0) / h)))
        if self.nx * self.ny > 60_000_000:
            raise InputError(f"material grid of {self.nx} x {self.ny} cells at h={h} mm is too large")
        self.removed = np.zeros((self.ny, self.nx), dtype=bool)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def copy(self) -> "MaterialGrid":
        """An independent copy (same geometry, copied raster)."""
        g = MaterialGrid.__new__(MaterialGrid)
        g.__dict__.update(self.__dict__)
        g.removed = self.removed.copy()
        g._cache = {}
        return g

    def is_removed(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Whether the cells holding points (xs, ys) are removed; outside the grid -> False."""
        ix = np.floor((np.asarray(xs, dtype=float) - self.x0) / self.h).astype(np.int64)
        iy = np.floor((np.asarray(ys, dtype=float) - self.y0) / self.h).astype(np.int64)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        out = np.zeros(ix.shape, dtype=bool)
        out[ok] = self.removed[iy[ok], ix[ok]]
        return out

    def remove_segment(self, a: Sequence[float], b: Sequence[float], r: float) -> None:
        """Mark removed every cell whose centre is within ``r`` of segment ``a``-``b`` (mm)."""
        ax, ay = float(a[0]), float(a[1])
        bx, by = float(b[0]), float(b[1])
        L = math.hypot(bx - ax, by - ay)
        if L > 2.0 * r and r > 0:  # stamp long segments piecewise: bounding boxes stay small
            n = int(math.ceil(L / (2.0 * r)))
            for k in range(n):
                t0, t1 = k / n, (k + 1) / n
                self.remove_segment((ax + t0 * (bx - ax), ay + t0 * (by - ay)),
                                    (ax + t1 * (bx - ax), ay + t1 * (by - ay)), r)
            return
        h = self.h
        ix0 = max(0, int(math.floor((min(ax, bx) - r - self.x0) / h)))
        ix1 = min(self.nx, int(math.ceil((max(ax, bx) + r - self.x0) / h)) + 1)
        iy0 = max(0, int(math.floor((min(ay, by) - r - self.y0) / h)))
        iy1 = min(self.ny, int(math.ceil((max(ay, by) + r - self.y0) / h)) + 1)
        if ix0 >= ix1 or iy0 >= iy1:
            return
        xs = self.x0 + (np.arange(ix0, ix1) + 0.5) * h
        ys = self.y0 + (np.arange(iy0, iy1) + 0.5) * h
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        px = xs[None, :] - ax
        py = ys[:, None] - ay
        if L2 <= 1e-18:
            d2 = px * px + py * py
        else:
            t = np.clip((px * dx + py * dy) / L2, 0.0, 1.0)
            ex = px - t * dx
            ey = py - t * dy
            d2 = ex * ex + ey * ey
        self.removed[iy0:iy1, ix0:ix1] |= d2 <= r * r

    def remove_path(self, pts: np.ndarray, r: float) -> None:
        """Remove along a polyline ``pts`` of shape (n, 2) (each segment as a capsule)."""
        pts = np.asarray(pts, dtype=float)
        if len(pts) == 1:
            self.remove_segment(pts[0], pts[0], r)
        for k in range(len(pts) - 1):
            self.remove_segment(pts[k], pts[k + 1], r)

    def _arc(self, bins: int) -> tuple[np.ndarray, np.ndarray]:
        if bins not in self._cache:
            phi = np.radians(-90.0 + (np.arange(bins) + 0.5) * (180.0 / bins))
            self._cache[bins] = (np.cos(phi), np.sin(phi))
        return self._cache[bins]

    def engagement(self, centers: np.ndarray, direction: Sequence[float], r: float,
                   bins: int = 360) -> np.ndarray:
        """Engagement angle (degrees) of the tool at each of ``centers`` (n, 2) moving along
        ``direction``: the front half circle of radius ``r`` split in ``bins`` arcs, summing
        the arcs whose mid-point falls in a cell not yet removed.

        Raises:
            InputError: zero direction.
        """
        ux, uy = _unit(direction)
        c, s = self._arc(bins)
        # rotate the unit half-circle (centred on +x) to the direction of motion
        ox = r * (c * ux - s * uy)
        oy = r * (c * uy + s * ux)
        centers = np.asarray(centers, dtype=float).reshape(-1, 2)
        xs = centers[:, 0:1] + ox[None, :]
        ys = centers[:, 1:2] + oy[None, :]
        mat = ~self.is_removed(xs, ys)
        return mat.sum(axis=1) * (180.0 / bins)

    def segment_cleared(self, a: Sequence[float], b: Sequence[float]) -> bool:
        """Whether every point of segment ``a``-``b`` (sampled every half cell) is removed."""
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        n = max(2, int(math.ceil(float(np.hypot(*(b - a))) / (0.5 * self.h))) + 1)
        t = np.linspace(0.0, 1.0, n)
        pts = a[None, :] + t[:, None] * (b - a)[None, :]
        return bool(self.is_removed(pts[:, 0], pts[:, 1]).all())
