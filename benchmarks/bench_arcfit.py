"""Arc fitting speed: ``workbench.cam.arcfit.fit_arcs`` against the greedy reference.

Baseline, named **greedy reference**: a verbatim copy (below, ``ref_*``) of the point-by-point
arc filter ``fit_arcs`` had before it was vectorised (one numpy call sequence per tested window
``(i, j)``, every window length tried from every greedy start). Both are timed in the same run,
on the same inputs, best of ``--repeat`` runs each:

* ``adaptive``: the G1 program of ``plan_adaptive`` (arc_fit=False) on a 90 x 40 mm pocket with
  a 12 mm round island (tool 6 mm, stepover 0.2, one 3 mm level): the input the adaptive
  planner hands to ``fit_arcs``.
* ``pocket``: the offset plans (``plan_pocket``, tool 6 mm, stepover 0.3, stepdown 3, depth 6)
  of the two PICKUP_CAVITY regions of ``LesPaul_CAM_Closed.dxf`` (shared data).
* ``dense``: 6000 points on circles of radius 20..80 mm at 0.05..0.3 mm spacing with
  0.002 mm noise (long runs: every piece is longer than ``SHORT_RUN``).

Printed per case: input moves, moves after fitting (reference / new), seconds (reference /
new), the speed ratio reference / new, and whether both outputs are the same table
(codes and flags equal, floats within 1e-9 mm).

Run: ``.venv/bin/python benchmarks/bench_arcfit.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from workbench.cam.arcfit import fit_arcs
from workbench.errors import InputError
from workbench.toolpath import Toolpath, moves_frame

# ---------------------------------------------------------------------------------------------
# greedy reference (baseline): workbench/cam/arcfit.py as it was before vectorisation
# ---------------------------------------------------------------------------------------------

REF_MAX_RUN: int = 400


def _ref_circle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[float, float, float] | None:
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


def _ref_arc_ok(pts: np.ndarray, i: int, j: int, tol: float, max_radius: float
            ) -> tuple[float, float, float, bool] | None:
    m = (i + j) // 2
    circ = _ref_circle(pts[i], pts[m], pts[j])
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


def _ref_line_ok(pts: np.ndarray, i: int, j: int, tol: float) -> bool:
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


def ref_fit_polyline(pts: np.ndarray, tolerance: float = 0.01, max_radius: float = 5000.0
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
        while jl + 1 < n and jl + 1 - i <= REF_MAX_RUN and _ref_line_ok(pts, i, jl + 1, tolerance):
            jl += 1
        # arc run (needs >= 2 segments)
        ja, best = i, None
        j = i + 2
        while j < n and j - i <= REF_MAX_RUN:
            res = _ref_arc_ok(pts, i, j, tolerance, max_radius)
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


def _ref_fit_rows(start: np.ndarray, rows: list[dict[str, Any]], tol: float, max_radius: float
              ) -> list[dict[str, Any]]:
    """Fit a run of horizontal G1 rows (same z) starting at ``start``."""
    pts = np.vstack([start[:2]] + [[r["x"], r["y"]] for r in rows])
    pieces = ref_fit_polyline(pts, tol, max_radius)
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


def ref_fit_arcs(points_or_moves: np.ndarray | pd.DataFrame | Toolpath, tolerance: float = 0.01, *,
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
                    out.extend(_ref_fit_rows(cur, recs[k:m], tolerance, max_radius))
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
    return moves_frame(_ref_fit_rows(np.array([pts[0, 0], pts[0, 1], z]), rows, tolerance, max_radius))


# ---------------------------------------------------------------------------------------------
# cases and timing
# ---------------------------------------------------------------------------------------------

def case_adaptive() -> list[tuple[pd.DataFrame, Any]]:
    from shapely.geometry import Point, box

    from workbench.cam.adaptive import plan_adaptive

    poly = box(0, 0, 90, 40).difference(Point(60, 20).buffer(6))
    tp = plan_adaptive(poly, tool_d=6, stepover=0.2, stepdown=3, depth=3, arc_fit=False)
    return [(tp.moves, tp.start)]


def case_pocket() -> list[tuple[pd.DataFrame, Any]]:
    from workbench.cam import plan_pocket
    from workbench.geometry import read_regions
    from workbench.paths import SHARED_DATA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        regions = read_regions(SHARED_DATA / "dxf" / "LesPaul_CAM_Closed.dxf", layers=["PICKUP_CAVITY"])
    out = []
    for reg in regions:
        tp = plan_pocket(reg, tool_d=6, stepover=0.3, stepdown=3.0, depth=6.0)
        out.append((tp.moves, tp.start))
    return out


def case_dense() -> list[tuple[np.ndarray, None]]:
    rng = np.random.default_rng(0)
    pts = [np.zeros((1, 2))]
    c = np.zeros(2)
    while sum(len(p) for p in pts) < 6000:
        r, step = rng.uniform(20, 80), rng.uniform(0.05, 0.3)
        a = np.arange(0, rng.uniform(1, 5), step / r)
        seg = c + r * np.c_[np.cos(a), np.sin(a)]
        pts.append(seg - seg[0] + pts[-1][-1] + [step, 0])
    return [(np.vstack(pts)[:6000] + rng.normal(0, 0.002, (6000, 2)), None)]


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if x.dtype.kind == "f":
            if not np.allclose(x, y, rtol=0, atol=1e-9, equal_nan=True):
                return False
        elif not (x == y).all():
            return False
    return True


def best_of(fn, repeat: int) -> tuple[float, list[pd.DataFrame]]:
    best, out = math.inf, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'case':9s} {'moves in':>8s} {'out ref':>7s} {'out new':>7s} {'ref s':>7s} {'new s':>7s} "
          f"{'ratio':>6s}  same")
    for name, make in (("adaptive", case_adaptive), ("pocket", case_pocket), ("dense", case_dense)):
        inputs = make()
        n_in = sum(len(m) for m, _ in inputs)
        t_ref, ref = best_of(lambda: [ref_fit_arcs(m, 0.01, start=s) for m, s in inputs], args.repeat)
        t_new, new = best_of(lambda: [fit_arcs(m, 0.01, start=s) for m, s in inputs], args.repeat)
        same = all(same_table(a, b) for a, b in zip(ref, new))
        print(f"{name:9s} {n_in:8d} {sum(map(len, ref)):7d} {sum(map(len, new)):7d} {t_ref:7.3f} "
              f"{t_new:7.3f} {t_ref / t_new:6.1f}  {same}")


if __name__ == "__main__":
    main()
