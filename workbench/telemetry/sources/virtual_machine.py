"""A virtual CNC that fills every telemetry table with physically consistent data.

The commanded trajectory comes from a moves table with a duration ``t_s`` per move (the motion
planner's, :func:`workbench.machine.plan_motion`; without it, constant-feed timing
``len_mm / (feed / 60)``, rapids at ``rapid_mm_min``, dwells at ``dwell_s``). Positions are
sampled every ``1 / rate_hz`` seconds: lines at constant speed within a move, G2/G3 arcs along
the arc (XY plane, helical Z). Axis X/Y/Z are joints 0/1/2.

The servo of each axis is a transport delay ``transport_delay_s`` followed by a first-order
lag with time constant ``servo_tau_s``, integrated exactly for a piecewise-constant input
(zero-order hold): ``a[k+1] = a[k] + (1 - exp(-dt/tau)) * (u[k] - a[k])`` with ``u`` the command
delayed by ``round(transport_delay_s * rate_hz)`` samples (Franklin, Powell & Workman, *Digital
Control of Dynamic Systems*, ZOH discretisation of 1/(tau s + 1)). Measured positions add
Gaussian noise of standard deviation ``noise_sd`` (mm). With ``servo_tau_s = 0`` and no noise
the feedback equals the command exactly ``transport_delay_s`` earlier, so the tracking error
with ``delay_s = transport_delay_s`` is exactly zero; the true (noise-free) tracking error is
returned in :class:`VirtualRun`.

Timestamps are ``start_ts + t`` (simulated time). ``time_scale`` = 1 runs in real time (sleeps),
2 twice as fast, 0 as fast as possible.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import InputError
from ...toolpath import Toolpath, moves_frame
from ..collector import TelemetryCollector

DEFAULT_RAPID_MM_MIN: float = 3000.0


def move_durations(moves: pd.DataFrame, rapid_mm_min: float = DEFAULT_RAPID_MM_MIN) -> np.ndarray:
    """Seconds per move: the ``t_s`` column if present, else constant-feed timing.

    Raises:
        InputError: a cutting move without a positive feed (naming the row).
    """
    if "t_s" in moves.columns and moves["t_s"].notna().all():
        return moves["t_s"].to_numpy(dtype=float)
    out = np.zeros(len(moves))
    for r, rec in enumerate(moves.itertuples(index=False)):
        if rec.code == "G4":
            out[r] = float(getattr(rec, "dwell_s", 0.0) or 0.0)
            continue
        feed = rapid_mm_min if rec.code == "G0" else float(rec.feed)
        if not feed > 0:
            raise InputError(f"moves table row {r}: {rec.code} without a positive feed ({rec.feed})")
        out[r] = float(rec.len_mm) / (feed / 60.0)
    return out


def plan_timing(toolpath: Toolpath, profile: Any = None) -> pd.DataFrame:
    """The moves table with ``t_s``: from :func:`workbench.machine.plan_motion` when a profile
    is given and the planner is importable, else constant-feed timing."""
    moves = toolpath.moves
    if profile is not None:
        try:
            from ...machine import plan_motion
        except ImportError:  # planner not available: constant-feed timing
            plan_motion = None
        if plan_motion is not None:
            return plan_motion(toolpath, profile).moves
    out = moves.copy()
    out["t_s"] = move_durations(moves)
    return out


def trajectory(moves: pd.DataFrame, start: tuple[float, float, float] = (0.0, 0.0, 0.0),
               rate_hz: float = 100.0) -> pd.DataFrame:
    """Commanded positions sampled at ``rate_hz``.

    Args:
        moves: a moves table with ``t_s`` (or feeds for constant-feed timing).
        start: position before the first move, mm.

    Returns:
        DataFrame ``t`` (s from program start), ``x, y, z`` (mm), ``move`` (row index), one row
        per sample from 0 to the end of the program inclusive.
    """
    if not rate_hz > 0:
        raise InputError(f"rate_hz must be positive, got {rate_hz}")
    dur = move_durations(moves)
    ends = moves[["x", "y", "z"]].to_numpy(dtype=float)
    starts = np.vstack([np.asarray(start, float)[None, :], ends[:-1]]) if len(ends) else ends
    t_end = np.cumsum(dur)
    total = float(t_end[-1]) if len(dur) else 0.0
    # a uniform grid (the servo model needs it) covering the program; the last sample sits on
    # or just after the end, where the position is the final point
    t = np.arange(int(math.ceil(total * rate_hz - 1e-9)) + 1) / rate_hz
    idx = np.minimum(np.searchsorted(t_end, t, side="right"), max(len(dur) - 1, 0))
    t0 = t_end[idx] - dur[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(dur[idx] > 0, (t - t0) / dur[idx], 1.0)
    frac = np.clip(frac, 0.0, 1.0)
    p0, p1 = starts[idx], ends[idx]
    pos = p0 + (p1 - p0) * frac[:, None]
    codes = moves["code"].to_numpy()
    arc = np.isin(codes[idx], ("G2", "G3")) & (moves["plane"].to_numpy()[idx] == 17)
    if arc.any():
        ii = moves["i"].to_numpy(dtype=float)[idx][arc]
        jj = moves["j"].to_numpy(dtype=float)[idx][arc]
        s, e, f = p0[arc], p1[arc], frac[arc]
        cx, cy = s[:, 0] + ii, s[:, 1] + jj
        a0 = np.arctan2(s[:, 1] - cy, s[:, 0] - cx)
        a1 = np.arctan2(e[:, 1] - cy, e[:, 0] - cx)
        cw = codes[idx][arc] == "G2"
        sweep = np.where(cw, -((a0 - a1) % (2 * np.pi)), (a1 - a0) % (2 * np.pi))
        sweep = np.where(np.abs(sweep) < 1e-12, np.where(cw, -2 * np.pi, 2 * np.pi), sweep)
        r = np.hypot(ii, jj)
        ang = a0 + sweep * f
        pos[arc, 0] = cx + r * np.cos(ang)
        pos[arc, 1] = cy + r * np.sin(ang)
    return pd.DataFrame({"t": t, "x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2], "move": idx})


def servo_response(cmd: np.ndarray, rate_hz: float, tau_s: float, delay_s: float = 0.0) -> np.ndarray:
    """Noise-free servo positions for commands ``cmd`` (shape (n, axes)), see module docstring."""
    n = len(cmd)
    lag = int(round(delay_s * rate_hz))
    u = np.vstack([np.repeat(cmd[:1], min(lag, n), axis=0), cmd[:n - lag]]) if lag else cmd.copy()
    if tau_s <= 0:
        return u.astype(float)
    alpha = 1.0 - math.exp(-1.0 / (rate_hz * tau_s))
    a = np.empty_like(u, dtype=float)
    a[0] = u[0]
    for k in range(1, n):
        a[k] = a[k - 1] + alpha * (u[k - 1] - a[k - 1])
    return a


@dataclass
class VirtualRun:
    """What a :class:`VirtualMachine` run recorded.

    Attributes:
        samples: feedback samples emitted.
        duration_s: simulated program time.
        start_ts, end_ts: epoch seconds of the first and last sample.
        true_tracking_error: per joint, mean |actual - command| of the noise-free servo at the
            same instant (delay 0), in mm.
        commands: rows written to dds_commands.
    """

    samples: int
    duration_s: float
    start_ts: float
    end_ts: float
    true_tracking_error: dict[int, float] = field(default_factory=dict)
    commands: int = 0


class VirtualMachine:
    """Replays a toolpath as a machine would, into a :class:`TelemetryCollector`.

    Args:
        collector: where the events go (started or not).
        toolpath: a :class:`Toolpath`, a moves table, or a G-code file path (read with
            :func:`workbench.gcode.read_file`).
        profile: a machine profile id/path for :func:`workbench.machine.plan_motion`; ``None``
            uses constant-feed timing (or the table's ``t_s`` when present).
        rate_hz: command/feedback rate; servo_tau_s, transport_delay_s, noise_sd: servo model.
        time_scale: 1 = real time, k = k times faster, 0 = as fast as possible.
        start_ts: epoch of program start (default: now).
        smoother_every: one smoother tick every this many samples; camera_every_s: camera rows.
        seed: noise seed.
    """

    def __init__(self, collector: TelemetryCollector, toolpath: Toolpath | pd.DataFrame | str | os.PathLike[str],
                 *, profile: Any = None, rate_hz: float = 100.0, servo_tau_s: float = 0.02,
                 transport_delay_s: float = 0.0, noise_sd: float = 0.0, time_scale: float = 0.0,
                 start_ts: float | None = None, smoother_every: int = 5, camera_every_s: float = 1.0,
                 seed: int = 0) -> None:
        if isinstance(toolpath, (str, os.PathLike)):
            from ...gcode import read_file
            toolpath = read_file(Path(toolpath))
        if isinstance(toolpath, pd.DataFrame):
            toolpath = Toolpath(moves_frame(toolpath))
        if servo_tau_s < 0 or transport_delay_s < 0 or noise_sd < 0 or time_scale < 0:
            raise InputError("servo_tau_s, transport_delay_s, noise_sd and time_scale must be >= 0")
        self.collector = collector
        self.toolpath = toolpath
        self.moves = plan_timing(toolpath, profile)
        self.rate_hz = float(rate_hz)
        self.servo_tau_s = float(servo_tau_s)
        self.transport_delay_s = float(transport_delay_s)
        self.noise_sd = float(noise_sd)
        self.time_scale = float(time_scale)
        self.start_ts = start_ts
        self.smoother_every = max(int(smoother_every), 1)
        self.camera_every_s = float(camera_every_s)
        self.rng = np.random.default_rng(seed)

    def run(self) -> VirtualRun:
        """Emit the whole program; returns a :class:`VirtualRun`."""
        c = self.collector
        traj = trajectory(self.moves, self.toolpath.start, self.rate_hz)
        cmd = traj[["x", "y", "z"]].to_numpy()
        true = servo_response(cmd, self.rate_hz, self.servo_tau_s, self.transport_delay_s)
        meas = true + (self.rng.normal(0.0, self.noise_sd, true.shape) if self.noise_sd > 0 else 0.0)
        t0 = time.time() if self.start_ts is None else float(self.start_ts)
        wall0 = time.monotonic()
        t = traj["t"].to_numpy()
        cid = c.new_correlation_id()
        final = cmd[-1]
        c.log_system_event("connect", "dds", "virtual machine connected", ts=t0)
        c.log_system_event("program_start", "system", f"{len(self.moves)} moves",
                           {"moves": len(self.moves), "duration_s": float(t[-1])}, cid, ts=t0)
        c.log_web_request("/api/job/start", "POST", {"moves": len(self.moves)}, 3.0, 200, True, cid, ts=t0)
        next_cam = 0.0
        n_cmd = 0
        move_prev = -1
        for k in range(len(t)):
            ts = t0 + float(t[k])
            if self.time_scale > 0:
                lag = t[k] / self.time_scale - (time.monotonic() - wall0)
                if lag > 0:
                    time.sleep(lag)
            for j in range(3):
                c.log_command(k, 1, j, float(cmd[k, j]), None, cid, raw_len=24, ts=ts)
                n_cmd += 1
            c.log_feedback(k, 1, (float(meas[k, 0]), float(meas[k, 1]), float(meas[k, 2])), None, ts=ts)
            if k % self.smoother_every == 0:
                step = np.abs(cmd[k] - cmd[k - 1]) if k else np.zeros(3)
                c.log_smoother_tick([{"joint_id": j, "target": float(final[j]), "current": float(true[k, j]),
                                      "sent": float(cmd[k, j]), "step_size": float(step[j]),
                                      "dirty": bool(step[j] > 0)} for j in range(3)], ts=ts)
            if t[k] >= next_cam:
                c.log_camera_health("spindle_cam", {"actual_fps": 30.0 - abs(self.rng.normal(0, 0.5)),
                                                    "target_fps": 30.0, "drop_count": 0,
                                                    "motion_score": float(np.linalg.norm(step)) if k else 0.0,
                                                    "connected": True, "resolution": (1280, 720),
                                                    "stalled": False}, ts=ts)
                c.log_web_request("/api/status", "GET", None, float(2.0 + abs(self.rng.normal(0, 1.0))),
                                  200, True, ts=ts)
                next_cam += self.camera_every_s
            mv = int(traj["move"].iat[k])
            if mv != move_prev:
                row = self.moves.iloc[mv]
                c.log_system_event("cmd_exec", "dds", f"move {mv} {row['code']}",
                                   {"move": mv, "code": str(row["code"]), "kind": str(row["kind"])}, cid, ts=ts)
                move_prev = mv
        t_end = t0 + float(t[-1])
        c.log_system_event("program_end", "system", "program complete", None, cid, ts=t_end)
        err = {j: float(np.mean(np.abs(true[:, j] - cmd[:, j]))) for j in range(3)}
        return VirtualRun(samples=len(t), duration_s=float(t[-1]), start_ts=t0, end_ts=t_end,
                          true_tracking_error=err, commands=n_cmd)


def demo_toolpath(size_mm: float = 40.0, feed: float = 1200.0, depth: float = -1.0) -> Toolpath:
    """A small square pocket outline with a corner arc: a rapid, a plunge, lines and a G3."""
    s = size_mm
    rows = [
        {"code": "G0", "x": 0.0, "y": 0.0, "z": 5.0, "kind": "rapid", "len_mm": 5.0},
        {"code": "G1", "x": 0.0, "y": 0.0, "z": depth, "feed": feed / 4, "kind": "plunge", "len_mm": 5.0 - depth},
        {"code": "G1", "x": s, "y": 0.0, "z": depth, "feed": feed, "kind": "cut", "len_mm": s},
        {"code": "G3", "x": s + 10, "y": 10.0, "z": depth, "i": 0.0, "j": 10.0, "feed": feed,
         "kind": "cut", "len_mm": math.pi * 5.0, "radius_mm": 10.0},
        {"code": "G1", "x": s + 10, "y": s, "z": depth, "feed": feed, "kind": "cut", "len_mm": s - 10},
        {"code": "G1", "x": 0.0, "y": s, "z": depth, "feed": feed, "kind": "cut", "len_mm": s + 10},
        {"code": "G1", "x": 0.0, "y": 0.0, "z": depth, "feed": feed, "kind": "cut", "len_mm": s},
        {"code": "G0", "x": 0.0, "y": 0.0, "z": 5.0, "kind": "rapid", "len_mm": 5.0 - depth},
    ]
    return Toolpath(moves_frame(rows), start=(0.0, 0.0, 5.0))


def run_demo(db_path: str | os.PathLike[str], seconds: float = 5.0, *, time_scale: float = 0.0,
             noise_sd: float = 0.005) -> VirtualRun:
    """Fill ``db_path`` with a demo run of :func:`demo_toolpath` (about ``seconds`` of program)."""
    c = TelemetryCollector(db_path, batch_size=200, flush_interval_s=0.25)
    c.start()
    try:
        tp = demo_toolpath()
        dur = float(move_durations(tp.moves).sum())
        scale = max(seconds, 0.1) / dur
        tp.moves["feed"] = tp.moves["feed"] / scale
        return VirtualMachine(c, tp, time_scale=time_scale, noise_sd=noise_sd).run()
    finally:
        c.stop()
