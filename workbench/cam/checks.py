"""Invariant checks of a planned toolpath against its pocket region.

Independent of the planner's internals (exact shapely geometry, no raster), so tests and later
planners (adaptive, trochoidal) can use them as referees:

- :func:`gouge_check` — the tool centre never comes closer than ``r`` to a wall or an island
  while below the stock top.
- :func:`uncut_area` — what the tool could reach (the region *opened* by the tool radius,
  ``region.buffer(-r).buffer(r)``) but did not sweep at a depth.
- :func:`depths_reached` — every depth level has cutting moves.
- :func:`straight_line_inside` — a segment lies inside an area (for link checks).
- :func:`tool_centre_paths` — the 2-D tool-centre polylines of moves (arcs discretised).
- :func:`clearance_guard` — the gouge check as an arc fitter's guard (fitted arcs that would
  come closer than ``r`` to a wall are not fitted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from ..toolpath import Toolpath
from .arcfit import Guard

__all__ = ["GougeReport", "UncutReport", "DepthReport", "gouge_check", "uncut_area",
           "depths_reached", "straight_line_inside", "tool_centre_paths", "clearance_guard"]


def _polygon(region: Any) -> BaseGeometry:
    poly = getattr(region, "polygon", region)
    if not isinstance(poly, BaseGeometry) or poly.is_empty:
        raise InputError(f"expected a shapely polygon or a Region, got {type(region).__name__}")
    return poly


def _arc_points(start: np.ndarray, end: np.ndarray, i: float, j: float, cw: bool,
                max_sagitta: float) -> np.ndarray:
    """Points (n, 3) along a G2/G3 helix/arc in the XY plane, including both ends."""
    cx, cy = start[0] + i, start[1] + j
    r = math.hypot(i, j)
    a0 = math.atan2(start[1] - cy, start[0] - cx)
    a1 = math.atan2(end[1] - cy, end[0] - cx)
    if cw:
        sweep = a0 - a1
        sweep = sweep % (2 * math.pi) or 2 * math.pi
        sweep = -sweep
    else:
        sweep = (a1 - a0) % (2 * math.pi) or 2 * math.pi
    if r <= 0:
        return np.vstack([start, end])
    step = 2 * math.acos(max(-1.0, 1 - max_sagitta / r)) if max_sagitta < r else math.pi / 2
    n = max(2, int(math.ceil(abs(sweep) / step)) + 1)
    t = np.linspace(0.0, 1.0, n)
    ang = a0 + sweep * t
    pts = np.column_stack([cx + r * np.cos(ang), cy + r * np.sin(ang),
                           start[2] + (end[2] - start[2]) * t])
    pts[-1] = end
    return pts


def tool_centre_paths(toolpath: Toolpath, rows: Sequence[int] | None = None,
                      max_sagitta: float = 1e-7) -> list[np.ndarray]:
    """Tool-centre path of each move (lines as 2 points, arcs discretised so that the chord
    sagitta is under ``max_sagitta`` mm), as arrays of shape (n, 3). G4 rows give one point."""
    mv = toolpath.moves
    starts = toolpath.starts()
    ends = mv[["x", "y", "z"]].to_numpy(dtype=float)
    codes = mv["code"].to_numpy()
    ii = mv["i"].to_numpy(dtype=float)
    jj = mv["j"].to_numpy(dtype=float)
    idx = range(len(mv)) if rows is None else rows
    out = []
    for k in idx:
        if codes[k] in ("G2", "G3"):
            out.append(_arc_points(starts[k], ends[k], ii[k], jj[k], codes[k] == "G2", max_sagitta))
        elif codes[k] == "G4":
            out.append(ends[k:k + 1])
        else:
            out.append(np.vstack([starts[k], ends[k]]))
    return out


@dataclass
class GougeReport:
    """Result of :func:`gouge_check`.

    Attributes:
        min_clearance_mm: smallest (distance from the tool centre to a wall or island) minus r
            over the moves below the stock top; negative means a gouge. ``inf`` when no move
            is below the stock top.
        violations: row indices whose clearance is below ``-tol`` or that leave the region.
        checked_moves: number of moves checked.
        ok: no violations.
    """

    min_clearance_mm: float
    violations: list[int]
    checked_moves: int
    ok: bool


def _clearance(paths: Sequence[np.ndarray], poly: BaseGeometry) -> np.ndarray:
    """Smallest distance, mm, from each tool-centre polyline (``(n, >= 2)`` arrays, x and y
    used) to the boundary of ``poly`` (exterior and holes), from a shapely STRtree of the
    boundary segments (``query_nearest``); ``-inf`` for a path that leaves ``poly``."""
    geoms = [Point(p[0, :2]) if len(p) < 2 or np.allclose(p[:, :2], p[0, :2]) else LineString(p[:, :2])
             for p in paths]
    geoms_a = np.array(geoms, dtype=object)
    rings = [poly.exterior] + list(getattr(poly, "interiors", []))
    segs = []
    for ring in rings:
        c = np.asarray(ring.coords)[:, :2]
        segs.extend(shapely.linestrings(np.stack([c[:-1], c[1:]], axis=1)))
    tree = shapely.STRtree(segs)
    (gi, _si), dist = tree.query_nearest(geoms_a, return_distance=True, all_matches=False)
    best = np.full(len(geoms), np.inf)
    np.minimum.at(best, gi, dist)
    shapely.prepare(poly)
    best[~shapely.covered_by(geoms_a, poly)] = -np.inf
    return best


def clearance_guard(region: Any, tool_d: float, start: tuple[float, float, float], *,
                    tol: float = 1e-6, max_sagitta: float = 1e-4
                    ) -> Guard:
    """A ``guard`` for :func:`workbench.cam.arcfit.fit_arcs`: of the given rows of a moves
    table (the toolpath starting at ``start``), those whose tool-centre path comes closer than
    ``tool_d / 2 - tol`` to a wall or island of ``region``, or leaves it, so that the fitted
    toolpath passes :func:`gouge_check` (same ``tol``).

    Arcs are discretised to ``max_sagitta`` mm and a row is rejected when its polyline's
    clearance is under ``r - tol + max_sagitta`` (a chord lies at most the sagitta inside its
    arc, so this is conservative by at most ``max_sagitta``). A row whose end point is farther
    than ``r + len_mm + max_sagitta`` from every wall is passed without discretising (every
    point of a move lies within its length of its end point).

    Returns:
        ``guard(table, rows) -> bool array`` (one per row in ``rows``).

    Raises:
        InputError: non-positive tool diameter or not a polygon.
    """
    if not tool_d > 0:
        raise InputError(f"tool_d must be > 0 mm, got {tool_d!r}")
    poly = _polygon(region)
    r = tool_d / 2.0
    boundary = poly.boundary
    shapely.prepare(boundary)

    def guard(table: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        bad = np.zeros(len(rows), dtype=bool)
        if not len(rows):
            return bad
        ends = table[["x", "y"]].to_numpy(dtype=float)[rows]
        ln = table["len_mm"].to_numpy(dtype=float)[rows]
        near = shapely.distance(boundary, shapely.points(ends)) - ln <= r + max_sagitta
        if near.any():
            tp = Toolpath(moves=table, start=start)
            paths = tool_centre_paths(tp, rows=rows[near].tolist(), max_sagitta=max_sagitta)
            bad[near] = _clearance(paths, poly) - r < -tol + max_sagitta
        return bad

    return guard


def gouge_check(toolpath: Toolpath, region: Any, tool_d: float, tol: float = 1e-6,
                stock_top: float | None = None, rows: Sequence[int] | None = None) -> GougeReport:
    """Check that no move below the stock top brings the tool closer than r to a wall/island.

    Every move with a point below ``stock_top`` (default ``meta["params"]["stock_top"]`` or 0)
    is checked: its tool-centre path (arcs discretised to 1e-7 mm) must lie inside the region
    and at least ``tool_d/2 - tol`` from its boundary (exterior and islands). Distances come
    from a shapely STRtree of the boundary segments (``query_nearest``).

    Args:
        toolpath: the toolpath.
        region: shapely Polygon or Region (mm).
        tool_d: tool diameter, mm.
        tol: allowed numerical intrusion, mm.
        stock_top: Z of the stock top, mm.
        rows: check only these move rows (e.g. the moves of one region in a program that
            pockets several); default all.

    Returns:
        :class:`GougeReport`.

    Raises:
        InputError: non-positive tool diameter or not a polygon.
    """
    if not tool_d > 0:
        raise InputError(f"tool_d must be > 0 mm, got {tool_d!r}")
    poly = _polygon(region)
    if stock_top is None:
        stock_top = float(toolpath.meta.get("params", {}).get("stock_top", 0.0))
    r = tool_d / 2.0
    paths = tool_centre_paths(toolpath)
    only = None if rows is None else set(int(k) for k in rows)
    rows = [k for k, pth in enumerate(paths)
            if (only is None or k in only) and (pth[:, 2] < stock_top - 1e-9).any()]
    if not rows:
        return GougeReport(math.inf, [], 0, True)
    clear = _clearance([paths[k] for k in rows], poly) - r
    bad = [rows[k] for k in np.flatnonzero(clear < -tol)]
    return GougeReport(float(clear.min()), bad, len(rows), not bad)


@dataclass
class UncutReport:
    """Result of :func:`uncut_area` (areas in mm²).

    Attributes:
        z: the depth examined, mm.
        opened_area: area the tool can reach (region opened by the tool radius).
        swept_area: part of it swept by the tool at depth ``z``.
        uncut_area: ``opened - swept``.
        significant_area: area of the uncut components wider than ``2 * min_width`` (slivers
            narrower than that — the wall margin, chord errors — are not counted).
        largest_width_mm: twice the radius of the largest circle inscribed in the uncut area.
        uncut: the uncut geometry itself (not JSON-serialisable).
    """

    z: float
    opened_area: float
    swept_area: float
    uncut_area: float
    significant_area: float
    largest_width_mm: float
    uncut: BaseGeometry = field(repr=False)


def uncut_area(toolpath: Toolpath, region: Any, tool_d: float, z: float | None = None,
               min_width: float = 0.02) -> UncutReport:
    """Area reachable by the tool but not swept at depth ``z``.

    The swept area at ``z`` is the union of the tool discs (radius ``tool_d/2``) along every
    move whose both ends are at or below ``z`` (+1e-9), i.e. the tool was at full depth
    there. ``z`` defaults to the lowest Z of the program. The reachable area is
    ``region.buffer(-r).buffer(r)`` (morphological opening; quad_segs 32). Discs are
    polygons of 16 segments per quarter: the chord error (``r (1 - cos(pi/64))``, 0.004 mm at
    r = 3) is far below ``min_width``.

    Returns:
        :class:`UncutReport`.

    Raises:
        InputError: non-positive tool diameter, no move at that depth.
    """
    if not tool_d > 0:
        raise InputError(f"tool_d must be > 0 mm, got {tool_d!r}")
    poly = _polygon(region)
    r = tool_d / 2.0
    mv = toolpath.moves
    if z is None:
        z = float(mv["z"].min())
    starts = toolpath.starts()
    ends = mv[["x", "y", "z"]].to_numpy(dtype=float)
    rows = np.flatnonzero((starts[:, 2] <= z + 1e-9) & (ends[:, 2] <= z + 1e-9))
    if not len(rows):
        raise InputError(f"no move of the toolpath is at or below z={z} mm")
    paths = tool_centre_paths(toolpath, rows=list(rows), max_sagitta=1e-4)
    # chain consecutive moves into polylines (GEOS buffers one long line much faster than
    # thousands of two-point lines)
    runs: list[list[np.ndarray]] = []
    pts = []
    last_row = -2
    for k, pth in zip(rows, paths):
        xy = pth[:, :2]
        if np.abs(np.diff(xy, axis=0)).sum() <= 1e-12:
            pts.append(xy[0])
            continue
        if k == last_row + 1 and runs and np.hypot(*(runs[-1][-1][-1] - xy[0])) <= 1e-9:
            runs[-1].append(xy[1:])
        else:
            runs.append([xy])
        last_row = k
    geoms = []
    if runs:
        lines = [np.vstack(run) for run in runs]
        geoms.append(shapely.buffer(MultiLineString(lines), r, quad_segs=16))
    if pts:
        geoms.append(shapely.buffer(shapely.multipoints(np.asarray(pts)), r, quad_segs=16))
    swept = shapely.union_all(geoms)
    opened = poly.buffer(-r, quad_segs=32).buffer(r, quad_segs=32)
    uncut = opened.difference(swept)
    sig = uncut.buffer(-min_width, quad_segs=8).buffer(min_width, quad_segs=8) \
        if not uncut.is_empty else uncut
    width = 0.0
    if not uncut.is_empty:
        width = 2.0 * float(shapely.maximum_inscribed_circle(uncut, tolerance=1e-3).length) \
            if uncut.area > 0 else 0.0
    return UncutReport(float(z), float(opened.area), float(opened.intersection(swept).area),
                       float(uncut.area), float(sig.area), width, uncut)


@dataclass
class DepthReport:
    """Result of :func:`depths_reached`: per requested level whether a cutting move (kind
    ``cut``) runs at that Z, the levels missing, and the lowest Z of the program."""

    levels: list[float]
    reached: list[bool]
    missing: list[float]
    deepest: float
    ok: bool


def depths_reached(toolpath: Toolpath, levels: Sequence[float], tol: float = 1e-9) -> DepthReport:
    """Whether each Z in ``levels`` has cutting moves (both ends at that Z within ``tol``)."""
    mv = toolpath.moves
    starts = toolpath.starts()
    cut = (mv["kind"] == "cut").to_numpy()
    z1 = mv["z"].to_numpy(dtype=float)
    z0 = starts[:, 2]
    reached = [bool((cut & (np.abs(z1 - lv) <= tol) & (np.abs(z0 - lv) <= tol)).any()) for lv in levels]
    missing = [float(lv) for lv, ok in zip(levels, reached) if not ok]
    deepest = float(z1.min()) if len(z1) else math.nan
    return DepthReport([float(v) for v in levels], reached, missing, deepest, not missing)


def straight_line_inside(a: Sequence[float], b: Sequence[float], area: BaseGeometry,
                         tol: float = 0.0) -> bool:
    """Whether the segment ``a``-``b`` (2-D, mm) lies inside ``area`` (grown by ``tol``)."""
    seg = LineString([tuple(a[:2]), tuple(b[:2])]) if tuple(a[:2]) != tuple(b[:2]) else Point(a[:2])
    g = area.buffer(tol) if tol > 0 else area
    return bool(g.covers(seg))
