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
the centre in one direction (no step over 90 degrees), the sweep stays under 359 degrees and the
radius within ``[tolerance, max_radius]``. A straight run is accepted while every point is within
``tolerance`` of the chord ``i``-``j`` and the points advance along it. A run stops at its first
failing end point (``j - i <= MAX_RUN``). The longer of the two runs wins (the line on ties); a
run of one segment is a line.

Implementation (the same decisions as testing the windows one by one, computed in bulk):

1. **Short runs, every start at once.** For ``l = 2 .. SHORT_RUN`` the line and arc tests of the
   windows ``(i, i + l)`` are evaluated for every start ``i`` (of every fitted run of the table)
   still valid at ``l - 1``, as one ``(starts, l + 1)`` numpy array per level and test. This
   gives the exact first-failure run length of every start whose runs stop before
   ``SHORT_RUN`` (almost all of them on planner output) in ``2 * SHORT_RUN`` rounds of numpy
   calls, instead of a few numpy calls per tested window.
2. **Greedy walk.** Each fitted run is walked from its first point, taking the longer of the
   line and arc run at each start. A start whose run reaches ``SHORT_RUN`` is *extended*: its
   windows ``l = SHORT_RUN + 1 ..`` are tested in blocks ``(c, 2c]`` (one padded array per
   block) up to the first failure. All runs are walked side by side, so the starts waiting for
   an extension are extended together.

Cost: ``O(n * SHORT_RUN**2)`` array elements for step 1, and per piece longer than
``SHORT_RUN`` about ``2 L**2`` elements (``L`` its length, at most ``MAX_RUN``), as for the
window-by-window filter; the number of numpy calls no longer grows with the number of windows.
The pieces are those of the window-by-window filter (``benchmarks/bench_arcfit.py`` compares
the two on planner output), up to last-bit differences between ``numpy.hypot`` and
``math.hypot`` for a radius exactly at a threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from ..toolpath import Toolpath, moves_frame

__all__ = ["fit_arcs", "fit_polyline"]

#: Longest run examined from one start point (bounds the cost of one start to O(MAX_RUN**2)).
MAX_RUN: int = 400

#: Runs up to this many segments are measured for every start at once (step 1 of the method).
SHORT_RUN: int = 6

_SWEEP_MAX = math.radians(359.0)
_NAN = math.nan

#: ``guard(table, rows) -> bool array``: of the fitted rows ``rows`` of the moves table
#: ``table``, those that may not stand (see :func:`fit_arcs`).
Guard = Callable[[pd.DataFrame, np.ndarray], np.ndarray]


# ---------------------------------------------------------------------------------------------
# Window tests, vectorised over many windows (i, i + L)
# ---------------------------------------------------------------------------------------------

def _windows(px: np.ndarray, py: np.ndarray, I: np.ndarray, L: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Points of the windows ``[I, I + L]`` as (m, max(L) + 1) arrays, each row padded with its
    last point (a padded point repeats the end point: zero chord, zero angle step)."""
    W = int(L.max()) + 1
    idx = I[:, None] + np.minimum(np.arange(W)[None, :], L[:, None])
    return px[idx], py[idx]


def _line_test(px: np.ndarray, py: np.ndarray, I: np.ndarray, L: np.ndarray, tol: float
               ) -> np.ndarray:
    """Straight-run test of the windows ``[I, I + L]`` (``L >= 1``); bool array (m,).

    A window passes when every point is within ``tol`` of the infinite line through its end
    points (distance ``|AP x AB| / |AB|``) and the projections ``t = AP.AB / |AB|^2`` never
    decrease by more than 1e-12 (the points advance along the chord, so they all lie between
    its ends and the chord midpoints, on segments between points within ``tol`` of a line,
    are within ``tol`` too: the distance to a line is convex). A window whose end points
    coincide (``|AB| < 1e-12``) passes when every point is within ``tol`` of its first point.
    """
    J = I + L
    ax, ay = px[I], py[I]
    abx, aby = px[J] - ax, py[J] - ay
    ln = np.hypot(abx, aby)
    deg = ln < 1e-12
    ls = np.where(deg, 1.0, ln)
    X, Y = _windows(px, py, I, L)
    ex, ey = X - ax[:, None], Y - ay[:, None]
    t = (ex * abx[:, None] + ey * aby[:, None]) / (ls * ls)[:, None]
    ok = (np.diff(t, axis=1) >= -1e-12).all(axis=1)
    dist = np.abs(ex * aby[:, None] - ey * abx[:, None]) / ls[:, None]
    ok &= (dist <= tol).all(axis=1)
    if deg.any():
        ok = np.where(deg, (np.hypot(ex, ey) <= tol).all(axis=1), ok)
    return ok


def _arc_test(px: np.ndarray, py: np.ndarray, I: np.ndarray, L: np.ndarray, tol: float,
              max_radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          np.ndarray]:
    """Arc-run test of the windows ``[I, I + L]`` (``L >= 2``).

    The circle is the circumcircle of points ``I``, ``I + L // 2`` (= ``(i + j) // 2``) and
    ``I + L``, centre from the Cartesian circumcentre formula (e.g. Wikipedia, "Circumscribed
    circle", Cartesian coordinates): with ``D = 2 (ax (by - cy) + bx (cy - ay) + cx (ay - by))``,
    ``ux = (|a|^2 (by - cy) + |b|^2 (cy - ay) + |c|^2 (ay - by)) / D`` and
    ``uy = (|a|^2 (cx - bx) + |b|^2 (ax - cx) + |c|^2 (bx - ax)) / D``; nearly collinear points
    (``|D| < 1e-12``) have no circle. A window passes when ``tol <= R <= max_radius``, every point
    and every chord midpoint is within ``tol`` of the circle, every angular step (``atan2`` of the
    points about the centre, unwrapped) has the sign of the first and is at most 90 degrees, and
    the total sweep is at most 359 degrees.

    Returns:
        ``(ok, cx, cy, R, ccw)``, arrays of shape (m,); the circle values are meaningful where
        ``ok``.
    """
    m = len(I)
    cxo = np.full(m, _NAN)
    cyo = np.full(m, _NAN)
    Ro = np.full(m, _NAN)
    ccwo = np.zeros(m, dtype=bool)
    ok = np.zeros(m, dtype=bool)
    J = I + L
    M = I + L // 2
    ax, ay, bx, by, cx, cy = px[I], py[I], px[M], py[M], px[J], py[J]
    d = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    good = np.abs(d) >= 1e-12
    ds = np.where(good, d, 1.0)
    a2, b2, c2 = ax * ax + ay * ay, bx * bx + by * by, cx * cx + cy * cy
    ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / ds
    uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / ds
    R = np.hypot(ax - ux, ay - uy)
    good &= (R <= max_radius) & (R >= tol)
    g = np.flatnonzero(good)
    if len(g) == 0:
        return ok, cxo, cyo, Ro, ccwo
    Ig, Lg, ug, vg, Rg = I[g], L[g], ux[g, None], uy[g, None], R[g, None]
    X, Y = _windows(px, py, Ig, Lg)
    dx, dy = X - ug, Y - vg
    okg = (np.abs(np.hypot(dx, dy) - Rg) <= tol).all(axis=1)
    mx = 0.5 * (X[:, 1:] + X[:, :-1])
    my = 0.5 * (Y[:, 1:] + Y[:, :-1])
    okg &= (np.abs(np.hypot(mx - ug, my - vg) - Rg) <= tol).all(axis=1)
    if not okg.all():  # angles (the dearest part) only where the distances pass
        h = np.flatnonzero(okg)
        g, okg, Lg, dx, dy = g[h], okg[h], Lg[h], dx[h], dy[h]
        if len(g) == 0:
            return ok, cxo, cyo, Ro, ccwo
    ang = np.unwrap(np.arctan2(dy, dx), axis=1)
    da = np.diff(ang, axis=1)
    ccw = da[:, 0] > 0
    valid = np.arange(da.shape[1])[None, :] < Lg[:, None]
    wrong = np.where(ccw[:, None], da <= 0, da >= 0) & valid
    okg &= ~wrong.any(axis=1)
    okg &= np.abs(ang[:, -1] - ang[:, 0]) <= _SWEEP_MAX
    okg &= (np.abs(da) <= math.pi / 2).all(axis=1)
    ok[g] = okg
    cxo[g], cyo[g], Ro[g], ccwo[g] = ux[g], uy[g], R[g], ccw
    return ok, cxo, cyo, Ro, ccwo


# ---------------------------------------------------------------------------------------------
# Greedy fit of many polylines at once
# ---------------------------------------------------------------------------------------------

class _Runs:
    """Run lengths of every start point of the concatenated polylines (see module docstring)."""

    def __init__(self, px: np.ndarray, py: np.ndarray, lim: np.ndarray, tol: float,
                 max_radius: float) -> None:
        self.px, self.py, self.lim, self.tol, self.max_radius = px, py, lim, tol, max_radius
        n = len(px)
        line_len = np.minimum(lim, 1)
        arc_len = np.zeros(n, dtype=np.int64)
        self.cx, self.cy, self.R = np.full(n, _NAN), np.full(n, _NAN), np.full(n, _NAN)
        self.ccw = np.zeros(n, dtype=bool)
        act_l = act_a = np.flatnonzero(lim >= 2)
        top = min(SHORT_RUN, int(lim.max()) if n else 0)
        for l in range(2, top + 1):
            act_l = act_l[lim[act_l] >= l]
            if len(act_l):
                ok = _line_test(px, py, act_l, np.full(len(act_l), l), tol)
                act_l = act_l[ok]
                line_len[act_l] = l
            act_a = act_a[lim[act_a] >= l]
            if len(act_a):
                ok, cx, cy, R, ccw = _arc_test(px, py, act_a, np.full(len(act_a), l), tol,
                                               max_radius)
                act_a = act_a[ok]
                arc_len[act_a] = l
                self.cx[act_a], self.cy[act_a], self.R[act_a] = cx[ok], cy[ok], R[ok]
                self.ccw[act_a] = ccw[ok]
        # starts still valid at the last level and allowed to go further are undetermined
        self.open_line = np.zeros(n, dtype=bool)
        self.open_line[act_l[lim[act_l] > top]] = True
        self.open_arc = np.zeros(n, dtype=bool)
        self.open_arc[act_a[lim[act_a] > top]] = True
        self.line_len, self.arc_len = line_len, arc_len

    def extend(self, S: np.ndarray, arc: bool) -> None:
        """Extend the open runs of starts ``S`` to their first failing window."""
        px, py, lim = self.px, self.py, self.lim
        lens = self.arc_len if arc else self.line_len
        cur = lens[S].copy()
        while len(S):
            hi = np.minimum(lim[S], 2 * cur)
            cnt = hi - cur
            tot = int(cnt.sum())
            seg = np.repeat(np.arange(len(S)), cnt)
            first = np.cumsum(cnt) - cnt
            L = np.repeat(cur + 1, cnt) + (np.arange(tot) - np.repeat(first, cnt))
            I = S[seg]
            if arc:
                ok, cx, cy, R, ccw = _arc_test(px, py, I, L, self.tol, self.max_radius)
            else:
                ok = _line_test(px, py, I, L, self.tol)
            # first failure of each start's block (cnt if none)
            bad = np.flatnonzero(~ok)
            nfail = np.full(len(S), -1)
            u, at = np.unique(seg[bad], return_index=True)  # bad is sorted: first per start
            nfail[u] = bad[at] - first[u]
            passed = np.where(nfail < 0, cnt, nfail)
            grew = passed > 0
            last = first + passed - 1
            Sg = S[grew]
            lens[Sg] = cur[grew] + passed[grew]
            if arc:
                lg = last[grew]
                self.cx[Sg], self.cy[Sg], self.R[Sg], self.ccw[Sg] = cx[lg], cy[lg], R[lg], ccw[lg]
            more = (nfail < 0) & (hi < lim[S])
            S, cur = S[more], hi[more]

    def walk(self, starts: list[int], ends: list[int]) -> list[tuple[int, int, int]]:
        """Greedy walk of the polylines ``starts[r] .. ends[r]`` (point indices, inclusive).

        Returns the pieces ``(i, j, arc)`` in point order, ``arc`` 1 for an arc, 0 a line."""
        pos = list(starts)
        todo = list(range(len(starts)))
        pieces: list[list[tuple[int, int, int]]] = [[] for _ in starts]
        line_len, arc_len = self.line_len.tolist(), self.arc_len.tolist()
        open_l, open_a = self.open_line.tolist(), self.open_arc.tolist()
        while True:
            need_l: list[int] = []
            need_a: list[int] = []
            nxt = []
            for r in todo:
                i, e, out = pos[r], ends[r], pieces[r]
                while i < e:
                    if open_l[i] or open_a[i]:
                        if open_l[i]:
                            need_l.append(i)
                        if open_a[i]:
                            need_a.append(i)
                        nxt.append(r)
                        break
                    nl, na = line_len[i], arc_len[i]
                    if na > nl:
                        out.append((i, i + na, 1))
                        i += na
                    else:
                        out.append((i, i + nl, 0))
                        i += nl
                pos[r] = i
            if not nxt:
                break
            if need_l:
                self.extend(np.array(need_l), arc=False)
                for i in need_l:
                    line_len[i], open_l[i] = int(self.line_len[i]), False
            if need_a:
                self.extend(np.array(need_a), arc=True)
                for i in need_a:
                    arc_len[i], open_a[i] = int(self.arc_len[i]), False
            todo = nxt
        return [p for run in pieces for p in run]


def _fit_many(px: np.ndarray, py: np.ndarray, starts: list[int], ends: list[int], tol: float,
              max_radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Runs]:
    """Fit the polylines ``starts[r] .. ends[r]`` of the points ``(px, py)``.

    Returns ``(PI, PJ, arc, runs)``: piece start and end point indices and the arc flag (arrays
    of shape (pieces,)), pieces in point order; ``runs.cx/cy/R/ccw[PI]`` is the circle of an
    arc piece.
    """
    n = len(px)
    lim = np.zeros(n, dtype=np.int64)
    for s, e in zip(starts, ends):
        lim[s:e + 1] = np.minimum(np.arange(e - s, -1, -1), MAX_RUN)
    runs = _Runs(px, py, lim, tol, max_radius)
    pcs = runs.walk(starts, ends)
    if not pcs:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0, dtype=bool), runs
    arr = np.array(pcs, dtype=np.int64)
    return arr[:, 0], arr[:, 1], arr[:, 2].astype(bool), runs


def fit_polyline(pts: np.ndarray, tolerance: float = 0.01, max_radius: float = 5000.0
                 ) -> list[tuple[str, int, float, float, float]]:
    """Fit a 2-D polyline into lines and arcs (greedy arc filter, see the module docstring).

    Args:
        pts: points, shape (n, k) with k >= 2 (only the first two columns, x and y in mm, are
            used).
        tolerance: largest distance, mm, between a piece and the points and chord midpoints it
            replaces.
        max_radius: arcs of larger radius are not emitted, mm.

    Returns:
        A list of ``(code, j, cx, cy, R)``: the piece runs from the previous piece's end point
        index (0 for the first) to point ``j``; ``code`` is ``G1`` (cx, cy, R NaN), ``G2``
        (clockwise) or ``G3`` (counter-clockwise), ``(cx, cy)`` the centre and ``R`` the
        radius, mm. Empty for fewer than 2 points.

    Raises:
        InputError: ``tolerance <= 0`` or not finite, or points not of shape (n, >=2).
    """
    pts = np.asarray(pts, dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 2:
        raise InputError(f"fit_polyline: expected points of shape (n, 2), got {pts.shape}")
    if not (tolerance > 0 and math.isfinite(tolerance)):
        raise InputError(f"arc-fit tolerance must be > 0 mm, got {tolerance!r}")
    n = len(pts)
    if n < 2:
        return []
    px, py = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
    PI, PJ, arc, runs = _fit_many(px, py, [0], [n - 1], tolerance, max_radius)
    out: list[tuple[str, int, float, float, float]] = []
    for i, j, a in zip(PI.tolist(), PJ.tolist(), arc.tolist()):
        if a:
            out.append(("G3" if runs.ccw[i] else "G2", j, float(runs.cx[i]), float(runs.cy[i]),
                        float(runs.R[i])))
        else:
            out.append(("G1", j, _NAN, _NAN, _NAN))
    return out


# ---------------------------------------------------------------------------------------------
# Moves tables
# ---------------------------------------------------------------------------------------------

def _flags(df: pd.DataFrame, col: str) -> np.ndarray:
    """``bool(value)`` of every row of column ``col`` (False when the column is absent)."""
    if col not in df.columns:
        return np.zeros(len(df), dtype=bool)
    s = df[col]
    if s.dtype == bool:
        return s.to_numpy()
    return np.array([bool(v) for v in s.tolist()], dtype=bool)


def _group_reduce(ufunc: np.ufunc, values: np.ndarray, first: np.ndarray, last: np.ndarray
                  ) -> np.ndarray:
    """``ufunc`` reduced over ``values[first[k]:last[k] + 1]`` for every k (disjoint, ordered
    groups)."""
    if len(first) == 0:
        return values[:0]
    v = np.append(values, values[:1])
    idx = np.empty(2 * len(first), dtype=np.int64)
    idx[0::2], idx[1::2] = first, last + 1
    return ufunc.reduceat(v, idx)[0::2]


def _fit_table(mv: pd.DataFrame, runs: list[tuple[int, int, float, float, float]], tol: float,
               max_radius: float, guard: Guard | None = None) -> pd.DataFrame:
    """Replace the row runs ``(k, m, x0, y0, z)`` (rows ``k .. m-1``, starting from ``(x0, y0)``,
    emitted at height ``z``) of ``mv`` by their fitted pieces; other rows are copied. With
    ``guard`` (see :func:`fit_arcs`), the pieces it rejects are put back as the rows they
    replaced."""
    n = len(mv)
    x = mv["x"].to_numpy(dtype=float)
    y = mv["y"].to_numpy(dtype=float)
    # concatenated polylines: run r is point s_r (its start) then its rows
    sizes = np.array([m - k + 1 for k, m, *_ in runs], dtype=np.int64)
    s_pt = np.cumsum(sizes) - sizes
    npts = int(sizes.sum())
    rowof = np.full(npts, -1, dtype=np.int64)
    px, py = np.empty(npts), np.empty(npts)
    for (k, m, x0, y0, _z), s in zip(runs, s_pt.tolist()):
        px[s], py[s] = x0, y0
        px[s + 1: s + 1 + m - k], py[s + 1: s + 1 + m - k] = x[k:m], y[k:m]
        rowof[s + 1: s + 1 + m - k] = np.arange(k, m)
    zrun = np.repeat(np.array([r[4] for r in runs], dtype=float), sizes)
    PI, PJ, arc, fr = _fit_many(px, py, s_pt.tolist(), (s_pt + sizes - 1).tolist(), tol,
                                max_radius)
    out, at = _assemble(mv, runs, px, py, rowof, zrun, PI, PJ, arc, fr)
    undone = 0
    if guard is not None:
        multi = np.flatnonzero(PJ - PI > 1)  # pieces that replace more than one row
        bad = (np.asarray(guard(out, at[multi]), dtype=bool) if len(multi)
               else np.zeros(0, dtype=bool))
        if bad.any():
            undo = set(multi[bad].tolist())
            pcs = []
            for k, (i, j, a) in enumerate(zip(PI.tolist(), PJ.tolist(), arc.tolist())):
                pcs.extend([(q, q + 1, False) for q in range(i, j)] if k in undo else [(i, j, a)])
            arr = np.array(pcs, dtype=np.int64)
            PI, PJ, arc = arr[:, 0], arr[:, 1], arr[:, 2].astype(bool)
            out, at = _assemble(mv, runs, px, py, rowof, zrun, PI, PJ, arc, fr)
            undone = len(undo)
    out.attrs["arcfit_guarded"] = undone
    return out


def _assemble(mv: pd.DataFrame, runs: list[tuple[int, int, float, float, float]], px: np.ndarray,
              py: np.ndarray, rowof: np.ndarray, zrun: np.ndarray, PI: np.ndarray, PJ: np.ndarray,
              arc: np.ndarray, fr: _Runs) -> tuple[pd.DataFrame, np.ndarray]:
    """The moves table of :func:`_fit_table` for the pieces ``PI, PJ, arc``, and the row of
    each piece in it."""
    n = len(mv)
    first, last = rowof[PI + 1], rowof[PJ]
    # output rows: the last row of every piece and every row outside the runs, in order
    keep = np.ones(n, dtype=bool)
    for k, m, *_ in runs:
        keep[k:m] = False
    keep[last] = True
    src = np.flatnonzero(keep)
    out = mv.iloc[src].reset_index(drop=True)
    at = np.searchsorted(src, last)
    ax, ay, bx, by = px[PI], py[PI], px[PJ], py[PJ]
    cx, cy, R, ccw = fr.cx[PI], fr.cy[PI], fr.R[PI], fr.ccw[PI]
    a0 = np.arctan2(ay - cy, ax - cx)
    a1 = np.arctan2(by - cy, bx - cx)
    sweep = np.where(ccw, (a1 - a0) % (2 * math.pi), (a0 - a1) % (2 * math.pi))
    code = np.where(arc, np.where(ccw, "G3", "G2"), "G1").astype(object)
    cols: dict[str, np.ndarray] = {
        "code": code,
        "x": bx, "y": by, "z": zrun[PJ],
        "i": np.where(arc, cx - ax, _NAN), "j": np.where(arc, cy - ay, _NAN),
        "radius_mm": np.where(arc, R, _NAN),
        "len_mm": np.where(arc, R * sweep, np.hypot(bx - ax, by - ay)),
    }
    eng = (pd.to_numeric(mv["engagement_deg"], errors="coerce").to_numpy(dtype=float)
           if "engagement_deg" in mv.columns else np.full(n, _NAN))
    with np.errstate(invalid="ignore"):
        cols["engagement_deg"] = _group_reduce(np.fmax, eng, first, last)
    slow = (pd.to_numeric(mv["slowdown"], errors="coerce").to_numpy(dtype=float)
            if "slowdown" in mv.columns else np.ones(n))
    cols["slowdown"] = _group_reduce(np.fmin, slow, first, last)
    cols["trochoid"] = _group_reduce(np.logical_or, _flags(mv, "trochoid"), first, last)
    if "slot" in mv.columns:
        cols["slot"] = _group_reduce(np.logical_or, _flags(mv, "slot"), first, last)
    plane = (mv["plane"].to_numpy()[last] if "plane" in mv.columns else np.full(len(last), _NAN))
    cols["plane"] = np.where(arc, 17, plane)
    for c, v in cols.items():
        if c not in out.columns:
            out[c] = _NAN
        col = out[c].to_numpy(copy=True)
        if col.dtype != object and np.asarray(v).dtype == object:
            col = col.astype(object)
        elif col.dtype.kind in "biu" and np.asarray(v).dtype.kind == "f":
            col = col.astype(float)
        col[at] = v
        out[c] = col
    return moves_frame(out), at


def fit_arcs(points_or_moves: np.ndarray | pd.DataFrame | Toolpath, tolerance: float = 0.01, *,
             start: tuple[float, float, float] | None = None, max_radius: float = 5000.0,
             guard: Guard | None = None) -> pd.DataFrame:
    """Fit consecutive points into G2/G3 arcs (and G1 lines) within a chord tolerance.

    Method: greedy arc filter, see the module docstring.

    Args:
        points_or_moves: either points of shape (n, 2) or (n, 3), mm (the first point is the
            start position, not a move; z, when given, must be constant), or a moves table /
            Toolpath (see ``workbench.toolpath``). In a moves table, runs of consecutive
            horizontal G1 rows with the same z, kind, feed, trochoid and slot flags are fitted;
            every other row is copied unchanged. A fitted row is the last row it replaces with
            new ``code, x, y, z, i, j, radius_mm, len_mm`` (and ``plane`` 17 for arcs), the
            largest ``engagement_deg`` and the smallest ``slowdown`` of the rows it replaces.
        tolerance: largest distance, mm, between a fitted arc or line and the points and chord
            midpoints it replaces (default 0.01 mm).
        start: position before the first move of a moves table (default: ``Toolpath.start``,
            else the first row's end point, which is then never merged).
        max_radius: arcs of larger radius are not emitted (a line is), mm.
        guard: optional check of the fitted geometry, ``guard(table, rows)``: given the fitted
            moves table and the rows of it that replace more than one input row, a bool array
            (one per row in ``rows``), True for a row that may not stand. Those pieces are put
            back as the rows they replaced (once; the input rows are not checked). A fitted
            arc or line lies within ``tolerance`` of its points, so near a wall it can come
            up to ``tolerance`` closer than the polyline did: a planner whose wall margin is
            not that much larger passes a clearance check here (``plan_adaptive`` does).
            The number of pieces put back is ``table.attrs["arcfit_guarded"]``.

    Returns:
        A moves table (``workbench.toolpath`` contract), one row per emitted move: G2/G3 rows
        carry ``i``/``j`` (centre minus start), ``radius_mm`` and ``len_mm`` (arc length), plane
        17; the end points of the fitted rows are end points of the input rows, so the output
        chains exactly through them.

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
        n = len(mv)
        if n == 0:
            return moves_frame(mv)
        code = mv["code"].to_numpy(dtype=object)
        x, y, z = (mv[c].to_numpy(dtype=float) for c in ("x", "y", "z"))
        kind = mv["kind"].to_numpy(dtype=object)
        feed = mv["feed"].to_numpy(dtype=float)
        troch, slot = _flags(mv, "trochoid"), _flags(mv, "slot")
        g1 = code == "G1"
        # blocks of consecutive G1 rows with equal kind, feed (a NaN feed never merges) and
        # flags; a run is then cut where z leaves its first row's z by 1e-9 mm or more
        brk = np.ones(n, dtype=bool)
        brk[1:] = ~(g1[1:] & g1[:-1] & (kind[1:] == kind[:-1]) & (feed[1:] == feed[:-1])
                    & (troch[1:] == troch[:-1]) & (slot[1:] == slot[:-1]))
        bounds = np.flatnonzero(brk).tolist() + [n]
        g1l, zl = g1.tolist(), z.tolist()
        cur = (np.asarray(start, dtype=float) if start is not None
               else np.array([x[0], y[0], z[0]]))
        cx, cy, cz = float(cur[0]), float(cur[1]), float(cur[2])
        runs: list[tuple[int, int, float, float, float]] = []
        for b, e in zip(bounds[:-1], bounds[1:]):
            k = b
            while k < e:
                zk = zl[k]
                if g1l[k] and abs(zk - cz) < 1e-9:
                    off = np.abs(z[k + 1:e] - zk) >= 1e-9
                    m = k + 1 + int(np.argmax(off)) if off.any() else e
                    if m - k >= 2:
                        runs.append((k, m, cx, cy, zk))
                    k = m
                else:
                    k += 1
                cx, cy, cz = float(x[k - 1]), float(y[k - 1]), zk
        if not runs:
            return moves_frame(mv)
        return _fit_table(mv, runs, tolerance, max_radius, guard)
    pts = np.asarray(points_or_moves, dtype=float)
    if pts.ndim != 2 or pts.shape[1] not in (2, 3) or len(pts) < 2:
        raise InputError(f"fit_arcs: expected at least 2 points of shape (n, 2) or (n, 3), got {pts.shape}")
    z0 = 0.0
    if pts.shape[1] == 3:
        if np.ptp(pts[:, 2]) > 1e-9:
            raise InputError("fit_arcs: points must lie in one horizontal plane (constant z)")
        z0 = float(pts[0, 2])
    rows = pd.DataFrame({"code": "G1", "x": pts[1:, 0], "y": pts[1:, 1], "z": z0, "kind": "cut"})
    return _fit_table(rows, [(0, len(rows), float(pts[0, 0]), float(pts[0, 1]), z0)], tolerance,
                      max_radius, guard)
