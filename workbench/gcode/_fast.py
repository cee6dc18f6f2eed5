"""Fast engine of the G-code reader: whole-text tokenising and vectorised modal state.

:func:`read_fast` reads programs made only of plain words (G0-G3, G4 P, G17-G19, G20/G21,
G40, G49, G54-G59.3, G61/G64, G80, G90/G91, G94; M0-M9, M30; N, F, S, T, X, Y, Z, I, J, K, R,
P) and returns exactly the table of the general engine (:class:`workbench.gcode.reader._Machine`,
the reference): the same floating-point operations in the same order, so the tables compare
equal bit for bit (tested on every shared program). For anything else (parameters,
expressions, canned cycles, G10/G28/G53/G92, G93, '%', '/', M7+M8 in one block, any error or
warning) it returns ``None`` and the caller runs the general engine, which also produces the
precise error message.

How (numpy over the bytes of the whole program):

1. comments are located with vectorised searches over the positions of ``(``, ``)``, ``;``
   and newlines (strict: a comment ends at the first ``)``; nested: per-line depth by
   cumulative sum), then comments and whitespace are dropped and letters upcased by table;
2. the byte array is validated against the word grammar ``letter [+-]? (digits[.digits] |
   .digits)`` with vectorised neighbour tests;
3. numbers are parsed exactly without Python floats: mantissa M (at most 15 digits) and
   decimal exponent e give ``M / 10**e``, one correctly rounded IEEE division of two exact
   doubles, i.e. the same double as ``float(text)`` (Clinger's fast path, "How to read floating
   point numbers accurately", PLDI 1990);
4. modal state per line (units, distance mode, plane, motion mode, feed, spindle, work
   offset) is a forward fill over a half-line grid: modes set by a block at index 2*line,
   the M2/M30 reset after the block at 2*line + 1;
5. positions: absolute words are anchors, G91 words are increments accumulated with
   ``np.cumsum`` from their anchor (sequential left-to-right sums, the general engine's order);
6. arcs: centre, R-form centre, radius check, grbl's mc_arc sweep; ``math.atan2`` per arc
   (numpy's SIMD ``arctan2`` differs from libm in the last bit).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..units import MM_PER_IN
from .reader import (ARC_ANGULAR_TRAVEL_EPSILON, ARC_RADIUS_HARD_MM, ARC_RADIUS_REL,
                     ARC_RADIUS_TOL_MM, TWO_PI, _coord_param, _offset_index,
                     build_frame)

_POW10 = np.array([10.0 ** k for k in range(23)])

_LETTERS = "GMXYZIJKRFSTPN"
_LID = {c: n for n, c in enumerate(_LETTERS)}
_LETTER_OF_BYTE = np.full(256, -1, dtype=np.int8)
for _c, _n in _LID.items():
    _LETTER_OF_BYTE[ord(_c)] = _n
_IS_DIGIT = np.zeros(256, dtype=bool)
_IS_DIGIT[ord("0"):ord("9") + 1] = True
_ALLOWED = _IS_DIGIT.copy()
_ALLOWED[[ord(c) for c in _LETTERS + ".+-\n"]] = True

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


_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32
_IS_WS = np.zeros(256, dtype=bool)
_IS_WS[[ord(c) for c in " \t\r\v\f"]] = True


def _next_newline(nl: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """Position of the first newline at or after each position (n when none)."""
    k = np.searchsorted(nl, pos)
    out = np.full(len(pos), n, dtype=np.int64)
    ok = k < len(nl)
    out[ok] = nl[k[ok]]
    return out


def _strip(b: np.ndarray, nl: np.ndarray, nested: bool) -> np.ndarray:
    """Bytes outside comments, without whitespace, upcased (the general engine's
    strip_comments + whitespace removal + upper, vectorised). Raises _Fallback where the
    general engine would raise or where the vectorised rules are not sure."""
    n = len(b)
    op = np.flatnonzero(b == 40)
    semis = np.flatnonzero(b == 59)
    keep = ~_IS_WS[b]
    if len(op) == 0 and len(semis) == 0:
        if (b == 41).any():
            raise _Fallback
        return _UPPER[b[keep]]
    diff = np.zeros(n + 1, dtype=np.int32)
    if nested:
        # depth per line, computed on the (sparse) parenthesis positions only
        cp = np.flatnonzero(b == 41)
        ev = np.concatenate([op, cp])
        order = np.argsort(ev, kind="stable")
        ev = ev[order]
        step = np.concatenate([np.ones(len(op), np.int32), -np.ones(len(cp), np.int32)])[order]
        ev_line = np.searchsorted(nl, ev)
        d = np.cumsum(step, dtype=np.int32)
        first = np.ones(len(ev), dtype=bool)
        first[1:] = ev_line[1:] != ev_line[:-1]
        base = (d - step)[first]
        depth = d - np.repeat(base, np.diff(np.concatenate([np.flatnonzero(first), [len(ev)]])))
        if (depth < 0).any():
            raise _Fallback  # stray ')' (or one after ';')
        last = np.ones(len(ev), dtype=bool)
        last[:-1] = ev_line[1:] != ev_line[:-1]
        if (depth[last] != 0).any():
            raise _Fallback  # unclosed '('
        o_start = ev[(step == 1) & (depth == 1)]
        c_end = ev[(step == -1) & (depth == 0)]
        np.add.at(diff, o_start, 1)
        np.add.at(diff, c_end + 1, -1)
        if len(semis):
            # a ';' inside a parenthesised comment is part of it
            k = np.searchsorted(o_start, semis, side="right") - 1
            inside = (k >= 0) & (c_end[np.maximum(k, 0)] > semis) if len(o_start) else np.zeros(len(semis), bool)
            real_semi = semis[~inside]
        else:
            real_semi = semis
    else:
        stops = np.flatnonzero((b == 41) | (b == 10))
        k = np.searchsorted(stops, op)
        cl = np.full(len(op), n, dtype=np.int64)
        ok = k < len(stops)
        cl[ok] = stops[k[ok]]
        real = np.ones(len(op), dtype=bool)
        real[1:] = cl[1:] != cl[:-1]
        opens, closes = op[real], cl[real]
        if len(semis) and len(opens):
            idx = np.searchsorted(opens, semis) - 1
            inside = (idx >= 0) & (closes[np.maximum(idx, 0)] > semis)
            real_semi = semis[~inside]
        else:
            real_semi = semis
        unterminated = np.ones(len(closes), dtype=bool)
        okc = closes < n
        unterminated[okc] = b[closes[okc]] != 41
        if unterminated.any():
            uo = opens[unterminated]
            if not len(real_semi):
                raise _Fallback
            j = np.searchsorted(real_semi, uo) - 1
            covered = (j >= 0) & (_next_newline(nl, real_semi[np.maximum(j, 0)], n) > uo)
            if not covered.all():
                raise _Fallback  # unclosed comment: the general engine decides
        end = np.where(unterminated, closes, closes + 1)
        np.add.at(diff, opens, 1)
        np.add.at(diff, end, -1)
    if len(real_semi):
        np.add.at(diff, real_semi, 1)
        np.add.at(diff, _next_newline(nl, real_semi, n), -1)
    keep &= np.cumsum(diff[:n], dtype=np.int32) == 0
    return _UPPER[b[keep]]


class _Fallback(Exception):
    """The program needs the general engine."""


def _ffill(arr: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs (arr[0] must be set)."""
    idx = np.where(np.isnan(arr), 0, np.arange(len(arr)))
    np.maximum.accumulate(idx, out=idx)
    return arr[idx]


def _tokenize(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Letters (index into _LETTERS), values and 1-based line numbers of every word of the
    stripped program bytes ``b``."""
    if not _ALLOWED[b].all():
        raise _Fallback
    n = len(b)
    lid = _LETTER_OF_BYTE[b]
    is_letter = lid >= 0
    lp = np.flatnonzero(is_letter)
    ntok = len(lp)
    nl = np.flatnonzero(b == 10)
    if ntok == 0:
        return np.empty(0, np.int8), np.empty(0), np.empty(0, np.int64)
    bp = np.concatenate([b, np.array([10], np.uint8)])
    after = bp[lp + 1]
    if not (_IS_DIGIT[after] | (after == 46) | (after == 43) | (after == 45)).all():
        raise _Fallback  # a letter without a number
    other = np.flatnonzero(~is_letter & (b != 10))
    if len(other):
        if other[0] == 0:
            raise _Fallback
        if (b[other - 1] == 10).any():
            raise _Fallback  # a number not after a letter
    sp = np.flatnonzero((b == 43) | (b == 45))
    if len(sp):
        if not is_letter[sp - 1].all():
            raise _Fallback
        nxt = bp[sp + 1]
        if not (_IS_DIGIT[nxt] | (nxt == 46)).all():
            raise _Fallback
    nid = np.cumsum(is_letter, dtype=np.int32) - 1  # token id of every byte
    dots = np.flatnonzero(b == 46)
    if len(dots) and np.bincount(nid[dots], minlength=ntok).max() > 1:
        raise _Fallback
    dpos = np.flatnonzero(_IS_DIGIT[b])
    dn = nid[dpos]
    cnt = np.bincount(dn, minlength=ntok)
    if (cnt == 0).any() or cnt.max() > 15:
        raise _Fallback  # no digits, or too many for the exact fast parse
    first = np.cumsum(cnt) - cnt
    rank = np.arange(len(dpos)) - first[dn]
    place = cnt[dn] - rank - 1
    digit = (b[dpos] - 48).astype(np.float64)
    mant = np.bincount(dn, weights=digit * _POW10[place], minlength=ntok)
    exp = np.zeros(ntok, dtype=np.int64)
    if len(dots):
        dot_of = np.full(ntok, n + 1, dtype=np.int64)
        dot_of[nid[dots]] = dots
        frac = dpos > dot_of[dn]
        exp = np.bincount(dn[frac], minlength=ntok)
    val = mant / _POW10[exp]
    neg = np.flatnonzero(b == 45)
    if len(neg):
        val[nid[neg]] = -val[nid[neg]]
    line = np.searchsorted(nl, lp) + 1
    return lid[lp], val, line


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
    b = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(b == 10)
    nlines = len(nl) + (1 if len(b) and b[-1] != 10 else 0)
    L, V, T = _tokenize(_strip(b, nl, nested_comments == "allow"))
    N = max(nlines, int(T.max()) if len(T) else 0) + 1
    ntok = len(L)

    # --- classify G and M words, detect repeats / modal conflicts ---------------------------
    isG = L == _LID["G"]
    isM = L == _LID["M"]
    gv = V[isG]
    g10 = np.round(gv * 10.0)
    if len(gv) and (np.abs(gv * 10.0 - g10) >= 1e-6).any():
        raise _Fallback
    g10i = g10.astype(np.int64)
    gtab_keys = np.array(sorted(_G_FAST))
    gpos = np.searchsorted(gtab_keys, g10i)
    gpos[gpos >= len(gtab_keys)] = 0
    if len(g10i) and (gtab_keys[gpos] != g10i).any():
        raise _Fallback
    ggrp = np.array([_G_FAST[k][0] for k in gtab_keys])[gpos]
    gval = np.array([_G_FAST[k][1] for k in gtab_keys])[gpos]
    mv = V[isM]
    mr = np.round(mv)
    if len(mv) and ((np.abs(mv - mr) >= 1e-9).any() or (mr < 0).any() or (mr > 30).any()):
        raise _Fallback
    mtab = np.full(31, -1, dtype=np.int64)
    mval_tab = np.full(31, -1, dtype=np.int64)
    for k, (grp, v) in _M_FAST.items():
        mtab[k] = grp
        mval_tab[k] = v
    mi = mr.astype(np.int64)
    mgrp = mtab[mi]
    if (mgrp < 0).any():
        raise _Fallback
    mval = mval_tab[mi]
    key = L.astype(np.int64) + 100  # plain letters: own key
    key[isG] = ggrp
    key[isM] = 50 + mgrp
    full_key = T * 128 + key
    sk = np.sort(full_key)
    if ntok > 1 and (sk[1:] == sk[:-1]).any():
        raise _Fallback  # repeated word or modal-group conflict (general engine reports it)
    Tg, Tm = T[isG], T[isM]

    def per_line(letter: str) -> np.ndarray:
        a = np.full(N, np.nan)
        m = L == _LID[letter]
        a[T[m]] = V[m]
        return a

    def g_line(group: int) -> np.ndarray:
        a = np.full(N, np.nan)
        m = ggrp == group
        a[Tg[m]] = gval[m]
        return a

    def m_line(group: int) -> np.ndarray:
        a = np.full(N, np.nan)
        m = mgrp == group
        a[Tm[m]] = mval[m]
        return a

    X, Y, Z = per_line("X"), per_line("Y"), per_line("Z")
    I, J, K, R = per_line("I"), per_line("J"), per_line("K"), per_line("R")
    F, S, Tw, P = per_line("F"), per_line("S"), per_line("T"), per_line("P")
    g_motion, g_plane, g_units, g_dist = g_line(0), g_line(1), g_line(2), g_line(3)
    g_coord, g_dwell = g_line(4), g_line(5)
    m_stop, m_tc, m_spin, m_cool = m_line(0), m_line(1), m_line(2), m_line(3)
    if (np.nan_to_num(F) < 0).any() or (np.nan_to_num(S) < 0).any() or (np.nan_to_num(P) < 0).any():
        raise _Fallback
    tw = Tw[~np.isnan(Tw)]
    if len(tw) and ((tw < 0).any() or (tw != np.floor(tw)).any()):
        raise _Fallback

    ended = ~np.isnan(m_stop) & ((m_stop == 2) | (m_stop == 30))
    end_lines = np.flatnonzero(ended)

    def grid(setv: np.ndarray, init: float, reset: float | None) -> np.ndarray:
        """Half-line grid: value set in block L at 2L, M2/M30 reset at 2L+1; forward filled."""
        gr = np.full(2 * N, np.nan)
        gr[0::2] = setv
        gr[0] = init if np.isnan(setv[0]) else setv[0]
        if reset is not None and len(end_lines):
            gr[2 * end_lines + 1] = reset
        return _ffill(gr)

    inch0 = 1.0 if units == "inch" else 0.0
    units_g = grid(np.where(np.isnan(g_units), np.nan, (g_units == 20).astype(float)), inch0, None)
    inch = units_g[0::2]  # in-block value
    u = np.where(inch == 1.0, MM_PER_IN, 1.0)
    absolute = grid(np.where(np.isnan(g_dist), np.nan, (g_dist == 90).astype(float)), 1.0, 1.0)[0::2]
    plane_g = grid(g_plane, 17.0, 17.0)
    plane = plane_g[0::2]
    plane_before = np.concatenate([[17.0], plane_g[1:-1:2]])
    motion_g = grid(g_motion, 0.0, 1.0)
    motion = motion_g[0::2]
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
    feed = np.where(feed > 0, feed, np.nan)
    S0 = S.copy()
    S0[0] = 0.0
    rpm = _ffill(S0)
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
    feed_mode = run & ((motion == 1) | (motion == 2) | (motion == 3))
    if (feed_mode & np.isnan(feed)).any():
        raise _Fallback  # grbl error 22
    if (run & ((motion == 2) | (motion == 3)) & ~has_axis).any():
        raise _Fallback  # G2/G3 without axis words
    if (run & (motion == 80) & has_axis).any():
        raise _Fallback
    arc = run & ((motion == 2) | (motion == 3))
    if ((has_ijk | has_r) & ~arc).any() or (arc & has_ijk & has_r).any():
        raise _Fallback  # unused or conflicting words
    if (~np.isnan(m_cool)).any():
        cool_lines = np.flatnonzero(~np.isnan(m_cool))
    else:
        cool_lines = np.empty(0, np.int64)

    # --- rows ----------------------------------------------------------------------------
    dw_lines = np.flatnonzero(has_g4)
    row_lines = np.flatnonzero((has_axis & run & (motion != 80)) | has_g4)  # <= 1 row per line
    nrow = len(row_lines)
    is_dw = has_g4[row_lines]
    is_mv = ~is_dw
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

    pos = np.empty((nrow, 3))
    start_v = [float(start[0]), float(start[1]), float(start[2])]
    mrows = np.flatnonzero(is_mv)
    mlines = rl[mrows]
    for a, W in enumerate((X, Y, Z)):
        w = W[mlines]
        given = ~np.isnan(w)
        uu = u[mlines]
        absm = absolute[mlines] == 1.0
        vals = w * uu
        anchor = given & absm
        anc_val = vals + offs[coord[mlines].astype(np.int64), a]
        inc = given & ~absm
        col = np.full(len(mlines), np.nan)
        col[anchor] = anc_val[anchor]
        if inc.any():
            # sequential accumulation from each anchor, as the general engine adds
            delta = np.where(inc, vals, 0.0)
            anc_idx = np.flatnonzero(anchor)
            seg_of_inc = np.unique(np.searchsorted(anc_idx, np.flatnonzero(inc), side="right") - 1)
            for sg in seg_of_inc.tolist():
                lo = int(anc_idx[sg]) if sg >= 0 else 0
                hi = int(anc_idx[sg + 1]) if sg + 1 < len(anc_idx) else len(mlines)
                if sg >= 0:
                    col[lo:hi] = np.cumsum(np.concatenate([[col[lo]], delta[lo + 1:hi]]))
                else:
                    col[lo:hi] = np.cumsum(np.concatenate([[start_v[a]], delta[lo:hi]]))[1:]
        # rows without the axis word keep the previous value
        first = col.copy()
        if len(first) and np.isnan(first[0]):
            first[0] = start_v[a]
        col = _ffill(first) if len(first) else first
        pos[mrows, a] = col
    # dwell rows stay where the previous motion ended
    if nrow:
        filled = np.where(is_mv[:, None], pos, np.nan)
        if np.isnan(filled[0, 0]):
            filled[0] = start_v
        pos = np.column_stack([_ffill(filled[:, a]) for a in range(3)])
    prev = np.vstack([np.array(start_v)[None, :], pos[:-1]]) if nrow else pos

    code_num = np.where(is_dw, 4, motion[rl]).astype(np.int64)
    # a dwell runs before the block's plane change (gc_execute_line order)
    plane_r = np.where(is_dw, plane_before[rl], plane[rl]).astype(np.int64)
    d = pos - prev
    length = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
    fcol = np.where((code_num >= 1) & (code_num <= 3), feed[rl], np.nan)
    ii = np.full((nrow, 3), np.nan)
    radius = np.full(nrow, np.nan)
    length = np.where(is_dw, 0.0, length)

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
        s0, s1 = prev[ar, a0], prev[ar, a1]
        t0, t1 = pos[ar, a0], pos[ar, a1]
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
        lin = pos[ar, al] - prev[ar, al]
        rs = rad * ang
        length[ar] = np.sqrt(rs * rs + lin * lin)
        ii[ar, a0] = off0
        ii[ar, a1] = off1
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
    rpos = 2 * rl
    cnt_le = np.searchsorted(events, rpos, side="right")
    prev_cnt = np.concatenate([[-1], cnt_le[:-1]]) if nrow else cnt_le
    rest = cnt_le > prev_cnt
    if nrow:
        rest[0] = True
    rest = rest | is_dw

    # --- spindle rpm and tool per row ---------------------------------------------------
    rpm_r = np.where((spin_pre[rl] == 3) | (spin_pre[rl] == 4), rpm[rl], 0.0)
    T0 = Tw.copy()
    T0[0] = 0.0
    tsel = _ffill(T0)
    tc_idx = np.where(~np.isnan(m_tc), np.arange(N), 0)
    np.maximum.accumulate(tc_idx, out=tc_idx)
    any_tc = np.maximum.accumulate(~np.isnan(m_tc))
    tool_line = np.where(any_tc, tsel[tc_idx], tsel)
    tool_r = tool_line[rl].astype(np.int64)

    # --- warnings the general engine would give: fall back --------------------------------
    warnings: list[str] = []
    if len(end_lines):
        word_lines = T[T >= end_lines[0]]
        word_lines = word_lines[np.concatenate([[True], word_lines[1:] != word_lines[:-1]])]
        is_end = ended
        state_end = False
        for n in word_lines:
            if state_end:
                warnings.append(f"line {n}: program continues after M2/M30 (grbl executes it)")
                state_end = False
            if is_end[n]:
                state_end = True

    names = np.array(["G0", "G1", "G2", "G3", "G4"], dtype=object)
    codes = names[code_num]
    kinds = np.where(code_num == 0, "rapid", np.where(code_num == 4, "dwell", "cut")).astype(object)
    plunge = (code_num == 1) & (d[:, 0] == 0.0) & (d[:, 1] == 0.0) & (d[:, 2] < 0.0)
    kinds[plunge] = "plunge"
    dwell = np.where(is_dw, P[rl], 0.0)
    cols = {
        "code": codes, "x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2],
        "i": ii[:, 0], "j": ii[:, 1], "k": ii[:, 2], "plane": plane_r, "feed": fcol,
        "len_mm": length, "radius_mm": radius, "kind": kinds, "line": rl.astype(np.int64),
        "dwell_s": dwell, "rest_before": rest, "spindle_rpm": rpm_r, "tool": tool_r,
    }
    units_seen = {units}
    if (g_units == 20).any():
        units_seen.add("inch")
    if (g_units == 21).any():
        units_seen.add("mm")
    info = {
        "units_seen": sorted(units_seen),
        "tools": sorted({int(t) for t in tw}),
        "spindle_speeds": sorted({float(v) for v in S[~np.isnan(S)]}),
        "warnings": warnings,
        "line_count": nlines,
    }
    return build_frame(cols), info
