"""Matplotlib figures shared by the notebooks (the notebooks only call these).

Every function draws on a given Axes (or makes one) and returns it, so a notebook cell is one
call. Lengths in mm, times in s, speeds in mm/s.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .toolpath import Toolpath

LIMIT_COLORS: dict[str, str] = {"none": "#4c9a2a", "feed_cap": "#1f77b4", "accel": "#ff7f0e", "jerk": "#d62728"}


def _ax(ax: Any = None, **kw: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(**kw)
    return ax


def plot_regions(regions: Iterable[Any], ax: Any = None) -> Any:
    """Draw region boundaries (black) and islands (red); ``regions``: Regions or Polygons."""
    ax = _ax(ax, figsize=(8, 6))
    for reg in regions:
        poly = getattr(reg, "polygon", reg)
        x, y = poly.exterior.xy
        ax.plot(x, y, color="black", lw=1.2)
        for ring in poly.interiors:
            x, y = ring.xy
            ax.plot(x, y, color="crimson", lw=1.2)
        name = getattr(reg, "name", None)
        if name:
            c = poly.representative_point()
            ax.annotate(name, (c.x, c.y), fontsize=7, color="dimgray", ha="center")
    ax.set_aspect("equal")
    ax.set_xlabel("X (mm)")
    ax.set_ylabel("Y (mm)")
    return ax


def _polyline(tp: Toolpath, chord_deg: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """XY points of every move (arcs flattened) and the row each segment belongs to."""
    mv = tp.moves
    start = tp.starts()
    pts: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    code = mv["code"].to_numpy()
    end = mv[["x", "y"]].to_numpy(dtype=float)
    ij = mv[["i", "j"]].to_numpy(dtype=float)
    for r in range(len(mv)):
        s = start[r, :2]
        if code[r] in ("G2", "G3") and np.isfinite(ij[r]).all():
            c = s + ij[r]
            a0 = np.arctan2(*(s - c)[::-1])
            a1 = np.arctan2(*(end[r] - c)[::-1])
            sweep = a1 - a0
            if code[r] == "G3":
                sweep = sweep % (2 * np.pi) or 2 * np.pi
            else:
                sweep = -((-sweep) % (2 * np.pi) or 2 * np.pi)
            n = max(2, int(abs(np.degrees(sweep)) / chord_deg) + 1)
            a = a0 + np.linspace(0, sweep, n)
            rad = np.hypot(*ij[r])
            seg = np.c_[c[0] + rad * np.cos(a), c[1] + rad * np.sin(a)]
        else:
            seg = np.vstack([s, end[r]])
        pts.append(seg)
        rows.append(np.full(len(seg) - 1, r))
    return pts, np.concatenate(rows) if rows else np.empty(0, int)


def plot_toolpath(tp: Toolpath, ax: Any = None, color_by: str = "engagement_deg",
                  regions: Sequence[Any] | None = None, cmap: str = "viridis") -> Any:
    """Draw the XY toolpath; cutting moves coloured by a column (engagement by default),
    rapids and links dashed grey. Adds a colour bar."""
    from matplotlib.collections import LineCollection

    ax = _ax(ax, figsize=(9, 7))
    if regions is not None:
        plot_regions(regions, ax=ax)
    pts, rows = _polyline(tp)
    segs = [np.stack([p[:-1], p[1:]], axis=1) for p in pts if len(p) > 1]
    if not segs:
        return ax
    segs_a = np.concatenate(segs)
    kind = tp.moves["kind"].to_numpy()[rows]
    cut = np.isin(kind, ["cut", "ramp", "plunge"])
    vals = tp.moves[color_by].to_numpy(dtype=float)[rows] if color_by in tp.moves else np.zeros(len(rows))
    lc = LineCollection(segs_a[cut], array=np.nan_to_num(vals[cut]), cmap=cmap, linewidths=0.8)
    ax.add_collection(lc)
    ax.add_collection(LineCollection(segs_a[~cut], colors="0.6", linestyles="dashed", linewidths=0.5))
    for col, colour in (("trochoid", "magenta"), ("slot", "red")):
        if col in tp.moves and tp.moves[col].any():
            flag = tp.moves[col].to_numpy(dtype=bool)[rows] & cut
            if flag.any():
                ax.add_collection(LineCollection(segs_a[flag], colors=colour, linewidths=1.6, alpha=0.7,
                                                 label=f"{col} moves"))
    ax.autoscale()
    ax.set_aspect("equal")
    ax.figure.colorbar(lc, ax=ax, label=color_by.replace("_", " "))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_engagement(moves: Any, target_deg: float | None = None, ax: Any = None,
                    corner_deg: float | None = None) -> Any:
    """Radial engagement of each cutting move along the path (degrees against cumulative
    cutting length, mm), with the target engagement as a line when given, and ``corner_deg``
    (the engagement the pocket's sharpest corner forces on any path,
    ``workbench.lab.corner_contact_deg``) as a dotted line when given and above 0."""
    ax = _ax(ax, figsize=(10, 3))
    cut = moves["kind"].to_numpy() == "cut"
    s = np.cumsum(np.where(cut, moves["len_mm"].to_numpy(dtype=float), 0.0))[cut]
    e = moves["engagement_deg"].to_numpy(dtype=float)[cut]
    ax.plot(s, e, lw=0.7)
    if target_deg is not None:
        ax.axhline(target_deg, color="crimson", ls="--", lw=0.8, label=f"target {target_deg:.1f} deg")
    if corner_deg:
        ax.axhline(corner_deg, color="0.4", ls=":", lw=0.8,
                   label=f"forced by the sharpest corner {corner_deg:.1f} deg")
    if target_deg is not None or corner_deg:
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("cutting length (mm)")
    ax.set_ylabel("engagement (deg)")
    ax.set_ylim(0, 185)
    return ax


def plot_time_by_limit(summary: Mapping[str, Any], ax: Any = None) -> Any:
    """Horizontal bars: cycle time per motion-planner limit (summary["time_by_limit_s"])."""
    ax = _ax(ax, figsize=(6, 2.5))
    items = [(k, float(v)) for k, v in summary["time_by_limit_s"].items()]
    names = [k for k, _ in items]
    ax.barh(names, [v for _, v in items], color=[LIMIT_COLORS.get(k, "gray") for k in names])
    for y, (_, v) in enumerate(items):
        ax.text(v, y, f" {v:.1f} s", va="center", fontsize=8)
    ax.set_xlabel("time (s)")
    ax.set_title(f"cycle time {float(summary['cycle_time_s']):.1f} s by limit")
    return ax


def plot_speed(moves: Any, ax: Any = None) -> Any:
    """Commanded feed vs planned peak speed along the program (mm/s against cumulative time)."""
    ax = _ax(ax, figsize=(10, 3))
    t = np.cumsum(moves["t_s"].to_numpy(dtype=float))
    cmd = moves["feed"].to_numpy(dtype=float) / 60.0
    ax.step(t, cmd, where="pre", color="0.6", lw=0.8, label="commanded feed")
    ax.step(t, moves["v_peak"].to_numpy(dtype=float), where="pre", lw=0.8, label="planned peak speed")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("speed (mm/s)")
    ax.legend(loc="upper right", fontsize=8)
    return ax
