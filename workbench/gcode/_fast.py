"""Fast engine of the G-code reader: whole-text tokenising and vectorised modal state.

:func:`read_fast` reads programs made only of plain words (G0-G3, G4 P, G17-G19, G20/G21,
G40, G49, G54-G59.3, G61/G64, G80, G90/G91, G94; M0-M9, M30; N, F, S, T, X, Y, Z, I, J, K, R,
P) and returns exactly the table of the general engine (:class:`workbench.gcode.reader._Machine`,
the reference): the same floating-point operations in the same order, so the tables compare
equal bit for bit (tested on every shared program). For anything else (parameters,
expressions, canned cycles, G10/G28/G53/G92, G93, '%', '/', M7+M8 in one block, comments
nested deeper than three levels, any error or warning other than "program continues after
M2/M30") it returns ``None`` and the caller runs the general engine, which also produces the
precise error message.

How (whole-text byte operations, numpy and one Arrow cast; no Python object per line or word):

1. comments are cut where they start (``bytes.find`` for ``(`` and ``;`` and one anchored
   regular expression per comment: strict, the first ``)`` ends it; nested, up to three
   levels); whitespace is deleted and letters upcased by one ``bytes.translate``;
2. a second ``translate`` marks every byte that is not part of a number; its positions
   (letters, newlines, anything else) give each word's letter and line (cumulative count of
   newlines) and check the grammar ``letter number`` per line; any other character or a
   misplaced number sends the program to the general engine;
3. the number texts are cut out with a third ``translate`` (deleting letters and newlines)
   and parsed in one call: Arrow's correctly rounded string -> float64 cast over a zero-copy
   string array whose offsets numpy computes from the positions of step 2; the same double
   as ``float(text)`` (tested on every number form up to four characters and on long and
   halfway cases);
4. repeated words and modal-group conflicts: per line, the sum of the words' key bits
   (``np.add.reduceat``) exceeds their OR; modal state per line (units, distance mode,
   plane, motion mode, feed, spindle, work offset) is a forward fill (``np.repeat`` of the
   set values) over a half-line grid: modes set by a block at index 2*line, the M2/M30
   reset after the block at 2*line + 1;
5. positions: absolute words are anchors, G91 words are increments accumulated with
   ``np.cumsum`` from their anchor (sequential left-to-right sums, the general engine's order);
6. arcs: centre, R-form centre, radius check, grbl's mc_arc sweep; ``math.atan2`` per arc
   (numpy's SIMD ``arctan2`` differs from libm in the last bit);
7. the table is built in one ``DataFrame`` call (see :func:`_frame`).

Speed: about 2 million lines/s on a 1M-line CAM program (benchmarks/bench_reader.py).
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..toolpath import MOVE_COLUMNS
from ..units import MM_PER_IN
from .reader import (ARC_ANGULAR_TRAVEL_EPSILON, ARC_RADIUS_HARD_MM, ARC_RADIUS_REL,
                     ARC_RADIUS_TOL_MM, TWO_PI, _coord_param, _offset_index,
                     build_frame)

_LETTERS = "GMXYZIJKRFSTPN"
_LID = {c: n for n, c in enumerate(_LETTERS)}
_LETTER_OF_BYTE = np.full(256, -1, dtype=np.int8)
for _c, _n in _LID.items():
    _LETTER_OF_BYTE[ord(_c)] = _n

# G (tenths) -> (group id, value) for the fast engine. Groups: 0 motion, 1 plane, 2 units,
# 3 distance, 4 coord, 5 dwell (non-modal), 6 path, 7 cutter, 8 tlo, 9 feed mode
_G_FAST: dict[int, tuple[int, int]] = {
    0: (0, 0), 10: (0, 1), 20: (0, 2), 30: (0, 3), 800: (0, 80),
    170: (1, 17), 180: (1, 18), 190: (1, 19),
    200: (2, 20), 210: (2, 21),
    900: (3, 90), 910: (3, 91),
    540: (4, 1), 550: (4, 2), 560: (4, 3), 570: (4, 4), 580: (4, 5), 590: (4, 6),
    591: (4, 7), 592: (4, 8), 593: (4, 9),
    40: (5, 4),
    610: (6, 61), 611: (6, 61), 640: (6, 64),
    400: (7, 40),
    490: (8, 49),
    940: (9, 94),
}
_NG = 10
# M -> (group id, value): 0 stop, 1 toolchange, 2 spindle, 3 coolant
_M_FAST: dict[int, tuple[int, int]] = {0: (0, 0), 1: (0, 1), 2: (0, 2), 30: (0, 30), 6: (1, 6),
                                       3: (2, 3), 4: (2, 4), 5: (2, 5),
                                       7: (3, 7), 8: (3, 8), 9: (3, 9)}
_NM = 4
_PLANE_AXES = {17: (0, 1, 2), 18: (2, 0, 1), 19: (1, 2, 0)}
# lookup tables: G (tenths) / M number -> group and value (-1: not for the fast engine)
_G_GROUP_LUT = np.full(1000, -1, dtype=np.int64)
_G_VALUE_LUT = np.full(1000, -1, dtype=np.int64)
for _k, (_g, _v) in _G_FAST.items():
    _G_GROUP_LUT[_k], _G_VALUE_LUT[_k] = _g, _v
_M_GROUP_LUT = np.full(31, -1, dtype=np.int64)
_M_VALUE_LUT = np.full(31, -1, dtype=np.int64)
for _k, (_g, _v) in _M_FAST.items():
    _M_GROUP_LUT[_k], _M_VALUE_LUT[_k] = _g, _v
# word keys: letters 0..13 (own key), G groups from _GKEY, M groups from _MKEY
_GKEY = len(_LETTERS)
_MKEY = _GKEY + _NG
_NKEY = _MKEY + _NM
assert _NKEY <= 31  # word keys are bits of an int32
_CODE_NAMES = np.array(["G0", "G1", "G2", "G3", "G4"], dtype=object)
_KIND_NAMES = np.array(["rapid", "cut", "dwell", "plunge"], dtype=object)


class _Fallback(Exception):
    """The program needs the general engine."""


# --- front end: bytes -> words ---------------------------------------------------------------
# Comments as _tokens.strip_comments reads them, matched where they start (the leftmost '(' or
# ';' not inside an earlier comment). Strict: the first ')' ends a comment. Nested: up to three
# levels. An unclosed or deeper-nested '(' goes to the general engine; a stray ')' is caught by
# the character check.
_CMT_STRICT = re.compile(rb"\([^)\n]*\)|;[^\n]*")
_CMT_NESTED = re.compile(rb"\((?:[^()\n]|\((?:[^()\n]|\([^()\n]*\))*\))*\)|;[^\n]*")
_UPPER_TABLE = bytes(range(256)).upper()  # ASCII a-z -> A-Z only
_WS_BYTES = b" \t\r\v\f"
_NUMBER_BYTES = b"0123456789.+-"
_EVENT_BYTES = (_LETTERS + "\n").encode()
# 0 for the bytes of numbers, 1 for everything else: word letters, newlines and (caught
# after the gather) any other character
_EVENT_TABLE = bytes(0 if c in _NUMBER_BYTES else 1 for c in range(256))
_EVENT_OK = np.zeros(256, dtype=bool)
_EVENT_OK[list(_EVENT_BYTES)] = True


def _strip_comments(data: bytes, nested: bool) -> bytes:
    """``data`` without its comments (newlines kept); raises _Fallback on an unclosed one."""
    fp = data.find(b"(")
    fs = data.find(b";")
    if fp < 0 and fs < 0:
        return data
    rx = _CMT_NESTED if nested else _CMT_STRICT
    mv = memoryview(data)
    pieces: list[Any] = []
    prev = 0
    while fp >= 0 or fs >= 0:
        p = fs if fp < 0 or 0 <= fs < fp else fp
        m = rx.match(data, p)
        if m is None:
            raise _Fallback  # unclosed (or too deeply nested) comment: the general engine decides
        pieces.append(mv[prev:p])
        prev = m.end()
        if 0 <= fp < prev:
            fp = data.find(b"(", prev)
        if 0 <= fs < prev:
            fs = data.find(b";", prev)
    pieces.append(mv[prev:])
    return b"".join(pieces)


def _words(data: bytes, nested: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Letters (index into _LETTERS), values and 1-based line numbers of every word.

    Comments and whitespace are dropped and letters upcased with ``bytes.translate``; every
    number is then converted in one call by Arrow's string -> float64 cast over a zero-copy
    string array of the number texts (offsets computed with numpy). Arrow's parser (fast_float,
    Lemire, "Number parsing at a gigabyte per second", 2021) is correctly rounded, i.e. gives
    the same double as Python's ``float()``; the texts it accepts are a subset of the general
    engine's number grammar (both checked by the tests). Raises _Fallback for anything else.
    """
    t = _strip_comments(data, nested).translate(_UPPER_TABLE, _WS_BYTES)
    n = len(t)
    ev = np.flatnonzero(np.frombuffer(t.translate(_EVENT_TABLE), dtype=bool))
    if n and (len(ev) == 0 or ev[0] != 0):
        raise _Fallback  # a number before the first letter
    kb = np.frombuffer(t, dtype=np.uint8)[ev]
    if not _EVENT_OK[kb].all():
        raise _Fallback  # other characters: parameters, expressions, '%', '/', other letters
    is_nl = kb == 10
    # a letter is followed by its number, a newline by a letter or a newline (or the end)
    gap = np.empty(len(ev), dtype=np.int64)
    gap[:-1] = ev[1:] - ev[:-1]
    if len(ev):
        gap[-1] = n - ev[-1]
    if ((gap == 1) != is_nl).any():
        raise _Fallback  # a letter without a number, or a number not after a letter
    wi = np.flatnonzero(~is_nl)  # event index of every word's letter
    line = np.cumsum(is_nl)[wi] + 1
    letters = _LETTER_OF_BYTE[kb[wi]]
    if not len(wi):
        return letters, np.empty(0), line
    u = t.translate(None, _EVENT_BYTES)  # the number texts, back to back
    off = np.empty(len(wi) + 1, dtype=np.int64)
    off[:-1] = ev[wi] - wi
    off[-1] = len(u)
    texts = pa.LargeStringArray.from_buffers(len(wi), pa.py_buffer(off), pa.py_buffer(u))
    try:
        val = pc.cast(texts, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        raise _Fallback from None  # e.g. '1.2.3', '--1', '1-': the general engine decides
    if not np.isfinite(val).all():
        raise _Fallback  # beyond the double range: the general engine reports it
    return letters, val, line


def _ffill(arr: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs (arr[0] must be set): each value repeated up to the next one."""
    at = np.flatnonzero(~np.isnan(arr))
    return np.repeat(arr[at], np.diff(np.append(at, len(arr))))


def read_fast(text: str, data: bytes | None = None, *, path: str | None = None, units: str = "mm",
              start: Sequence[float] = (0.0, 0.0, 0.0),
              work_offsets: Mapping[Any, Sequence[float]] | None = None,
              tool_lengths: Mapping[int, float] | None = None, strict: bool = True,
              nested_comments: str = "error", block_delete: bool = True,
              ) -> tuple[Any, dict[str, Any]] | None:
    """Read a plain program with the fast engine; ``None`` when it needs the general one.

    Same inputs and output as :func:`workbench.gcode.reader.read_general`.
    """
    try:
        return _read(text, data, path=path, units=units, start=start, work_offsets=work_offsets,
                     nested_comments=nested_comments)
    except _Fallback:
        return None


def _read(text: str, data: bytes | None, *, path: str | None, units: str, start: Sequence[float],
          work_offsets: Mapping[Any, Sequence[float]] | None, nested_comments: str,
          ) -> tuple[Any, dict[str, Any]]:
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    nlines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    L, V, T = _words(data, nested_comments == "allow")
    N = max(nlines, int(T.max()) if len(T) else 0) + 1
    ntok = len(L)

    # --- classify G and M words, detect repeats / modal conflicts ---------------------------
    isG = L == _LID["G"]
    isM = L == _LID["M"]
    gv = V[isG]
    g10 = np.round(gv * 10.0)
    if len(gv) and ((np.abs(gv * 10.0 - g10) >= 1e-6).any() or (g10 < 0).any()
                    or (g10 >= len(_G_GROUP_LUT)).any()):
        raise _Fallback
    g10i = g10.astype(np.int64)
    ggrp = _G_GROUP_LUT[g10i]
    if (ggrp < 0).any():
        raise _Fallback
    gval = _G_VALUE_LUT[g10i]
    mv = V[isM]
    mr = np.round(mv)
    if len(mv) and ((np.abs(mv - mr) >= 1e-9).any() or (mr < 0).any() or (mr > 30).any()):
        raise _Fallback
    mi = mr.astype(np.int64)
    mgrp = _M_GROUP_LUT[mi]
    if (mgrp < 0).any():
        raise _Fallback
    mval = _M_VALUE_LUT[mi]
    # one key per letter / modal group: letters 0..13 (G, M unused), G groups 14.., M groups 24..
    key = L.astype(np.int8)
    key[isG] = _GKEY + ggrp
    key[isM] = _MKEY + mgrp
    val = V.copy()
    val[isG] = gval
    val[isM] = mval
    # repeated word or modal-group conflict in a block (the general engine reports it): the
    # tokens are in line order, so per line the sum of the key bits exceeds their OR
    starts = np.flatnonzero(np.concatenate([[True], T[1:] != T[:-1]])) if ntok else T
    if ntok:
        bits = np.left_shift(np.int32(1), key, dtype=np.int32)  # _NKEY <= 31
        if (np.add.reduceat(bits, starts) != np.bitwise_or.reduceat(bits, starts)).any():
            raise _Fallback
    order = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[order], np.arange(_NKEY + 1))

    def per_line(k: int) -> np.ndarray:
        a = np.full(N, np.nan)
        idx = order[bounds[k]:bounds[k + 1]]
        a[T[idx]] = val[idx]
        return a

    X, Y, Z = per_line(_LID["X"]), per_line(_LID["Y"]), per_line(_LID["Z"])
    I, J, K, R = (per_line(_LID[c]) for c in "IJKR")
    F, S, Tw, P = (per_line(_LID[c]) for c in "FSTP")
    g_motion, g_plane, g_units, g_dist, g_coord, g_dwell = (per_line(_GKEY + g) for g in range(6))
    m_stop, m_tc, m_spin, m_cool = (per_line(_MKEY + m) for m in range(_NM))
    if (np.nan_to_num(F) < 0).any() or (np.nan_to_num(S) < 0).any() or (np.nan_to_num(P) < 0).any():
        raise _Fallback
    tw = Tw[~np.isnan(Tw)]
    if len(tw) and ((tw < 0).any() or (tw != np.floor(tw)).any()):
        raise _Fallback

    ended = (m_stop == 2) | (m_stop == 30)
    end_lines = np.flatnonzero(ended)

    def grid(setv: np.ndarray, init: float, reset: float | None) -> np.ndarray:
        """Half-line grid: value set in block L at 2L, M2/M30 reset at 2L+1; forward filled."""
        gr = np.full(2 * N, np.nan)
        gr[0::2] = setv
        gr[0] = init if np.isnan(setv[0]) else setv[0]
        if reset is not None and len(end_lines):
            gr[2 * end_lines + 1] = reset
        return _ffill(gr)

    def line_fill(setv: np.ndarray, init: float) -> np.ndarray:
        """In-block value per line of a mode without M2/M30 reset."""
        a = setv.copy()
        if np.isnan(a[0]):
            a[0] = init
        return _ffill(a)

    inch0 = 1.0 if units == "inch" else 0.0
    inch = line_fill(np.where(np.isnan(g_units), np.nan, (g_units == 20).astype(float)), inch0)
    u = np.where(inch == 1.0, MM_PER_IN, 1.0)
    absolute = grid(np.where(np.isnan(g_dist), np.nan, (g_dist == 90).astype(float)), 1.0, 1.0)[0::2]
    plane_g = grid(g_plane, 17.0, 17.0)
    plane = plane_g[0::2]
    plane_before = np.concatenate([[17.0], plane_g[1:-1:2]])
    motion = grid(g_motion, 0.0, 1.0)[0::2]
    coord_g = grid(g_coord, 1.0, 1.0)
    coord = coord_g[0::2]
    spin_g = grid(m_spin, 5.0, 5.0)
    spin_pre = spin_g[0::2]  # in block, before the motion
    spin_before = np.concatenate([[5.0], spin_g[1:-1:2]])  # at the end of the previous block
    coord_before = np.concatenate([[1.0], coord_g[1:-1:2]])
    # feed (mm/min), F0 = undefined (grbl). Units of the block apply.
    fgr = F * u
    fgr[0] = -1.0  # line 0 does not exist: feed undefined before the first F
    feed = _ffill(fgr)
    feed[feed <= 0] = np.nan
    rpm = line_fill(S, 0.0)
    rpm_before = np.concatenate([[0.0], rpm[:-1]])

    has_axis = ~(np.isnan(X) & np.isnan(Y) & np.isnan(Z))
    has_ijk = ~(np.isnan(I) & np.isnan(J) & np.isnan(K))
    has_r = ~np.isnan(R)
    has_g4 = ~np.isnan(g_dwell)
    explicit_motion = ~np.isnan(g_motion)
    # --- checks that make the general engine raise or warn -> fall back -------------------
    if (has_g4 & (has_axis | explicit_motion)).any() or (has_g4 & np.isnan(P)).any():
        raise _Fallback
    if (~np.isnan(P) & ~has_g4).any():
        raise _Fallback
    run = explicit_motion | has_axis
    is_arc = (motion == 2) | (motion == 3)
    feed_mode = run & ((motion == 1) | is_arc)
    if (feed_mode & np.isnan(feed)).any():
        raise _Fallback  # grbl error 22
    arc = run & is_arc
    if (arc & ~has_axis).any():
        raise _Fallback  # G2/G3 without axis words
    if (run & (motion == 80) & has_axis).any():
        raise _Fallback
    if ((has_ijk | has_r) & ~arc).any() or (arc & has_ijk & has_r).any():
        raise _Fallback  # unused or conflicting words
    cool_lines = np.flatnonzero(~np.isnan(m_cool))

    # --- rows ----------------------------------------------------------------------------
    dw_lines = np.flatnonzero(has_g4)
    row_lines = np.flatnonzero((has_axis & run & (motion != 80)) | has_g4)  # <= 1 row per line
    nrow = len(row_lines)
    is_dw = has_g4[row_lines]
    rl = row_lines

    # work offsets as the general engine computes them: (G5x + G92) + TLO, G92 = TLO = 0
    offs = np.zeros((10, 3))
    params: dict[int, float] = {}
    for k, vec in (work_offsets or {}).items():
        n = _offset_index(k)
        for a in range(3):
            params[_coord_param(n, a)] = float(vec[a])
    for n in range(1, 10):
        for a in range(3):
            offs[n, a] = (params.get(_coord_param(n, a), 0.0) + 0.0) + (0.0 if a == 2 else 0.0)

    # end points per row: absolute words are anchors, G91 words increments summed from their
    # anchor in row order; rows without the axis word (and dwell rows, which have no axis
    # words) keep the previous value
    start_v = [float(start[0]), float(start[1]), float(start[2])]
    u_r = u[rl]
    abs_r = absolute[rl] == 1.0
    all_abs = bool(abs_r.all())
    coord_r = coord[rl].astype(np.int64)
    pos: list[np.ndarray] = []
    for a, W in enumerate((X, Y, Z)):
        w = W[rl]
        vals = w * u_r
        oa = offs[:, a]
        if all_abs:
            col = vals + oa[coord_r] if oa.any() else vals + 0.0
        else:
            given = ~np.isnan(w)
            anchor = given & abs_r
            inc = given & ~abs_r
            col = np.where(anchor, vals + oa[coord_r], np.nan)
            if inc.any():
                delta = np.where(inc, vals, 0.0)
                anc_idx = np.flatnonzero(anchor)
                seg_of_inc = np.unique(np.searchsorted(anc_idx, np.flatnonzero(inc), side="right") - 1)
                for sg in seg_of_inc.tolist():
                    lo = int(anc_idx[sg]) if sg >= 0 else 0
                    hi = int(anc_idx[sg + 1]) if sg + 1 < len(anc_idx) else nrow
                    if sg >= 0:
                        col[lo:hi] = np.cumsum(np.concatenate([[col[lo]], delta[lo + 1:hi]]))
                    else:
                        col[lo:hi] = np.cumsum(np.concatenate([[start_v[a]], delta[lo:hi]]))[1:]
        if nrow and np.isnan(col[0]):
            col[0] = start_v[a]
        pos.append(_ffill(col) if nrow else col)
    prev: list[np.ndarray] = []
    for a in range(3):
        p = np.empty(nrow)
        if nrow:
            p[0] = start_v[a]
            p[1:] = pos[a][:-1]
        prev.append(p)

    code_num = motion[rl].astype(np.int64)
    code_num[is_dw] = 4
    # a dwell runs before the block's plane change (gc_execute_line order)
    plane_r = plane[rl].astype(np.int64)
    plane_r[is_dw] = plane_before[rl[is_dw]].astype(np.int64)
    d = [pos[a] - prev[a] for a in range(3)]
    length = np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    length[is_dw] = 0.0
    fcol = feed[rl]
    fcol[(code_num < 1) | (code_num > 3)] = np.nan
    ii = [np.full(nrow, np.nan) for _ in range(3)]
    radius = np.full(nrow, np.nan)

    arc_rows = np.flatnonzero((code_num == 2) | (code_num == 3))
    for pl, (a0, a1, al) in _PLANE_AXES.items():
        ar = arc_rows[plane_r[arc_rows] == pl]
        if not len(ar):
            continue
        lines_a = rl[ar]
        words = (X, Y, Z)
        if (np.isnan(words[a0][lines_a]) & np.isnan(words[a1][lines_a])).any():
            raise _Fallback  # no axis word in the plane
        offw = (I, J, K)
        o0 = offw[a0][lines_a]
        o1 = offw[a1][lines_a]
        ol = offw[al][lines_a]
        rw = R[lines_a]
        rmode = ~np.isnan(rw)
        if (~rmode & np.isnan(o0) & np.isnan(o1)).any() or (~rmode & ~np.isnan(ol)).any():
            raise _Fallback
        uu = u[lines_a]
        s0, s1 = prev[a0][ar], prev[a1][ar]
        t0, t1 = pos[a0][ar], pos[a1][ar]
        x = t0 - s0
        y = t1 - s1
        off0 = np.where(np.isnan(o0), 0.0, o0 * uu)
        off1 = np.where(np.isnan(o1), 0.0, o1 * uu)
        rad = np.full(len(ar), np.nan)
        if rmode.any():
            rr = rw[rmode] * uu[rmode]
            xr, yr = x[rmode], y[rmode]
            if ((xr == 0.0) & (yr == 0.0)).any():
                raise _Fallback
            d2 = xr * xr + yr * yr
            h = 4.0 * rr * rr - d2
            if (h < 0.0).any():
                raise _Fallback
            h = -np.sqrt(h) / np.sqrt(d2)
            ccw = code_num[ar][rmode] == 3
            h = np.where(ccw, -h, h)
            h = np.where(rr < 0, -h, h)
            rr = np.abs(rr)
            off0[rmode] = 0.5 * (xr - (yr * h))
            off1[rmode] = 0.5 * (yr + (xr * h))
            rad[rmode] = rr
        cm = ~rmode
        if cm.any():
            a_, b_ = off0[cm], off1[cm]
            r_start = np.sqrt(a_ * a_ + b_ * b_)
            e0, e1 = x[cm] - a_, y[cm] - b_
            r_end = np.sqrt(e0 * e0 + e1 * e1)
            dr = np.abs(r_end - r_start)
            if ((dr > ARC_RADIUS_TOL_MM) & ((dr > ARC_RADIUS_HARD_MM) | (dr > ARC_RADIUS_REL * r_start))).any():
                raise _Fallback
        c0 = s0 + off0
        c1 = s1 + off1
        r0 = s0 - c0
        r1 = s1 - c1
        rt0 = t0 - c0
        rt1 = t1 - c1
        yy = r0 * rt1 - r1 * rt0
        xx = r0 * rt0 + r1 * rt1
        ang = np.fromiter(map(math.atan2, yy.tolist(), xx.tolist()), dtype=np.float64, count=len(ar))
        cw = code_num[ar] == 2
        ang = np.where(cw & (ang >= -ARC_ANGULAR_TRAVEL_EPSILON), ang - TWO_PI, ang)
        ang = np.where(~cw & (ang <= ARC_ANGULAR_TRAVEL_EPSILON), ang + TWO_PI, ang)
        r_geo = np.sqrt(r0 * r0 + r1 * r1)
        rad = np.where(rmode, rad, r_geo)
        lin = pos[al][ar] - prev[al][ar]
        rs = rad * ang
        length[ar] = np.sqrt(rs * rs + lin * lin)
        ii[a0][ar] = off0
        ii[a1][ar] = off1
        radius[ar] = rad

    # --- rest_before: half-grid event positions (2L before the motion, 2L+1 after it) ------
    ev: list[np.ndarray] = []
    sp_lines = np.flatnonzero(~np.isnan(m_spin))
    ev.append(2 * sp_lines[m_spin[sp_lines] != spin_before[sp_lines]])
    s_lines = np.flatnonzero(~np.isnan(S))
    s_chg = (S[s_lines] != rpm_before[s_lines]) & ((spin_before[s_lines] == 3) | (spin_before[s_lines] == 4))
    ev.append(2 * s_lines[s_chg])
    ev.append(2 * np.flatnonzero(~np.isnan(m_tc)))
    c_lines = np.flatnonzero(~np.isnan(g_coord))
    ev.append(2 * c_lines[g_coord[c_lines] != coord_before[c_lines]])
    ev.append(2 * np.flatnonzero(~np.isnan(m_stop)) + 1)
    ev.append(2 * dw_lines + 1)
    # coolant: grbl bit mask (M7 mist | M8 flood, M9 off), reset by M2/M30
    cool = 0
    cool_events = sorted([(int(n), 0, int(m_cool[n])) for n in cool_lines]
                         + [(int(n), 1, -1) for n in end_lines])
    cev = []
    for n, kind, m in cool_events:
        if kind == 1:
            cool = 0
            continue
        new = 0 if m == 9 else cool | (1 if m == 7 else 2)
        if new != cool:
            cev.append(2 * n)
        cool = new
    ev.append(np.array(cev, dtype=np.int64))
    events = np.sort(np.concatenate(ev).astype(np.int64))
    # a row rests when an event lies in (previous row, this row]
    ridx = np.searchsorted(2 * rl, events, side="left")  # first row at or after each event
    rest = np.zeros(nrow, dtype=bool)
    rest[ridx[ridx < nrow]] = True
    if nrow:
        rest[0] = True
    rest |= is_dw

    # --- spindle rpm and tool per row ---------------------------------------------------
    spin_r = spin_pre[rl]
    rpm_r = rpm[rl]
    rpm_r[(spin_r != 3) & (spin_r != 4)] = 0.0
    tsel = line_fill(Tw, 0.0)
    tc_lines = np.flatnonzero(~np.isnan(m_tc))
    if len(tc_lines):
        # after the first M6 the tool is the one selected at the latest M6
        tc_val = np.full(N, np.nan)
        tc_val[tc_lines] = tsel[tc_lines]
        tc_val[0] = 0.0
        tool_line = _ffill(tc_val)
        tool_line[:tc_lines[0]] = tsel[:tc_lines[0]]
    else:
        tool_line = tsel
    tool_r = tool_line[rl].astype(np.int64)

    # --- warnings the general engine gives: a block after M2/M30 -------------------------
    warnings: list[str] = []
    if len(end_lines):
        wl = T[starts]  # lines with words, ascending
        after_end = wl[1:][ended[wl[:-1]]]
        warnings = [f"line {n}: program continues after M2/M30 (grbl executes it)"
                    for n in after_end.tolist()]

    codes = _CODE_NAMES[code_num]
    kind_num = np.where(code_num == 4, 2, np.where(code_num == 0, 0, 1))
    plunge = (code_num == 1) & (d[0] == 0.0) & (d[1] == 0.0) & (d[2] < 0.0)
    kind_num[plunge] = 3
    kinds = _KIND_NAMES[kind_num]
    dwell = np.zeros(nrow)
    dwell[is_dw] = P[rl[is_dw]]
    cols = {
        "code": codes, "x": pos[0], "y": pos[1], "z": pos[2],
        "i": ii[0], "j": ii[1], "k": ii[2], "plane": plane_r, "feed": fcol,
        "len_mm": length, "radius_mm": radius, "kind": kinds, "line": rl.astype(np.int64, copy=False),
        "dwell_s": dwell, "rest_before": rest, "spindle_rpm": rpm_r, "tool": tool_r,
    }
    units_seen = {units}
    if (g_units == 20).any():
        units_seen.add("inch")
    if (g_units == 21).any():
        units_seen.add("mm")
    info = {
        "units_seen": sorted(units_seen),
        "tools": sorted({int(t) for t in np.unique(tw)}),
        "spindle_speeds": sorted({float(v) for v in np.unique(S[~np.isnan(S)])}),
        "warnings": warnings,
        "line_count": nlines,
    }
    return _frame(cols), info


def _frame(cols: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The moves table of :func:`workbench.gcode.reader.build_frame` (canonical columns of
    :data:`workbench.toolpath.MOVE_COLUMNS` with their dtypes and defaults, then
    ``spindle_rpm`` and ``tool``), built in one DataFrame call without copies:
    ``moves_frame``'s per-column reassignments and missing-value scans cost more than the
    whole parse on a million rows. Equal to build_frame's table (tested on every program)."""
    n = len(cols["code"])
    if n == 0:
        return build_frame(cols)
    data: dict[str, Any] = {}
    for c, (dtype, default) in MOVE_COLUMNS.items():
        if c not in cols:
            a = np.full(n, default, dtype=object if dtype == "object" else dtype)
        else:
            a = cols[c]
        if dtype == "object":
            data[c] = pd.Series(a, dtype=object, copy=False)
            continue
        a = np.asarray(a, dtype=dtype)
        if dtype == "float64" and not (isinstance(default, float) and math.isnan(default)):
            nan = np.isnan(a)
            if nan.any():
                a = np.where(nan, default, a)
        data[c] = a
    data["spindle_rpm"] = np.asarray(cols["spindle_rpm"], dtype=np.float64)
    data["tool"] = np.asarray(cols["tool"], dtype=np.int64)
    return pd.DataFrame(data, copy=False)
