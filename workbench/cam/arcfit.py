"""Arc fitting: replace runs of short G1 chords by G2/G3 arcs (and long G1 lines).

Planners produce tool-centre polylines with many short chords (offsets, contours of a raster
field). Controllers run arcs smoothly (one block, constant curvature, no junction-deviation
slowdowns at every vertex) and programs get much shorter, so runs of consecutive points that lie
on one circle within a chord tolerance are emitted as one G2/G3 move, and runs that lie on one
straight line as one G1 move.

Method (greedy, the usual "arc filter" of CAM post-processors, e.g. FreeCAD's Path arc filter
and LinuxCNC's ``G64 P`` naive-cam detector): from point ``i``, extend the run to point ``j`` while
the circle through points ``i``, ``(i+j)//2`` and ``j`` passes within ``tolerance`` of every point
of the run *and* of the midpoint of every chord of the run (so the arc stays within tolerance of
the segments it replaces, not only of their end points), the points advance monotonically around
the centre in one direction, the sweep stays under 359 degrees and the radius under
``max_radius``. A straight run is accepted while every point is within ``tolerance`` of the chord
``i``-``j``. The longer of the two runs wins (the line on ties); a run of one segment is a line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..toolpath import Toolpath, moves_frame

__all__ = ["fit_arcs", "fit_polyline"]

#: Longest run examined from one start point (bounds the cost to O(n * MAX_RUN)).
MAX_RUN: int = 400


def _circle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[float, float, float] | None:
    """Circle through three 2-D points: (cx, cy, R), or None when (nearly) collinear."""
    ax, ay = a
    bx, by = b
    cx, cy = c
    d = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    if abs(d) < 1e-12:
        return None
    a2, b2, c2 = ax * ax + ay * ay, bx * bx + by * by, cx * cx + cy * cy
    ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
    uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    return ux, uy, math.hypot(ax - ux, ay - uy)


def _arc_ok(pts: np.ndarray, i: int, j: int, tol: float, max_radius: float
            ) -> tuple[float, float, float, bool] | None:
    m = (i + j) // 2
    circ = _circle(pts[i], pts[m], pts[j])
    if circ is None:
        return None
    cx, cy, R = circ
    if R > max_radius or R < tol:
        return None
    run = pts[i: j + 1]
    d = np.abs(np.hypot(run[:, 0] - cx, run[:, 1] - cy) - R)
    if d.max() > tol:
        return None
    mids = 0.5 * (run[1:] + run[:-1])
    if np.abs(np.hypot(mids[:, 0] - cx, mids[:, 1] - cy) - R).max() > tol:
        return None
    ang = np.unwrap(np.arctan2(run[:, 1] - cy, run[:, 0] - cx))
    da = np.diff(ang)
    ccw = bool(da[0] > 0)
    if ccw and (da <= 0).any() or (not ccw) and (da >= 0).any():
        return None
    if abs(ang[-1] - ang[0]) > math.radians(359.0) or (np.abs(da) > math.pi / 2).any():
        return None
    return cx, cy, R, ccw


def _line_ok(pts: np.ndarray, i: int, j: int, tol: float) -> bool:
    a, b = pts[i], pts[j]
    ab = b - a
    L = math.hypot(*ab)
    run = pts[i: j + 1]
    if L < 1e-12:
        return bool((np.hypot(*(run - a).T) <= tol).all())
    t = ((run - a) @ ab) / (L * L)
    if (np.diff(t) < -1e-12).any():
        return False
    dist = np.abs((run[:, 0] - a[0]) * ab[1] - (run[:, 1] - a[1]) * ab[0]) / L
    return bool(dist.max() <= tol)


def fit_polyline(pts: np.ndarray, tolerance: float = 0.01, max_radius: float = 5000.0
                 ) -> list[tuple[str, int, float, float, float]]:
    """Fit a 2-D polyline (n, 2) into pieces.

    Returns a list of ``(code, j, cx, cy, R)``: the piece runs from the previous piece's end
    point index (0 for the first) to point ``j``; ``code`` is ``G1`` (cx, cy, R NaN), ``G2``
    (clockwise) or ``G3`` (counter-clockwise).

    Raises:
        InputError: ``tolerance <= 0`` or points not of shape (n, 2).
    """
    pts = np.asarray(pts, dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 2:
        raise InputError(f"fit_polyline: expected points of shape (n, 2), got {pts.shape}")
    if not (tolerance > 0 and math.isfinite(tolerance)):
        raise InputError(f"arc-fit tolerance must be > 0 mm, got {tolerance!r}")
    pts = pts[:, :2]
    n = len(pts)
    out: list[tuple[str, int, float, float, float]] = []
    i = 0
    nan = math.nan
    while i < n - 1:
        # line run
        jl = i + 1
        while jl + 1 < n and jl + 1 - i <= MAX_RUN and _line_ok(pts, i, jl + 1, tolerance):
            jl += 1
        # arc run (needs >= 2 segments)
        ja, best = i, None
        j = i + 2
        while j < n and j - i <= MAX_RUN:
            res = _arc_ok(pts, i, j, tolerance, max_radius)
            if res is None:
                break
            ja, best = j, res
            j += 1
        if best is not None and ja > jl:
            cx, cy, R, ccw = best
            out.append(("G3" if ccw else "G2", ja, cx, cy, R))
            i = ja
        else:
            out.append(("G1", jl, nan, nan, nan))
            i = jl
    return out


def _fit_rows(start: np.ndarray, rows: list[dict[str, Any]], tol: float, max_radius: float
              ) -> list[dict[str, Any]]:
    """Fit a run of horizontal G1 rows (same z) starting at ``start``."""
    pts = np.vstack([start[:2]] + [[r["x"], r["y"]] for r in rows])
    pieces = fit_polyline(pts, tol, max_radius)
    out = []
    i0 = 0
    z = rows[0]["z"]
    for code, j, cx, cy, R in pieces:
        grp = rows[i0: j]
        base = dict(grp[-1])
        eng = [g.get("engagement_deg", math.nan) for g in grp]
        eng = [e for e in eng if e is not None and not (isinstance(e, float) and math.isnan(e))]
        base["engagement_deg"] = max(eng) if eng else math.nan
        base["slowdown"] = min(float(g.get("slowdown", 1.0)) for g in grp)
        base["trochoid"] = any(bool(g.get("trochoid", False)) for g in grp)
        if "slot" in base:
            base["slot"] = any(bool(g.get("slot", False)) for g in grp)
        a = pts[i0]
        b = pts[j]
        if code == "G1":
            base.update(code="G1", i=math.nan, j=math.nan, radius_mm=math.nan,
                        len_mm=float(math.hypot(*(b - a))))
        else:
            a0 = math.atan2(a[1] - cy, a[0] - cx)
            a1 = math.atan2(b[1] - cy, b[0] - cx)
            sweep = (a1 - a0) % (2 * math.pi) if code == "G3" else (a0 - a1) % (2 * math.pi)
            base.update(code=code, i=float(cx - a[0]), j=float(cy - a[1]), radius_mm=float(R),
                        len_mm=float(R * sweep), plane=17)
        base["x"], base["y"], base["z"] = float(b[0]), float(b[1]), z
        out.append(base)
        i0 = j
    return out


def fit_arcs(points_or_moves: np.ndarray | pd.DataFrame | Toolpath, tolerance: float = 0.01, *,
             start: tuple[float, float, float] | None = None, max_radius: float = 5000.0
             ) -> pd.DataFrame:
    """Fit consecutive points into G2/G3 arcs (and G1 lines) within a chord tolerance.

    Args:
        points_or_moves: either points of shape (n, 2) or (n, 3) (the first point is the start
            position, not a move; z, when given, must be constant), or a moves table / Toolpath
            (see ``workbench.toolpath``). In a moves table, runs of consecutive horizontal G1
            rows with the same z, kind, feed and trochoid flag are fitted; every other row is
            copied unchanged. A fitted row takes the largest ``engagement_deg`` and the
            smallest ``slowdown`` of the rows it replaces.
        tolerance: largest distance, mm, between a fitted arc or line and the points and chord
            midpoints it replaces (default 0.01 mm).
        start: position before the first move of a moves table (default: ``Toolpath.start``,
            else the first row's end point, which is then never merged).
        max_radius: arcs of larger radius are not emitted (a line is), mm.

    Returns:
        A moves table (``workbench.toolpath`` contract): G2/G3 rows carry ``i``/``j`` (centre
        minus start), ``radius_mm`` and ``len_mm`` (arc length), plane 17.

    Raises:
        InputError: bad tolerance, points of the wrong shape, varying z in a point array.
    """
    if not (isinstance(tolerance, (int, float)) and tolerance > 0 and math.isfinite(tolerance)):
        raise InputError(f"arc-fit tolerance must be > 0 mm, got {tolerance!r}")
    if isinstance(points_or_moves, Toolpath):
        start = start or points_or_moves.start
        points_or_moves = points_or_moves.moves
    if isinstance(points_or_moves, pd.DataFrame):
        mv = points_or_moves
        recs = mv.to_dict("records")
        if not recs:
            return moves_frame(mv)
        cur = np.asarray(start if start is not None else (recs[0]["x"], recs[0]["y"], recs[0]["z"]),
                         dtype=float)
        out: list[dict[str, Any]] = []
        k = 0
        n = len(recs)

        def key(r: dict[str, Any]) -> tuple:
            return (r["kind"], r["feed"], bool(r.get("trochoid", False)), bool(r.get("slot", False)))

        while k < n:
            r = recs[k]
            if r["code"] == "G1" and abs(r["z"] - cur[2]) < 1e-9:
                m = k + 1
                while m < n and recs[m]["code"] == "G1" and abs(recs[m]["z"] - r["z"]) < 1e-9 \
                        and key(recs[m]) == key(r):
                    m += 1
                if m - k >= 2:
                    out.extend(_fit_rows(cur, recs[k:m], tolerance, max_radius))
                else:
                    out.append(r)
                k = m
            else:
                out.append(r)
                k += 1
            cur = np.array([out[-1]["x"], out[-1]["y"], out[-1]["z"]], dtype=float)
        return moves_frame(out)
    pts = np.asarray(points_or_moves, dtype=float)
    if pts.ndim != 2 or pts.shape[1] not in (2, 3) or len(pts) < 2:
        raise InputError(f"fit_arcs: expected at least 2 points of shape (n, 2) or (n, 3), got {pts.shape}")
    z = 0.0
    if pts.shape[1] == 3:
        if np.ptp(pts[:, 2]) > 1e-9:
            raise InputError("fit_arcs: points must lie in one horizontal plane (constant z)")
        z = float(pts[0, 2])
    rows = [{"code": "G1", "x": float(p[0]), "y": float(p[1]), "z": z, "kind": "cut"} for p in pts[1:]]
    return moves_frame(_fit_rows(np.array([pts[0, 0], pts[0, 1], z]), rows, tolerance, max_radius))
