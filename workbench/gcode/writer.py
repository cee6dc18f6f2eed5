"""The G-code writer: a :class:`~workbench.toolpath.Toolpath` printed in a post's dialect.

:func:`write` turns a moves table (absolute mm, mm/min, seconds) into one program: the post's
header (safe start, units code, work offset, tool change, spindle, coolant), one block per
motion, the footer. What the writer guarantees:

- Units: ``G21`` or ``G20``; in inch every length is divided by ``MM_PER_IN`` (25.4, exact) and
  feeds are written in in/min.
- Rounding: each coordinate is rounded to the post's decimals, and each arc is made
  self-consistent *after* rounding: I/J/K are the true centre minus the *written* (rounded)
  start point, rounded, so the controller's start/end radius check (grbl ``gcode.c`` error:33,
  LinuxCNC "G2/G3 centre format": 0.005 mm) is met; the residual is checked against the post's
  ``arcs.tolerance_mm``.
- Arcs: G2/G3 in G17 (I/J), G18 (I/K, angles measured from Z towards X) and G19 (J/K, from Y
  towards Z), the rs274ngc convention (LinuxCNC ``interp_convert.cc``, ``convert_arc``);
  helical arcs carry the normal axis. Arcs longer than ``arcs.max_sweep_deg`` are split; full
  circles are split in two halves where ``arcs.full_circle`` is false. R-format posts get pieces
  of at most 120 degrees: the R form cannot draw a full circle and its centre is ill-defined
  near 180 degrees (LinuxCNC "G2/G3 radius format"); the centre the controller computes from
  rounded end points moves by about tan(sweep/2) times the rounding, so 120 degrees keeps that
  factor under 2. An arc whose rounded end points collapse onto
  each other (shorter than the output resolution) is written as a G1.
- A line or rapid whose rounded end point equals the current position writes nothing (the
  reader keeps such rows with ``len_mm = 0``; a controller does nothing with them).
- Modal suppression (per post): the motion word, F and unchanged coordinates are not repeated.
  G0 never carries F; G1/G2/G3 feeds come from the ``feed`` column (the requested feed; the
  ``slowdown`` column is informative and is not applied here).
- Dwell: ``G4 P`` in the post's unit: seconds for grbl (``gcode.c``), LinuxCNC and PathPilot
  (LinuxCNC G-code reference, G4); seconds for Mach4 as shipped (the unit follows Mach4's
  "Dwell in ms" configuration; the post assumes it is off); milliseconds for MASSO.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError, PostError
from ..toolpath import Toolpath, validate_moves
from ..units import MM_PER_IN
from .post import BLOCK_FIELDS, Post, load_post

#: Plane -> (first in-plane axis, second in-plane axis, normal axis, offset word of the first
#: axis, offset word of the second). Angles are measured from the first axis towards the
#: second; G3 (CCW) is a positive rotation about the normal (rs274ngc convention).
PLANE_AXES: dict[int, tuple[int, int, int, str, str]] = {
    17: (0, 1, 2, "I", "J"),
    18: (2, 0, 1, "K", "I"),
    19: (1, 2, 0, "J", "K"),
}

_AXIS = ("X", "Y", "Z")
_OFFSET_COL = {"I": "i", "J": "j", "K": "k"}
_FULL_CIRCLE_MM = 1e-6          # start and end closer than this (in the plane): a full circle
_R_MAX_PIECE_DEG = 120.0        # R-form pieces: the centre error is ~tan(sweep/2) x the rounding
_TAU = 2.0 * math.pi


def _fmt(value: float, decimals: int) -> str:
    """``value`` rounded to ``decimals``, trailing zeros and point removed, no ``-0``."""
    s = f"{value:.{decimals}f}"
    if decimals > 0:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", "-", ""):
        s = "0"
    return s


def _units(units: str | None, post: Post) -> str:
    u = post.units if units is None else str(units).strip().lower()
    aliases = {"mm": "mm", "millimeter": "mm", "millimetre": "mm", "metric": "mm",
               "inch": "inch", "in": "inch", "inches": "inch", "imperial": "inch"}
    if u not in aliases:
        raise InputError(f"units must be 'mm' or 'inch', got {units!r}")
    return aliases[u]


def _tool_fields(tool: Mapping[str, Any] | None, scale: float, dec: int) -> dict[str, str]:
    if tool is None:
        return {"tool_number": "", "tool_diameter": "", "tool_description": ""}
    if not isinstance(tool, Mapping):
        raise InputError(f"tool must be a dict with number, diameter, description; got {tool!r:.80}")
    try:
        number = int(tool.get("number", 1))
    except (TypeError, ValueError):
        raise InputError(f"tool number must be an integer, got {tool.get('number')!r}") from None
    if number < 0:
        raise InputError(f"tool number must be >= 0, got {number}")
    dia = tool.get("diameter")
    if dia is None:
        dia_s = ""
    else:
        try:
            d = float(dia)
        except (TypeError, ValueError):
            raise InputError(f"tool diameter must be a number (mm), got {dia!r}") from None
        if not (math.isfinite(d) and d > 0):
            raise InputError(f"tool diameter must be a positive number of mm, got {dia!r}")
        dia_s = _fmt(d * scale, dec)
    return {"tool_number": str(number), "tool_diameter": dia_s,
            "tool_description": str(tool.get("description", "") or "")}


def _check_moves(df: pd.DataFrame, post: Post) -> None:
    """Contract checks beyond :func:`validate_moves` that a writer needs."""
    try:
        validate_moves(df)
    except InputError as exc:
        raise InputError(f"cannot write G-code: {exc}") from None
    code = df["code"].to_numpy()
    feed = df["feed"].to_numpy(dtype=float)
    cut = np.isin(code, ("G1", "G2", "G3"))
    bad = cut & ~(np.isfinite(feed) & (feed > 0))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(f"cannot write G-code: moves table row {r}: {code[r]} needs a positive "
                         f"finite feed (mm/min), got {feed[r]!r}")
    dw = df["dwell_s"].to_numpy(dtype=float)
    bad = (code == "G4") & ~(np.isfinite(dw) & (dw >= 0))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(f"cannot write G-code: moves table row {r}: G4 dwell_s must be a "
                         f"finite number of seconds >= 0, got {dw[r]!r}")
    arcs = np.flatnonzero(np.isin(code, ("G2", "G3")))
    if len(arcs):
        planes = df["plane"].to_numpy()
        for r in arcs:
            p = int(planes[r])
            if p not in PLANE_AXES:
                raise InputError(f"cannot write G-code: moves table row {r}: unknown arc plane {p}")
            if p not in post.arcs.planes:
                raise PostError(f"post {post.id}: arcs in plane G{p} are not supported "
                                f"(moves table row {r}); the post allows {list(post.arcs.planes)}")


def _point_on_arc(plane: int, centre: tuple[float, float], start: np.ndarray, end: np.ndarray,
                  direction: float, sweep: float, t: float) -> np.ndarray:
    """The point at fraction ``t`` of an arc from ``start`` to ``end`` (xyz, mm) about
    ``centre`` (in the plane's two axes) sweeping ``sweep`` rad (``direction`` +1 for G3, -1
    for G2): angle and radius interpolated linearly from the start, the normal axis too."""
    a, b, c, _wa, _wb = PLANE_AXES[plane]
    rs = math.hypot(start[a] - centre[0], start[b] - centre[1])
    re_ = math.hypot(end[a] - centre[0], end[b] - centre[1])
    ang = math.atan2(start[b] - centre[1], start[a] - centre[0]) + direction * sweep * t
    rad = rs + (re_ - rs) * t
    out = np.empty(3)
    out[a] = centre[0] + rad * math.cos(ang)
    out[b] = centre[1] + rad * math.sin(ang)
    out[c] = start[c] + (end[c] - start[c]) * t
    return out


class _Writer:
    """State of one program being written (positions as written, modal words)."""

    def __init__(self, post: Post, units: str, comments: bool) -> None:
        self.post = post
        self.units = units
        self.scale = 1.0 / MM_PER_IN if units == "inch" else 1.0
        dec = post.decimals_for(units)
        self.dc, self.df = dec.coord, dec.feed
        self.ulp = 10.0 ** (-self.dc)
        self.comments = comments
        self.pos: list[float | None] = [None, None, None]     # written position, output units
        self.pos_s: list[str | None] = [None, None, None]
        self.motion: str | None = None
        self.plane: int | None = None
        self.feed_s: str | None = None
        self.lines: list[str] = []

    # -------------------------------------------------------------- words
    def _round(self, end_mm: Any) -> list[str]:
        """The end point (mm) as the written X/Y/Z numbers in output units."""
        sc, dc = self.scale, self.dc
        return [_fmt(float(end_mm[0]) * sc, dc), _fmt(float(end_mm[1]) * sc, dc),
                _fmt(float(end_mm[2]) * sc, dc)]

    def _axis_words(self, target: list[str], force: tuple[int, ...] = ()) -> list[str]:
        """X/Y/Z words for ``target`` (written numbers): changed axes, ``force``d ones, or all
        when the post does not suppress unchanged coordinates or the position is unknown."""
        modal, last = self.post.modal_coordinates, self.pos_s
        return [f"{_AXIS[a]}{target[a]}" for a in range(3)
                if a in force or not modal or last[a] != target[a]]

    def _commit(self, target: list[str]) -> None:
        self.pos_s = list(target)
        self.pos = [float(v) for v in target]

    def _motion_word(self, code: str) -> list[str]:
        if self.post.modal_motion and self.motion == code:
            return []
        self.motion = code
        return [code]

    def _feed_word(self, feed_mm_min: float) -> list[str]:
        s = _fmt(feed_mm_min * self.scale, self.df)
        if float(s) <= 0:
            s = _fmt(10.0 ** (-self.df), self.df)
        if self.post.modal_feed and self.feed_s == s:
            return []
        self.feed_s = s
        return [f"F{s}"]

    # -------------------------------------------------------------- moves
    def linear(self, code: str, end_mm: np.ndarray, feed: float) -> None:
        target = self._round(end_mm)
        words = self._axis_words(target)
        if not words:
            return                                   # zero-length after rounding: nothing to do
        out = self._motion_word(code) + words
        if code != "G0":
            out += self._feed_word(feed)
        self._commit(target)
        self.lines.append(" ".join(out))

    def dwell(self, seconds: float) -> None:
        p = seconds * 1000.0 if self.post.dwell_unit == "ms" else seconds
        self.lines.append(f"G4 P{_fmt(p, self.post.dwell_decimals)}")

    def arc(self, row: int, code: str, plane: int, start_mm: np.ndarray, end_mm: np.ndarray,
            offs_mm: tuple[float, float], feed: float) -> None:
        a, b, c, wa, wb = PLANE_AXES[plane]
        centre = (start_mm[a] + offs_mm[0], start_mm[b] + offs_mm[1])
        sa, sb = start_mm[a] - centre[0], start_mm[b] - centre[1]
        ea, eb = end_mm[a] - centre[0], end_mm[b] - centre[1]
        rs, re_ = math.hypot(sa, sb), math.hypot(ea, eb)
        if rs < 1e-9 or re_ < 1e-9:
            raise InputError(f"cannot write G-code: moves table row {row}: {code} arc has zero radius")
        tol = self.post.arcs.tolerance_mm
        if abs(rs - re_) > tol:
            raise InputError(f"cannot write G-code: moves table row {row}: {code} arc start radius "
                             f"{rs:.4f} mm and end radius {re_:.4f} mm differ by more than the "
                             f"controller's {tol} mm")
        if abs(end_mm[c] - start_mm[c]) > 1e-9 and not self.post.arcs.helical:
            raise PostError(f"post {self.post.id}: helical arcs are not supported (moves table row {row})")
        direction = 1.0 if code == "G3" else -1.0
        th_s = math.atan2(sb, sa)
        chord = math.hypot(ea - sa, eb - sb)
        if chord < _FULL_CIRCLE_MM:
            sweep = _TAU
        else:
            sweep = (direction * (math.atan2(eb, ea) - th_s)) % _TAU
        max_sweep = math.radians(self.post.arcs.max_sweep_deg)
        if self.post.arcs.format == "r":
            max_sweep = min(max_sweep, math.radians(_R_MAX_PIECE_DEG))
        n = max(1, math.ceil(sweep / max_sweep - 1e-9))
        if sweep >= _TAU - 1e-12 and not self.post.arcs.full_circle:
            n = max(n, 2)
        for k in range(1, n + 1):
            piece_end = (np.asarray(end_mm, dtype=float) if k == n else
                         _point_on_arc(plane, centre, start_mm, end_mm, direction, sweep, k / n))
            self._arc_piece(row, code, plane, centre, piece_end, sweep / n, feed)

    def _arc_piece(self, row: int, code: str, plane: int, centre_mm: tuple[float, float],
                   end_mm: np.ndarray, sweep: float, feed: float) -> None:
        a, b, c, wa, wb = PLANE_AXES[plane]
        sc = self.scale
        target = self._round(end_mm)
        ends = [float(v) for v in target]
        s_a, s_b = self.pos[a], self.pos[b]
        assert s_a is not None and s_b is not None
        e_a, e_b = ends[a], ends[b]
        ca, cb = centre_mm[0] * sc, centre_mm[1] * sc
        direction = 1.0 if code == "G3" else -1.0
        # The arc as the controller will see it, from the written start and end.
        if math.hypot(e_a - s_a, e_b - s_b) < 0.5 * self.ulp and sweep < math.pi:
            self.linear("G1", end_mm, feed)          # shorter than the output resolution
            return
        if self.post.arcs.format == "ij":
            oa, ob = self._centre_offsets(row, s_a, s_b, e_a, e_b, ca, cb)
            rc_a, rc_b = s_a + float(oa), s_b + float(ob)
            seen = (direction * (math.atan2(e_b - rc_b, e_a - rc_a) - math.atan2(s_b - rc_b, s_a - rc_a))) % _TAU
            if e_a == s_a and e_b == s_b:
                seen = _TAU
            if sweep < math.pi and seen > math.pi:
                # rounding flipped the arc: the controller would run its other side (a sweep
                # just under a half turn seen just over it). A tiny arc is written as a line;
                # any other is written as two halves, each far from a half turn.
                r_mm = math.hypot(s_a - ca, s_b - cb) / sc
                if r_mm * (1.0 - math.cos(0.5 * sweep)) <= self.post.arcs.tolerance_mm:
                    self.linear("G1", end_mm, feed)
                    return
                start = np.asarray(end_mm, dtype=float).copy()
                start[a], start[b] = s_a / sc, s_b / sc
                if self.pos[c] is not None:
                    start[c] = self.pos[c] / sc
                mid = _point_on_arc(plane, centre_mm, start, end_mm, direction, sweep, 0.5)
                self._arc_piece(row, code, plane, centre_mm, mid, 0.5 * sweep, feed)
                self._arc_piece(row, code, plane, centre_mm, end_mm, 0.5 * sweep, feed)
                return
            centre_words = sorted([(wa, oa), (wb, ob)])
            tail = [f"{w}{v}" for w, v in centre_words]
        else:
            half = 0.5 * math.hypot(e_a - s_a, e_b - s_b)
            r = 0.5 * (math.hypot(s_a - ca, s_b - cb) + math.hypot(e_a - ca, e_b - cb))
            r_s = _fmt(r, self.dc)
            if float(r_s) < half:
                r_s = _fmt(math.ceil(half / self.ulp) * self.ulp, self.dc)
            tail = [f"R{r_s}"]
        words: list[str] = []
        if self.plane != plane:
            words.append(f"G{plane}")
            self.plane = plane
        words += self._motion_word(code)
        force = (a, b)
        axis = self._axis_words(target, force)
        words += axis + tail + self._feed_word(feed)
        self._commit(target)
        self.lines.append(" ".join(words))

    def _centre_offsets(self, row: int, s_a: float, s_b: float, e_a: float, e_b: float,
                        ca: float, cb: float) -> tuple[str, str]:
        """I/J (or I/K, J/K) from the written start to the true centre, rounded; checked
        against the controller's radius tolerance (a +-1 digit search repairs the rare miss)."""
        tol_out = self.post.arcs.tolerance_mm * self.scale

        def mismatch(oa: float, ob: float) -> float:
            return abs(math.hypot(oa, ob) - math.hypot(e_a - s_a - oa, e_b - s_b - ob))

        oa, ob = float(_fmt(ca - s_a, self.dc)), float(_fmt(cb - s_b, self.dc))
        limit = 0.9 * tol_out                  # margin for the controller's own float arithmetic
        if mismatch(oa, ob) > limit:
            cands = [(float(_fmt(oa + da * self.ulp, self.dc)), float(_fmt(ob + db * self.ulp, self.dc)))
                     for da in (-1, 0, 1) for db in (-1, 0, 1)]
            ok = [c for c in cands if mismatch(*c) <= limit]
            if ok:   # the passing centre nearest the true one
                oa, ob = min(ok, key=lambda c: math.hypot(s_a + c[0] - ca, s_b + c[1] - cb))
            else:
                oa, ob = min(cands, key=lambda c: mismatch(*c))
        if mismatch(oa, ob) > tol_out:
            raise InputError(f"cannot write G-code: moves table row {row}: arc start and end radii "
                             f"differ by {mismatch(oa, ob) / self.scale:.4f} mm after rounding to "
                             f"{self.dc} decimals (controller tolerance {self.post.arcs.tolerance_mm} mm)")
        return _fmt(oa, self.dc), _fmt(ob, self.dc)


_WORD = re.compile(r"G(\d+(?:\.\d+)?)", re.IGNORECASE)


def write(toolpath: Toolpath | pd.DataFrame, post: str | os.PathLike[str] | Post, *,
          units: str | None = None, program_name: str = "pocket",
          tool: Mapping[str, Any] | None = None, spindle_rpm: float | None = 18000,
          coolant: bool = False, work_offset: str = "G54", comments: bool = True,
          header_comments: Mapping[str, Any] | None = None,
          date: _dt.date | str | None = None) -> str:
    """Print a toolpath as a G-code program in a post's dialect.

    Args:
        toolpath: a :class:`Toolpath` (or a bare moves table, starting at the origin): absolute
            mm, feeds in mm/min, ``dwell_s`` in seconds (see :mod:`workbench.toolpath`).
        post: a post id (``"grbl"``, ``"mach4"``, ``"linuxcnc"``, ``"pathpilot"``,
            ``"masso"``), a post JSON path or a :class:`Post`.
        units: ``"mm"`` (G21) or ``"inch"`` (G20); ``None`` takes the post's default.
            Inch output divides lengths and feeds by 25.4 (``workbench.units.MM_PER_IN``).
        program_name: shown in the first header comment.
        tool: ``{"number": int, "diameter": mm, "description": str}``; ``None`` writes no tool
            change block.
        spindle_rpm: spindle speed (rev/min) for the spindle-on block; ``None`` or 0 omits it.
        coolant: write the post's coolant on/off blocks (flood, M8/M9).
        work_offset: G54..G59 (the post's ``work_offsets`` list).
        comments: write comments (header comments, tool comment, one "pass n z=..." comment at
            the start of each plunge/ramp sequence). ``False`` writes no comment at all.
        header_comments: extra header comment lines, one ``key: value`` per item.
        date: the date shown in the header (default today), for reproducible output.

    Returns:
        The program text: exactly one header and one footer, ``\\n`` line ends, final newline.

    Raises:
        PostError: unknown post or one that cannot express the toolpath (arc plane, helix),
            or a line longer than the controller's buffer.
        InputError: a moves table that breaks the contract (unknown code, NaN coordinates, a
            feed move without a feed, an arc without a centre or with mismatched radii), or a
            bad argument (units, tool, work offset, spindle speed).
    """
    post = load_post(post)
    units = _units(units, post)
    if isinstance(toolpath, pd.DataFrame):
        toolpath = Toolpath(toolpath)
    if not isinstance(toolpath, Toolpath):
        raise InputError(f"write() needs a Toolpath or a moves DataFrame, got {type(toolpath).__name__}")
    if work_offset not in post.work_offsets:
        raise InputError(f"work offset {work_offset!r} is not accepted by post {post.id} "
                         f"(accepted: {', '.join(post.work_offsets)})")
    if spindle_rpm is not None:
        try:
            rpm = float(spindle_rpm)
        except (TypeError, ValueError):
            raise InputError(f"spindle_rpm must be a number, got {spindle_rpm!r}") from None
        if not (math.isfinite(rpm) and rpm >= 0):
            raise InputError(f"spindle_rpm must be a finite number >= 0, got {spindle_rpm!r}")
        spindle_rpm = rpm
    start = np.asarray(toolpath.start, dtype=float)
    if start.shape != (3,) or not np.isfinite(start).all():
        raise InputError(f"cannot write G-code: toolpath start {toolpath.start!r} is not a finite (x, y, z)")
    df = toolpath.moves
    _check_moves(df, post)

    w = _Writer(post, units, comments)
    dec = post.decimals_for(units)
    when = date if date is not None else _dt.date.today()
    ctx: dict[str, Any] = {
        "program_name": str(program_name),
        "post_id": post.id, "post_name": post.name, "controller": post.controller,
        "date": when.isoformat() if isinstance(when, _dt.date) else str(when),
        "units_name": units, "units_code": "G20" if units == "inch" else "G21",
        "work_offset": work_offset,
        "spindle_rpm": str(int(round(spindle_rpm))) if spindle_rpm else "",
        "header_comments": "\n".join(f"{k}: {v}" for k, v in (header_comments or {}).items()),
    }
    ctx.update(_tool_fields(tool, w.scale, dec.coord))
    blocks = {name: "\n".join(post.render(getattr(post, name), ctx, where=name, comments=comments))
              for name in BLOCK_FIELDS}
    if tool is None:
        blocks["tool_change"] = ""
    if not spindle_rpm:
        blocks["spindle_on"] = ""
    if not coolant:
        blocks["coolant_on"] = blocks["coolant_off"] = ""
    full = dict(ctx, **blocks)
    header = post.render(post.header, full, where="header", comments=comments)
    footer = post.render(post.footer, full, where="footer", comments=comments)

    # The body relies on units and absolute distance mode; add them if a custom header lacks them.
    gwords = [m.group(1) for line in header if not post.is_comment_line(line) for m in _WORD.finditer(line)]
    if ctx["units_code"][1:] not in gwords or "90" not in gwords:
        header.append(" ".join(c for c, n in ((ctx["units_code"], ctx["units_code"][1:]), ("G90", "90"))
                               if n not in gwords))
    for g in gwords:
        if g in ("17", "18", "19"):
            w.plane = int(g)

    # Body.
    codes = df["code"].to_numpy()
    ends = df[["x", "y", "z"]].to_numpy(dtype=float)
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = start
        starts[1:] = ends[:-1]
    offs = df[["i", "j", "k"]].to_numpy(dtype=float)
    planes = df["plane"].to_numpy()
    feeds = df["feed"].to_numpy(dtype=float)
    dwells = df["dwell_s"].to_numpy(dtype=float)
    kinds = df["kind"].to_numpy()
    pass_z = _pass_depths(kinds, ends[:, 2]) if comments else None
    n_pass = 0
    # Go to the toolpath start: Z alone first, then X/Y. Wherever the tool was left (touched off
    # on the stock, after a tool change), the first rapid never moves three axes at once.
    target = w._round(start)
    w.lines.append(" ".join(w._motion_word("G0") + [f"{_AXIS[2]}{target[2]}"]))
    w.lines.append(" ".join(w._motion_word("G0") + [f"{_AXIS[0]}{target[0]}", f"{_AXIS[1]}{target[1]}"]))
    w._commit(target)
    for r in range(len(df)):
        code = codes[r]
        if pass_z is not None and not math.isnan(pass_z[r]):
            n_pass += 1
            w.lines.extend(post.comment(f"pass {n_pass} z={_fmt(pass_z[r] * w.scale, w.dc)}"))
        if code in ("G0", "G1"):
            w.linear(code, ends[r], feeds[r])
        elif code == "G4":
            if np.abs(ends[r] - starts[r]).max() > 1e-6:
                raise InputError(f"cannot write G-code: moves table row {r}: G4 dwell row moves "
                                 f"the tool ({starts[r]} -> {ends[r]})")
            w.dwell(float(dwells[r]))
        else:
            p = int(planes[r])
            a_word, b_word = PLANE_AXES[p][3], PLANE_AXES[p][4]
            oa = offs[r, "ijk".index(_OFFSET_COL[a_word])]
            ob = offs[r, "ijk".index(_OFFSET_COL[b_word])]
            if not (math.isfinite(oa) and math.isfinite(ob)):
                raise InputError(f"cannot write G-code: moves table row {r}: {code} arc in G{p} needs "
                                 f"finite {_OFFSET_COL[a_word]} and {_OFFSET_COL[b_word]} (centre offsets)")
            w.arc(r, code, p, starts[r], ends[r], (float(oa), float(ob)), float(feeds[r]))

    lines: list[str] = []
    if post.delimiter:
        lines.append(post.delimiter)
    lines += header + w.lines + footer
    if post.delimiter:
        lines.append(post.delimiter)
    return _finish(lines, post)


def _pass_depths(kinds: np.ndarray, z: np.ndarray) -> np.ndarray:
    """NaN everywhere except at the first row of each plunge/ramp run, where it holds the
    z of the next cut row (the depth of the pass), or the run's last z when no cut follows."""
    n = len(kinds)
    out = np.full(n, np.nan)
    entry = np.isin(kinds, ("plunge", "ramp"))
    if not entry.any():
        return out
    first = entry & ~np.concatenate(([False], entry[:-1]))
    cut_z = np.where(kinds == "cut", z, np.nan)
    # next cut z at or after each row: backward fill
    nxt = pd.Series(cut_z).bfill().to_numpy()
    for r in np.flatnonzero(first):
        out[r] = nxt[r] if not math.isnan(nxt[r]) else z[r]
    return out


def _finish(lines: list[str], post: Post) -> str:
    ln = post.line_numbers
    n = ln.start
    out: list[str] = []
    for i, line in enumerate(lines):
        if line == post.delimiter or post.is_comment_line(line):
            if len(line) > post.max_line_length:        # a comment: cut it, keep it closed
                cut = post.max_line_length - (1 if post.comment_style == "paren" else 0)
                line = line[:cut] + (")" if post.comment_style == "paren" else "")
            out.append(line)
            continue
        if ln.enabled:
            line = f"N{n} {line}"
            n += ln.step
            if n > ln.max:
                n = ln.start
        if len(line) > post.max_line_length:
            raise PostError(f"post {post.id}: program line {i + 1} is {len(line)} characters, over the "
                            f"controller's {post.max_line_length}: {line[:60]}...")
        out.append(line)
    return "\n".join(out) + "\n"


def write_file(toolpath: Toolpath | pd.DataFrame, post: str | os.PathLike[str] | Post,
               path: str | os.PathLike[str], **kw: Any) -> Path:
    """:func:`write` the program to ``path`` (parent folders created) and return the path.

    Keyword arguments are those of :func:`write`. Raises what :func:`write` raises, and
    :class:`InputError` when the file cannot be written.
    """
    text = write(toolpath, post, **kw)
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="ascii", errors="replace", newline="\n")
    except OSError as exc:
        raise InputError(f"cannot write G-code file {p}: {exc}") from None
    return p
