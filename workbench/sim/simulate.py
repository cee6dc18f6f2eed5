"""The cutting simulation: sweep every move through the stock heightmap, detect violations.

:func:`simulate` takes a :class:`workbench.toolpath.Toolpath` (from the G-code reader or the
pocket planner), the tools, the stock and a cell size, and returns a :class:`SimResult`:
removed volume (mm³), the final heightmap, the cycle time from the motion planner, the
violations with their source line numbers, and frames of the cut for the video.

Violations (``code``, severity; *collision* ones count in ``collision_count``):

==========================  ========  =========================================================
``rapid_through_stock``     error     a G0 move removes material (collision)
``shank_collision``         error     the shank is below the local stock surface (collision)
``holder_collision``        error     a holder cylinder is below the stock surface (collision)
``flute_length_exceeded``   warning   a cut deeper than the tool's cutting length
``plunge_too_fast``         warning   a descending cut whose vertical feed exceeds the limit
``below_floor``             error     the tool cuts below the floor/fixture Z (warning when the
                                      floor is just the stock bottom: a through cut)
``outside_stock``           warning   a feed move below the stock top entirely off the stock
``gouge``                   error     material removed outside the planned pocket or inside an
                                      island
==========================  ========  =========================================================

Consecutive moves with the same violation are merged into one record (``line`` .. ``line_end``,
``moves``). Each record gives the worst cell: its position and how deep the violation goes.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import shapely

from ..errors import WorkbenchError
from ..toolpath import Toolpath, validate_moves
from .errors import MissingToolError, SimCancelled, SimTimeout, StockError
from .stock import Heightmap, Stock
from .sweep import arc_chords, segment_envelope
from .tools import DEFAULT_TOOL, Tool, tool_changes, with_number

__all__ = ["simulate", "SimResult", "Violation", "VIOLATION_CODES", "COLLISION_CODES",
           "default_cell_size", "auto_stock", "tool_numbers_from_source", "estimate_time"]

VIOLATION_CODES: dict[str, str] = {
    "rapid_through_stock": "error",
    "shank_collision": "error",
    "holder_collision": "error",
    "flute_length_exceeded": "warning",
    "plunge_too_fast": "warning",
    "below_floor": "error",
    "outside_stock": "warning",
    "gouge": "error",
}
COLLISION_CODES: tuple[str, ...] = ("rapid_through_stock", "shank_collision", "holder_collision")

#: Smallest material depth (mm) that counts as cut for a violation; below it is numeric noise.
DEPTH_TOL_MM = 0.01
#: Default rapid rate for the fallback time estimate when no motion planner is importable.
FALLBACK_RAPID_MM_MIN = 5000.0
#: Machine profile used for the cycle time when none is given (data/machines/).
DEFAULT_MACHINE = "GRBL_3018_Default"

ProgressFn = Callable[[int, int], "bool | None"]


@dataclass
class Violation:
    """One violation (possibly merged over consecutive moves).

    Attributes:
        code, severity: see the module table.
        line, line_end: source line numbers (1-based; 0 for planned moves).
        move, move_end: row indices in the moves table.
        x, y, z: worst cell centre and the tool tip z there, mm.
        depth_mm: how far the violation goes (material depth cut, body depth below the surface,
            excess over the cutting length, vertical feed excess in mm/min for plunges).
        tool: tool number.
        moves: moves merged into this record.
        message: one human-readable sentence.
    """

    code: str
    severity: str
    line: int
    line_end: int
    move: int
    move_end: int
    x: float
    y: float
    z: float
    depth_mm: float
    tool: int | None
    moves: int = 1
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record (sim_report ``violations[]``)."""
        return {"code": self.code, "severity": self.severity, "line": int(self.line),
                "line_end": int(self.line_end), "move": int(self.move), "move_end": int(self.move_end),
                "x": round(float(self.x), 4), "y": round(float(self.y), 4), "z": round(float(self.z), 4),
                "depth_mm": round(float(self.depth_mm), 4),
                "tool": None if self.tool is None else int(self.tool), "moves": int(self.moves),
                "message": self.message}


@dataclass
class SimResult:
    """What :func:`simulate` returns.

    Attributes:
        heightmap: the final :class:`Heightmap`.
        removed_volume_mm3: material removed, mm³.
        violations: merged :class:`Violation` records, in program order.
        collision_count: moves with a tool-body collision (rapid, shank, holder).
        est_time_s: cycle time, s; ``time_source`` says where it came from.
        moves: moves simulated; ``segments``: straight pieces swept (arcs split into chords).
        cells_updated: cell evaluations (sum over pieces of their bounding-box cells).
        duration_s: wall time of the sweep.
        frames: downsampled mean-height grids over time (for the video); ``frame_moves``:
            the move index of each frame.
        tools: the tools used, by number; ``stock``: the stock; ``notes``: ``{code, severity,
            message}`` items about the run (defaults taken, fallbacks).
    """

    heightmap: Heightmap
    removed_volume_mm3: float
    violations: list[Violation]
    collision_count: int
    est_time_s: float
    time_source: str
    moves: int
    segments: int
    cells_updated: int
    duration_s: float
    frames: list[np.ndarray] = field(default_factory=list)
    frame_moves: list[int] = field(default_factory=list)
    tools: dict[int, Tool] = field(default_factory=dict)
    stock: Stock | None = None
    notes: list[dict[str, str]] = field(default_factory=list)

    def violations_frame(self) -> pd.DataFrame:
        """The violations as a DataFrame (one row per record)."""
        cols = ["code", "severity", "line", "line_end", "move", "move_end", "x", "y", "z",
                "depth_mm", "tool", "moves", "message"]
        return pd.DataFrame([v.as_dict() for v in self.violations], columns=cols)


# --------------------------------------------------------------------------- helpers


def default_cell_size(tools: Mapping[int, Tool] | Tool, stock: Stock | None = None,
                      max_cells: int = 4_000_000) -> float:
    """Default cell size: D_min / 24, coarsened so the grid stays under ``max_cells``, mm.

    D/24 keeps the removed volume of slots and pockets within 0.5 % with the anti-aliased rim
    (``tests/test_sim_accuracy.py`` shows it) at about 24 cells across the smallest cutter.
    """
    ts = [tools] if isinstance(tools, Tool) else list(tools.values())
    dmin = min((t.diameter for t in ts), default=DEFAULT_TOOL.diameter)
    cell = dmin / 24.0
    if stock is not None:
        area = (stock.xmax - stock.xmin) * (stock.ymax - stock.ymin)
        cell = max(cell, math.sqrt(area / max_cells))
    return float(cell)


def tool_numbers_from_source(lines: list[str], move_lines: np.ndarray) -> np.ndarray:
    """Tool number of each move from the program text: the last ``M6`` at or before its line.

    Args:
        lines: program lines; ``move_lines``: 1-based source line of each move.

    Returns:
        int array (n,), ``-1`` before the first tool change.
    """
    changes = tool_changes(lines)
    if not changes:
        return np.full(len(move_lines), -1, dtype=int)
    at = np.array([n + 1 for n, _ in changes])
    num = np.array([t for _, t in changes])
    idx = np.searchsorted(at, np.asarray(move_lines, dtype=int), side="right") - 1
    return np.where(idx >= 0, num[np.maximum(idx, 0)], -1)


def auto_stock(toolpath: Toolpath, tools: Mapping[int, Tool], tool_no: np.ndarray | None = None,
               margin: float = 0.0, top: float = 0.0) -> Stock:
    """Stock from the toolpath (CAMotics' "automatic" workpiece): the xy extent of the feed
    moves below ``top``, widened by their tool radius and ``margin``; from the lowest feed z
    up to ``top`` (mm).

    Raises:
        StockError: no feed move goes below ``top``.
    """
    mv = toolpath.moves
    feed = mv["code"].isin(["G1", "G2", "G3"]).to_numpy()
    xyz = mv[["x", "y", "z"]].to_numpy(dtype=float)
    st = toolpath.starts()
    below = feed & ((xyz[:, 2] < top - 1e-9) | (st[:, 2] < top - 1e-9))
    if not below.any():
        raise StockError(f"automatic stock: no feed move goes below Z{top:g}; give the stock "
                         "(--stock xmin,ymin,zmin,xmax,ymax,zmax or a .camotics project)")
    rad = np.full(len(mv), max((t.radius for t in tools.values()), default=DEFAULT_TOOL.radius))
    if tool_no is not None:
        rad = np.array([tools[t].radius if t in tools else rad[0] for t in tool_no])
    pts = np.vstack([xyz[below], st[below]])
    r = np.concatenate([rad[below], rad[below]])
    # arcs bulge beyond their end points: include chord points of each arc
    arcs = np.flatnonzero(below & mv["code"].isin(["G2", "G3"]).to_numpy())
    if len(arcs):
        ijk = mv[["i", "j", "k"]].to_numpy(dtype=float)
        planes = mv["plane"].to_numpy()
        codes = mv["code"].to_numpy()
        extra = [arc_chords(tuple(st[a]), tuple(xyz[a]), tuple(ijk[a]), int(planes[a]), codes[a] == "G2", 0.05)
                 for a in arcs]
        pts = np.vstack([pts] + extra)
        r = np.concatenate([r] + [np.full(len(e), rad[a]) for e, a in zip(extra, arcs)])
    x0 = float(np.min(pts[:, 0] - r)) - margin
    x1 = float(np.max(pts[:, 0] + r)) + margin
    y0 = float(np.min(pts[:, 1] - r)) - margin
    y1 = float(np.max(pts[:, 1] + r)) + margin
    z0 = float(np.min(pts[:, 2]))
    return Stock(x0, y0, min(z0, top - 1e-3), x1, y1, top, source="auto")


def estimate_time(toolpath: Toolpath, machine: Any = None) -> tuple[float, str, str]:
    """Cycle time of the toolpath, s, where the figure came from, and why (for a fallback).

    Uses the workbench motion planner (``workbench.machine.plan_motion``, the same estimate as
    everywhere in the workbench) with ``machine`` (a profile or a profile id; ``None`` ->
    :data:`DEFAULT_MACHINE`). When the planner is not importable or refuses the toolpath, falls
    back to length / feed per move with rapids at :data:`FALLBACK_RAPID_MM_MIN`
    (``source = "feeds"``, the reason in the third item).
    """
    reason = ""
    try:
        from ..machine import plan_motion
    except Exception as exc:  # noqa: BLE001 - another helper's module; report why it is missing
        plan_motion = None  # type: ignore[assignment]
        reason = f"motion planner not importable ({exc})"
    if plan_motion is not None:
        try:
            plan = plan_motion(toolpath, machine if machine is not None else DEFAULT_MACHINE)
            return float(plan.summary["cycle_time_s"]), "motion_planner", ""
        except WorkbenchError as exc:
            reason = f"motion planner refused the toolpath: {exc}"
    mv = toolpath.moves
    ln = mv["len_mm"].to_numpy(dtype=float)
    if not np.any(ln > 0):
        st = toolpath.starts()
        ln = np.linalg.norm(mv[["x", "y", "z"]].to_numpy(dtype=float) - st, axis=1)
    f = mv["feed"].to_numpy(dtype=float)
    rapid = (mv["code"] == "G0").to_numpy()
    f = np.where(rapid | ~np.isfinite(f) | (f <= 0), FALLBACK_RAPID_MM_MIN, f)
    t = float(np.sum(ln / f) * 60.0 + mv["dwell_s"].to_numpy(dtype=float).sum())
    return t, "feeds", reason


class _Merger:
    """Merges per-move violation hits into records over consecutive moves."""

    def __init__(self) -> None:
        self.records: list[Violation] = []
        self.open: dict[str, Violation] = {}

    def add(self, code: str, severity: str, move: int, line: int, x: float, y: float, z: float,
            depth: float, tool: int | None, message: str) -> None:
        v = self.open.get(code)
        if v is not None and v.move_end == move - 1 and v.tool == tool:
            v.move_end, v.line_end, v.moves = move, max(v.line_end, line), v.moves + 1
            if depth > v.depth_mm:
                v.x, v.y, v.z, v.depth_mm, v.message = x, y, z, depth, message
            return
        v = Violation(code, severity, line, line, move, move, x, y, z, depth, tool, 1, message)
        self.records.append(v)
        self.open[code] = v


# --------------------------------------------------------------------------- simulate


def simulate(toolpath: Toolpath, tools: Mapping[int, Tool] | Tool, stock: Stock | None = None, *,
             cell_mm: float | None = None, tool_numbers: np.ndarray | None = None,
             floor_z: float | None = None, max_plunge_mm_min: float | None = None,
             pocket: Any = None, gouge_tol_mm: float | None = None,
             machine: Any = None, allow_default_tool: bool = True,
             progress: ProgressFn | None = None, progress_every_s: float = 0.25,
             timeout_s: float | None = None, cancel: threading.Event | None = None,
             frames: int = 40, frame_px: int = 480) -> SimResult:
    """Simulate a toolpath cutting the stock.

    Args:
        toolpath: moves table per :mod:`workbench.toolpath` (absolute mm, ``line`` numbers).
        tools: ``{number: Tool}`` or a single :class:`Tool` for every move.
        stock: the stock; ``None`` -> :func:`auto_stock` (top at Z0).
        cell_mm: cell size; ``None`` -> :func:`default_cell_size`.
        tool_numbers: tool number per move (int array, -1 = none selected); default: the
            moves' ``tool`` column if present, else the lowest tool number.
        floor_z: fixture/table Z; cutting below it is ``below_floor`` (error). Default: the
            stock bottom, reported as a warning (a through cut).
        max_plunge_mm_min: vertical feed limit for descending cuts; ``None`` -> no check.
        pocket: a planned pocket (``workbench.geometry.Region`` or shapely Polygon with islands
            as holes); material removed outside it is a ``gouge``.
        gouge_tol_mm: xy tolerance of the gouge test; default one cell (the anti-aliased rim).
        machine: machine profile or id for the motion planner (default
            :data:`DEFAULT_MACHINE`).
        allow_default_tool: use :data:`DEFAULT_TOOL` for a tool number nothing defines
            (with a note) instead of raising.
        progress: ``progress(moves_done, moves_total)``, called at most every
            ``progress_every_s`` and at the end; returning ``False`` cancels.
        timeout_s: wall-clock limit of the sweep.
        cancel: a :class:`threading.Event`; when set, the simulation stops cleanly.
        frames: frames kept for the video (0: none); ``frame_px``: their longest side.

    Returns:
        :class:`SimResult`.

    Raises:
        InputError: the moves table breaks the contract (row named).
        MissingToolError: a tool number is undefined and ``allow_default_tool`` is False.
        StockError: bad stock or cell size.
        SimTimeout, SimCancelled: stopped early (moves done / total in the exception).
    """
    t_start = time.monotonic()
    validate_moves(toolpath.moves)
    mv = toolpath.moves
    n = len(mv)
    notes: list[dict[str, str]] = []
    tools_map: dict[int, Tool] = ({tools.number if tools.number is not None else 1: tools}
                                  if isinstance(tools, Tool) else dict(tools))
    if tool_numbers is None:
        if "tool" in mv.columns:
            tool_numbers = mv["tool"].fillna(-1).to_numpy(dtype=int)
        else:
            tool_numbers = np.full(n, min(tools_map) if tools_map else -1, dtype=int)
    tool_no = np.asarray(tool_numbers, dtype=int)
    if len(tool_no) != n:
        raise StockError(f"tool_numbers has {len(tool_no)} entries for {n} moves")
    # before the first tool change (reader: T0, or -1): the first tool the program selects
    unset = (tool_no <= 0) & ~np.isin(tool_no, list(tools_map))
    if unset.any():
        chosen = tool_no[~unset]
        first = int(chosen[0]) if len(chosen) else (min(tools_map) if tools_map else 1)
        tool_no = np.where(unset, first, tool_no)
    for t in sorted(set(tool_no.tolist())):
        if t not in tools_map:
            if not allow_default_tool:
                row = int(np.flatnonzero(tool_no == t)[0])
                raise MissingToolError(f"line {int(mv['line'].iloc[row])}: tool T{t} is not in the tool table "
                                       f"(defined: {sorted(tools_map) or 'none'})")
            tools_map[t] = with_number(DEFAULT_TOOL, t)
            notes.append({"code": "default_tool", "severity": "warning",
                          "message": f"T{t} is not defined; simulated as {DEFAULT_TOOL.description}"})
    if stock is None:
        stock = auto_stock(toolpath, tools_map, tool_no)
        notes.append({"code": "auto_stock", "severity": "info",
                      "message": "stock taken from the toolpath extent (top Z0, bottom at the deepest cut)"})
    if cell_mm is None:
        cell_mm = default_cell_size({t: tools_map[t] for t in set(tool_no.tolist())}, stock)
    hm = Heightmap(stock, cell_mm)
    explicit_floor = floor_z is not None
    floor = float(floor_z) if explicit_floor else hm.bottom
    allowed = None
    if pocket is not None:
        poly = getattr(pocket, "polygon", pocket)
        tol = hm.cell if gouge_tol_mm is None else float(gouge_tol_mm)
        gx, gy = np.meshgrid(hm.xs, hm.ys)
        allowed = shapely.contains_xy(poly.buffer(tol), gx, gy)

    codes = mv["code"].to_numpy()
    ends = mv[["x", "y", "z"]].to_numpy(dtype=float)
    starts = toolpath.starts()
    ijk = mv[["i", "j", "k"]].to_numpy(dtype=float)
    planes = mv["plane"].to_numpy()
    feeds = mv["feed"].to_numpy(dtype=float)
    lines = mv["line"].to_numpy()
    chord_tol = max(hm.cell / 10.0, 1e-3)
    band = 0.5 * hm.cell
    merger = _Merger()
    collision_moves = 0
    segments = 0
    cells = 0
    frame_at = (set(np.unique(np.linspace(0, n - 1, frames).round().astype(int)).tolist())
                if frames > 0 and n else set())
    stride = max(1, int(math.ceil(max(hm.nx, hm.ny) / max(frame_px, 1))))
    frame_list: list[np.ndarray] = []
    frame_moves: list[int] = []
    last_report = time.monotonic()
    profiles = {t: (None if tl.shape == "flat" else tl.profile) for t, tl in tools_map.items()}
    bodies = {t: tl.body_cylinders() for t, tl in tools_map.items()}
    if frames > 0:
        frame_list.append(hm.mean()[::stride, ::stride].astype(np.float32))
        frame_moves.append(-1)

    for k in range(n):
        code = codes[k]
        tn = int(tool_no[k])
        tool = tools_map[tn]
        if code != "G4":
            p0, p1 = starts[k], ends[k]
            if code in ("G2", "G3"):
                pts = arc_chords(tuple(p0), tuple(p1), tuple(ijk[k]), int(planes[k]), code == "G2", chord_tol)
            else:
                pts = np.vstack([p0, p1])
            R = tool.radius
            prof = profiles[tn]
            rim = tool.tip_height
            worst: dict[str, tuple[float, float, float, float]] = {}

            def hit(key: str, depth: float, x: float, y: float, z: float) -> None:
                if key not in worst or depth > worst[key][0]:
                    worst[key] = (depth, x, y, z)

            cut_any = False
            for s in range(len(pts) - 1):
                q0, q1 = pts[s], pts[s + 1]
                segments += 1
                blk = hm.block(min(q0[0], q1[0]) - R - band, max(q0[0], q1[0]) + R + band,
                               min(q0[1], q1[1]) - R - band, max(q0[1], q1[1]) + R + band)
                if code != "G0" and min(q0[2], q1[2]) < hm.top - DEPTH_TOL_MM:
                    off = ~stock.contains_xy(np.array([q0[0], q1[0]]), np.array([q0[1], q1[1]]), tol=R)
                    if off.all():
                        hit("outside_stock", hm.top - min(q0[2], q1[2]), q1[0], q1[1], q1[2])
                if blk is None:
                    continue
                if min(q0[2], q1[2]) + 0.0 >= hm.top and code == "G0":
                    cells += (blk[0].stop - blk[0].start) * (blk[1].stop - blk[1].start)
                    continue
                X, Y = hm.xs[blk[1]], hm.ys[blk[0]]
                g, d, zn = segment_envelope(X, Y, tuple(q0), tuple(q1), R, prof)
                cells += g.size
                h = hm.h[blk]
                depth = h - g
                cutm = depth > 1e-9
                if cutm.any():
                    dmax = np.where(cutm, depth, -np.inf)
                    iy, ix = np.unravel_index(int(np.argmax(dmax)), dmax.shape)
                    dm = float(dmax[iy, ix])
                    if dm > DEPTH_TOL_MM:
                        cut_any = True
                        if code == "G0":
                            hit("rapid_through_stock", dm, X[ix], Y[iy], float(g[iy, ix]))
                        else:
                            ex = np.where(cutm, depth - tool.cutting_length, -np.inf)
                            jy, jx = np.unravel_index(int(np.argmax(ex)), ex.shape)
                            if ex[jy, jx] > DEPTH_TOL_MM:
                                hit("flute_length_exceeded", float(ex[jy, jx]), X[jx], Y[jy], float(g[jy, jx]))
                    gmin = float(np.min(np.where(cutm, g, np.inf)))
                    if gmin < floor - DEPTH_TOL_MM:
                        fy, fx = np.unravel_index(int(np.argmin(np.where(cutm, g, np.inf))), g.shape)
                        hit("below_floor", floor - gmin, X[fx], Y[fy], gmin)
                    if allowed is not None:
                        bad = cutm & (depth > DEPTH_TOL_MM) & ~allowed[blk]
                        if bad.any():
                            gd = np.where(bad, depth, -np.inf)
                            gy_, gx_ = np.unravel_index(int(np.argmax(gd)), gd.shape)
                            hit("gouge", float(gd[gy_, gx_]), X[gx_], Y[gy_], float(g[gy_, gx_]))
                    hm.h[blk] = np.where(cutm, np.maximum(g, hm.bottom), h)
                # anti-aliased sub-cell model (volume)
                w = hm.cell
                phi = np.clip(0.5 - (d - R) / w, 0.0, 1.0)
                if phi.any():
                    gs = np.where(np.isfinite(g), g, zn + rim)
                    if prof is not None:
                        # rim cells of a curved profile: mean of the profile over the covered
                        # part of the cell (midpoint rule, 8 samples across the normal)
                        band_m = (phi > 0) & (phi < 1)
                        if band_m.any():
                            db = d[band_m]
                            lo_s = np.maximum(db - 0.5 * w, 0.0)
                            hi_s = np.minimum(db + 0.5 * w, R)
                            fr = (np.arange(8) + 0.5) / 8.0
                            ss = lo_s[:, None] + (hi_s - lo_s)[:, None] * fr[None, :]
                            gs[band_m] = zn[band_m] + prof(ss).mean(axis=1)
                    hm.cut_soft(blk, gs, phi)
                # tool body: shank and holder cylinders do not cut
                zlow = min(q0[2], q1[2])
                retract = q1[2] > q0[2] and abs(q1[0] - q0[0]) + abs(q1[1] - q0[1]) < 1e-9
                # a straight retract sweeps no body cell the start pose (checked) did not touch
                for name, rk, offk in ([] if retract else bodies[tn]):
                    if zlow + offk >= hm.top - DEPTH_TOL_MM:
                        break  # cylinders stack upwards: the rest are higher still
                    bb = hm.block(min(q0[0], q1[0]) - rk, max(q0[0], q1[0]) + rk,
                                  min(q0[1], q1[1]) - rk, max(q0[1], q1[1]) + rk)
                    if bb is None:
                        continue
                    Xb, Yb = hm.xs[bb[1]], hm.ys[bb[0]]
                    gk, _, _ = segment_envelope(Xb, Yb, (q0[0], q0[1], q0[2] + offk),
                                                (q1[0], q1[1], q1[2] + offk), rk, None)
                    cells += gk.size
                    under = hm.h[bb] - gk
                    if (under > DEPTH_TOL_MM).any():
                        by, bx = np.unravel_index(int(np.argmax(under)), under.shape)
                        key = "shank_collision" if name == "shank" else "holder_collision"
                        hit(key, float(under[by, bx]), Xb[bx], Yb[by], float(gk[by, bx]) - offk)
            # plunge feed check (vertical component of the programmed feed)
            dz = p1[2] - p0[2]
            if (max_plunge_mm_min is not None and code != "G0" and dz < -1e-9 and cut_any
                    and np.isfinite(feeds[k])):
                l3 = float(np.linalg.norm(p1 - p0)) if code == "G1" else max(float(mv["len_mm"].iloc[k]), abs(dz))
                vz = feeds[k] * abs(dz) / max(l3, 1e-12)
                if vz > max_plunge_mm_min + 1e-6:
                    hit("plunge_too_fast", vz - max_plunge_mm_min, p1[0], p1[1], p1[2])
            line_no = int(lines[k])
            body_hit = False
            for key in VIOLATION_CODES:
                if key not in worst:
                    continue
                dep, x, y, z = worst[key]
                sev = VIOLATION_CODES[key]
                if key == "below_floor" and not explicit_floor:
                    sev = "warning"
                msg = _message(key, line_no, tn, dep, x, y, z, tool, max_plunge_mm_min, floor)
                merger.add(key, sev, k, line_no, float(x), float(y), float(z), float(dep), tn, msg)
                if key in COLLISION_CODES:
                    body_hit = True
            collision_moves += int(body_hit)
        if k in frame_at:
            frame_list.append(hm.mean()[::stride, ::stride].astype(np.float32))
            frame_moves.append(k)
        now = time.monotonic()
        if cancel is not None and cancel.is_set():
            raise SimCancelled(f"simulation cancelled after {k + 1} of {n} moves",
                               moves_done=k + 1, moves_total=n)
        if timeout_s is not None and now - t_start > timeout_s:
            raise SimTimeout(f"simulation exceeded its timeout of {timeout_s:g} s after {k + 1} of {n} moves "
                             f"(line {int(lines[k])})", moves_done=k + 1, moves_total=n)
        if progress is not None and now - last_report >= progress_every_s:
            last_report = now
            if progress(k + 1, n) is False:
                raise SimCancelled(f"simulation cancelled after {k + 1} of {n} moves",
                                   moves_done=k + 1, moves_total=n)
    if progress is not None:
        progress(n, n)
    duration = time.monotonic() - t_start
    est, src, why = estimate_time(toolpath, machine)
    if src != "motion_planner":
        notes.append({"code": "time_from_feeds", "severity": "warning",
                      "message": f"{why}; est_time_s is length/feed per move "
                                 f"(rapids at {FALLBACK_RAPID_MM_MIN:g} mm/min)"})
    used = {t: tools_map[t] for t in sorted(set(tool_no.tolist()))}
    return SimResult(heightmap=hm, removed_volume_mm3=hm.removed_volume(), violations=merger.records,
                     collision_count=collision_moves, est_time_s=est, time_source=src, moves=n,
                     segments=segments, cells_updated=cells, duration_s=duration, frames=frame_list,
                     frame_moves=frame_moves, tools=used, stock=stock, notes=notes)


def _message(code: str, line: int, tool_no: int, depth: float, x: float, y: float, z: float,
             tool: Tool, plunge: float | None, floor: float) -> str:
    at = f"line {line}, T{tool_no} at X{x:.3f} Y{y:.3f} Z{z:.3f}"
    if code == "rapid_through_stock":
        return f"{at}: rapid (G0) through stock, {depth:.3f} mm deep"
    if code == "shank_collision":
        return f"{at}: shank {depth:.3f} mm below the stock surface"
    if code == "holder_collision":
        return f"{at}: holder {depth:.3f} mm below the stock surface"
    if code == "flute_length_exceeded":
        return (f"{at}: cut {depth:.3f} mm deeper than the cutting length "
                f"({tool.cutting_length:.3f} mm)")
    if code == "plunge_too_fast":
        return f"{at}: plunge {depth + (plunge or 0):.0f} mm/min exceeds the limit {plunge:g} mm/min"
    if code == "below_floor":
        return f"{at}: cuts {depth:.3f} mm below the floor Z{floor:.3f}"
    if code == "outside_stock":
        return f"{at}: feed move below the stock top entirely off the stock"
    if code == "gouge":
        return f"{at}: gouge, {depth:.3f} mm of material removed outside the pocket or inside an island"
    return f"{at}: {code}"
