"""Removed volume per move from a heightmap of the stock (the move's *real* engagement).

The stock is a 2.5D heightmap: a grid of square cells of side ``cell_mm`` holding the top of
the material in each cell, initially ``top_z`` everywhere. Each move of a flat end mill of
diameter D lowers every cell whose centre lies within D/2 of the tool-centre path to the tool's
z; the volume removed by the move is the sum of the lowered heights times the cell area. This is
the standard dexel / z-map stock model of NC verification (e.g. Anderson R.O., "Detecting and
eliminating collisions in NC machining", Computer-Aided Design 10(4), 1978; Jerard R.B. et al.,
"Methods for detecting errors in numerically controlled machining of sculptured surfaces",
IEEE CG&A 9(1), 1989).

From the removed volume V and the removed plan area A of a move of length L the move's real
radial engagement and axial depth follow as ``ae = A / L`` and ``ap = V / A`` so that
``V = ae * ap * L`` holds exactly; this counts the extra material a tool meets at corners and in
the first slotting pass, which the nominal stepover misses.

Lines and arcs at constant z are stamped exactly (distance from the cell centre to the segment
or to the arc); moves whose z changes (plunges, ramps, helices) are cut into pieces with
Delta z <= ``dz_step`` and each piece is stamped at its deeper end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

#: Upper bound on the number of grid cells; the cell grows past ``tool_d / 24`` to stay under.
MAX_CELLS: int = 6_000_000

_PLANE_AXES = {17: (0, 1, 2), 18: (2, 0, 1), 19: (1, 2, 0)}
_PLANE_OFFS = {17: ("i", "j"), 18: ("k", "i"), 19: ("j", "k")}


@dataclass
class RemovalResult:
    """Per-move removal from :func:`removed_by_moves` (arrays of length n_moves).

    Attributes:
        volume_mm3: removed volume per move, mm^3.
        area_mm2: plan area of the cells the move lowered, mm^2.
        cell_mm: grid cell side used, mm.
        final: the final heightmap (ny, nx), mm.
        origin: (x, y) of the grid's lower-left corner, mm.
    """

    volume_mm3: np.ndarray
    area_mm2: np.ndarray
    cell_mm: float
    final: np.ndarray
    origin: tuple[float, float]


def _arc_points(s: np.ndarray, e: np.ndarray, off: tuple[float, float], plane: int, cw: bool,
                tol: float) -> tuple[np.ndarray, float, np.ndarray, float, float]:
    """Points along an arc (3D), plus centre (2D in-plane), radius, start angle, sweep (rad)."""
    a, b, n = _PLANE_AXES[plane]
    c = np.array([s[a] + off[0], s[b] + off[1]])
    r = float(math.hypot(s[a] - c[0], s[b] - c[1]))
    a0 = math.atan2(s[b] - c[1], s[a] - c[0])
    a1 = math.atan2(e[b] - c[1], e[a] - c[0])
    if cw:
        sweep = -((a0 - a1) % (2 * math.pi))
    else:
        sweep = (a1 - a0) % (2 * math.pi)
    if abs(sweep) < 1e-12:
        sweep = -2 * math.pi if cw else 2 * math.pi
    if r <= 0:
        return np.vstack([s, e]), r, c, a0, 0.0
    step = 2 * math.acos(max(-1.0, 1 - min(tol / r, 1.0))) if tol < r else math.pi / 2
    m = max(2, int(math.ceil(abs(sweep) / max(step, 1e-6))) + 1)
    t = np.linspace(0.0, 1.0, m)
    ang = a0 + sweep * t
    pts = np.empty((m, 3))
    pts[:, a] = c[0] + r * np.cos(ang)
    pts[:, b] = c[1] + r * np.sin(ang)
    pts[:, n] = s[n] + (e[n] - s[n]) * t
    pts[-1] = e
    return pts, r, c, a0, sweep


class _Grid:
    def __init__(self, x0: float, y0: float, h: float, nx: int, ny: int, top: float) -> None:
        self.x0, self.y0, self.h, self.nx, self.ny = x0, y0, h, nx, ny
        self.H = np.full((ny, nx), top, dtype=np.float64)
        self.mark = np.full((ny, nx), -1, dtype=np.int32)  # last move that lowered the cell
        self.move = -1

    def _window(self, xmin: float, xmax: float, ymin: float, ymax: float):
        h = self.h
        i0 = max(0, int(math.floor((xmin - self.x0) / h - 0.5)))
        i1 = min(self.nx, int(math.ceil((xmax - self.x0) / h + 0.5)))
        j0 = max(0, int(math.floor((ymin - self.y0) / h - 0.5)))
        j1 = min(self.ny, int(math.ceil((ymax - self.y0) / h + 0.5)))
        if i0 >= i1 or j0 >= j1:
            return None
        X = self.x0 + (np.arange(i0, i1) + 0.5) * h
        Y = self.y0 + (np.arange(j0, j1) + 0.5) * h
        return i0, i1, j0, j1, X[None, :], Y[:, None]

    def _apply(self, win, mask: np.ndarray, z: float) -> tuple[float, float]:
        i0, i1, j0, j1 = win[:4]
        sub = self.H[j0:j1, i0:i1]
        dz = sub - z
        cut = mask & (dz > 1e-9)
        if not cut.any():
            return 0.0, 0.0
        vol = float(dz[cut].sum()) * self.h * self.h
        msub = self.mark[j0:j1, i0:i1]
        area = float((cut & (msub != self.move)).sum()) * self.h * self.h
        sub[cut] = z
        msub[cut] = self.move
        return vol, area

    def segment(self, ax: float, ay: float, bx: float, by: float, R: float, z: float):
        win = self._window(min(ax, bx) - R, max(ax, bx) + R, min(ay, by) - R, max(ay, by) + R)
        if win is None:
            return 0.0, 0.0
        X, Y = win[4], win[5]
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        px, py = X - ax, Y - ay
        if L2 <= 1e-18:
            d2 = px * px + py * py
        else:
            t = np.clip((px * dx + py * dy) / L2, 0.0, 1.0)
            d2 = (px - t * dx) ** 2 + (py - t * dy) ** 2
        return self._apply(win, d2 <= R * R, z)

    def arc(self, pts: np.ndarray, c: np.ndarray, r: float, a0: float, sweep: float, R: float,
            z: float):
        win = self._window(pts[:, 0].min() - R, pts[:, 0].max() + R,
                           pts[:, 1].min() - R, pts[:, 1].max() + R)
        if win is None:
            return 0.0, 0.0
        X, Y = win[4], win[5]
        px, py = X - c[0], Y - c[1]
        rho = np.sqrt(px * px + py * py)
        ang = np.arctan2(py, px)
        rel = (ang - a0) % (2 * math.pi) if sweep > 0 else (a0 - ang) % (2 * math.pi)
        inside = rel <= abs(sweep) + 1e-12
        d_arc = np.abs(rho - r)
        s, e = pts[0], pts[-1]
        d_end = np.sqrt(np.minimum((X - s[0]) ** 2 + (Y - s[1]) ** 2, (X - e[0]) ** 2 + (Y - e[1]) ** 2))
        d = np.where(inside, np.minimum(d_arc, d_end), d_end)
        return self._apply(win, d <= R, z)


def removed_by_moves(moves: pd.DataFrame, start: tuple[float, float, float], tool_d: float,
                     top_z: float = 0.0, cell_mm: float | None = None,
                     dz_step: float = 0.05) -> RemovalResult:
    """Removed volume and plan area per move of a flat end mill over a flat stock.

    Args:
        moves: moves table (``workbench.toolpath``), mm; G4 rows remove nothing.
        start: tool position before the first move, mm.
        tool_d: tool diameter D, mm (> 0).
        top_z: top of the stock, mm (the stock is everything below it, unbounded in x, y).
        cell_mm: grid cell side; default ``tool_d / 24`` (grown to keep <= :data:`MAX_CELLS`).
        dz_step: largest z change per piece of a plunge, ramp or helix, mm.

    Returns:
        :class:`RemovalResult` (per-move arrays aligned with ``moves`` rows).

    Raises:
        InputError: non-positive tool diameter or cell size, non-finite coordinates.
    """
    if not (isinstance(tool_d, (int, float)) and math.isfinite(tool_d) and tool_d > 0):
        raise InputError(f"tool_d must be a positive number of mm, got {tool_d!r}")
    n = len(moves)
    R = tool_d / 2.0
    vol = np.zeros(n)
    area = np.zeros(n)
    xyz = moves[["x", "y", "z"]].to_numpy(dtype=float)
    if n and not np.isfinite(xyz).all():
        bad = int(np.flatnonzero(~np.isfinite(xyz).all(axis=1))[0])
        raise InputError(f"moves row {bad}: end point is not finite")
    starts = np.empty_like(xyz)
    if n:
        starts[0] = start
        starts[1:] = xyz[:-1]
    codes = moves["code"].to_numpy()
    planes = moves["plane"].to_numpy() if "plane" in moves else np.full(n, 17)
    offs = {k: moves[k].to_numpy(dtype=float) if k in moves else np.full(n, np.nan)
            for k in ("i", "j", "k")}

    # Geometry first (bounding box of everything below the stock top), then stamping.
    h0 = cell_mm if cell_mm is not None else tool_d / 24.0
    if not (math.isfinite(h0) and h0 > 0):
        raise InputError(f"cell_mm must be positive, got {cell_mm!r}")
    geo: list[tuple] = []
    for r in range(n):
        s, e, code = starts[r], xyz[r], codes[r]
        if code == "G4" or min(s[2], e[2]) >= top_z - 1e-12:
            geo.append(None)
            continue
        if code in ("G2", "G3"):
            plane = int(planes[r])
            if plane not in _PLANE_AXES:
                raise InputError(f"moves row {r}: unknown arc plane {plane}")
            ka, kb = _PLANE_OFFS[plane]
            off = (offs[ka][r], offs[kb][r])
            if not (math.isfinite(off[0]) and math.isfinite(off[1])):
                raise InputError(f"moves row {r}: {code} without its centre offsets {ka}/{kb}")
            pts, rad, c, a0, sw = _arc_points(s, e, off, plane, code == "G2", h0 / 4)
            if plane == 17 and abs(e[2] - s[2]) < 1e-9:
                geo.append(("arc", pts, c, rad, a0, sw))
            else:
                geo.append(("poly", pts))
        else:
            geo.append(("poly", np.vstack([s, e])))
    allpts = [g[1] for g in geo if g is not None]
    if not allpts:
        return RemovalResult(vol, area, h0, np.zeros((0, 0)), (0.0, 0.0))
    P = np.vstack(allpts)
    xmin, ymin = P[:, 0].min() - R - h0, P[:, 1].min() - R - h0
    xmax, ymax = P[:, 0].max() + R + h0, P[:, 1].max() + R + h0
    h = h0
    while (xmax - xmin) * (ymax - ymin) / (h * h) > MAX_CELLS:
        h *= 1.25
    nx, ny = int(math.ceil((xmax - xmin) / h)), int(math.ceil((ymax - ymin) / h))
    grid = _Grid(xmin, ymin, h, nx, ny, top_z)

    for r, g in enumerate(geo):
        if g is None:
            continue
        grid.move = r
        if g[0] == "arc":
            _, pts, c, rad, a0, sw = g
            vol[r], area[r] = grid.arc(pts, c, rad, a0, sw, R, float(pts[0, 2]))
            continue
        pts = g[1]
        v_sum = a_sum = 0.0
        for p, q in zip(pts[:-1], pts[1:]):
            dz = abs(q[2] - p[2])
            m = max(1, int(math.ceil(dz / dz_step))) if dz > 1e-9 else 1
            for t0, t1 in zip(np.linspace(0, 1, m + 1)[:-1], np.linspace(0, 1, m + 1)[1:]):
                a = p + (q - p) * t0
                b = p + (q - p) * t1
                zc = min(a[2], b[2])
                if zc >= top_z:
                    continue
                dv, da = grid.segment(a[0], a[1], b[0], b[1], R, zc)
                v_sum += dv
                a_sum += da
        vol[r], area[r] = v_sum, a_sum
    return RemovalResult(vol, area, h, grid.H, (xmin, ymin))
