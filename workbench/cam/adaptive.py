"""Adaptive (constant-engagement) pocket clearing.

:func:`plan_adaptive` clears a pocket region (outer wall + islands) so that the radial
engagement of every cutting move stays at or below the engagement a straight cut at the
requested stepover would have, ``theta_t = acos(1 - 2 ae / D)`` (Sandvik Coromant, milling
guide, "engagement angle"); climb milling only.

Method (an *engagement-field front* planner; the same goal as libarea's Adaptive2d, which
searches the step direction point by point, reached by moving whole fronts at once):

1. **Tool-centre area.** ``T = region ⊖ (r + m + finish_allowance)`` (exact shapely erosion,
   round joins, chord error < m/2; ``m = tolerance`` is the wall margin as in
   ``workbench.cam.pocket``). Every tool centre at depth lies in ``T``: no gouge by
   construction.
2. **Engagement field.** The material still standing at the level is a boolean raster (cell
   ``h`` from ``D/60`` on small pockets to ``D/27`` on a guitar body's cavities, about 3e5
   cells a pocket: ``meta["field_cell_mm"]``). For a tool centred at a cell, the arc of the
   tool circle lying in material is a correlation of the material raster with a ring kernel
   of radius ``r`` (FFT); so are its first moments (the direction of the arc's centroid). A
   tool moving along a level line of the field with its material arc centred on the line's
   normal has half the arc in its front half, ``E = arc / 2`` (smoothed over ``_FIELD_SIGMA``
   cells, so that the fronts do not follow the raster's steps); when the arc's centroid is
   ``delta`` off the normal (a front meeting a thin wedge of stock head-on, toward a wall)
   the front half holds ``E + delta`` (at most the whole arc): the planner uses that
   *directional* figure (offsets under ``_DIRECTION_DEADBAND_DEG`` are raster noise). With
   ``wall_start_slant`` (off by default), near the walls (outer and islands), where a front
   would start, the figure is raised toward the contact of the tool's arrival there along the
   wall (twice the target for a front square to the wall), so fronts meet the wall at a slant
   and their starts stay within ``_WALL_START_ALLOW_DEG`` of the level, or
   ``_WALL_START_CHANNEL_ALLOW_DEG`` in channels under 3 D wide
   (:meth:`_Planner._wall_starts`).
3. **Fronts.** The swept centre area grows as
   ``S_{k+1} = S_k ∪ {E <= theta_t - guard, connected to S_k, within 0.95 D of S_k} ∩ T``;
   growth is taken only where it joins the part of ``S_k`` the tool is in, while there is
   such growth (so every piece of a front is reached through cleared material: on the Les
   Paul body with 1.5 D spirals and links at the feed cap, growth from any part of ``S_k``
   cost 103 drops, this 19);
   the new front (the boundary of ``S_{k+1}`` that lies neither on ``∂T`` nor on ``∂S_k``) is
   the contour ``E = theta_t - guard`` (contourpy, sub-cell, on a window padded so that every
   contour closes inside it; the growth limits are a smoothed penalty so fronts follow them as
   curves), so engagement is held at the target whatever the curvature of the front. Each
   front is cut counter-clockwise around the cleared area (material on the right of the
   motion: climb with an M3 spindle, see ``workbench.cam.pocket``) and the material raster is
   updated.
4. **Spirals** (phase 1). While the uncleared part of ``T`` holds a circle of radius at least
   ``1.5 D`` clear of the walls and of the cleared area (more when links run faster than the
   cutting feed: :meth:`_Planner._spiral_min_radius`), a helix enters at its
   centre (on a ridge, as in a slot, the ridge point farthest from the free area's centroid, so
   the next circle is as large as possible) and fronts grow limited to that circle (plus a
   stepover where the walls allow). Its fronts are closed rings; each ring's last
   ``min(3 D, len/2)`` is held back and blended into the next ring (weight
   ``0.5 - 0.5 cos``), so the rings form one continuous spiral with no link and no re-cut.
5. **Zones** (phase 2). What the spirals leave (cusps between circles and walls) is cleared
   zone by zone: the nearest part of the uncleared area (parts joined only by slivers thinner
   than two stepovers are separate zones), fronts limited to it, before the tool moves on; a
   zone no front enters at the target gets one front at up to ``_BREAK_IN_DEG`` over it, then
   a helix only if that fails too. With a finishing pass, slivers of ``T`` thinner than
   ``_SKIN_AE`` stepovers count as cleared: between cleared areas they hold no stock, on a wall
   a skin the profile takes below the target engagement.
6. **Safety net.** When no zone is left, the planner's own material raster is checked: stock
   the tool can still reach, other than a wall skin the finishing profile takes, re-opens its
   part of the swept area and phase 2 runs again (up to three times); stock still standing
   after that (a gap between two fronts that a growth step closed with no front left to cut)
   is cut directly, by *rest cuts* through it (``meta["rest_cuts"]``). Last, an exact check
   finds stock narrower than a raster cell (which may hold no cell centre): cells farther than
   ``r - 0.75 h`` from every tool-centre path at depth (exact point-segment distances) are
   checked on the swept discs themselves (shapely, locally), and stock wider than
   ``_SLIVER_MIN_WIDTH`` is cut (``meta["sliver_cuts"]``). No heuristic above may leave
   uncut stock.
7. **Links.** From the end of one piece to the start of the next the tool stays down (kind
   ``link``, at ``link_feed``) when the straight segment meets no material (on the planner
   raster, keeping half a cell beyond ``r`` from stock it moves toward; within that margin
   only where the swept area, away from the wall skin, proves it clear) and lies in the
   cleared area; else it links to a lead-in (a straight lead along the piece's first direction,
   or a circular arc lead-in tangent to it from the cleared side, so the tool turns onto the
   front instead of being pushed head-on into it) along the shortest path through cleared
   material (Dijkstra on the raster of centre positions where the tool meets no material,
   shortened to straight legs each re-checked) when that path is short (under ``4 D + |ab|/2``
   plus what a link covers in the ``_DROP_COST_S`` a drop costs); a lead-in that starts where
   the tool already meets stock is reached by backing off from it into the cleared area to
   the first point where the tool meets none, and extended from there; otherwise it retracts,
   rapids, and drops into cleared material. The retract goes to 1 mm above the stock still
   standing in the pocket (the level above, or the stock top) when the straight way keeps the
   tool centre in ``T`` (each level's whole plan has cleared the pocket to that level; islands
   and walls stay r away), else to the safe height.
8. **Tight zones.** Front pieces in channels narrower than about ``1.5 D`` (every point of the
   piece within ``D/4`` of the walls, both ends on the walls) are short back-and-forth loops:
   they are marked ``trochoid``. Reachable area that no front can reach at the target
   engagement (a channel about ``D`` wide) is cut as a *slot*: marked in the extra ``slot``
   column, with ``slowdown`` from its measured engagement. A part of ``T`` not connected to the
   cleared area gets its own entry.
9. **Entries.** A helix (centre-path diameter ``D/2``, or as large as fits down to ``D/8``) at
   the centre of the largest inscribed circle of the piece of ``T``; a zig-zag ramp along the
   longest straight chord inside ``T`` when no helix fits; a plunge as the last resort (with
   a warning) or with ``entry="plunge"``. After a plunge the tool breaks out of its hole on
   a circle of the helix's radius at depth, marked ``slot``: moving out of its own hole it
   meets half its circle in stock at once, so no front could leave the hole at the target.
10. **Finishing profile.** With ``finish_pass`` the walls and islands are profiled at
    ``r + m`` at the end of each level (climb), each ring led in on a straight stretch at
    least ``D`` from its corners (:func:`_start_on_straight`).
11. **Depths.** As ``workbench.cam.pocket.depth_levels``; the 2-D plan is repeated per level.
12. **Arc fitting** (:func:`workbench.cam.arcfit.fit_arcs`, chord tolerance ``tolerance``).
13. **Engagement report** (:func:`workbench.cam.replay.measure_engagement`), measured on the
    emitted (arc-fitted) moves, so a fitted arc reports its own engagement, not that of the
    chords it replaced; ``slowdown`` as in
    :func:`~workbench.cam.engagement.slowdown_for_engagement`; then optional radial **chip
    thinning** (:mod:`workbench.cam.chipthinning`).

Constant engagement costs cutting length on convex fronts: an outward ring meets more stock
than a straight cut at the same step, so the rings near a helix are packed closer (about
0.6 mm apart at a 3 mm ring radius, 0.95 mm at 17 mm, for D = 6 and a 53 deg target).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import nearest_points

from ..errors import InputError, PlanningError
from ..toolpath import Toolpath, moves_frame
from .arcfit import fit_arcs
from .checks import clearance_guard
from .chipthinning import chip_thinning_factor_deg
from .engagement import corner_contact_bound, slowdown_for_engagement, straight_cut_engagement_deg
from .pocket import _quad_segs, depth_levels, region_polygon, rotate_ring
from .replay import measure_engagement, rasterise, remove_capsules
from .params import ENTRIES, check_cutting_params, finite

__all__ = ["AdaptiveParams", "plan_adaptive"]

# planner guard: fronts follow the field contour at target - guard (raster and contour error)
_LEVEL_GUARD_DEG = 2.0
# a routed keep-down link is taken when shorter than this many D plus half the straight gap
_ROUTE_MAX_LEN_D = 4.0
# a retract, rapid and drop costs about this long (rapids, accelerations, the plunge of the last mm)
_DROP_COST_S = 1.0
# a closed spiral gets its own helix when its circle is at least this many D in radius times
# link_feed / feed, within the bounds below (see _Planner._spiral_min_radius)
_SPIRAL_MIN_D = 1.5
_SPIRAL_MAX_D = 6.0
# the engagement field is smoothed over this many raster cells (gaussian sigma) before its
# contour is taken: on the raw raster field the fronts wiggle by about a cell, and so does
# their engagement (+-4 deg along a ring at sigma 1), which the guard had to cover
_FIELD_SIGMA = 2.5
# a front may break into a zone no front enters at the target at this much over the plan level
_BREAK_IN_DEG = 12.0
# a skin of stock on the walls up to this many stepovers thick is left to the finishing profile
# (which takes it below the target engagement, acos(1 - 2 * 0.9 ae / D) for 0.9)
_SKIN_AE = 0.9
# directional engagement: offsets of the material from a front's normal below this are noise
_DIRECTION_DEADBAND_DEG = 25.0
# fronts that start on a wall (_Planner._wall_starts, with wall_start_slant): within
# this many stepovers of the wall the field is raised toward the contact the tool meets
# arriving at the start along the wall, less an allowance: a start may meet up to this much
# more than the plan level (level + 14 = target + 12 deg). Measured on the pockets of
# bench_adaptive_vs_freecad.py (D 6, stepover 0.2, links at the feed cap, 2026-12-05) against
# square starts (with the island walls and the channel allowance below, 2026-12-05 22:44):
# cutting over target + 15 deg outside entries 33-79 -> 15-46 mm a cavity (at wall starts
# 27-66 -> 9-24; body 265 -> 188 mm), cycle +0.5-3.0 % a cavity (+1.1 % over the cavities,
# +0.6 % on the body), plan time about +14 %; the corners' spikes stay. On the pocket lab's
# sample (4 cavities and a box with an island, two levels) drops 3 -> 3 and cycle +1.3 %.
# (Outer wall only, as first measured: 15-47 mm, raster p99 62.8-75.8 -> 60.3-66.5 deg,
# cycle +1.0 % over the cavities.) With no allowance the wall starts over
# target + 15 all but vanish (49 -> 1 mm on ELECTRONIC) but the cycle rises 3.5-8 %; a
# 2-stepover band gave the same as 1 at a higher cycle.
_WALL_START_BAND_AE = 1.0
_WALL_START_ALLOW_DEG = 14.0
# ... where a disc of this diameter (in D) fits in the tool-centre area near the wall (the
# pocket there at least this + 1 D wide); in a narrower channel the fronts are wall-to-wall
# trochoid pieces, and slanting them as much lengthens them: the starts there may meet up to
# _WALL_START_CHANNEL_ALLOW_DEG over the level. Measured on the Les Paul CUTOUT band (a
# C-shaped channel 27 mm wide at most, D 6.35, stepover 0.15 / 0.3) against square starts:
# channels at the wide areas' 14 deg, cycle +5.3 / +15.9 % and drops 32 -> 41 / 4 -> 7; at
# 22 deg, +3.8 / +14.7 % and 35 / 8 drops; at 30 deg, +2.4 / +5.3 %, 33 / 1 drops, raster
# p99 79.2 -> 70.0 / 106.8 -> 91.2 deg and cutting over target + 15 deg 663 -> 569 /
# 652 -> 464 mm; at 35 / 45 deg (stepover 0.3), +4.4 / +3.4 %, p99 93.2 / 98.0 deg; channels
# left square, +0.1 / +1.4 %, p99 76.8 / 104.5 deg. At 30 deg the Les Paul body's maximum
# outside entries (in the 1.5 D channel beside its bridge pickup) falls from 126.0 to 111.8 deg
# at +0.1 % cycle, and over the 8 benchmark cavities the cycle rises 0.1 % and the drops fall
# from 4 to 2; VOID_CHAMBERS#3's acute corners (contact bound 120.6 deg) then read 128.2
# instead of 104.0 deg
_WALL_START_MIN_WIDTH_D = 2.0
_WALL_START_CHANNEL_ALLOW_DEG = 30.0
# a link keeps this many raster cells beyond r from stock it moves toward (_Planner._clear_path)
_LINK_MARGIN_H = 0.5
# stock narrower than this (mm) is not cut by the exact sliver check (_Planner._seal_slivers):
# half the width workbench.cam.checks.uncut_area counts as significant (2 x its min_width),
# so that the arc fit's shifts (up to the tolerance) do not lift a sliver over that width
_SLIVER_MIN_WIDTH = 0.02
# planner raster (the engagement field, fronts, links): the cell is D / 60 at the finest (small
# pockets), D / 27 at the coarsest, chosen in between so that the pocket's window holds about
# _FIELD_CELL_BUDGET cells; a pocket whose own area holds more than _FIELD_MAX_CELLS cells at
# D / 27 takes a coarser cell (the Les Paul body: D / 24.9), and so does one whose window would
# hold more than _FIELD_MAX_RASTER_CELLS (memory: the 1/8" body below, 5.5e6 cells, peaked
# at 0.93 GB), but the pocket cap takes it no coarser than D / _FIELD_COARSEST_CELLS_PER_D
# (a 1/8" tool on the smart guitar body, 97,502 mm^2, stepover 0.2, one level: at D / 9.7
# from the cap, 451 helix entries, 581 s to plan, links 65.6 m, cycle 10,030 s, raster-check
# p95 / p99 target + 5.1 / + 24.1 deg; at D / 18, 8 helix entries, 80 s, 27.9 m, 8,248 s,
# + 2.4 / + 4.1 deg. A 1/4" tool takes D / 19.4 there with 3 helix entries; the CUTOUT band
# at D / 11.9 failed, see below). The planner's time is
# about proportional to the cells the pocket holds, not to its window's: the fronts' windows
# are local. (The cap counted the window's cells until 2026-12: the Les Paul CUTOUT band, 14 %
# of its window, was planned at D / 11.9 with a 1/8" tool, stepover 0.1; its fronts could not
# follow the field and the plan took 188 helix entries and 115 drops, 242 s to plan, 4575 s to
# run, engagement p95 target + 6.3 deg. At D / 24: 1 helix, 5 drops, 60 s, 3531 s, + 2.6 deg.
# 9.1e5 keeps the body's cell within 0.3 % of what the window cap gave it; its cycle time moves
# by up to 2 % with the cell: 2664.0 s at 8.8e5, 2623.7 s at 9.0e5, 2615.6 s at 9.1e5, and
# 2616.1 s before)
# Measured on the cavities of benchmarks/bench_adaptive_vs_freecad.py (D 6, stepover 0.2),
# going from D / 60 to this rule (D / 50 to D / 27 there): planning time 2.4 x shorter, cycle
# time 4.6 % and cutting length 1-6 % shorter (the finer field's raster noise held its fronts
# below the level more often, we think), engagement p95 at most 55.8 deg (target + 2.7), uncut
# 0. At 2e5 cells p95 reached 56.0 deg; with the body at D / 14, 57.8 deg and stock left
_FIELD_CELLS_PER_D = 60.0
_FIELD_MIN_CELLS_PER_D = 27.0
_FIELD_CELL_BUDGET = 3.0e5
_FIELD_MAX_CELLS = 9.1e5
_FIELD_COARSEST_CELLS_PER_D = 18.0
_FIELD_MAX_RASTER_CELLS = 1.0e7


@dataclass(frozen=True)
class AdaptiveParams:
    """Every parameter of an adaptive pocket, as stored in ``Toolpath.meta["params"]``.

    Units: mm, mm/min, degrees; ``stepover`` is a fraction of the tool diameter.
    """

    tool_d: float
    stepover: float
    stepdown: float
    depth: float
    stock_top: float = 0.0
    safe_z: float = 5.0
    feed: float = 1200.0
    plunge_feed: float = 300.0
    entry: str = "helix"
    ramp_angle_deg: float = 3.0
    finish_pass: bool = True
    finish_allowance: float = 0.0
    tolerance: float = 0.01
    arc_fit: bool = True
    chip_thinning: bool = False
    max_feed: float | None = None
    link_feed: float | None = None
    wall_start_slant: bool = False
    name: str = "pocket"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of the parameters."""
        return asdict(self)

    def validate(self) -> None:
        """Check every parameter.

        Raises:
            InputError: naming the parameter and the accepted range.
        """
        label = f"adaptive pocket {self.name!r}"
        check_cutting_params(self, label, max_stepover=0.5,
                             why=" (adaptive clearing is a light radial cut)")
        if self.max_feed is not None and finite(label, "max_feed", self.max_feed) <= 0:
            raise InputError(f"{label}: max_feed must be > 0 mm/min")
        if self.link_feed is not None and finite(label, "link_feed", self.link_feed) <= 0:
            raise InputError(f"{label}: link_feed must be > 0 mm/min (or None: the cutting feed)")


# --------------------------------------------------------------------------- helpers

def _pieces(g: BaseGeometry) -> list[Polygon]:
    if g is None or g.is_empty:
        return []
    if isinstance(g, Polygon):
        return [g]
    return [p for p in getattr(g, "geoms", []) if isinstance(p, Polygon) and not p.is_empty]


def _oriented(g: BaseGeometry) -> BaseGeometry:
    """``g``'s polygons with their exteriors counter-clockwise and holes clockwise (the area on
    the left of every ring). Set operations do not keep orientation (GEOS writes shells
    clockwise), so this is applied to their results, not to their inputs."""
    parts = [orient(q, 1.0) for q in _pieces(g)]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _lean(g: BaseGeometry) -> BaseGeometry:
    """``g`` without the vertices that lie within 1e-6 mm of the line through their
    neighbours (Douglas-Peucker, ``shapely.simplify``; the outline moves by at most that).
    If that would leave it invalid, empty or of another area, only the vertices closer than
    1e-6 mm to the previous one are dropped (``g`` itself if even that is invalid).

    Where the swept area's outline runs along ``T``'s boundary, the overlay of each front's
    growth (cut from ``T`` too) with it nodes the two lines into runs of collinear and
    near-duplicate vertices, and the next overlay multiplies them: on the Les Paul CUTOUT
    band (D 6.35, stepover 0.1) the outline held 8,192 vertices within 1 mm after 110 fronts
    and each union took 126 ms (the plan ran for minutes). Dropping only the vertices closer
    than 1e-6 mm to the previous one still left 17,478 vertices after 800 fronts, 95 % of
    them on ``T``'s straight edges 1 um to 0.2 mm apart, where 889 describe the same outline
    (a union with it 10 x faster)."""
    out = shapely.simplify(g, 1e-6, preserve_topology=False)
    if out.is_empty or not out.is_valid or abs(out.area - g.area) > 1e-6 * max(g.length, 1.0):
        out = shapely.remove_repeated_points(g, 1e-6)
        return out if out.is_valid else g
    return out


def _lines(g: BaseGeometry) -> list[np.ndarray]:
    if g is None or g.is_empty:
        return []
    if isinstance(g, LineString):
        return [np.asarray(g.coords, dtype=float)[:, :2]]
    out = []
    for part in getattr(g, "geoms", []):
        out.extend(_lines(part))
    return out


def _directional_cells(E: np.ndarray, Mx: np.ndarray, My: np.ndarray, cos_db: float,
                       db_deg: float, out: np.ndarray) -> None:
    """Kernel of :meth:`_Planner._directional` (numba, compiled on first use by
    :func:`_kernels`): per cell, the gradient of ``E`` (central differences inside, one-sided
    at the edges, as ``numpy.gradient``), the angle ``delta`` between it and ``(Mx, My)``
    and, past the dead band (``cos delta < cos_db``), ``min(2 E, E + delta - db_deg)``;
    ``E`` elsewhere. Writes ``out``."""
    ny, nx = E.shape
    if nx < 2 or ny < 2:
        out[:, :] = E
        return
    for j in range(ny):
        for i in range(nx):
            e = E[j, i]
            out[j, i] = e
            if i == 0:
                gx = E[j, 1] - E[j, 0]
            elif i == nx - 1:
                gx = E[j, i] - E[j, i - 1]
            else:
                gx = 0.5 * (E[j, i + 1] - E[j, i - 1])
            if j == 0:
                gy = E[1, i] - E[0, i]
            elif j == ny - 1:
                gy = E[j, i] - E[j - 1, i]
            else:
                gy = 0.5 * (E[j + 1, i] - E[j - 1, i])
            mx, my = Mx[j, i], My[j, i]
            gn2 = gx * gx + gy * gy
            mn2 = mx * mx + my * my
            if gn2 <= 1e-12 or mn2 <= 1e-12:
                continue
            nrm = math.sqrt(gn2 * mn2)
            dot = gx * mx + gy * my
            if dot < cos_db * nrm:
                c = min(1.0, max(-1.0, dot / nrm))
                delta = math.degrees(math.acos(c))
                out[j, i] = min(2.0 * e, e + (delta - db_deg))


_KERNELS: dict[str, Any] = {}


def _kernels() -> dict[str, Any]:
    """The module's numba kernels, compiled (``njit(cache=True)``) on first use: numba is
    imported then, not by ``import workbench``."""
    if not _KERNELS:
        from numba import njit

        _KERNELS["directional"] = njit(cache=True)(_directional_cells)
    return _KERNELS


def _start_on_straight(ring: np.ndarray, pos: np.ndarray, clear: float,
                       corner_deg: float = 20.0, step: float = 0.5) -> np.ndarray:
    """Closed ring ``(n, 2)`` (first point = last) re-started at the point nearest ``pos``
    that lies at least ``clear`` mm (along the ring) from every corner (a vertex where the
    ring turns by more than ``corner_deg``), or as far from the corners as the ring allows
    (sampled every ``step`` mm).

    A profile led in at a corner meets the corner's stock (the clearing cannot leave it
    thinner than a crescent along the tool circle) at the end of a link still at speed; on
    a straight stretch the lead-in meets the wall skin alone (the usual CAM practice: lead
    in on a wall, not at a corner). Measured on PICKUP_CAVITY with links at the feed cap:
    the link into the corner lead-in met 54.5 deg of stock (independent raster check)."""
    if len(ring) < 4:
        return ring
    seg = np.diff(ring, axis=0)
    L = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(L)])
    total = float(cum[-1])
    ang = np.arctan2(seg[:, 1], seg[:, 0])
    turn = np.degrees(np.abs((ang - np.roll(ang, 1) + np.pi) % (2 * np.pi) - np.pi))  # at vertex i
    corners = cum[:-1][turn > corner_deg]
    ls = LineString(ring)
    s = np.arange(0.0, total, step)
    if len(corners):
        d = np.abs(s[:, None] - corners[None, :])
        d = np.minimum(d, total - d).min(axis=1)
        s = s[d >= min(clear, float(d.max()) - 1e-9)]
    cand = shapely.get_coordinates(shapely.line_interpolate_point(ls, s))
    return rotate_ring(ring, cand[int(np.argmin(np.hypot(*(cand - pos).T)))])


def _mic(poly: BaseGeometry, tol: float) -> tuple[np.ndarray, float]:
    ls = shapely.maximum_inscribed_circle(poly, tolerance=max(tol / 4, 1e-4))
    return np.asarray(ls.coords[0], dtype=float), float(ls.length)


@dataclass
class _Op:
    """A 2-D operation: a straight move at depth, or an entry (helix/ramp/plunge/drop)."""

    kind: str               # cut | link | entry
    x: float = 0.0
    y: float = 0.0
    trochoid: bool = False
    slot: bool = False
    method: str = ""        # entry: helix | ramp | plunge | drop
    center: np.ndarray | None = None
    rh: float = 0.0
    path: np.ndarray | None = None
    eng: float = math.nan


class _Planner:
    def __init__(self, p: AdaptiveParams, poly: Polygon, label: str) -> None:
        self.p, self.poly, self.label = p, poly, label
        self.D = float(p.tool_d)
        self.r = self.D / 2.0
        self.tol = float(p.tolerance)
        self.margin = self.tol
        self.target = straight_cut_engagement_deg(p.stepover * self.D, self.D)
        self.ops: list[_Op] = []
        self.pos: np.ndarray | None = None
        self.warnings: list[str] = []
        self._absorb_ok = True
        self.counts = {"break_ins": 0, "reopened": 0, "helix": 0, "ramp": 0, "plunge": 0, "drop": 0, "fronts": 0,
                       "spirals": 0, "spiral_links": 0, "rest_cuts": 0, "sliver_cuts": 0, "trochoid_pieces": 0, "trochoid_loops": 0, "slots": 0, "retracts": 0}

    # ------------------------------------------------------------ setup
    def setup(self) -> None:
        p, r, m = self.p, self.r, self.margin
        d = r + m + float(p.finish_allowance)
        T = self.poly.buffer(-d, quad_segs=_quad_segs(d, m / 2), join_style="round")
        T = _oriented(shapely.union_all([q for q in _pieces(T) if q.area > self.tol ** 2]))
        if T.is_empty:
            c, rho = _mic(self.poly, self.tol)
            raise PlanningError(f"tool D={self.D:g} mm does not fit in region {self.label}: the "
                                f"largest inscribed circle is {2 * rho:.3f} mm in diameter")
        self.T = T
        shapely.prepare(T)
        self.Tb = T.boundary
        self.Tc = T.buffer(self.tol * 0.25)
        self.Tb_eps = self.Tb.buffer(2.0 * self.tol, quad_segs=4)
        self._refresh_cleared()
        shapely.prepare(self.Tc)
        dfin = r + m
        self.T_finish = self.poly.buffer(-dfin, quad_segs=_quad_segs(dfin, m / 2), join_style="round")
        # centres whose tool cannot reach a wall skin (_SKIN_AE stepovers + a margin)
        self.T_core = T.buffer(-(_SKIN_AE * p.stepover * self.D + 0.1 * self.D), quad_segs=4)
        shapely.prepare(self.T_core)
        minx, miny, maxx, maxy = T.bounds
        pad = r + self.D
        area = (maxx - minx + 2 * pad) * (maxy - miny + 2 * pad)
        # cell: the pocket in about _FIELD_CELL_BUDGET cells, but no coarser than
        # D / _FIELD_MIN_CELLS_PER_D and no finer than D / _FIELD_CELLS_PER_D; never more
        # than _FIELD_MAX_CELLS cells in the pocket itself (a large pocket takes a coarser
        # cell, down to D / _FIELD_COARSEST_CELLS_PER_D) nor _FIELD_MAX_RASTER_CELLS in
        # the window
        h = max(self.D / _FIELD_CELLS_PER_D,
                min(math.sqrt(area / _FIELD_CELL_BUDGET), self.D / _FIELD_MIN_CELLS_PER_D),
                min(math.sqrt(self.poly.area / _FIELD_MAX_CELLS), self.D / _FIELD_COARSEST_CELLS_PER_D),
                math.sqrt(area / _FIELD_MAX_RASTER_CELLS))
        self.h = h
        self.x0, self.y0 = minx - pad, miny - pad
        self.nx = int(math.ceil((maxx - minx + 2 * pad) / h))
        self.ny = int(math.ceil((maxy - miny + 2 * pad) / h))
        xs = self.x0 + (np.arange(self.nx) + 0.5) * h
        ys = self.y0 + (np.arange(self.ny) + 0.5) * h
        self.xs, self.ys = xs, ys
        shapely.prepare(self.poly)
        self.material = self._raster(self.poly)
        self.wall_dist = ndimage.distance_transform_edt(self.material) * h  # to the walls
        # weight of the _FIELD_SIGMA smoothing of the engagement field: 0 within r + D/2 of the
        # walls (one cell there: in a channel the field changes across a few cells, smoothing
        # would move its contour), 1 from r + D on
        self.smooth_w = np.clip((self.wall_dist - (r + 0.5 * self.D)) / (0.5 * self.D), 0.0, 1.0).astype(np.float32)
        self.Tmask = self._raster(T)
        self._t_dist_cache: dict[str, np.ndarray] = {}
        if p.wall_start_slant:
            self._setup_wall_starts()
        self.Smask = np.zeros_like(self.Tmask)
        self.S: BaseGeometry = Polygon()
        self.active: BaseGeometry | None = None
        self.zone: np.ndarray | None = None       # growth limited to these cells (+ S)
        self.tail: np.ndarray | None = None       # held-back end of the last closed ring
        self.zone_box: tuple[float, float, float, float] | None = None
        # ring kernel (tool circle), N samples
        n = max(64, int(math.ceil(2 * math.pi * r / (0.25 * h))))
        phi = 2 * math.pi * (np.arange(n) + 0.5) / n
        kr = int(math.ceil(r / h)) + 1
        K = np.zeros((2 * kr + 1, 2 * kr + 1))
        ix = np.round(r * np.cos(phi) / h).astype(int) + kr
        iy = np.round(r * np.sin(phi) / h).astype(int) + kr
        np.add.at(K, (iy, ix), 1.0)
        self.K = K * (180.0 / n)  # half the arc, degrees
        # first moments of the material on the tool circle (its centroid direction)
        Kc, Ks = np.zeros_like(K), np.zeros_like(K)
        np.add.at(Kc, (iy, ix), np.cos(phi))
        np.add.at(Ks, (iy, ix), np.sin(phi))
        self.Kc, self.Ks = Kc * (180.0 / n), Ks * (180.0 / n)
        self._gpad = int(math.ceil(4.0 * _FIELD_SIGMA))  # gaussian support beyond the ring
        self._spec_cache: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
        self.level = self.target - _LEVEL_GUARD_DEG  # guard against raster and contour error
        self.boost = 0.0  # raised for one front to break into a zone that fronts cannot enter

    # ------------------------------------------------------------ raster ops
    def _mark_cut(self, poly: BaseGeometry) -> None:
        """Add ``poly`` to the swept centre area and remove the material within r of it."""
        if poly.is_empty:
            return
        self.S = shapely.union_all([self.S, poly]) if not self.S.is_empty else poly
        minx, miny, maxx, maxy = poly.bounds
        h = self.h
        pad = int(math.ceil(self.r / h)) + 2
        i0 = max(0, int((minx - self.x0) / h) - 1 - pad)
        i1 = min(self.nx, int((maxx - self.x0) / h) + 2 + pad)
        j0 = max(0, int((miny - self.y0) / h) - 1 - pad)
        j1 = min(self.ny, int((maxy - self.y0) / h) + 2 + pad)
        pm = self._fill(poly, (j0, j1, i0, i1))
        self.Smask[j0:j1, i0:i1] |= pm
        # only the material within r of ``poly`` itself (not of the rest of the swept area,
        # which may be claimed ahead of the cut)
        dist = ndimage.distance_transform_edt(~pm) * h
        self.material[j0:j1, i0:i1] &= ~(dist <= self.r)

    def _mark_path(self, pts: np.ndarray) -> None:
        if len(pts) >= 2:
            g = LineString(pts).buffer(self.h * 0.75, quad_segs=2)
        else:
            g = Point(pts[0]).buffer(self.h * 0.75, quad_segs=2)
        self._mark_cut(g.intersection(self.T.buffer(self.h)))

    def _field(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Over raster window ``box`` (j0, j1, i0, i1): half the material arc on the tool
        circle centred at each cell, ``E`` (deg), smoothed over ``_FIELD_SIGMA`` cells away
        from the walls and one cell near them (weight ``smooth_w``), and the first moments
        ``Mx, My`` of that arc (same scale), smoothed over one cell: correlations of the
        material raster with the ring kernels, each folded with its gaussian, by FFT (one
        forward transform of the material, four products, four inverses). The kernels'
        spectra are kept per transform shape (:meth:`_spectra`); shapes are rounded up to
        a multiple of 32 cells so that consecutive fronts share them."""
        from scipy import fft as sfft

        j0, j1, i0, i1 = box
        kr = self.K.shape[0] // 2
        ext = kr + self._gpad
        a0, a1 = max(0, j0 - ext), min(self.ny, j1 + ext)
        b0, b1 = max(0, i0 - ext), min(self.nx, i1 + ext)
        mat = self.material[a0:a1, b0:b1].astype(np.float32)
        H, W = mat.shape
        shape = (self._fft_len(H + 2 * ext), self._fft_len(W + 2 * ext))
        Fm = sfft.rfft2(mat, shape)
        out = []
        for F in self._spectra(shape):
            full = sfft.irfft2(Fm * F, shape)
            out.append(full[kr + j0 - a0: kr + j1 - a0, kr + i0 - b0: kr + i1 - b0])
        E1, E2, Mx, My = out
        E = E1 + self.smooth_w[j0:j1, i0:i1] * (E2 - E1)
        return E, Mx, My

    @staticmethod
    def _fft_len(n: int) -> int:
        from scipy import fft as sfft

        return sfft.next_fast_len(-(-n // 32) * 32, real=True)

    def _spectra(self, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
        """Spectra (``rfft2`` over ``shape``) of the ring kernels folded with gaussians: the
        half-arc kernel at sigma 1 and ``_FIELD_SIGMA`` cells, the two moment kernels at
        sigma 1. The gaussian's transfer function is ``exp(-2 pi^2 sigma^2 f^2)`` (f in
        cycles per cell), the transform of the continuous gaussian (scipy.ndimage samples
        it instead; the two differ by under 1e-3 of the peak for sigma >= 1). The last few
        shapes are kept (a front's window changes shape every few fronts)."""
        got = self._spec_cache.get(shape)
        if got is not None:
            return got
        from scipy import fft as sfft

        fy = sfft.fftfreq(shape[0]).astype(np.float32)[:, None]
        fx = sfft.rfftfreq(shape[1]).astype(np.float32)[None, :]
        f2 = fy * fy + fx * fx

        def gauss(sig: float) -> np.ndarray:
            return np.exp(-2.0 * math.pi ** 2 * sig * sig * f2).astype(np.float32)

        g1 = gauss(1.0)
        FK = sfft.rfft2(self.K[::-1, ::-1].astype(np.float32), shape)
        got = (FK * g1, FK * gauss(_FIELD_SIGMA),
               sfft.rfft2(self.Kc[::-1, ::-1].astype(np.float32), shape) * g1,
               sfft.rfft2(self.Ks[::-1, ::-1].astype(np.float32), shape) * g1)
        if len(self._spec_cache) >= 6:
            self._spec_cache.pop(next(iter(self._spec_cache)))
        self._spec_cache[shape] = got
        return got

    def _directional(self, E: np.ndarray, Mx: np.ndarray, My: np.ndarray) -> np.ndarray:
        """Engagement of a tool moving along the level lines of ``E``: ``E`` (half the
        material arc) when the material on the tool circle is centred on the level line's
        normal (a straight cut), up to the whole arc when it lies ahead. A contiguous arc of
        ``2E`` deg centred ``delta`` off the normal has ``E + delta`` of it in the front half
        (bounded by ``2E``), ``delta`` the angle between the field gradient (the normal) and
        the arc's centroid direction ``(Mx, My)``. Without it, fronts crossing a thin wedge
        of material toward a wall (where the material is ahead, not beside) were planned at
        half their real engagement.

        Input and output ``(ny, nx)`` arrays, degrees; a numba kernel
        (:func:`_directional_cells`), one pass over the window."""
        out = np.empty(E.shape, dtype=np.float64)
        _kernels()["directional"](np.ascontiguousarray(E), np.ascontiguousarray(Mx),
                                  np.ascontiguousarray(My),
                                  math.cos(math.radians(_DIRECTION_DEADBAND_DEG)),
                                  _DIRECTION_DEADBAND_DEG, out)
        return out

    def _setup_wall_starts(self) -> None:
        """The planner-raster state of :meth:`_wall_starts`, computed once in :meth:`setup`:

        - ``wall_n``: unit normal away from the walls (``wall_dist``'s gradient), float32;
        - ``wide``: the cells within ``rho`` (+ 2 cells) of a centre whose disc of radius
          ``rho = _WALL_START_MIN_WIDTH_D * D / 2`` lies in ``T`` (``T``'s opening by that
          disc, from its distance transform): where the pocket is at least
          ``(_WALL_START_MIN_WIDTH_D + 1) D`` wide."""
        h = self.h
        gy, gx = np.gradient(self.wall_dist)
        gn = np.hypot(gx, gy)
        gn[gn < 1e-12] = 1.0
        self.wall_n = ((gx / gn).astype(np.float32), (gy / gn).astype(np.float32))
        rho = 0.5 * _WALL_START_MIN_WIDTH_D * self.D
        inner = self._t_dist(inside=True) > rho
        self.wide = (ndimage.distance_transform_edt(~inner) * h <= rho + 2.0 * h) if inner.any() \
            else np.zeros_like(inner)

    def _wall_starts(self, G: np.ndarray, E: np.ndarray, Mx: np.ndarray, My: np.ndarray,
                     box: tuple[int, int, int, int]) -> np.ndarray:
        """Raise the field ``G`` where a front would start on a wall (outer or island) toward
        the contact the tool meets arriving there.

        A climb front leaves the wall where its level line, run with the material on the
        right, points away from the wall. The tool reaches that start from the cleared side,
        along the wall toward the material, and meets the part of the material arc
        ``[phi_m - E, phi_m + E]`` (``phi_m`` the direction of ``(Mx, My)``, ``E`` half the arc)
        that lies in the front half of that motion: ``2 E`` when the material lies along the
        wall (a front square to the wall: twice the target, 106 deg at a 0.2 D stepover), ``E``
        when it lies toward the wall (a front meeting the wall at a slant). A climb arrival
        cannot do better (it comes from the cleared side; only a conventional one, down the
        front's own line, would). Within ``_WALL_START_BAND_AE`` stepovers of the walls,
        ``G`` is blended up to that contact less ``_WALL_START_ALLOW_DEG`` (weight 1 at the
        wall, 0 at the band's edge), so fronts meet the wall at the slant that keeps their
        starts near the level, as FreeCAD's passes slide along a wall (its 74 passes on the
        Les Paul's ELECTRONIC_CAVITIES all start beside a wall, at 34 deg at most), instead of
        square to it. Where the pocket is narrow (not ``wide``, :meth:`_setup_wall_starts`),
        a channel whose fronts are wall-to-wall trochoid pieces, the allowance is
        ``_WALL_START_CHANNEL_ALLOW_DEG``: slanting them as much as in the open would lengthen
        them (more passes for the same channel). Island walls are included since the width
        limit: before it, slanted fronts kept the channels beside an island from joining
        and links around it failed (a box with a round island dropped the tool 6 times
        instead of once); with it, a 100 x 70 box with a 30 x 20 island (D 6, stepover 0.2)
        has 47 mm of cutting over target + 15 deg against 70 with the outer wall alone and
        97 with square starts, 2 drops in each case.

        Args:
            G: the field the fronts follow (directional engagement), ``(ny, nx)``, degrees.
            E, Mx, My: half material arc and its first moments over the same window.
            box: the window (j0, j1, i0, i1) on the planner raster.

        Returns:
            ``G`` raised in the band (a new array), or ``G`` itself when no cell is raised.
        """
        j0, j1, i0, i1 = box
        b = _WALL_START_BAND_AE * self.p.stepover * self.D
        H, W = G.shape
        # only the band's cells are computed (the whole window took a fifth of the plan)
        dw = self.wall_dist[j0:j1, i0:i1] - (self.r + self.margin)
        jj, ii = np.nonzero(dw < b)
        if not len(jj) or H < 2 or W < 2:
            return G
        d = dw[jj, ii]
        nx, ny = self.wall_n[0][j0 + jj, i0 + ii], self.wall_n[1][j0 + jj, i0 + ii]
        # G's gradient there, as numpy.gradient: central differences inside, one-sided at
        # the window's edges
        jm, jp = np.maximum(jj - 1, 0), np.minimum(jj + 1, H - 1)
        im, ip = np.maximum(ii - 1, 0), np.minimum(ii + 1, W - 1)
        gx = (G[jj, ip] - G[jj, im]) / (ip - im)
        gy = (G[jp, ii] - G[jm, ii]) / (jp - jm)
        mx, my = Mx[jj, ii], My[jj, ii]
        # the climb tangent of the level line, R(+90 deg) of the gradient, leaves the wall
        k = ((gx * ny - gy * nx) > 0.0) & ((mx * mx + my * my) > 1e-12)
        if not k.any():
            return G
        jj, ii, d, nx, ny, mx, my = jj[k], ii[k], d[k], nx[k], ny[k], mx[k], my[k]
        tx, ty = -ny, nx                              # along the wall ...
        sgn = np.where(mx * tx + my * ty >= 0.0, 1.0, -1.0)  # ... toward the material
        delta = np.degrees(np.arctan2(my * tx * sgn - mx * ty * sgn, mx * tx * sgn + my * ty * sgn))
        e = E[jj, ii]
        C = np.minimum(delta + e, 90.0) - np.maximum(delta - e, -90.0)
        w = np.clip(1.0 - d / b, 0.0, 1.0)
        allow = np.where(self.wide[j0 + jj, i0 + ii], _WALL_START_ALLOW_DEG,
                         _WALL_START_CHANNEL_ALLOW_DEG)
        out = G.copy()
        out[jj, ii] += w * np.maximum(0.0, C - allow - G[jj, ii])
        return out

    # ------------------------------------------------------------ emitting
    def _add_line(self, kind: str, q: np.ndarray, trochoid: bool = False, slot: bool = False) -> None:
        if self.pos is not None and float(np.hypot(*(q - self.pos))) < 1e-9:
            return
        self.ops.append(_Op(kind, float(q[0]), float(q[1]), trochoid=trochoid, slot=slot))
        self.pos = np.asarray(q, dtype=float)

    def _clear_path(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether a tool moving a -> b meets no material on the planner raster: no material
        cell within ``r - h/2`` of the segment (a cell the tool already overlaps at ``a`` by
        less than the raster's error is not stock it moves into), and none that the tool
        comes nearer to than at ``a`` within ``r + _LINK_MARGIN_H * h`` (the raster puts the
        stock's edge up to about half a cell off; a link at ``link_feed`` must not skim it:
        a skim 0.1 mm deep is a 15 deg arc, at the feed cap over ten times the chip of the
        cutting feed)."""
        h = self.h
        r_in, r_out = self.r - 0.5 * h, self.r + _LINK_MARGIN_H * h
        i0 = max(0, int((min(a[0], b[0]) - r_out - self.x0) / h))
        i1 = min(self.nx, int((max(a[0], b[0]) + r_out - self.x0) / h) + 2)
        j0 = max(0, int((min(a[1], b[1]) - r_out - self.y0) / h))
        j1 = min(self.ny, int((max(a[1], b[1]) + r_out - self.y0) / h) + 2)
        sub = self.material[j0:j1, i0:i1]
        if not sub.any():
            return True
        jj, ii = np.nonzero(sub)
        px = self.xs[i0 + ii] - a[0]
        py = self.ys[j0 + jj] - a[1]
        d = b - a
        L2 = float(d @ d)
        t = np.clip((px * d[0] + py * d[1]) / L2, 0, 1) if L2 > 0 else np.zeros_like(px)
        ds2 = (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2
        if (ds2 <= r_in * r_in).any():
            return False
        da = np.sqrt(px * px + py * py)
        if not ((ds2 < r_out * r_out) & (np.sqrt(ds2) < da - 0.25 * h)).any():
            return True
        # within the raster's error of the stock (a tangent approach, as onto a ring's
        # gliding lead-in, reads so too): the swept area decides where it is exact, away
        # from the walls (near them it may hold a skin the finishing profile takes)
        seg = LineString([a, b]) if L2 > 0 else Point(a)
        return bool(self.T_core.covers(seg) and self.Sc.covers(seg))

    def _remove_path(self, pts: np.ndarray) -> None:
        """Remove from the material raster every cell within r of the polyline ``pts``
        (only cells still holding material are tested)."""
        if len(pts) == 1:
            pts = np.vstack([pts, pts])
        remove_capsules(self.material, self.xs, self.ys, self.x0, self.y0, self.h, pts, self.r)

    def _lead_in(self, ring: np.ndarray) -> np.ndarray | None:
        """A gliding lead-in onto a closed ring: its last ~3 D, blended from the old cleared
        boundary (weight 0) to the ring (weight 1), ending at the ring's start."""
        seg = np.hypot(*np.diff(ring, axis=0).T)
        total = float(seg.sum())
        Lb = min(3.0 * self.D, 0.5 * total)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        sel = cum >= total - Lb
        tail = ring[sel]
        if len(tail) < 2:
            return None
        sb = self.S.boundary
        pts = shapely.points(tail)
        near = shapely.line_interpolate_point(sb, shapely.line_locate_point(sb, pts))
        nxy = shapely.get_coordinates(near)
        w = ((cum[sel] - (total - Lb)) / max(Lb, 1e-9))[:, None]
        w = 0.5 - 0.5 * np.cos(np.pi * w)
        out = (1 - w) * nxy + w * tail
        # the blend starts on the cleared outline, tangent to the stock; the link to it ends
        # a cell inside (a link may not come within the raster's error of the stock)
        v = nxy[0] - tail[0]
        nv = float(np.hypot(*v))
        if nv > 1e-9:
            pre = nxy[0] + self.h * v / nv
            if self.S.contains(Point(pre)):
                out = np.vstack([pre, out])
        if not self.Tc.covers(LineString(out)):
            return None
        return out

    def _link_to(self, q: np.ndarray, u: np.ndarray | None = None, loop: bool = False) -> None:
        """Keep-down link when the tool meets no material on the way; else a link to a
        lead-in (:meth:`_lead_to`, or from the cleared point nearest ``q``) and the lead-in
        cut, the link routed through cleared material when a straight one is not clear (when
        the lead-in starts where the tool already meets stock, a start amid the stock it is
        about to cut, the route goes to the nearest point behind it where the tool meets none,
        :meth:`_backed_off`, and the lead-in is extended from there); else retract and drop at
        the lead-in's start. With ``loop`` (between two trochoid
        pieces) the return is a half circle through the cleared channel when one fits
        (:meth:`_loop_return`): the pieces and returns make trochoidal loops."""
        assert self.pos is not None
        a = self.pos
        gap = float(np.hypot(*(q - a)))
        if gap < 1e-9:
            return
        if gap < self.tol:
            # a step within the chord tolerance (the piece starts where the last one ended,
            # up to rounding) is part of the cut, not a link at link_feed
            self._add_line("cut", q)
            return
        if self._clear_path(a, q) and self.Sc.covers(LineString([a, q])):
            self._add_line("link", q)
            return
        lead, reached = self._lead_to(q, u, a) if u is not None else (None, None)
        if lead is None:
            lead, reached = np.vstack([self._nearest_inside(q), q]), None
        c = lead[0]
        ret = self._loop_return(a, c) if loop else None
        if ret is not None and self.Tc.covers(LineString(lead)):
            self.counts["trochoid_loops"] += 1
            for w in ret[1:]:
                self._add_line("link", w, trochoid=True)
            for w in lead[1:]:
                self._add_line("cut", w, trochoid=True)
            return
        if reached is None:
            reached = self._reachable(a, c) and self.Tc.covers(LineString(lead))
        if reached:
            self._add_line("link", c)
            self._emit_lead(lead)
            return
        if not self.Tc.covers(LineString(lead)):
            lead = np.vstack([q, q])
            c = lead[0]
        route = self._route(a, c)
        if route is None:
            # the lead starts where the tool already meets stock (a start amid the stock it
            # is about to cut): back off into the cleared area, away from q, to a point the
            # tool can stand at, route there and lead in from it
            back = self._backed_off(c, q)
            if back is not None:
                route = self._route(a, back)
                if route is not None:
                    lead = np.vstack([back, lead])
        if route is not None:
            for w in route[1:]:
                self._add_line("link", w)
            self._emit_lead(lead)
            return
        self.counts["retracts"] += 1
        self.counts["drop"] += 1
        self.ops.append(_Op("entry", method="drop", center=c.copy(), x=float(c[0]), y=float(c[1])))
        self.pos = c.copy()
        self._emit_lead(lead)

    def _backed_off(self, c: np.ndarray, q: np.ndarray) -> np.ndarray | None:
        """A point up to ``D`` from ``c``, away from ``q`` (or, with ``c == q``, toward the
        nearest cleared point), where the tool meets no material and the straight way to ``c``
        stays in ``T``; None when there is none."""
        v = c - q
        if float(np.hypot(*v)) < 1e-9:
            v = self._nearest_inside(q) - q
        n = float(np.hypot(*v))
        if n < 1e-9:
            return None
        v = v / n
        for k in range(1, int(self.D / self.h) + 1):
            p = c + k * self.h * v
            if not self._inside(p):
                break
            if self._clear_path(p, p) and self.Tc.covers(LineString([p, c])):
                return p
        return None

    def _emit_lead(self, lead: np.ndarray) -> None:
        """Emit a lead-in (tool at ``lead[0]``): the stretch on which the tool still meets no
        material is a link (it runs at ``link_feed``; the controller slows to the cutting feed
        by the end of it), the rest a cut."""
        seg = np.hypot(*np.diff(lead, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        n = max(2, int(math.ceil(cum[-1] / self.h)))
        s = np.linspace(0.0, cum[-1], n + 1)
        pts = np.column_stack([np.interp(s, cum, lead[:, 0]), np.interp(s, cum, lead[:, 1])])
        lo, hi = 0, len(pts) - 1  # pts[lo] is clear from lead[0]; find the last such
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._clear_path(pts[0], pts[mid]):
                lo = mid
            else:
                hi = mid - 1
        k = lo - 1  # one sample short of the first contact
        if k >= 1 and s[k] > 2.0 * self.h:
            self._add_line("link", pts[k])
            rest = [w for w, sw in zip(lead[1:], cum[1:]) if sw > s[k] + 1e-9]
        else:
            rest = list(lead[1:])
        for w in rest:
            self._add_line("cut", w)

    def _loop_return(self, a: np.ndarray, c: np.ndarray) -> np.ndarray | None:
        """Return of a trochoidal loop: the half circle on chord ``a -> c`` (at most 1.5 D
        long) that stays in the tool-centre area and meets no material, as points ``(n, 2)``
        from ``a`` to ``c``; instead of a straight return with a full stop and reversal at
        each end, the tool turns through the cleared channel at speed (the half circle is
        fitted into one G2/G3 move). None when neither side fits."""
        ch = np.asarray(c, dtype=float) - np.asarray(a, dtype=float)
        L = float(np.hypot(*ch))
        if L < 4.0 * self.h or L > 1.5 * self.D:
            return None
        e = ch / L
        nrm = np.array([-e[1], e[0]])
        mid = 0.5 * (a + c)
        t = np.linspace(0.0, np.pi, 13)
        for sgn in (1.0, -1.0):
            pts = mid[None, :] - 0.5 * L * np.cos(t)[:, None] * e[None, :] + \
                sgn * 0.5 * L * np.sin(t)[:, None] * nrm[None, :]
            pts[0], pts[-1] = a, c
            if self.Tc.covers(LineString(pts)) and \
                    all(self._clear_path(pts[i], pts[i + 1]) for i in range(len(pts) - 1)):
                return pts
        return None

    def _lead_to(self, q: np.ndarray, u: np.ndarray,
                 a: np.ndarray | None = None) -> tuple[np.ndarray | None, bool | None]:
        """Lead-in onto a piece that starts at ``q`` in direction ``u`` (unit), from cleared
        material: points ``(n, 2)`` ending at ``q``. First a straight lead along ``u`` (the
        tool reaches the front tangentially, at the front's own engagement); where the
        cleared area behind ``q`` is too short (a piece starting at a wall), a circular arc
        lead-in tangent to ``u`` at ``q`` on the cleared side (left of ``u``: climb milling
        with the material on the right), radius ``r`` or ``r/2``, sweeping 90, 60 or 30 deg,
        so the tool turns onto the front instead of being pushed head-on into it (a head-on
        approach meets about twice the target engagement). With ``a`` (the tool's position),
        the first of these whose start a straight keep-down link from ``a`` reaches
        (:meth:`_reachable`) is taken, else the first that fits.

        Returns:
            (lead, reached): the lead-in (``(n, 2)``, in ``T``) and whether a straight link
            from ``a`` reaches its start; ``(None, None)`` when none fits; ``reached`` is None
            without ``a``."""
        ae = self.p.stepover * self.D
        first = None
        for dist in (3.0 * ae, 2.0 * ae, 4.5 * ae, 6.0 * ae):
            cand = q - dist * u
            if self._inside(cand) and self.Tc.covers(LineString([cand, q])):
                lead = np.vstack([cand, q])
                if a is None:
                    return lead, None
                if self._reachable(a, cand):
                    return lead, True
                first = lead if first is None else first
        nrm = np.array([-u[1], u[0]])
        for rho, t0 in ((self.r, 90.0), (self.r, 60.0), (0.5 * self.r, 90.0), (0.5 * self.r, 60.0),
                        (self.r, 30.0), (0.5 * self.r, 30.0)):
            t = np.radians(np.linspace(t0, 0.0, max(4, int(t0 / 7.5) + 1)))
            ctr = q + rho * nrm
            pts = ctr[None, :] - rho * (np.cos(t)[:, None] * nrm[None, :] + np.sin(t)[:, None] * u[None, :])
            pts[-1] = q
            if self._inside(pts[0]) and self.Tc.covers(LineString(pts)):
                if a is None:
                    return pts, None
                if self._reachable(a, pts[0]):
                    return pts, True
                first = pts if first is None else first
        return (first, False) if first is not None else (None, None)

    def _reachable(self, a: np.ndarray, c: np.ndarray) -> bool:
        """Whether a keep-down link a -> c is straight and clear (as :meth:`_link_to` takes it)."""
        return self._clear_path(a, c) and self.Tc.covers(LineString([a, c]))

    def _route(self, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        """A keep-down link a -> b through cleared material: the shortest 8-connected path on
        the planner raster over cells where the tool meets no material (no material cell
        within ``r``) inside the tool-centre area, shortened greedily to straight legs that
        each pass :meth:`_clear_path` and stay in ``T``. None when there is no such path or
        it is longer than ``4 D + |ab| / 2`` plus the distance a link covers in the second a
        retract, rapid and drop costs (``_DROP_COST_S`` at ``link_feed``; 20 mm at 1200
        mm/min, 250 mm at 15000); then the drop is quicker.

        When the tool at ``a`` stands against stock (a pass that ended on a wall's or an
        island's skin), no raster cell next to it is free and no leg leaves it along the
        wall: the route then starts with a short straight step away from the stock
        (:meth:`_escapes`); only with ``wall_start_slant``, whose slanted fronts end more
        passes against a skin: on the pocket lab's sample (4 cavities and a box with a round
        island, two levels, links at the feed cap) it brings the drops from 8 to 3 (cycle
        1938.7 -> 1933.2 s), as many as with square starts (where it changes nothing).

        Method: Dijkstra on the free-cell grid graph (scipy.sparse.csgraph)."""
        out = self._route_grid(a, b)
        if out is not None or not self.p.wall_start_slant or self._stands_clear(a):
            return out
        for p in self._escapes(a, b):
            out = self._route_grid(p, b)
            if out is not None:
                return np.vstack([a, out])
        return None

    def _stands_clear(self, p: np.ndarray) -> bool:
        """Whether the tool at ``p`` is more than half a raster cell clear of every material
        cell (the route's free-cell rule)."""
        h, rr = self.h, self.r + 0.5 * self.h
        i0, i1 = max(0, int((p[0] - rr - self.x0) / h)), min(self.nx, int((p[0] + rr - self.x0) / h) + 2)
        j0, j1 = max(0, int((p[1] - rr - self.y0) / h)), min(self.ny, int((p[1] + rr - self.y0) / h) + 2)
        jj, ii = np.nonzero(self.material[j0:j1, i0:i1])
        if not len(jj):
            return True
        dx, dy = self.xs[i0 + ii] - p[0], self.ys[j0 + jj] - p[1]
        return bool((dx * dx + dy * dy > rr * rr).all())

    def _escapes(self, a: np.ndarray, b: np.ndarray, n: int = 3) -> list[np.ndarray]:
        """Up to ``n`` points a short straight step from ``a`` (2, 4 and 8 raster cells, 16
        headings) that the tool stands clear at (:meth:`_stands_clear`) and reaches from
        ``a`` by a clear keep-down leg (:meth:`_reachable`), the shortest steps first and,
        among equal steps, the nearest to ``b`` first."""
        out: list[np.ndarray] = []
        phi = np.radians(np.arange(16) * 22.5)
        dirs = np.column_stack([np.cos(phi), np.sin(phi)])
        for k in (2.0, 4.0, 8.0):
            ps = a[None, :] + k * self.h * dirs
            ps = ps[np.argsort(np.hypot(*(ps - b[None, :]).T))]
            for p in ps:
                if self.Tc.contains(Point(p)) and self._stands_clear(p) and self._reachable(a, p):
                    out.append(p)
                    if len(out) >= n:
                        return out
        return out

    def _route_grid(self, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        """:meth:`_route`'s grid search from ``a`` (Dijkstra, then the greedy shortcut)."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import dijkstra

        h, r, D = self.h, self.r, self.D
        straight = float(np.hypot(*(b - a)))
        link_feed = float(self.p.link_feed) if self.p.link_feed is not None else float(self.p.feed)
        limit = _ROUTE_MAX_LEN_D * D + 0.5 * straight + link_feed / 60.0 * _DROP_COST_S
        m = 2.0 * D
        i0 = max(0, int((min(a[0], b[0]) - m - self.x0) / h))
        i1 = min(self.nx, int((max(a[0], b[0]) + m - self.x0) / h) + 2)
        j0 = max(0, int((min(a[1], b[1]) - m - self.y0) / h))
        j1 = min(self.ny, int((max(a[1], b[1]) + m - self.y0) / h) + 2)
        kr = int(math.ceil(r / h)) + 1
        a0, a1 = max(0, j0 - kr), min(self.ny, j1 + kr)
        b0, b1 = max(0, i0 - kr), min(self.nx, i1 + kr)
        mat = self.material[a0:a1, b0:b1]
        dm = ndimage.distance_transform_edt(~mat) * h if mat.any() else np.full(mat.shape, np.inf)
        free = (dm[j0 - a0:j1 - a0, i0 - b0:i1 - b0] > r + 0.5 * h) & self.Tmask[j0:j1, i0:i1]
        # search on 2 x 2 blocks (a block is free when all its cells are): 4x fewer nodes;
        # every leg of the result is re-checked exactly below
        H, W = free.shape[0] // 2, free.shape[1] // 2
        if H < 1 or W < 1:
            return None
        free = free[:2 * H, :2 * W].reshape(H, 2, W, 2).all(axis=(1, 3))
        h2 = 2.0 * h

        def cell(p: np.ndarray) -> tuple[int, int]:
            return (int((p[1] - self.y0) / h - j0) // 2, int((p[0] - self.x0) / h - i0) // 2)

        ca, cb = cell(a), cell(b)
        for (cj, ci) in (ca, cb):
            if not (0 <= cj < H and 0 <= ci < W):
                return None
        free[ca] = free[cb] = True
        idx = -np.ones((H, W), dtype=np.int64)
        nz = np.flatnonzero(free.ravel())
        idx.ravel()[nz] = np.arange(len(nz))
        rows, cols, wts = [], [], []
        for dj, di, w in ((0, 1, 1.0), (1, 0, 1.0), (1, 1, math.sqrt(2)), (1, -1, math.sqrt(2))):
            A = idx[0:H - dj, max(0, -di):W - max(0, di)]    # cell
            B = idx[dj:H, max(0, di):W + min(0, di)]         # its neighbour at (dj, di)
            ok = (A >= 0) & (B >= 0)
            rows.append(A[ok]); cols.append(B[ok]); wts.append(np.full(int(ok.sum()), w * h2))
        n = len(nz)
        G = coo_matrix((np.concatenate(wts), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n, n)).tocsr()
        s0, s1 = int(idx[ca]), int(idx[cb])
        dist, pred = dijkstra(G, directed=False, indices=s0, return_predecessors=True,
                              limit=limit)
        if not math.isfinite(dist[s1]):
            return None
        chain = [s1]
        while chain[-1] != s0:
            chain.append(int(pred[chain[-1]]))
            if chain[-1] < 0:
                return None
        chain.reverse()
        flat = nz[np.asarray(chain)]
        jj, ii = np.divmod(flat, W)
        pts = np.column_stack([self.xs[i0 + 2 * ii] + 0.5 * h, self.ys[j0 + 2 * jj] + 0.5 * h])
        pts[0], pts[-1] = a, b
        # greedy shortcut: the farthest point reachable by a clear straight leg
        def leg_ok(u: np.ndarray, v: np.ndarray) -> bool:
            return self._reachable(u, v)

        out = [pts[0]]
        k = 0
        while k < len(pts) - 1:
            nxt = k + 1
            lo, hi = k + 1, len(pts) - 1
            while lo <= hi:
                mid = (lo + hi) // 2
                if leg_ok(pts[k], pts[mid]):
                    nxt, lo = mid, mid + 1
                else:
                    hi = mid - 1
            if nxt == k + 1 and not leg_ok(pts[k], pts[nxt]):
                return None
            out.append(pts[nxt])
            k = nxt
        out = np.asarray(out)
        if float(np.hypot(*np.diff(out, axis=0).T).sum()) > limit:
            return None
        return out

    def _helix_at(self, c: np.ndarray, rh: float) -> None:
        """Helix entry centred at ``c``, centre-path radius ``rh``; the tool ends at
        ``c + (rh, 0)`` with the disc of radius ``rh`` swept."""
        self._flush_tail()
        start = c + np.array([rh, 0.0])
        self.ops.append(_Op("entry", float(start[0]), float(start[1]), method="helix",
                            center=c.copy(), rh=rh))
        self.counts["helix"] += 1
        self.pos = start
        disc = Point(c).buffer(rh, quad_segs=32).intersection(self.T)
        self._mark_cut(disc)

    def _entry(self, piece: Polygon) -> None:
        self._flush_tail()
        p = self.p
        c, rho = _mic(piece, self.tol)
        rh = min(self.D / 4.0, rho - self.tol)
        if p.entry == "helix" and rh >= self.D / 16.0:
            self._helix_at(c, rh)
            return
        if p.entry in ("helix", "ramp"):
            # longest straight chord through the piece's centre, along its major axis
            rect = piece.minimum_rotated_rectangle
            xy = np.asarray(rect.exterior.coords)[:4]
            e1, e2 = xy[1] - xy[0], xy[2] - xy[1]
            ax = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
            ax = ax / max(np.hypot(*ax), 1e-12)
            L = 5.0 * self.D
            line = LineString([c - ax * L, c + ax * L]).intersection(piece)
            segs = [s for s in _lines(line) if len(s) >= 2]
            if segs:
                s = max(segs, key=lambda q: float(np.hypot(*(q[-1] - q[0]))))
                a, b = s[0], s[-1]
                if float(np.hypot(*(b - a))) >= 0.5 * self.D:
                    path = np.vstack([a, b])
                    self.ops.append(_Op("entry", float(a[0]), float(a[1]), method="ramp", path=path))
                    self.counts["ramp"] += 1
                    self.pos = a.copy()
                    self._mark_path(path)
                    if p.entry == "helix":
                        self.warnings.append(f"ramp entry at ({a[0]:.3f}, {a[1]:.3f}): no helix fits")
                    return
        self.ops.append(_Op("entry", float(c[0]), float(c[1]), method="plunge", center=c.copy()))
        self.counts["plunge"] += 1
        self.pos = c.copy()
        if rh >= self.D / 16.0:
            # break out of the plunge hole on a circle of radius rh at depth (a helix's flat
            # turn), marked slot: a tool moving out of its own hole meets half its circle in
            # stock at once, so no front can leave it at the target engagement (with the
            # hole alone the planner plunged 44 times on VOID_CHAMBERS#1, D 6, stepover 0.2)
            t = np.linspace(0.0, 2.0 * math.pi, 65)
            for q in c + rh * np.column_stack([np.cos(t), np.sin(t)]):
                self._add_line("cut", q, slot=True)
            self.counts["slots"] += 1
            self._mark_cut(Point(c).buffer(rh, quad_segs=32).intersection(self.T))
        else:
            self._mark_path(c[None, :])
        self.warnings.append(f"plunge entry at ({c[0]:.3f}, {c[1]:.3f})" +
                             (" (entry='plunge')" if p.entry == "plunge" else ": no helix or ramp fits"))

    def _refresh_cleared(self) -> None:
        """Forget the cleared-area helpers; :attr:`Sc` is rebuilt from ``S`` when next used
        (most fronts of a spiral need it not)."""
        self._Sc = None
        self._bands: list[BaseGeometry] = []

    @property
    def Sc(self) -> BaseGeometry:
        """Swept centre area ``S`` grown by tol/2, plus the bands of the pieces cut since
        (prepared): a link covered by it runs through cleared material."""
        if self._Sc is None:
            self._Sc = shapely.union_all([self.S.buffer(self.tol * 0.5)] + self._bands)
            shapely.prepare(self._Sc)
        elif self._bands:
            self._Sc = shapely.union_all([self._Sc] + self._bands)
            shapely.prepare(self._Sc)
        self._bands = []
        return self._Sc

    @Sc.setter
    def Sc(self, g: BaseGeometry) -> None:
        self._Sc, self._bands = g, []
        shapely.prepare(g)

    def _inside(self, pt: np.ndarray) -> bool:
        """Whether ``pt`` lies in ``S`` shrunk by one raster cell (safely in the cleared
        area): inside ``S`` and at least ``h`` from its outline (near the point only; no
        shrunk copy of ``S`` is built)."""
        P = Point(pt)
        if not self.S.contains(P):
            return False
        x, y, h = float(pt[0]), float(pt[1]), self.h
        near = shapely.clip_by_rect(self.S.boundary, x - 2 * h, y - 2 * h, x + 2 * h, y + 2 * h)
        return near.is_empty or near.distance(P) >= h

    def _nearest_inside(self, q: np.ndarray) -> np.ndarray:
        """The point of ``S`` shrunk by one raster cell nearest ``q`` (``q`` itself when
        there is none), from the part of ``S`` around ``q`` only: ``S`` clipped to a square of half side
        ``dist(q, S) + 3 h + 1`` mm about ``q`` and shrunk by ``h`` (the clip's own edges,
        farther from ``q`` than the nearest point, do not move it)."""
        P = Point(q)
        if self.S.is_empty:
            return np.asarray(q, dtype=float)
        R = float(self.S.distance(P)) + 3.0 * self.h + 1.0
        x, y = float(q[0]), float(q[1])
        loc = shapely.clip_by_rect(self.S, x - R, y - R, x + R, y + R).buffer(-self.h)
        if loc.is_empty:
            return np.asarray(q, dtype=float)
        return np.asarray(nearest_points(loc, P)[0].coords[0], dtype=float)

    def _cut_piece(self, pts: np.ndarray, trochoid: bool = False, slot: bool = False,
                   spiral: bool = True) -> None:
        closed = len(pts) > 3 and float(np.hypot(*(pts[0] - pts[-1]))) < 1e-9
        spiral = spiral and closed and not (trochoid or slot)
        if spiral and self._spiral_into(pts):
            return
        self._flush_tail()
        if closed and not self.S.is_empty:
            lead = self._lead_in(pts)
            if lead is not None and self._reachable(self.pos, lead[0]):
                self._add_line("link", lead[0])
                for q in lead[1:]:
                    self._add_line("cut", q, trochoid=trochoid, slot=slot)
        d0 = pts[min(len(pts) - 1, 1)] - pts[0]
        n0 = float(np.hypot(*d0))
        loop = trochoid and bool(self.ops) and self.ops[-1].trochoid and self.ops[-1].kind == "cut"
        self._link_to(pts[0], d0 / n0 if n0 > 1e-9 else None, loop=loop)
        if spiral:
            self._cut_ring_body(pts)
            return
        for q in pts[1:]:
            self._add_line("cut", q, trochoid=trochoid, slot=slot)

    # ------------------------------------------------------------ spirals
    def _cut_ring_body(self, ring: np.ndarray) -> None:
        """Cut closed ``ring`` (tool at ``ring[0]``) but for its last ``min(3 D, len / 2)``,
        which is held back (``self.tail``): when the next front is also a closed ring, that
        tail becomes the spiral transition into it (:meth:`_spiral_into`); otherwise it is cut
        as it is (:meth:`_flush_tail`)."""
        seg = np.hypot(*np.diff(ring, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        total = float(cum[-1])
        Lb = min(3.0 * self.D, 0.5 * total)
        ls = LineString(ring)
        cut_at = total - Lb
        k = int(np.searchsorted(cum, cut_at, side="right"))  # first vertex beyond cut_at
        split = np.asarray(ls.interpolate(cut_at).coords[0])
        for q in ring[1:k]:
            self._add_line("cut", q)
        self._add_line("cut", split)
        self.tail = np.vstack([split, ring[k:]])

    def _flush_tail(self) -> None:
        """Cut the held-back end of the last closed ring as it is."""
        if self.tail is None:
            return
        tail, self.tail = self.tail, None
        for q in tail[1:]:
            self._add_line("cut", q)

    def _spiral_into(self, ring: np.ndarray) -> bool:
        """Spiral transition: instead of finishing the previous closed ring and stepping over,
        blend its held-back tail into ``ring`` (weight ``0.5 - 0.5 cos(pi t)`` along the tail,
        from the tail to its nearest points on ``ring``), so consecutive rings form one
        continuous spiral with no link and no re-cut. The blend ends on ``ring`` at the point
        nearest the previous ring's start; ``ring`` is cut from there. False (nothing
        emitted) when there is no tail or the blend would leave the tool-centre area."""
        if self.tail is None or len(self.tail) < 2:
            return False
        tail = self.tail
        seg = np.hypot(*np.diff(tail, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        Lt = float(cum[-1])
        if Lt < 1e-6:
            return False
        # resample the tail finely enough to follow the blend (about h)
        n = max(8, int(math.ceil(Lt / max(self.h, 0.05))))
        s = np.linspace(0.0, Lt, n + 1)
        tx = np.interp(s, cum, tail[:, 0])
        ty = np.interp(s, cum, tail[:, 1])
        ls = LineString(ring)
        d_on = shapely.line_locate_point(ls, shapely.points(np.column_stack([tx, ty])))
        near = shapely.get_coordinates(shapely.line_interpolate_point(ls, d_on))
        # only into the ring that encloses the tail, one step out (a spiral): a blend into a
        # ring elsewhere would leave the tail's own strip uncut
        gap = np.hypot(near[:, 0] - tx, near[:, 1] - ty)
        if float(gap.max()) > 2.5 * self.p.stepover * self.D or \
                not Polygon(ring).buffer(self.tol).covers(Point(tail[-1])):
            return False
        w = 0.5 - 0.5 * np.cos(np.pi * s / Lt)
        blend = np.column_stack([(1 - w) * tx + w * near[:, 0], (1 - w) * ty + w * near[:, 1]])
        blend[-1] = near[-1]
        blend = np.asarray(shapely.simplify(LineString(blend), self.tol / 2).coords)[:, :2]
        if not self.Tc.covers(LineString(blend)):
            return False
        # ring re-started at the blend's end
        total = float(ls.length)
        s0 = float(d_on[-1])
        from shapely.ops import substring
        a = np.asarray(substring(ls, s0, total).coords)[:, :2]
        b = np.asarray(substring(ls, 0.0, s0).coords)[:, :2]
        new_ring = np.vstack([a, b[1:]]) if len(b) > 1 else a
        if float(np.hypot(*(new_ring[0] - new_ring[-1]))) > 1e-6 or len(new_ring) < 4:
            return False
        self.tail = None
        for q in blend[1:]:
            self._add_line("cut", q)
        self._remove_path(blend)
        self.counts["spiral_links"] += 1
        self._cut_ring_body(new_ring)
        return True

    # ------------------------------------------------------------ fronts
    def _front_step(self, own: bool = True) -> bool:
        """Grow S by one front; emit it. False when nothing grew. With ``own``, growth only
        where it joins the part of S the tool is in, unless none of that grows (then from all
        of S)."""
        h, D = self.h, self.D
        minx, miny, maxx, maxy = self.active.bounds if self.active is not None else self.S.bounds
        if self.zone_box is not None:
            zx0, zy0, zx1, zy1 = self.zone_box
            minx, miny = max(minx, zx0 - self.D), max(miny, zy0 - self.D)
            maxx, maxy = min(maxx, zx1 + self.D), min(maxy, zy1 + self.D)
            if minx > maxx or miny > maxy:
                return False
        grow = D + self.r + 3 * h
        i0 = max(0, int((minx - grow - self.x0) / h))
        i1 = min(self.nx, int((maxx + grow - self.x0) / h) + 1)
        j0 = max(0, int((miny - grow - self.y0) / h))
        j1 = min(self.ny, int((maxy + grow - self.y0) / h) + 1)
        E, Mx, My = self._field((j0, j1, i0, i1))
        S = self.Smask[j0:j1, i0:i1]
        Tm = self.Tmask[j0:j1, i0:i1]
        # distance to the swept area on a half-resolution raster (a soft reach cap: an error
        # of ~h is immaterial), upsampled
        dist = ndimage.distance_transform_edt(~S[::2, ::2]) * (2 * h)
        dist = np.repeat(np.repeat(dist, 2, axis=0), 2, axis=1)[:S.shape[0], :S.shape[1]]
        G0 = self._directional(E, Mx, My)
        E = self._wall_starts(G0, E, Mx, My, (j0, j1, i0, i1)) if self.p.wall_start_slant else G0
        cap = 0.95 * D - 2 * h
        lev = self.level + self.boost
        ok = (E <= lev) & (dist <= cap)
        Zm = self.zone[j0:j1, i0:i1] | S if self.zone is not None else None
        if Zm is not None:
            ok &= Zm
        ok |= S
        lab, _ = ndimage.label(ok)
        # growth from the part of S the tool is in (so the pieces of the front are reached
        # without a retract); from all of S only when that part cannot grow
        far = None
        keep = self._own_labels(lab, S, (j0, j1, i0, i1)) if own else None
        if keep is not None:
            far = ~np.isin(lab, keep) & (lab > 0)
            if int((ok & ~far & ~S).sum()) * h < 0.5 * D:
                far = None
        used_own = far is not None
        if far is None:
            keep = np.unique(lab[S & (lab > 0)])
            far = ~np.isin(lab, keep) & (lab > 0)
        # growth limits (reach cap, unconnected cells, zone) as a penalty added to the field;
        # the masks are hard steps: smoothed, the contour follows them as a curve, not as a
        # staircase of cell edges (each step a short head-on move)
        P = np.clip((dist - cap) / h, 0.0, None) * 30.0
        P[far] = 180.0
        if Zm is not None:
            P[~Zm] = 180.0
        G = E + ndimage.gaussian_filter(P, 0.8)
        G[far] = 180.0
        if Zm is not None:
            G[~Zm] = 180.0
        # contour at the level
        import contourpy
        # padded with a border above the level, so that every contour line closes inside the
        # window (an open line closed by a chord would claim area no front cuts)
        xw, yw = self.xs[i0:i1], self.ys[j0:j1]
        xw = np.concatenate([[xw[0] - h], xw, [xw[-1] + h]])
        yw = np.concatenate([[yw[0] - h], yw, [yw[-1] + h]])
        cg = contourpy.contour_generator(xw, yw, np.pad(G, 1, constant_values=180.0),
                                         line_type=contourpy.LineType.Separate)
        lines = cg.lines(lev)
        polys = []
        for ln in lines:
            if len(ln) >= 4:
                pg = Polygon(ln)
                if not pg.is_valid:
                    pg = pg.buffer(0)
                if not pg.is_empty:
                    polys.append(pg)
        if not polys:
            return self._front_step(own=False) if used_own else False
        reg = polys[0]
        for pg in polys[1:]:
            reg = reg.symmetric_difference(pg)
        new = reg.intersection(self.T)
        new = _lean(shapely.union_all([new, self.S]))
        parts = _pieces(new)
        kept = [q for q in parts if q.area > h * h]
        new = _oriented(new if len(kept) == len(parts) else shapely.union_all(kept))
        gain = new.area - self.S.area
        if gain < 0.5 * h * D:
            return self._front_step(own=False) if used_own else False
        eps = 2.0 * self.tol
        # the growth lies inside the window (its contours close inside it): the boundaries
        # are clipped to the window (grown by 1 mm) before the set operations, which would
        # otherwise run over the whole cleared outline at every front
        wb = (xw[0] - 1.0, yw[0] - 1.0, xw[-1] + 1.0, yw[-1] + 1.0)
        front = shapely.clip_by_rect(new.boundary, *wb).difference(shapely.clip_by_rect(self.Tb_eps, *wb))
        s_band = shapely.clip_by_rect(self.S.boundary, *wb).buffer(max(eps, 0.3 * h), quad_segs=4)
        front = front.difference(s_band)
        front = shapely.line_merge(front, directed=True) if not front.is_empty else front
        pieces = [q for q in _lines(front) if len(q) >= 2 and
                  float(np.hypot(*np.diff(q, axis=0).T).sum()) > 2 * h]
        self._refresh_cleared()
        old_S = self.S
        self.counts["fronts"] += 1
        # order pieces: nearest start first
        todo = [shapely.simplify(LineString(q), self.tol / 2) for q in pieces]
        todo = [self._climb(np.asarray(g.coords)[:, :2], new) for g in todo]
        while todo:
            k = min(range(len(todo)), key=lambda t: float(np.hypot(*(todo[t] - self.pos).T).min()
                    if float(np.hypot(*(todo[t][0] - todo[t][-1]))) < 1e-9 else np.hypot(*(todo[t][0] - self.pos))))
            q = todo.pop(k)
            if len(q) > 3 and float(np.hypot(*(q[0] - q[-1]))) < 1e-9:
                i = int(np.argmin(np.hypot(*(q - self.pos).T)))
                q = np.vstack([q[i:-1], q[:i + 1]])
            # distance to the walls of T near the piece only (a piece within D/4 of the walls
            # has its nearest wall points within D/4 + 1 mm of its bounding box; farther
            # points read farther, which the test below needs no more exactly)
            qx0, qy0 = q.min(axis=0) - (0.25 * D + 1.0)
            qx1, qy1 = q.max(axis=0) + (0.25 * D + 1.0)
            tb = shapely.clip_by_rect(self.Tb, qx0, qy0, qx1, qy1)
            dT = shapely.distance(tb, shapely.points(q)) if not tb.is_empty else np.full(len(q), np.inf)
            troch = bool(dT.max() < 0.25 * D and dT[0] < 2 * eps + h and dT[-1] < 2 * eps + h)
            if troch:
                self.counts["trochoid_pieces"] += 1
            self._cut_piece(q, trochoid=troch)
            self._remove_path(q)
            self._refresh_cleared_partial(q)
        self.S = new
        self.Smask[j0:j1, i0:i1] |= ((G <= lev) & ~far & Tm)
        self.active = shapely.union_all([LineString(q) for q in pieces]) if pieces else None
        self._refresh_cleared()
        return bool(pieces)

    def _own_labels(self, lab: np.ndarray, S: np.ndarray,
                    box: tuple[int, int, int, int]) -> np.ndarray | None:
        """Labels (of ``lab``, the components of swept + growable cells over raster window
        ``box`` = j0, j1, i0, i1, of which ``S`` is the swept mask) of the swept cells within
        3 cells of the tool: the growth joined to the part of S the tool is in. None when the
        tool is outside the window or near no swept cell. Parts joined only outside the
        window count as separate (growth from them waits for a later front)."""
        if self.pos is None:
            return None
        j0, j1, i0, i1 = box
        j = int((self.pos[1] - self.y0) / self.h) - j0
        i = int((self.pos[0] - self.x0) / self.h) - i0
        if not (0 <= j < j1 - j0 and 0 <= i < i1 - i0):
            return None
        w = (slice(max(0, j - 3), j + 4), slice(max(0, i - 3), i + 4))
        ids = np.unique(lab[w][S[w] & (lab[w] > 0)])
        return ids if len(ids) else None

    def _climb(self, q: np.ndarray, new: BaseGeometry) -> np.ndarray:
        """Front piece ``q`` directed for climb milling: the area it clears (``new``) on its
        left, the stock on its right (M3 spindle; see ``workbench.cam.pocket``). Decided at
        the middle of its longest segment, h/2 to either side; reversed when the cleared
        side is the right one."""
        d = np.diff(q, axis=0)
        L = np.hypot(d[:, 0], d[:, 1])
        k = int(np.argmax(L))
        if L[k] < 1e-9:
            return q
        m = 0.5 * (q[k] + q[k + 1])
        nrm = np.array([-d[k, 1], d[k, 0]]) / L[k] * (0.5 * self.h)
        # against ``new`` near the two points only (the whole swept outline took 2 s of a
        # 61 s plan on the Les Paul CUTOUT band)
        loc = shapely.clip_by_rect(new, m[0] - self.h, m[1] - self.h, m[0] + self.h, m[1] + self.h)
        left, right = shapely.contains_xy(loc, [m[0] + nrm[0], m[0] - nrm[0]],
                                          [m[1] + nrm[1], m[1] - nrm[1]])
        return q[::-1].copy() if (right and not left) else q

    def _refresh_cleared_partial(self, q: np.ndarray) -> None:
        band = LineString(q).buffer(self.tol, quad_segs=2) if len(q) >= 2 else Point(q[0]).buffer(self.tol)
        self._bands.append(band)

    # ------------------------------------------------------------ top level
    def plan(self) -> None:
        self.setup()
        self._spirals()
        self._rounds()
        # safety net: material the tool can still reach (after the finishing profile) is
        # re-opened and cleared again; the heuristics above must never leave uncut stock
        for _ in range(3):
            if not self._reopen_leftover():
                break
            self._rounds()
        self._rest_cuts()
        for _ in range(2):
            if not self._seal_slivers():
                break
        self._finish()

    def _rest_cuts(self) -> None:
        """Last step of the safety net: stock the clearing must remove (:meth:`_leftover`)
        still standing within reach of ``T`` after the re-opened rounds is cut directly.
        (A growth step can close a gap between cleared parts with no front left to cut,
        its whole new boundary on theirs or on the walls; fronts do not grow into such a
        gap again.) Tool positions on the stock, each within ``r/2`` of the next and
        covering every stock cell within ``r/2`` (greedy), moved into ``T`` where they lie
        outside it, chained nearest first; each chain is a piece like a front's (linked,
        led in, its engagement measured and slowed down like any cut)."""
        h, r = self.h, self.r
        mat = self._leftover()
        if not mat.any():
            return
        mat &= self._t_dist(inside=False) <= r - 0.5 * h
        lab, n = ndimage.label(mat, structure=np.ones((3, 3), dtype=bool))
        if n == 0:
            return
        chains: list[np.ndarray] = []
        for k, sl in enumerate(ndimage.find_objects(lab), start=1):
            jj, ii = np.nonzero(lab[sl] == k)
            chains.append(self._cover(np.column_stack([self.xs[ii + sl[1].start],
                                                       self.ys[jj + sl[0].start]])))
        here = self.pos if self.pos is not None else chains[0][0]
        while chains:
            k = min(range(len(chains)), key=lambda t: float(np.hypot(*(chains[t] - here).T).min()))
            cs = chains.pop(k)
            # nearest-neighbour order from the point nearest the tool
            order = [int(np.argmin(np.hypot(*(cs - here).T)))]
            rest = set(range(len(cs))) - set(order)
            while rest:
                last = cs[order[-1]]
                nxt = min(rest, key=lambda t: float(np.hypot(*(cs[t] - last))))
                order.append(nxt)
                rest.discard(nxt)
            self._cut_chain(cs[order])
            here = self.pos

    def _cover(self, pts: np.ndarray) -> np.ndarray:
        """Tool positions for rest cuts over stock points ``pts`` (``(n, 2)``, mm): greedy,
        in the order given, each point chosen unless within ``r / 2`` of one chosen before,
        moved to the nearest point of ``T`` when outside it. ``(m, 2)``."""
        left = np.ones(len(pts), dtype=bool)
        out = []
        while left.any():
            q = pts[np.flatnonzero(left)[0]]
            left &= np.hypot(*(pts - q).T) > 0.5 * self.r
            if not shapely.contains_xy(self.T, q[0], q[1]):
                q = np.asarray(nearest_points(self.T, Point(q))[0].coords[0])
            out.append(q)
        return np.asarray(out)

    def _cut_chain(self, cs: np.ndarray) -> None:
        """Cut the rest-cut positions ``cs`` in order, as pieces (:meth:`_rest_piece`) split
        where the straight way from one to the next leaves ``T``."""
        piece = [cs[0]]
        for q in cs[1:]:
            if not self.Tc.covers(LineString([piece[-1], q])):
                self._rest_piece(np.asarray(piece))
                piece = []
            piece.append(q)
        self._rest_piece(np.asarray(piece))

    def _depth_paths(self) -> list[np.ndarray]:
        """Tool-centre polylines (``(n, 2)`` arrays, mm) of every move the 2-D plan so far
        makes at depth: cuts and keep-down links between entries, each helix's full circle
        (its flat turn; a polygon of chord sagitta under 1e-4 mm, inside the circle), each
        ramp's chord, a plunge's or drop's point (n = 1); with ``finish_pass``, the
        finishing profile's rings that :meth:`_finish` will cut."""
        out: list[np.ndarray] = []
        cur: list[tuple[float, float]] = []
        for op in self.ops:
            if op.kind != "entry":
                cur.append((op.x, op.y))
                continue
            if cur:
                out.append(np.asarray(cur))
            if op.method == "helix" and op.center is not None and op.rh > 0:
                n = max(16, int(math.ceil(math.pi / math.acos(max(-1.0, 1.0 - 1e-4 / op.rh)))))
                t = np.linspace(0.0, 2.0 * math.pi, n + 1)
                out.append(op.center + op.rh * np.column_stack([np.cos(t), np.sin(t)]))
                cur = [(op.x, op.y)]
            elif op.method == "ramp" and op.path is not None:
                out.append(np.asarray(op.path, dtype=float))
                cur = [tuple(op.path[0])]
            else:
                cur = [(op.x, op.y)]
        if cur:
            out.append(np.asarray(cur))
        if self.p.finish_pass:
            out += self._finish_rings()
        return out

    def _seal_slivers(self) -> bool:
        """Exact last step of the safety net: stock narrower than a raster cell, which the
        raster-based steps above cannot see (it may hold no cell centre), is found on the
        swept discs themselves and cut by rest cuts. True when any was cut.

        1. Candidates (raster, exact distances): cells of the pocket within ``r - h`` of
           ``T`` (so the tool can reach them, corners beyond the tool radius excluded) whose
           centre lies farther than ``r - 0.75 h`` from every tool-centre path at depth
           (:meth:`_depth_paths`, :func:`workbench.cam.replay.remove_capsules`). The distance
           to the paths is 1-Lipschitz and every point lies within ``h / sqrt(2)`` of a cell
           centre, so any stock point (distance over ``r``) has a candidate cell within
           ``h / sqrt(2)``. Without a finishing pass, stock within r of ``T``'s outline
           (the scallops roughing leaves on the walls, which no front traces) is not
           looked for: cut by 60 rest cuts on the Les Paul NECK_MORTISE it cost 5.5 % of
           the cycle and still left 8 of its 22 mm².
        2. Each 8-connected group of candidates is checked exactly (shapely, over its box
           grown by h): the reachable area ``(T ⊕ r)`` less the discs of radius
           ``r - tol / 2`` along the paths near it (half the arc-fit tolerance kept, so
           that fitted arcs do not reopen it). Stock wider than ``_SLIVER_MIN_WIDTH`` (half
           the width :func:`workbench.cam.checks.uncut_area` counts as significant) is cut.
        3. Each such sliver is cut like :meth:`_rest_cuts`' stock: tool positions over its
           inscribed circle's centre and its outline (:meth:`_cover`), chained
           (:meth:`_cut_chain`).

        Measured: smart_guitar_back_v5 BODY_OUTLINE (D 6.35, stepover 0.3) left a
        0.061 mm², 0.166 mm wide sliver where three families of fronts meet, 80 mm from the
        wall; its planner cell was 0.327 mm."""
        self._flush_tail()  # its cuts are in the plan (_finish would cut it first)
        h, r = self.h, self.r
        paths = self._depth_paths()
        if not paths:
            return False
        if not self.p.finish_pass:
            # the scallops a roughing pass leaves on the walls are not slivers: counted as
            # cut (by T's outline, not cut), as the fronts leave them
            paths = paths + self._finish_rings(self.T)
        reach = self._t_dist(inside=False) <= r - h
        cand = (self.wall_dist > 0) & reach  # the pocket's cells (setup's raster of it)
        rho = r - 0.75 * h
        for pth in paths:
            remove_capsules(cand, self.xs, self.ys, self.x0, self.y0, h,
                            pth if len(pth) >= 2 else np.vstack([pth, pth]), rho)
        if not cand.any():
            return False
        # every path as segments (a point as a zero-length one), for the local exact check
        a = np.vstack([p[:-1] if len(p) >= 2 else p for p in paths])
        b = np.vstack([p[1:] if len(p) >= 2 else p for p in paths])
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        rr = r - 0.5 * self.tol
        w = 0.5 * _SLIVER_MIN_WIDTH
        lab, _n = ndimage.label(cand, structure=np.ones((3, 3), dtype=bool))
        slivers: list[BaseGeometry] = []
        for sl in ndimage.find_objects(lab):
            bx0, bx1 = self.xs[sl[1].start] - 1.5 * h, self.xs[sl[1].stop - 1] + 1.5 * h
            by0, by1 = self.ys[sl[0].start] - 1.5 * h, self.ys[sl[0].stop - 1] + 1.5 * h
            near = ((lo[:, 0] <= bx1 + r) & (hi[:, 0] >= bx0 - r) &
                    (lo[:, 1] <= by1 + r) & (hi[:, 1] >= by0 - r))
            box = shapely.box(bx0, by0, bx1, by1)
            reach_loc = shapely.clip_by_rect(self.T, bx0 - r - h, by0 - r - h, bx1 + r + h, by1 + r + h)
            stock = box.intersection(reach_loc.buffer(r, quad_segs=16)).intersection(self.poly)
            if near.any():
                segs = shapely.linestrings(np.stack([a[near], b[near]], axis=1))
                zero = (np.abs(a[near] - b[near]).sum(axis=1) <= 1e-12)
                if zero.any():
                    segs[zero] = shapely.points(a[near][zero])
                stock = stock.difference(shapely.union_all(shapely.buffer(segs, rr, quad_segs=16)))
            if stock.is_empty:
                continue
            sig = stock.buffer(-w, quad_segs=8)
            if sig.is_empty:
                continue
            slivers += [q for q in _pieces(sig.buffer(w, quad_segs=8).intersection(stock)) if q.area > 0]
        if not slivers:
            return False
        here = self.pos if self.pos is not None else np.zeros(2)
        todo = []
        for sv in slivers:
            c = np.asarray(shapely.maximum_inscribed_circle(sv, tolerance=1e-3).coords[0])
            ring = np.asarray(shapely.segmentize(sv.exterior, 0.25 * r).coords)[:-1, :2]
            todo.append(self._cover(np.vstack([c[None, :], ring])))
        while todo:
            k = min(range(len(todo)), key=lambda t: float(np.hypot(*(todo[t] - here).T).min()))
            self.counts["sliver_cuts"] += 1
            self._cut_chain(todo.pop(k))
            here = self.pos
        return True

    def _rest_piece(self, pts: np.ndarray) -> None:
        """Cut one chain of :meth:`_rest_cuts` (a single position is cut as a circle of
        radius h around it, or a point when none fits)."""
        if len(pts) == 1:
            t = np.linspace(0.0, 2 * np.pi, 9)
            ring = pts[0] + self.h * np.column_stack([np.cos(t), np.sin(t)])
            ring[-1] = ring[0]
            if self.Tc.covers(LineString(ring)):
                pts = ring
        self.counts["rest_cuts"] += 1
        self._refresh_cleared()
        self._cut_piece(pts, spiral=False)
        self._remove_path(pts)
        self._mark_path(pts)

    def _finish_rings(self, area: BaseGeometry | None = None) -> list[np.ndarray]:
        """Closed centre paths of the finishing profile (walls and islands, CCW/CW): the
        rings of ``T_finish``, or of ``area``."""
        rings = []
        for pg in _pieces(self.T_finish if area is None else area):
            pg = orient(pg, 1.0)
            rings += [np.asarray(pg.exterior.coords)[:, :2]] + \
                     [np.asarray(i.coords)[:, :2] for i in pg.interiors]
        return rings

    def _leftover(self, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The planner's material raster (window ``box`` = j0, j1, i0, i1, or all) less, with
        a finishing pass and no allowance, the wall skin the profile takes (cells within
        ``_SKIN_AE`` stepovers + h of the walls): the stock the clearing itself must remove."""
        j0, j1, i0, i1 = box if box is not None else (0, self.ny, 0, self.nx)
        mat = self.material[j0:j1, i0:i1].copy()
        if self.p.finish_pass and self.p.finish_allowance == 0:
            # the finishing profile takes a skin up to _SKIN_AE stepovers thick off the walls
            # below the target engagement; thicker stock left there would overload it, so it
            # is cleared by fronts first
            mat &= self.wall_dist[j0:j1, i0:i1] > _SKIN_AE * self.p.stepover * self.D + self.h
        return mat

    def _reopen_leftover(self) -> bool:
        """Find material the tool can still reach and the finishing profile (if any) would
        not take as a thin skin: planner raster cells of ``T`` within ``r - h/2`` of such a
        material cell. Remove them
        (grown by h) from the swept area so the next rounds clear them. True when any."""
        h = self.h
        mat = self._leftover()
        if not mat.any():
            return False
        dm = ndimage.distance_transform_edt(~mat) * h
        reach = (dm <= self.r - 0.5 * h) & self.Tmask
        if reach.sum() * h * h < 0.5 * h * self.D:
            return False
        import contourpy
        cg = contourpy.contour_generator(self.xs, self.ys, reach.astype(np.float32),
                                         line_type=contourpy.LineType.Separate)
        polys = [Polygon(ln).buffer(0) for ln in cg.lines(0.5) if len(ln) >= 4]
        if not polys:
            return False
        hole = shapely.union_all(polys).buffer(h, quad_segs=2)
        self.S = self.S.difference(hole)
        self.Smask &= ~ndimage.binary_dilation(reach, iterations=2)
        self._absorb_ok = False
        self.counts["reopened"] += 1
        self._refresh_cleared()
        return True

    def _rounds(self) -> None:
        """Phase 2: clear what the spirals left, zone by zone (see :meth:`plan`)."""
        h = self.h
        for _round in range(400):
            self._absorb_slivers()
            rem = self.T.difference(self.S.buffer(h)) if not self.S.is_empty else self.T
            comps = [c for c in _pieces(rem) if c.area > 4 * h * h and not c.buffer(-self.tol).is_empty]
            # a part the raster counts as swept (its cells claimed by a front whose contour
            # polygon left a hole there) is swept when no stock is left near it (a helix
            # into it would cut air), else it is opened to the fronts again
            state = [self._claimed(c) for c in comps]
            swept = [c for c, st in zip(comps, state) if st == "swept"]
            for c, st in zip(comps, state):
                if st == "stock":  # claimed with stock left: open it to the fronts again
                    self.Smask &= ~ndimage.binary_dilation(self._raster(c), iterations=2)
            if swept:
                self.S = _oriented(shapely.union_all([self.S] + [c.buffer(h, quad_segs=2) for c in swept])
                                   .intersection(self.T))
                self._refresh_cleared()
                comps = [c for c in comps if not any(c is w for w in swept)]
            if not comps:
                break
            here = Point(self.pos) if self.pos is not None else None
            if self.S.is_empty:
                piece = max(comps, key=lambda c: c.area)
                self._entry(piece)
                self._refresh_cleared()
                self._grow(None)
                continue
            adj = [c for c in comps if c.distance(self.S) < 3 * h]
            thin = [c for c in adj if _mic(c, self.tol)[1] < 0.25 * self.D]
            if thin:
                pc = min(thin, key=lambda c: c.distance(here))
                self._slot(pc)
                continue
            if adj:
                # clear the nearest remaining zone from the cleared area before moving on, so
                # the tool does not tour every zone at every front; zones joined only by
                # slivers thinner than two stepovers (along a wall) are taken one at a time
                pc = min(adj, key=lambda c: c.distance(here))
                ae = self.p.stepover * self.D
                cores = _pieces(pc.buffer(-ae, quad_segs=4).buffer(ae, quad_segs=4))
                zone = min(cores, key=lambda c: c.distance(here)) if len(cores) > 1 else pc
                if self._grow(zone) or (zone is not pc and self._grow(pc)):
                    continue
                # no front enters at the target (a wedge met head-on): one front at up to
                # _BREAK_IN_DEG over it, then on at the target; a helix only if that fails
                if self._grow(pc, boost=_BREAK_IN_DEG):
                    self.counts["break_ins"] += 1
                    continue
            else:
                pc = min(comps, key=lambda c: c.distance(here))
            if self._claimed(pc) != "open":
                continue  # the fronts tried claimed it without a cut: see the top
            self._refresh_cleared()
            self.counts["retracts"] += 1
            self._entry(pc)
            self._refresh_cleared()
            self._grow(pc)

    def _claimed(self, zone: Polygon) -> str:
        """State of a part ``zone`` of the uncleared tool-centre area on the planner raster:
        ``"open"`` when at least ``0.5 D / h`` of its cells are not swept; else ``"swept"``
        when no stock the clearing must remove (:meth:`_leftover`) lies within ``r - h/2`` of
        it, ``"stock"`` when some does. A front's claim can reach past its contour polygon,
        and a front whose pieces all lie on walls or cleared boundaries claims without a
        cut: fronts cannot grow into a claimed part."""
        h, r = self.h, self.r
        # quick answer without rasterising: more cells of the zone (0.9 of its area, for the
        # raster's error) than the swept cells of its bounding box can cover
        minx, miny, maxx, maxy = zone.bounds
        b0, b1 = max(0, int((minx - self.x0) / h)), min(self.nx, int((maxx - self.x0) / h) + 2)
        a0, a1 = max(0, int((miny - self.y0) / h)), min(self.ny, int((maxy - self.y0) / h) + 2)
        if (0.9 * zone.area / (h * h) - int(self.Smask[a0:a1, b0:b1].sum())) * h >= 0.5 * self.D:
            return "open"
        z = self._raster(zone)
        if int((z & ~self.Smask).sum()) * h >= 0.5 * self.D:
            return "open"
        jj, ii = np.nonzero(z)
        if not len(jj):
            return "swept"
        k = int(math.ceil(r / h)) + 1
        j0, j1 = max(0, jj.min() - k), min(self.ny, jj.max() + k + 1)
        i0, i1 = max(0, ii.min() - k), min(self.nx, ii.max() + k + 1)
        mat = self._leftover((j0, j1, i0, i1))
        if not mat.any():
            return "swept"
        dz = ndimage.distance_transform_edt(~z[j0:j1, i0:i1]) * h
        return "stock" if bool((mat & (dz <= r - 0.5 * h)).any()) else "swept"

    def _absorb_slivers(self) -> None:
        """With a finishing pass, count as cleared the parts of the uncleared tool-centre area
        thinner than ``_SKIN_AE`` stepovers. Between two cleared areas such a sliver holds no
        material at all (a gap under D between swept centres leaves none); along a wall it
        holds a skin at most that thick, which the finishing profile removes below the target
        engagement. Clearing them with fronts would cut them crosswise, a comb
        of short pieces each pushed head-on into the skin."""
        if not (self.p.finish_pass and self._absorb_ok) or self.S.is_empty or self.p.finish_allowance > 0:
            return
        w = _SKIN_AE * self.p.stepover * self.D
        rem = self.T.difference(self.S)
        if rem.is_empty:
            return
        core = rem.buffer(-0.5 * w, quad_segs=4).buffer(0.5 * w + self.h, quad_segs=4)
        thin = rem.difference(core)
        thin = shapely.union_all([q for q in _pieces(thin) if q.area > self.h * self.h])
        if thin.is_empty:
            return
        self.S = shapely.union_all([self.S, thin.buffer(self.h, quad_segs=2).intersection(self.T)])
        self.Smask |= self._raster(thin)
        self._refresh_cleared()

    def _grow(self, zone: Polygon | None, boost: float = 0.0) -> bool:
        """Grow fronts until nothing grows, limited to ``zone`` (dilated by D) when given;
        the first front at ``boost`` deg over the planning level. True when anything was
        cut."""
        if zone is not None:
            z = zone.buffer(self.D, quad_segs=4)
            self.zone_box = z.bounds
            self.zone = self._raster(z)
        else:
            self.zone, self.zone_box = None, None
        self.active = None
        grew = False
        self.boost = boost
        for _ in range(5000):
            ok = self._front_step()
            self.boost = 0.0
            if not ok:
                break
            grew = True
        self.zone, self.zone_box, self.active = None, None, None
        return grew

    def _t_dist(self, inside: bool) -> np.ndarray:
        """Distance, mm, from each cell centre of the planner raster to the nearest centre of a
        cell outside ``T`` (``inside``; 0 outside T) or of a cell in ``T`` (0 in T): the
        Euclidean distance transform of ``Tmask`` (``scipy.ndimage.distance_transform_edt``),
        computed once each (``T`` does not change; a spiral took one of the whole raster)."""
        key = "in" if inside else "out"
        got = self._t_dist_cache.get(key)
        if got is None:
            got = ndimage.distance_transform_edt(self.Tmask if inside else ~self.Tmask) * self.h
            self._t_dist_cache[key] = got
        return got

    def _raster(self, g: BaseGeometry) -> np.ndarray:
        """Boolean planner raster (the whole grid) of the cells whose centre lies in ``g``,
        filled over ``g``'s bounding box by :meth:`_fill`."""
        out = np.zeros((self.ny, self.nx), dtype=bool)
        if g.is_empty:
            return out
        minx, miny, maxx, maxy = g.bounds
        h = self.h
        i0, i1 = max(0, int((minx - self.x0) / h)), min(self.nx, int((maxx - self.x0) / h) + 2)
        j0, j1 = max(0, int((miny - self.y0) / h)), min(self.ny, int((maxy - self.y0) / h) + 2)
        if i0 < i1 and j0 < j1:
            out[j0:j1, i0:i1] = self._fill(g, (j0, j1, i0, i1))
        return out

    def _fill(self, g: BaseGeometry, box: tuple[int, int, int, int]) -> np.ndarray:
        """Over raster window ``box`` (j0, j1, i0, i1), the cells whose centre lies in ``g``
        (``shapely.contains_xy``'s answer, by the scan-line fill of
        :func:`workbench.cam.replay.rasterise`; ``contains_xy`` over the window took 90 ms a
        call on the Les Paul CUTOUT band, 5.3 s of a 61 s plan)."""
        j0, j1, i0, i1 = box
        if j1 <= j0 or i1 <= i0:
            return np.zeros((max(0, j1 - j0), max(0, i1 - i0)), dtype=bool)
        return rasterise(g, self.xs[i0:i1], self.ys[j0:j1])

    def _spirals(self) -> None:
        """Phase 1: spirals. While the uncleared tool-centre area holds a circle of radius at
        least :meth:`_spiral_min_radius` clear of the walls and of the cleared area, enter at its
        centre (helix) and grow fronts limited to that circle (grown by up to a stepover where
        the walls allow, so no sliver is left along them): the fronts
        are rings around the entry, open only where they meet cleared area, chained into one
        spiral (:meth:`_spiral_into`). The rest (cusps between circles and walls) is cleared by
        :meth:`plan`'s zone-by-zone fronts.

        Site: the largest such circle (distance transform of the free centre raster); among
        centres within 3 % of the largest radius (a ridge, as in a slot), the one farthest
        from the centroid of the free area, so that the next circle is as large as possible."""
        if self.p.entry != "helix":
            return
        h = self.h
        for _k in range(50):
            free = self.Tmask & ~self.Smask
            if not free.any():
                return
            # the largest circle clear of the walls and of the cleared area
            d = ndimage.distance_transform_edt(free) * h
            rho = float(d.max())
            if rho < self._spiral_min_radius():
                return
            jj, ii = np.nonzero(d >= rho - max(0.03 * rho, 1.5 * h))
            fj, fi = np.nonzero(free)
            cx, cy = self.xs[fi].mean(), self.ys[fj].mean()
            k = int(np.argmax((self.xs[ii] - cx) ** 2 + (self.ys[jj] - cy) ** 2))
            c = np.array([self.xs[ii[k]], self.ys[jj[k]]])
            # grown by up to one stepover where the walls allow, so that no sliver thinner
            # than a stepover is left between the circle and a wall or the cleared area
            dw = self._t_dist(inside=True)[jj[k], ii[k]]
            rz = min(float(d[jj[k], ii[k]]) + self.p.stepover * self.D, float(dw)) - h
            disc = Point(c).buffer(rz, quad_segs=32)
            if not self.T.contains(disc):
                disc = disc.intersection(self.T)
            if self.pos is not None:
                self.counts["retracts"] += 1
            self._helix_at(c, min(self.D / 4.0, float(d[jj[k], ii[k]]) - self.tol))
            self._refresh_cleared()
            self.counts["spirals"] += 1
            self.zone_box = disc.bounds
            self.zone = self._raster(disc)
            self.active = None
            for _ in range(5000):
                if not self._front_step():
                    break
            self.zone, self.zone_box, self.active = None, None, None

    def _spiral_min_radius(self) -> float:
        """Radius (mm) of the smallest free circle that gets its own spiral:
        ``clip(1.5 * link_feed / feed, 1.5, 6) * D``.

        A spiral costs a helix (its descent over tan(ramp angle) at the cutting feed: 76 mm, 3.8
        s for 4 mm at 3 deg and 1200 mm/min), a retract, and a core of tight rings; it saves the
        links back across the area that open fronts grown from the cleared area need (about
        one link per front). Measured on the benchmark pockets (D 6, stepover 0.2), links at
        the cutting feed: spirals from 1.5 D keep links under 0.35 of the cutting length on a
        3:1 slot (0.64 without); links at the machine's feed cap (12.7 x the feed): spirals
        only from 6 D cut the cycle time by 4 % on the Les Paul body (27 -> 5 helices) and 7 %
        over the cavities, and the planning time by half."""
        p = self.p
        ratio = (float(p.link_feed) if p.link_feed is not None else float(p.feed)) / float(p.feed)
        return float(np.clip(_SPIRAL_MIN_D * ratio, _SPIRAL_MIN_D, _SPIRAL_MAX_D)) * self.D

    def _slot(self, pc: Polygon) -> None:
        """Cut a thin reachable zone that no front reaches: along its outline, marked slot."""
        ring = np.asarray(orient(pc, 1.0).exterior.coords)[:, :2]
        dd = np.hypot(*(ring - self.pos).T)
        k = int(np.argmin(dd))
        ring = np.vstack([ring[k:-1], ring[:k + 1]])
        ring = np.asarray(shapely.simplify(LineString(ring), self.tol / 2).coords)[:, :2]
        self.counts["slots"] += 1
        self._refresh_cleared()
        self._cut_piece(ring, slot=True)
        self._remove_path(ring)
        # the zone counts as swept; the material is what the outline removed (the safety
        # net of plan() re-opens anything the outline missed)
        self.S = shapely.union_all([self.S, pc.buffer(self.tol)])
        self.Smask |= self._raster(pc.buffer(self.tol))
        self._refresh_cleared()

    def _finish(self) -> None:
        self._flush_tail()
        if not self.p.finish_pass:
            return
        self._refresh_cleared()
        self.Sc = self.Sc.union(self.T_finish.buffer(self.tol)) if self.p.finish_allowance == 0 else self.Sc
        rings = self._finish_rings()
        while rings:
            k = min(range(len(rings)), key=lambda t: float(np.hypot(*(rings[t] - self.pos).T).min()))
            ring = _start_on_straight(rings.pop(k), self.pos, self.D)
            self._cut_piece(ring, spiral=False)


# --------------------------------------------------------------------------- 3-D emission

def _emit(pl: _Planner, zs: list[float]) -> tuple[list[dict[str, Any]], tuple[float, float, float]]:
    p = pl.p
    rows: list[dict[str, Any]] = []
    link_feed = float(p.link_feed) if p.link_feed is not None else float(p.feed)
    safe = float(p.safe_z)
    clr = min(1.0, safe - float(p.stock_top))
    tan_a = math.tan(math.radians(p.ramp_angle_deg))
    first = next(op for op in pl.ops if op.kind == "entry")
    fx, fy = (first.path[0] if first.path is not None else (first.x, first.y))
    start = (float(fx), float(fy), safe)
    cur = np.array(start)

    def add(code: str, kind: str, x: float, y: float, z: float, feed: float = math.nan,
            eng: float = math.nan, **kw: Any) -> None:
        nonlocal cur
        if code == "G0" and abs(x - cur[0]) < 1e-12 and abs(y - cur[1]) < 1e-12 and abs(z - cur[2]) < 1e-12:
            return
        ln = kw.pop("len_mm") if "len_mm" in kw else \
            math.sqrt((x - cur[0]) ** 2 + (y - cur[1]) ** 2 + (z - cur[2]) ** 2)
        row = {"code": code, "x": float(x), "y": float(y), "z": float(z),
               "feed": feed if code != "G0" else math.nan, "len_mm": ln, "kind": kind,
               "engagement_deg": eng, "slot": False}
        row.update(kw)
        rows.append(row)
        cur = np.array([x, y, z], dtype=float)

    for li, z in enumerate(zs):
        z_above = float(p.stock_top) if li == 0 else zs[li - 1]
        z_app = z_above + clr
        for op in pl.ops:
            if op.kind != "entry":
                f = link_feed if op.kind == "link" else p.feed
                add("G1", op.kind, op.x, op.y, z, f, op.eng, trochoid=op.trochoid, slot=op.slot)
                continue
            ax, ay = (op.path[0] if op.method == "ramp" else (op.x, op.y))
            if cur[2] < z_app - 1e-12 and pl.Tc.covers(LineString([cur[:2], (ax, ay)])):
                # a retract inside the pocket: every tool position on the way has its centre
                # in the tool-centre area, where the stock stands no higher than the level
                # above (cleared by its whole plan) or the stock top, so the tool crosses
                # clr above that (a retract plane), not at the safe height
                add("G0", "rapid", cur[0], cur[1], z_app)
                add("G0", "rapid", ax, ay, z_app)
            else:
                if cur[2] < safe - 1e-12:
                    add("G0", "rapid", cur[0], cur[1], safe)
                add("G0", "rapid", ax, ay, safe)
            if op.method == "drop":
                add("G0", "rapid", ax, ay, z + clr)
                add("G1", "plunge", ax, ay, z, p.plunge_feed)
                continue
            add("G0", "rapid", ax, ay, z_app)
            if op.method == "plunge":
                add("G1", "plunge", ax, ay, z, p.plunge_feed)
            elif op.method == "helix":
                c, rh = op.center, op.rh
                drop = z_app - z
                n = max(1, int(math.ceil(drop / (math.pi * rh * tan_a) - 1e-9)))
                zz, sgn = z_app, 1.0
                for k in range(n + 2):  # n descending half turns, then one flat turn
                    z_end = z_app - drop * min(k + 1, n) / n
                    sx = c[0] + sgn * rh
                    add("G3", "ramp", c[0] - sgn * rh, c[1], z_end, p.feed, i=c[0] - sx, j=0.0,
                        plane=17, radius_mm=rh, len_mm=math.hypot(math.pi * rh, zz - z_end))
                    zz, sgn = z_end, -sgn
                if abs(cur[0] - op.x) > 1e-9 or abs(cur[1] - op.y) > 1e-9:
                    add("G3", "ramp", op.x, op.y, z, p.feed, i=c[0] - cur[0], j=0.0, plane=17,
                        radius_mm=rh, len_mm=math.pi * rh)
            elif op.method == "ramp":
                a, b = op.path[0], op.path[-1]
                L = float(np.hypot(*(b - a)))
                zz, fwd = z_app, True
                while zz > z + 1e-12:
                    zn = max(z, zz - L * tan_a)
                    q = b if fwd else a
                    add("G1", "ramp", q[0], q[1], zn, p.feed)
                    zz, fwd = zn, not fwd
                if not fwd:
                    add("G1", "ramp", a[0], a[1], z, p.feed)
    add("G0", "rapid", cur[0], cur[1], safe)
    return rows, start


def plan_adaptive(region: Any, *, tool_d: float, stepover: float, stepdown: float, depth: float,
                  stock_top: float = 0.0, safe_z: float = 5.0, feed: float = 1200.0,
                  plunge_feed: float = 300.0, entry: str = "helix", finish_pass: bool = True,
                  finish_allowance: float = 0.0, tolerance: float = 0.01, arc_fit: bool = True,
                  chip_thinning: bool = False, max_feed: float | None = None,
                  link_feed: float | None = None, wall_start_slant: bool = False,
                  ramp_angle_deg: float = 3.0, name: str = "pocket") -> Toolpath:
    """Plan an adaptive (constant-engagement) pocket. See the module docstring for the method.

    Args:
        region: shapely Polygon (exterior = wall, holes = islands), mm, or a
            ``workbench.geometry.Region``.
        tool_d: flat end mill diameter D, mm.
        stepover: radial engagement ae as a fraction of D, in (0, 0.5]; the target engagement
            is ``acos(1 - 2 stepover)`` (53.13 deg at 0.2).
        stepdown: axial depth per pass ap, mm.
        depth: total depth below ``stock_top``, mm.
        stock_top, safe_z: Z of the stock top and of rapids, mm.
        feed: cutting feed, mm/min; plunge_feed: feed of plunges, mm/min.
        entry: "helix" (falls back to a ramp, then a plunge), "ramp" or "plunge".
        finish_pass: profile walls and islands at the end of each level.
        finish_allowance: radial stock the clearing leaves for the finishing profile, mm.
        tolerance: wall margin and arc-fit chord tolerance, mm (<= D/20).
        arc_fit: fit runs of G1 into G2/G3 arcs (``workbench.cam.arcfit.fit_arcs``).
        chip_thinning: raise the feed of cuts with engagement under 90 deg by
            ``1/sin(theta)`` (radial chip thinning, ``workbench.cam.chipthinning``).
        max_feed: cap of the compensated feed, mm/min (the machine's feed cap).
        link_feed: feed of keep-down links through cleared material (G1, the tool cuts
            nothing there), mm/min; None = ``feed``. CAM systems run these at a high feed
            (Fusion 360's "high feedrate", FreeCAD's G0 at depth); the machine's feed cap
            still limits it. Faster links also mean fewer spirals (each with its own helix):
            spirals start from free circles of ``clip(1.5 link_feed / feed, 1.5, 6) D``
            radius.
        wall_start_slant: make the fronts meet the walls (outer and islands) at a slant, so
            that a pass starting there does not meet its whole stock cap at once (about twice
            the target engagement, 106 deg at stepover 0.2, for a pass square to the wall);
            :meth:`_Planner._wall_starts`. Off by default: it trades cycle time for the
            spikes. Measured on the cavities of benchmarks/bench_adaptive_vs_freecad.py (D
            6, stepover 0.2, links at the feed cap): cutting over target + 15 deg outside
            entries 33-79 -> 15-46 mm a cavity, cycle +0.5-3.0 % (+1.1 % in total; the Les
            Paul body with its pickups as islands: 265 -> 188 mm, +0.6 %), and more
            of the cutting between target + 5 and target + 12 deg (the starts' allowance,
            ``_WALL_START_ALLOW_DEG``). The corners' spikes stay (see
            ``meta["corner_contact_deg"]``).
        ramp_angle_deg: descent angle of helix and ramp entries, degrees.
        name: job name.

    Returns:
        Toolpath (moves-table contract plus a bool ``slot`` column); ``meta`` holds
        ``strategy="adaptive"``, ``params``, ``tool``, ``levels``, ``engagement_target_deg``,
        ``corner_contact_deg`` (the engagement the region's sharp corners force on any path
        that clears them, :func:`workbench.cam.engagement.corner_contact_bound`; 0 if none),
        ``entries``, ``rest_cuts`` and ``sliver_cuts`` (cuts of the safety net, item 6 of the
        module docstring), ``moves_before_arcfit``, ``moves_after_arcfit``, ``arcfit_guarded``
        (fitted pieces put back as lines because they would come closer than r to a wall,
        :func:`workbench.cam.checks.clearance_guard`), ``trochoid_pieces``,
        ``slots``, ``warnings``, ``planning_s`` (total) and ``timing_s`` (``plan``,
        ``arcfit``, ``engagement_report``, seconds).

    Raises:
        InputError: a parameter out of range; a region that is not a valid polygon.
        PlanningError: the tool fits nowhere in the region.
    """
    t0 = time.perf_counter()
    p = AdaptiveParams(tool_d=tool_d, stepover=stepover, stepdown=stepdown, depth=depth,
                       stock_top=stock_top, safe_z=safe_z, feed=feed, plunge_feed=plunge_feed,
                       entry=entry, ramp_angle_deg=ramp_angle_deg, finish_pass=bool(finish_pass),
                       finish_allowance=finish_allowance, tolerance=tolerance, arc_fit=bool(arc_fit),
                       chip_thinning=bool(chip_thinning), max_feed=max_feed, link_feed=link_feed,
                       wall_start_slant=bool(wall_start_slant), name=name)
    p.validate()
    poly, label = region_polygon(region)
    pl = _Planner(p, poly, label)
    pl.plan()
    zs = depth_levels(float(stock_top), float(stepdown), float(depth))
    rows, start = _emit(pl, zs)
    moves = moves_frame(rows)
    target = pl.target
    n_before = len(moves)
    t1 = time.perf_counter()
    guarded = 0
    if p.arc_fit:
        # a fitted arc lies within the tolerance of its points, so near a wall it can come up
        # to the tolerance closer than the polyline (on T's boundary: r + m, m = the
        # tolerance, less T's own chord error m / 2): pieces that would come closer than r
        # are put back as lines. Measured before T's chords kept m / 2 (pocket._quad_segs):
        # a G3 on the Les Paul CUTOUT band (D 6.35, stepover 0.45) reached 2.3 um into the
        # wall; the sweep of the shared pockets then found fitted paths 0.4 um from r
        moves = fit_arcs(moves, p.tolerance, start=start,
                         guard=clearance_guard(poly, p.tool_d, start))
        guarded = int(moves.attrs.get("arcfit_guarded", 0))
    t2 = time.perf_counter()
    n_after = len(moves)
    # engagement measured on the emitted geometry (after arc fitting: fitted arcs report
    # their own engagement, not that of the chords they replace)
    moves["engagement_deg"], grid_h = measure_engagement(poly, moves, start, zs, p.tool_d, p.tolerance)
    t3 = time.perf_counter()
    moves["slowdown"] = slowdown_for_engagement(moves["engagement_deg"].to_numpy(), target)
    if p.chip_thinning:
        cut = (moves["kind"] == "cut").to_numpy() & (moves["code"] != "G0").to_numpy()
        fac = chip_thinning_factor_deg(np.maximum(moves["engagement_deg"].to_numpy(dtype=float), target))
        f = moves["feed"].to_numpy(dtype=float) * np.where(cut, fac, 1.0)
        if p.max_feed is not None:
            f = np.where(cut, np.minimum(f, float(p.max_feed)), f)
        moves["feed"] = f
    meta = {
        "strategy": "adaptive",
        "name": name,
        "region": label,
        "params": p.to_dict(),
        "tool": {"type": "flat end mill", "diameter_mm": float(tool_d)},
        "levels": [float(z) for z in zs],
        "engagement_target_deg": float(target),
        "corner_contact_deg": corner_contact_bound(poly, p.tool_d).contact_deg,
        "engagement_plan_level_deg": float(pl.level),
        "wall_margin_mm": float(pl.margin),
        "entries": {k: int(pl.counts[k]) for k in ("helix", "ramp", "plunge", "drop")},
        "fronts": int(pl.counts["fronts"]),
        "spirals": int(pl.counts["spirals"]),
        "spiral_links": int(pl.counts["spiral_links"]),
        "reopened": int(pl.counts["reopened"]),
        "rest_cuts": int(pl.counts["rest_cuts"]),
        "sliver_cuts": int(pl.counts["sliver_cuts"]),
        "break_ins": int(pl.counts["break_ins"]),
        "trochoid_pieces": int(pl.counts["trochoid_pieces"]),
        "trochoid_loops": int(pl.counts["trochoid_loops"]),
        "slots": int(pl.counts["slots"]),
        "retracts_per_level": int(pl.counts["retracts"]),
        "field_cell_mm": float(pl.h),
        "grid_cell_mm": float(grid_h),
        "moves_before_arcfit": int(n_before),
        "moves_after_arcfit": int(n_after),
        "arcfit_guarded": guarded,
        "warnings": list(dict.fromkeys(pl.warnings)),
        "planning_s": round(time.perf_counter() - t0, 3),
        "timing_s": {"plan": round(t1 - t0, 3), "arcfit": round(t2 - t1, 3),
                     "engagement_report": round(t3 - t2, 3)},
    }
    return Toolpath(moves=moves, start=start, meta=meta)
