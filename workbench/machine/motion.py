"""Controller-accurate motion planning: cycle time, speeds and the bottleneck of every move.

:func:`plan_motion` replays a toolpath through a model of grbl's motion pipeline and returns a
:class:`MotionPlan`: per move ``v_entry, v_exit, v_peak`` (mm/s), ``t_s`` (s) and ``limit``,
the planner blocks, and summary totals.

Sources (grbl 1.1h, ``grbl/motion_control.c`` and ``grbl/planner.c``; grblHAL core keeps the
same code paths in ``motion_control.c`` / ``planner.c``):

* **Arcs** (``mc_arc``): the chord count is
  ``segments = floor(|0.5*angular_travel*radius| / sqrt(arc_tolerance*(2*radius - arc_tolerance)))``,
  the radius is ``hypot`` of the start offset, the angular travel comes from ``atan2`` with
  ``ARC_ANGULAR_TRAVEL_EPSILON = 5e-7`` and chord end points are produced by the small-angle
  rotation ``cos_T = 1 - θ²/2``, ``sin_T = θ - θ³/6`` with an exact ``cos/sin`` correction every
  ``N_ARC_CORRECTION + 1 = 13`` chords; the last chord ends exactly at the target. Each chord
  is one planner block. Here the repeated rotation is evaluated in closed form
  (``M^m = ρ^m rot(mφ)``), which differs from grbl's float32 loop by rounding only.
* **Blocks** (``plan_buffer_line``): targets rounded to whole steps (``lround(target*steps_per_mm)``),
  length and unit vector from the step deltas, zero-step blocks dropped; acceleration and
  maximum rate limited per axis (``limit_value_by_axis_maximum``: ``min_i(max_i/|u_i|)``);
  G0 cruises at the axis-limited rapid rate, feeds are capped at the axis-limited max rate
  (``plan_compute_profile_nominal_speed``, ``MINIMUM_FEED_RATE`` = 1 mm/min).
* **Junctions**: ``cos θ = -u_prev·u``; ``cos θ > 0.999999`` (reversal) gives
  ``MINIMUM_JUNCTION_SPEED`` = 0; ``cos θ < -0.999999`` (straight) gives no limit; otherwise
  ``v² = a_j·δ·sin(θ/2)/(1 - sin(θ/2))`` with ``sin(θ/2) = sqrt((1 - cos θ)/2)`` and ``a_j`` the
  axis-limited acceleration along ``u - u_prev``; ``δ`` = junction deviation. The entry speed is
  also capped by the nominal speeds of both blocks (``plan_compute_profile_parameters``). A
  block planned into an empty buffer (program start, after every synchronising command:
  ``rest_before`` rows and dwells) starts from rest.
* **Passes** (``planner_recalculate``): reverse pass ``e_k = min(M_k, e_{k+1} + 2 a_k d_k)``
  with the last block ending at rest, then forward pass ``e_{k+1} = min(e_{k+1}, e_k + 2 a_k d_k)``
  over squared speeds. Both are min-plus recurrences and are solved exactly with cumulative
  sums and ``np.minimum.accumulate`` (no Python loop over blocks):
  ``e_k = min_{m>=k}(M_m + S_m) - S_k`` and ``f_k = S_k + min_{m<=k}(e_m - S_m)`` with
  ``S_k = Σ_{j<k} 2 a_j d_j``.
* **Look-ahead**: a streamed program keeps the block buffer full, so while block ``i`` runs the
  planner holds blocks ``i .. i+H-1`` (``H = lookahead - 1``: grbl's ring buffer keeps one slot
  free) and plans the last of them to stop. Hence the exit of block ``i`` is also bounded by
  ``2 Σ_{j=i+1}^{i+H-1} a_j d_j``; this cap is applied before the passes (it is consistent
  with the reverse recurrence, so the result is what the windowed planner converges to).
  With ``H`` large (grblHAL: 100) this rarely binds.
* **Time**: each block is a trapezoid (accelerate, cruise at the nominal speed, decelerate)
  or a triangle; its time is exact from the closed form. grblHAL's 10 ms step segments and
  AMASS are not modelled: against grblHAL's own code they change the total by < 0.1 %.

``mode="scurve"`` keeps the same blocks and junction limits but gives every block a
jerk-limited double-S velocity profile (Biagiotti & Melchiorri, *Trajectory Planning for
Automatic Machines and Robots*, Springer 2008, §3.4, eqs. 3.17-3.33, with ``v0``/``v1`` at the
junctions and zero boundary acceleration); junction speeds a jerk-limited block cannot join are
lowered until every block is feasible (§3.4.1 feasibility condition, eq. 3.17).

The ``limit`` label of each block (a move takes the label of the blocks holding the most of
its time):

* ``feed_cap``: it reaches its nominal speed and the requested feed exceeded it (the feed was
  cut to the axis-limited max rate or the profile's explicit feed cap);
* ``none``: it reaches its requested feed (G0: the axis-limited rapid rate);
* ``jerk``: it does not reach its nominal speed and a corner junction speed (the deviation
  formula, or a reversal) binds at its entry or exit; in S-curve mode also when the jerk limit
  lowers its peak or its junction speeds;
* ``accel``: it does not reach its nominal speed otherwise (too short to accelerate, or
  starting from/stopping to rest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, PlanningError
from ..toolpath import LIMITS, Toolpath
from .profile import MachineProfile, load_machine

#: grbl ``config.h``: exact arc correction every N_ARC_CORRECTION small-angle rotations.
N_ARC_CORRECTION = 12
#: grbl ``config.h``: ARC_ANGULAR_TRAVEL_EPSILON (radians).
ARC_ANGULAR_TRAVEL_EPSILON = 5e-7
#: grbl ``planner.h``: MINIMUM_JUNCTION_SPEED (mm/min) and MINIMUM_FEED_RATE (mm/min).
MINIMUM_JUNCTION_SPEED = 0.0
MINIMUM_FEED_RATE = 1.0

_L_FEED_CAP, _L_ACCEL, _L_JERK, _L_NONE = (LIMITS.index(x) for x in ("feed_cap", "accel", "jerk", "none"))
_REL = 1e-9


@dataclass
class MotionPlan:
    """Result of :func:`plan_motion`.

    Attributes:
        moves: the input moves table plus ``v_entry, v_exit, v_peak`` (mm/s), ``t_s`` (s) and
            ``limit`` (categorical of str, one of :data:`workbench.toolpath.LIMITS`). Moves
            without blocks (zero length) have zero speeds and time; G4 rows carry their dwell
            in ``t_s``.
        summary: ``cycle_time_s``, ``time_by_limit_s`` and ``count_by_limit`` (dicts over the
            limit labels, motion rows only), ``cutting_time_s`` (G1-G3), ``rapid_time_s`` (G0),
            ``dwell_time_s`` (G4), ``n_blocks``, ``n_moves``, ``mode``, ``lookahead``,
            ``machine``.
        toolpath: the input toolpath.
        blocks: (property, built on first access) one row per planner block: ``move`` (row
            index into ``moves``), ``x, y, z`` (end point, mm, after step rounding),
            ``len_mm``, ``v_nominal``, ``accel_mm_s2``, ``v_entry, v_exit, v_peak`` (mm/s),
            ``t_s``, ``limit``.
    """

    moves: pd.DataFrame
    summary: dict[str, Any]
    toolpath: Toolpath | None = field(default=None, repr=False)
    block_arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _blocks: pd.DataFrame | None = field(default=None, repr=False, init=False)

    @property
    def blocks(self) -> pd.DataFrame:
        if self._blocks is None:
            d = dict(self.block_arrays)
            if "limit" in d:
                d["limit"] = pd.Categorical.from_codes(d["limit"], categories=list(LIMITS))
            self._blocks = pd.DataFrame(d)
        return self._blocks

    @property
    def cycle_time_s(self) -> float:
        return float(self.summary["cycle_time_s"])

    def save(self, out_dir: str | Path, *, blocks: bool = False) -> dict[str, Path]:
        """Write ``motion_moves.csv``, ``motion_summary.json`` (and ``motion_blocks.csv`` when
        ``blocks``) into ``out_dir`` (created if needed). Returns {name: path}."""
        import json

        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        files = {"moves": d / "motion_moves.csv", "summary": d / "motion_summary.json"}
        self.moves.to_csv(files["moves"], index=False)
        files["summary"].write_text(json.dumps(self.summary, indent=2) + "\n", encoding="utf-8")
        if blocks:
            files["blocks"] = d / "motion_blocks.csv"
            self.blocks.to_csv(files["blocks"], index=False)
        return files


# --------------------------------------------------------------------------------------------
# arcs -> chords (mc_arc)

_PLANE_AXES = {17: (0, 1, 2), 18: (2, 0, 1), 19: (1, 2, 0)}


def arc_segments(angular_travel: np.ndarray, radius: np.ndarray, arc_tolerance: float) -> np.ndarray:
    """grbl's chord count per arc (``mc_arc``), evaluated in float32 like the firmware.

    ``segments = floor(|0.5*angular_travel*radius| / sqrt(tol*(2*radius - tol)))``; arcs with
    ``2*radius <= tol`` get 0 (one straight block). Inputs in rad and mm; returns int64.
    """
    ang = np.asarray(angular_travel, dtype=np.float32)
    r = np.asarray(radius, dtype=np.float32)
    tol = np.float32(arc_tolerance)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt(tol * (np.float32(2.0) * r - tol))
        seg = np.floor(np.abs(np.float32(0.5) * ang * r) / den)
    seg = np.where(np.isfinite(seg) & (den > 0), seg, 0.0)
    return np.minimum(seg, 65535).astype(np.int64)


def _arc_geometry(start: np.ndarray, end: np.ndarray, off: np.ndarray, plane: np.ndarray,
                  cw: np.ndarray, arc_tolerance: float) -> tuple[np.ndarray, ...]:
    """Per arc: axis indices, centre, start radius vector, angular travel, radius, segments."""
    n = len(start)
    ax = np.empty((n, 3), dtype=np.int64)
    for p, axes in _PLANE_AXES.items():
        ax[plane == p] = axes
    bad = ~np.isin(plane, list(_PLANE_AXES))
    if bad.any():
        raise InputError(f"arc with unknown plane {int(plane[bad][0])} (expected 17, 18 or 19)")
    rows = np.arange(n)
    a0, a1, al = ax[:, 0], ax[:, 1], ax[:, 2]
    o0, o1 = off[rows, a0], off[rows, a1]
    o0 = np.nan_to_num(o0)
    o1 = np.nan_to_num(o1)
    c0, c1 = start[rows, a0] + o0, start[rows, a1] + o1
    r0, r1 = -o0, -o1
    rt0, rt1 = end[rows, a0] - c0, end[rows, a1] - c1
    ang = np.arctan2(r0 * rt1 - r1 * rt0, r0 * rt0 + r1 * rt1)
    ang = np.where(cw & (ang >= -ARC_ANGULAR_TRAVEL_EPSILON), ang - 2 * math.pi, ang)
    ang = np.where(~cw & (ang <= ARC_ANGULAR_TRAVEL_EPSILON), ang + 2 * math.pi, ang)
    radius = np.hypot(o0, o1)
    seg = arc_segments(ang, radius, arc_tolerance)
    return a0, a1, al, c0, c1, r0, r1, ang, radius, seg


def _expand_blocks(is_line: np.ndarray, is_arc: np.ndarray, cw: np.ndarray, start: np.ndarray,
                   end: np.ndarray, off: np.ndarray, plane: np.ndarray,
                   arc_tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Planner block end points, shape (3, nb) (axis-major), and the move of each block (nb,).

    ``start``, ``end``, ``off``: (3, n) axis-major arrays of the moves.
    """
    n = len(is_line)
    nb = is_line.astype(np.int64)
    arc_idx = np.flatnonzero(is_arc)
    if len(arc_idx):
        a0, a1, al, c0, c1, r0, r1, ang, radius, seg = _arc_geometry(
            start[:, arc_idx].T, end[:, arc_idx].T, off[:, arc_idx].T, plane[arc_idx], cw[arc_idx],
            arc_tolerance)
        nb[arc_idx] = np.maximum(seg, 1)
    move_of = np.repeat(np.arange(n), nb)
    pts = np.empty((3, len(move_of)))
    for ax in range(3):
        np.take(end[ax], move_of, out=pts[ax])
    if len(arc_idx):
        # intermediate chord end points of arcs with >= 2 segments
        k = np.flatnonzero(seg >= 2)
        if len(k):
            cnt = seg[k] - 1
            arc_rep = np.repeat(k, cnt)                       # index into arc arrays
            first = np.cumsum(cnt) - cnt
            i = np.arange(cnt.sum()) - np.repeat(first, cnt) + 1   # 1 .. seg-1
            # grbl: r_i = R^m r_base with R = [[c, -s], [s, c]] the small-angle matrix and r_base
            # the exact rotation of the start vector by base*theta, base = 13*(i // 13). In complex
            # form R^m = w^m with w = c + i s; powers m = 0..12 are tabulated per arc and the
            # exact rotations computed once per group of 13 chords (not per chord).
            theta_a = ang[k] / seg[k]
            cos_a = 0.5 * (2.0 - theta_a * theta_a)
            sin_a = theta_a * 0.16666667 * (2.0 - theta_a * theta_a + 4.0)
            pw = (cos_a + 1j * sin_a)[:, None] ** np.arange(N_ARC_CORRECTION + 1)[None, :]
            q = i // (N_ARC_CORRECTION + 1)
            m = i - q * (N_ARC_CORRECTION + 1)
            gstart = (m == 0) | (i == 1)
            gid = np.cumsum(gstart) - 1
            g_rows = np.flatnonzero(gstart)
            g_arc = arc_rep[g_rows]                            # index into k-space arrays below
            kpos = np.searchsorted(k, g_arc)
            zb = (r0[g_arc] + 1j * r1[g_arc]) * np.exp(1j * (q[g_rows] * (N_ARC_CORRECTION + 1)) * theta_a[kpos])
            kk = np.repeat(np.arange(len(k)), cnt)
            z = zb[gid] * pw[kk, m]
            ri0, ri1 = z.real, z.imag
            mv = arc_idx[arc_rep]
            # block row of chord i of this arc: first block row of the move + (i - 1)
            first_row = np.cumsum(nb)[mv] - nb[mv] + (i - 1)
            ax0, ax1, axl = a0[arc_rep], a1[arc_rep], al[arc_rep]
            pts[ax0, first_row] = c0[arc_rep] + ri0
            pts[ax1, first_row] = c1[arc_rep] + ri1
            s_l = start[axl, mv]
            e_l = end[axl, mv]
            pts[axl, first_row] = s_l + i * ((e_l - s_l) / seg[arc_rep])
    return pts, move_of


def _inv_abs(u: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 1.0 / np.abs(u)


def _limit_inv(max_value: Sequence[float], inv: Sequence[np.ndarray]) -> np.ndarray:
    """grbl ``limit_value_by_axis_maximum`` from precomputed ``1/|u_i|`` (inf where u_i = 0):
    ``min_i(max_i/|u_i|)`` over the axes that move."""
    out = max_value[0] * inv[0]
    np.minimum(out, max_value[1] * inv[1], out=out)
    np.minimum(out, max_value[2] * inv[2], out=out)
    return out


# --------------------------------------------------------------------------------------------
# passes

def plan_passes(max_entry_sqr: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Reverse and forward planner passes over squared speeds, vectorized and exact.

    Args:
        max_entry_sqr: (N,) maximum entry speed² of each block (mm²/s²); ``inf`` allowed.
        c: (N,) ``2 * accel * length`` of each block (mm²/s²).

    Returns:
        (N+1,) entry speed² of blocks 0..N-1 and the exit speed² of the last block (0).
        ``e_k = min(M_k, e_{k+1} + c_k)`` backwards from ``e_N = 0``, then
        ``e_{k+1} = min(e_{k+1}, e_k + c_k)`` forwards — grbl ``planner_recalculate`` at
        convergence (see the module docstring for the min-plus closed form).
    """
    n = len(c)
    s = np.empty(n + 1)
    s[0] = 0.0
    np.cumsum(c, out=s[1:])
    q = np.empty(n + 1)
    q[:n] = max_entry_sqr
    q[n] = 0.0
    q += s
    back = np.minimum.accumulate(q[::-1])[::-1] - s
    fwd = np.minimum.accumulate(back - s) + s
    np.maximum(fwd, 0.0, out=fwd)
    fwd[n] = 0.0
    return fwd


def lookahead_cap(c: np.ndarray, held: int) -> np.ndarray:
    """Upper bound on entry speed² from a planner holding ``held`` blocks (the last at rest).

    Returns (N,) ``cap_k = Σ_{j=k}^{k+held-2} c_j`` (block k-1 executing; blocks k-1 .. k+held-2
    in the buffer, the last planned to stop); ``inf``-free. ``held >= 1``.
    """
    n = len(c)
    s = np.empty(n + 1)
    s[0] = 0.0
    np.cumsum(c, out=s[1:])
    k = np.arange(n)
    hi = np.minimum(k + held - 1, n)
    return s[hi] - s[k]


def reference_passes(max_entry_sqr: Sequence[float], c: Sequence[float],
                     held: int | None = None) -> list[float]:
    """Simple per-block loop reference of the passes, for tests and benchmarks.

    Simulates a streamed planner: while block ``i`` executes, the buffer holds blocks
    ``i .. i+held-1`` (all blocks when ``held`` is None), the last planned to stop; grbl's
    reverse pass runs over the buffer and the forward step fixes the exit of block ``i``.
    O(N*held) Python loops; returns the (N+1,) entry speeds² like :func:`plan_passes`.
    """
    m = [float(x) for x in max_entry_sqr]
    cc = [float(x) for x in c]
    n = len(cc)
    if held is None:
        # full look-ahead: one reverse and one forward pass
        e = [0.0] * (n + 1)
        for k in range(n - 1, -1, -1):
            e[k] = min(m[k], e[k + 1] + cc[k])
        for k in range(n):
            e[k + 1] = min(e[k + 1], e[k] + cc[k])
        return e
    e = [0.0] * (n + 1)
    e0 = 0.0
    for k in range(min(held - 1, n) - 1, -1, -1):   # first block: same window rule
        e0 = min(m[k], e0 + cc[k])
    if n:
        e[0] = e0
    for i in range(n):
        last = min(i + held, n)            # buffer i .. last-1; the entry of 'last' is 0
        nxt = 0.0
        for k in range(last - 1, i, -1):   # reverse pass down to block i+1
            nxt = min(m[k], nxt + cc[k])
        e[i + 1] = min(nxt, e[i] + cc[i])  # forward step from the fixed entry of block i
    return e



def reference_block_times(blocks: pd.DataFrame, moves: pd.DataFrame,
                          start: Sequence[float], prof: MachineProfile,
                          held: int | None = None) -> list[float]:
    """grbl's planner, block by block in plain Python: the reference for tests and benchmarks.

    Takes the planner blocks of :func:`plan_motion` (``MotionPlan.blocks``: end points after
    step rounding and arc chording, and the ``move`` each belongs to) and recomputes every
    junction speed, both passes (:func:`reference_passes`, with its look-ahead window ``held``)
    and each trapezoid time with scalar math, sharing no code with the vectorized planner but
    :func:`reference_passes`. Formulas: grbl planner.c (plan_buffer_line junction deviation,
    planner_recalculate) and the trapezoid of stepper.c.

    Returns:
        the time of each block, s (same order as ``blocks``).
    """
    acc_ax = prof.accel_mm_s2
    rate_ax = prof.max_rate_mm_min
    codes = moves["code"].to_numpy()
    feeds = moves["feed"].to_numpy()
    rest = moves["rest_before"].to_numpy() | (codes == "G4")
    restcum = np.cumsum(rest)
    px, py, pz = start
    prev_u = None
    prev_nom = 0.0
    prev_move = -1
    mx: list[float] = []
    cc: list[float] = []
    nom: list[float] = []
    acc: list[float] = []
    lens: list[float] = []
    for b in blocks.itertuples(index=False):
        dx, dy, dz = b.x - px, b.y - py, b.z - pz
        L = math.sqrt(dx * dx + dy * dy + dz * dz)
        u = (dx / L, dy / L, dz / L)
        a = min(acc_ax[i] / abs(u[i]) for i in range(3) if u[i] != 0)
        rate = min(rate_ax[i] / abs(u[i]) for i in range(3) if u[i] != 0)
        m = int(b.move)
        vn = max(rate if codes[m] == "G0" else min(feeds[m], rate), 1.0) / 60.0
        if prev_u is None or (prev_move >= 0 and restcum[m] > restcum[prev_move]):
            jm = 0.0
        else:
            cos = -(prev_u[0] * u[0] + prev_u[1] * u[1] + prev_u[2] * u[2])
            if cos > 0.999999:
                jm = 0.0
            elif cos < -0.999999:
                jm = math.inf
            else:
                ju = [u[i] - prev_u[i] for i in range(3)]
                n = math.sqrt(sum(x * x for x in ju))
                ju = [x / n for x in ju]
                aj = min(acc_ax[i] / abs(ju[i]) for i in range(3) if ju[i] != 0)
                sd = math.sqrt(0.5 * (1 - cos))
                jm = aj * prof.junction_deviation_mm * sd / (1 - sd)
        mx.append(min(jm, vn * vn, prev_nom * prev_nom))
        cc.append(2 * a * L)
        nom.append(vn)
        acc.append(a)
        lens.append(L)
        prev_u, prev_nom, prev_move = u, vn, m
        px, py, pz = b.x, b.y, b.z
    e = reference_passes(mx, cc, held)
    times: list[float] = []
    for k in range(len(cc)):
        v0, v1, vn, a, d = math.sqrt(e[k]), math.sqrt(e[k + 1]), nom[k], acc[k], lens[k]
        da, dd = (vn * vn - v0 * v0) / (2 * a), (vn * vn - v1 * v1) / (2 * a)
        if da + dd <= d:
            times.append((2 * vn - v0 - v1) / a + (d - da - dd) / vn)
        else:
            vp = math.sqrt(max((2 * a * d + v0 * v0 + v1 * v1) / 2, max(v0, v1) ** 2))
            times.append((2 * vp - v0 - v1) / a)
    return times

def trapezoid_time(v0: np.ndarray, v1: np.ndarray, vn: np.ndarray, a: np.ndarray,
                   d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) and peak speed (mm/s) of trapezoid/triangle profiles.

    Entry ``v0``, exit ``v1``, nominal ``vn`` (mm/s), acceleration ``a`` (mm/s²), length ``d``
    (mm); requires ``|v0² - v1²| <= 2 a d`` and ``v0, v1 <= vn``. Cruise when
    ``(2vn² - v0² - v1²)/(2a) <= d``: ``t = (vn-v0)/a + (vn-v1)/a + (d - d_acc - d_dec)/vn``;
    otherwise triangle with ``vp² = (2ad + v0² + v1²)/2`` and ``t = (2vp - v0 - v1)/a``.
    """
    d_acc = (vn * vn - v0 * v0) / (2 * a)
    d_dec = (vn * vn - v1 * v1) / (2 * a)
    cruise = d_acc + d_dec <= d
    vp = np.where(cruise, vn, np.sqrt(np.maximum((2 * a * d + v0 * v0 + v1 * v1) * 0.5, 0.0)))
    vp = np.maximum(vp, np.maximum(v0, v1))
    t = np.where(cruise, (2 * vn - v0 - v1) / a + (d - d_acc - d_dec) / vn, (2 * vp - v0 - v1) / a)
    return t, vp


# --------------------------------------------------------------------------------------------
# S-curve (double S, Biagiotti & Melchiorri §3.4)

def _ramp(dv: np.ndarray, a_max: np.ndarray, j_max: np.ndarray) -> np.ndarray:
    """Duration of a jerk-limited speed change dv >= 0 with zero end accelerations (eq. 3.19)."""
    return np.where(dv * j_max < a_max * a_max, 2.0 * np.sqrt(np.maximum(dv, 0.0) / j_max),
                    a_max / j_max + dv / np.where(a_max > 0, a_max, 1.0))


def _ramp_dist(v_lo: np.ndarray, v_hi: np.ndarray, a_max: np.ndarray, j_max: np.ndarray) -> np.ndarray:
    return 0.5 * (v_lo + v_hi) * _ramp(v_hi - v_lo, a_max, j_max)


def double_s_time(v0: np.ndarray, v1: np.ndarray, vmax: np.ndarray, a_max: np.ndarray,
                  j_max: np.ndarray, h: np.ndarray, iters: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Duration (s) and peak speed (mm/s) of double-S profiles over length h (mm).

    Biagiotti & Melchiorri 2008, §3.4.1: acceleration phase ``Ta`` from ``v0`` to the peak
    ``vp`` (``Tj = sqrt((vp-v0)/J)``, ``Ta = 2Tj`` when ``(vp-v0)J < A²``, else ``Tj = A/J``,
    ``Ta = Tj + (vp-v0)/A``), symmetric deceleration to ``v1``, cruise ``Tv = (h - da - dd)/vp``;
    when ``vp = vmax`` does not fit (``Tv < 0``) the peak is found by bisection on
    ``da(vp) + dd(vp) = h`` (monotone), as the book's iterative reduction does. The block must
    be feasible (see :func:`_jerk_reach`).
    """
    da = _ramp_dist(v0, vmax, a_max, j_max)
    dd = _ramp_dist(v1, vmax, a_max, j_max)
    fits = da + dd <= h
    t = np.empty_like(h)
    vp = vmax.copy()
    f = fits
    t[f] = (_ramp(vmax[f] - v0[f], a_max[f], j_max[f]) + _ramp(vmax[f] - v1[f], a_max[f], j_max[f])
            + (h[f] - da[f] - dd[f]) / vmax[f])
    nf = ~fits
    if nf.any():
        a0, b0, A, J, H = v0[nf], v1[nf], a_max[nf], j_max[nf], h[nf]
        lo = np.maximum(a0, b0)
        hi = vmax[nf].copy()
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            ok = _ramp_dist(a0, mid, A, J) + _ramp_dist(b0, mid, A, J) <= H
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        vp[nf] = lo
        t[nf] = _ramp(lo - a0, A, J) + _ramp(lo - b0, A, J)
    return t, vp


def _jerk_reach(v_lo: np.ndarray, a_max: np.ndarray, j_max: np.ndarray, h: np.ndarray,
                v_cap: np.ndarray, iters: int = 60) -> np.ndarray:
    """Highest speed reachable from (or decelerable to) v_lo within h under jerk (eq. 3.17)."""
    lo = v_lo.copy()
    hi = np.maximum(v_cap, v_lo)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        ok = _ramp_dist(v_lo, mid, a_max, j_max) <= h
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return lo


# --------------------------------------------------------------------------------------------
# the planner

def _adopt_factors(adopt: Any, moves: pd.DataFrame) -> np.ndarray | None:
    if adopt is None:
        return None
    if isinstance(adopt, str):
        if adopt not in moves.columns:
            raise InputError(f"adopt: the moves table has no column {adopt!r}")
        f = moves[adopt].to_numpy(dtype=float)
    elif callable(adopt):
        f = np.asarray(adopt(moves), dtype=float)
    else:
        f = np.asarray(adopt, dtype=float)
    if f.shape != (len(moves),):
        raise InputError(f"adopt: expected {len(moves)} feed factors, got shape {f.shape}")
    if not np.all(np.isfinite(f) & (f > 0)):
        raise InputError("adopt: feed factors must be finite and positive")
    return f


def plan_motion(toolpath: Toolpath, profile: MachineProfile | str | Path, *, mode: str = "grbl",
                lookahead: int | None = None,
                adopt: str | Sequence[float] | np.ndarray | Callable[[pd.DataFrame], Any] | None = None,
                ) -> MotionPlan:
    """Plan a toolpath on a machine the way its controller does; see the module docstring.

    Args:
        toolpath: moves table contract (absolute mm, feed mm/min, arcs with i/j/k offsets).
        profile: a :class:`MachineProfile`, a profile id or a JSON path.
        mode: ``"grbl"`` (trapezoids, grbl planner) or ``"scurve"`` (jerk-limited double S;
            needs ``profile.jerk_mm_s3``).
        lookahead: planner buffer size in blocks (grbl's BLOCK_BUFFER_SIZE; ``H = lookahead-1``
            blocks are held); ``None`` = the profile's (``profile.lookahead``; ``None`` there =
            unlimited); ``0`` = unlimited.
        adopt: learned feed overrides to adopt before planning: per-move feed factors (array),
            the name of a moves column holding them, or a callable ``moves -> factors``.

    Returns:
        :class:`MotionPlan`.

    Raises:
        InputError: bad mode, lookahead < 2, a feed move without a feed (naming its line), a
            non-finite coordinate, scurve without a jerk limit.
    """
    prof = load_machine(profile)
    if mode not in ("grbl", "scurve"):
        raise InputError(f"mode must be 'grbl' or 'scurve', got {mode!r}")
    buf = prof.lookahead if lookahead is None else (None if lookahead == 0 else int(lookahead))
    if buf is not None and buf < 2:
        raise InputError(f"lookahead must be >= 2 blocks (or 0 for unlimited), got {buf}")
    mv = toolpath.moves
    n = len(mv)
    if n:
        codes, uniq = pd.factorize(mv["code"])          # one hash pass instead of 5 compares
        ids = {str(c): k for k, c in enumerate(uniq)}
        is_rapid_m, is_g1, is_cw, is_ccw, is_dwell = (
            codes == ids.get(c, -2) for c in ("G0", "G1", "G2", "G3", "G4"))
    else:
        is_rapid_m = is_g1 = is_cw = is_ccw = is_dwell = np.zeros(0, dtype=bool)
    is_arc = is_cw | is_ccw
    is_feed_m = is_g1 | is_arc
    end = np.empty((3, n))
    for k, a in enumerate("xyz"):
        end[k] = mv[a].to_numpy(dtype=float)
    if n and not np.isfinite(end).all():
        r = int(np.flatnonzero(~np.isfinite(end).all(axis=0))[0])
        raise InputError(f"move {r} (line {int(mv['line'].iloc[r])}): end point is not finite")
    start0 = np.asarray(toolpath.start, dtype=float)
    start = np.empty((3, n))
    if n:
        start[:, 0] = start0
        start[:, 1:] = end[:, :-1]
    feed = mv["feed"].to_numpy(dtype=float).copy()
    factors = _adopt_factors(adopt, mv)
    if factors is not None:
        feed *= factors
    bad = is_feed_m & ~(np.isfinite(feed) & (feed > 0))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(f"move {r} (line {int(mv['line'].iloc[r])}): {mv['code'].iloc[r]} without a positive feed rate")
    if is_arc.any():
        off = np.empty((3, n))
        for k, a in enumerate("ijk"):
            off[k] = mv[a].to_numpy(dtype=float)
    else:
        off = np.zeros((3, n))
    plane = mv["plane"].to_numpy(dtype=np.int64)
    pts, move_of = _expand_blocks(is_rapid_m | is_g1, is_arc, is_cw, start, end, off, plane,
                                  prof.arc_tolerance_mm)

    # --- step rounding and block geometry (plan_buffer_line)
    nb_all = len(move_of)
    dlt = np.empty((3, nb_all))
    if prof.steps_per_mm is not None:
        for k in range(3):
            spm = float(prof.steps_per_mm[k])
            x = pts[k] * spm
            st = np.trunc(x + np.copysign(0.5, x))              # lround(): half away from zero
            s0 = float(np.trunc(start0[k] * spm + math.copysign(0.5, start0[k] * spm)))
            dlt[k, 0] = st[0] - s0 if nb_all else 0.0
            np.subtract(st[1:], st[:-1], out=dlt[k, 1:])
            pts[k] = st / spm
        keep = (dlt[0] != 0) | (dlt[1] != 0) | (dlt[2] != 0)
        for k in range(3):
            dlt[k] /= float(prof.steps_per_mm[k])
    else:
        for k in range(3):
            if nb_all:
                dlt[k, 0] = pts[k, 0] - start0[k]
                np.subtract(pts[k, 1:], pts[k, :-1], out=dlt[k, 1:])
        keep = (dlt[0] != 0) | (dlt[1] != 0) | (dlt[2] != 0)
    if not keep.all():
        dlt = dlt[:, keep]
        pts = pts[:, keep]
        bmove = move_of[keep]
    else:
        bmove = move_of
    nbk = len(bmove)
    length = np.sqrt(dlt[0] * dlt[0] + dlt[1] * dlt[1] + dlt[2] * dlt[2])
    u = dlt / length
    inv = [_inv_abs(u[k]) for k in range(3)]
    acc = _limit_inv(prof.accel_mm_s2, inv)                                              # mm/s²
    rapid_b = is_rapid_m[bmove]
    max_rate = _limit_inv(prof.max_rate_mm_min, inv)                                     # mm/min
    rapid_rate = max_rate if prof.rapid_mm_min is None else _limit_inv(prof.rapid, inv)
    requested = np.where(rapid_b, rapid_rate, feed[bmove])
    nominal = np.where(rapid_b, rapid_rate, np.minimum(requested, max_rate))
    if prof.feed_cap_mm_min is not None:
        nominal = np.where(rapid_b, nominal, np.minimum(nominal, prof.feed_cap_mm_min))
    nominal = np.maximum(nominal, MINIMUM_FEED_RATE) / 60.0                              # mm/s
    requested = requested / 60.0

    # --- junctions
    rest_m = mv["rest_before"].to_numpy(dtype=bool) | is_dwell
    rest_b = np.ones(nbk, dtype=bool)
    if nbk > 1:
        rest_cum = np.cumsum(rest_m)
        rc = rest_cum[bmove]
        rest_b[1:] = rc[1:] > rc[:-1]
    jmax = np.zeros(nbk)
    if nbk > 1:
        up, uc = u[:, :-1], u[:, 1:]
        cos_t = -(up[0] * uc[0] + up[1] * uc[1] + up[2] * uc[2])
        ju = uc - up
        jn = np.sqrt(ju[0] * ju[0] + ju[1] * ju[1] + ju[2] * ju[2])
        with np.errstate(divide="ignore", invalid="ignore"):
            ja = _limit_inv(prof.accel_mm_s2, [jn / np.abs(ju[k]) for k in range(3)])
            sin_d2 = np.sqrt(np.maximum(0.5 * (1.0 - cos_t), 0.0))
            vj = ja * prof.junction_deviation_mm * sin_d2 / (1.0 - sin_d2)
        vj = np.maximum(MINIMUM_JUNCTION_SPEED ** 2, vj)
        vj[cos_t > 0.999999] = MINIMUM_JUNCTION_SPEED ** 2
        vj[cos_t < -0.999999] = np.inf
        jmax[1:] = vj
    jmax[rest_b] = 0.0
    nom2 = nominal * nominal
    max_entry = np.minimum(jmax, nom2)
    if nbk > 1:
        max_entry[1:] = np.minimum(max_entry[1:], nom2[:-1])
    corner_bind_lim = max_entry.copy()   # junction limit before passes
    c = 2.0 * acc * length
    if buf is not None:
        if buf - 1 < nbk:   # the window can only bind when the program is longer than it
            max_entry = np.minimum(max_entry, lookahead_cap(c, buf - 1))
    jerk_lowered = np.zeros(nbk + 1, dtype=bool)

    if mode == "grbl":
        e = plan_passes(max_entry, c)
        v_in, v_out = np.sqrt(e[:-1]), np.sqrt(e[1:])
        t_b, vp_b = trapezoid_time(v_in, v_out, nominal, acc, length)
        peak_lowered = np.zeros(nbk, dtype=bool)
    else:
        if prof.jerk_mm_s3 is None:
            raise InputError(f"machine {prof.id!r} has no jerk limit (jerk_mm_s3): mode='scurve' needs one")
        jerk = _limit_inv(prof.jerk_mm_s3, inv)
        e0 = plan_passes(max_entry, c)
        M = max_entry.copy()
        e = e0
        for _ in range(10000):
            v_in, v_out = np.sqrt(e[:-1]), np.sqrt(e[1:])
            lo, hi = np.minimum(v_in, v_out), np.maximum(v_in, v_out)
            need = _ramp_dist(lo, hi, acc, jerk)
            viol = need > length * (1 + 1e-12) + 1e-12
            if not viol.any():
                break
            idx = np.flatnonzero(viol)
            reach = _jerk_reach(lo[idx], acc[idx], jerk[idx], length[idx], hi[idx])
            up_ = v_out[idx] > v_in[idx]
            tgt = np.where(up_, idx + 1, idx)
            tgt_ok = tgt < nbk
            newcap = reach * reach * (1 - 1e-12)
            M[tgt[tgt_ok]] = np.minimum(M[tgt[tgt_ok]], newcap[tgt_ok])
            e = plan_passes(M, c)
        jerk_lowered = e < np.append(e0[:-1], 0.0) * (1 - 1e-9) - 1e-12
        v_in, v_out = np.sqrt(e[:-1]), np.sqrt(e[1:])
        t_b, vp_b = double_s_time(v_in, v_out, nominal, acc, jerk, length)
        _, vp_trap = trapezoid_time(v_in, v_out, nominal, acc, length)
        peak_lowered = vp_b < vp_trap * (1 - 1e-9)

    # --- limit labels per block
    reached = vp_b >= nominal * (1 - _REL)
    e_in = e[:-1]
    bind_in = (~rest_b) & (corner_bind_lim < np.inf) & (e_in >= corner_bind_lim * (1 - _REL) - 1e-12) \
        & (jmax <= np.minimum(nom2, np.append(np.inf, nom2[:-1])) * (1 - _REL))
    bind_out = np.zeros(nbk, dtype=bool)
    if nbk > 1:
        bind_out[:-1] = bind_in[1:]
    jerky = bind_in | bind_out | peak_lowered | jerk_lowered[:-1] | jerk_lowered[1:]
    lab = np.where(reached, np.where(requested > nominal * (1 + _REL), _L_FEED_CAP, _L_NONE),
                   np.where(jerky, _L_JERK, _L_ACCEL))

    # --- aggregate per move
    t_m = np.bincount(bmove, weights=t_b, minlength=n) if n else np.zeros(0)
    v_entry = np.zeros(n)
    v_exit = np.zeros(n)
    v_peak = np.zeros(n)
    lab_m = np.full(n, _L_NONE, dtype=np.int64)
    if nbk:
        first = np.flatnonzero(np.r_[True, bmove[1:] != bmove[:-1]])
        last = np.r_[first[1:] - 1, nbk - 1]
        mids = bmove[first]
        v_entry[mids] = v_in[first]
        v_exit[mids] = v_out[last]
        v_peak[mids] = np.maximum.reduceat(vp_b, first)
        tl = np.bincount(bmove * 4 + lab, weights=t_b, minlength=4 * n).reshape(n, 4)
        lab_m[mids] = tl[mids].argmax(axis=1)
    dwell = np.where(is_dwell, mv["dwell_s"].to_numpy(dtype=float), 0.0) if n else np.zeros(0)
    dwell = np.nan_to_num(dwell)
    t_m = t_m + dwell

    out = mv.copy(deep=False)
    out["v_entry"] = v_entry
    out["v_exit"] = v_exit
    out["v_peak"] = v_peak
    out["t_s"] = t_m
    out["limit"] = pd.Categorical.from_codes(lab_m, categories=list(LIMITS))
    block_arrays = {
        "move": bmove, "x": pts[0], "y": pts[1], "z": pts[2], "len_mm": length,
        "v_nominal": nominal, "accel_mm_s2": acc, "v_entry": v_in, "v_exit": v_out,
        "v_peak": vp_b, "t_s": t_b, "limit": lab}
    motion = is_feed_m | is_rapid_m
    tb = {name: float(t_m[motion & (lab_m == k)].sum()) for k, name in enumerate(LIMITS)}
    cb = {name: int((motion & (lab_m == k)).sum()) for k, name in enumerate(LIMITS)}
    summary = {
        "machine": prof.id, "mode": mode, "lookahead": buf,
        "cycle_time_s": float(t_m.sum()),
        "time_by_limit_s": tb, "count_by_limit": cb,
        "cutting_time_s": float(t_m[is_feed_m].sum()),
        "rapid_time_s": float(t_m[is_rapid_m].sum()),
        "dwell_time_s": float(dwell.sum()),
        "n_blocks": int(nbk), "n_moves": int(n),
    }
    return MotionPlan(moves=out, summary=summary, toolpath=toolpath, block_arrays=block_arrays)


def estimate(path_or_toolpath: str | Path | Toolpath, machine: MachineProfile | str | Path, *,
             mode: str = "grbl", lookahead: int | None = None, **read_kw: Any) -> MotionPlan:
    """Read a G-code file (or take a Toolpath) and plan it: the cycle-time convenience.

    ``read_kw`` go to :func:`workbench.gcode.read_file`. Raises what the reader and
    :func:`plan_motion` raise.
    """
    if isinstance(path_or_toolpath, Toolpath):
        tp = path_or_toolpath
    else:
        from ..gcode import read_file
        tp = read_file(path_or_toolpath, **read_kw)
    return plan_motion(tp, machine, mode=mode, lookahead=lookahead)


def slowest_lines(moves: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The source lines taking the most time.

    Args:
        moves: ``MotionPlan.moves`` (needs ``line``, ``code``, ``t_s``, ``limit``).
        top: how many lines.

    Returns:
        DataFrame ``line, code, moves, t_s, share, limit`` sorted by time (``share`` of the
        cycle time, 0..1; ``limit`` = the label holding most of the line's time).
    """
    if not len(moves):
        return pd.DataFrame(columns=["line", "code", "moves", "t_s", "share", "limit"])
    total = float(moves["t_s"].sum()) or 1.0
    g = moves.groupby("line", sort=False)
    df = pd.DataFrame({"code": g["code"].first(), "moves": g.size(), "t_s": g["t_s"].sum()})
    lim = moves.groupby(["line", "limit"], sort=False)["t_s"].sum().reset_index()
    lim = lim.sort_values("t_s", ascending=False).drop_duplicates("line").set_index("line")["limit"]
    df["limit"] = lim.reindex(df.index)
    df["share"] = df["t_s"] / total
    df = df.sort_values("t_s", ascending=False).head(top).reset_index()
    return df[["line", "code", "moves", "t_s", "share", "limit"]]


def format_hms(seconds: float) -> str:
    """``h:mm:ss`` (rounded to the second) for a duration in seconds."""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
