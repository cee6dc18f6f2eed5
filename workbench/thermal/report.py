"""The thermal report of a job: Markdown, CSV exports, a PNG plot and the ZIP bundle.

:func:`write_report` writes, into one folder, for job ``<job>`` (sanitised: letters, digits,
``. _ -`` only, no path separators or traversal):

- ``thermal_report_<job>.md`` with the original's sections: Context, Totals, Heat partition
  (budgets and OK/WARN/OVER status), Power over time (sparklines and the PNG), Bottleneck share
  (from the motion planner's ``limit``: counts and time), CSV exports (relative links);
- ``energy_<job>.csv`` (energy per move), ``bottleneck_<job>.csv`` (limit per move),
  ``heat_<job>.csv`` (binned heat time series), ``power_<job>.png``;
- ``moves_<job>.json``: the ready-to-paste moves array (:func:`workbench.toolpath.to_json_moves`).

:func:`write_bundle` zips them as ``thermal_report_<job>.zip``.

Budget status per sink: the peak binned heat flow (W) against the material's ``heat_budget_w``:
OK below :data:`WARN_AT` of the budget, WARN up to the budget, OVER above it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from ..notebooks import safe_name
from ..toolpath import LIMITS, to_json_moves
from .energy import _moves_and_meta, annotate, meta_param, totals
from .heat import heat_series, integrate, sparkline
from .materials import SINKS, Material, load_material

WARN_AT: float = 0.8


def job_slug(job_name: str) -> str:
    """File-name-safe job name: :func:`workbench.notebooks.safe_name` (letters, digits, ``. _ -``;
    no separators; leading/trailing dots stripped) with runs of dots collapsed, so no name part
    reads ``..``. ``"../../etc/x"`` -> ``"etc_x"``; empty -> ``"job"``."""
    return re.sub(r"\.{2,}", ".", safe_name(str(job_name), default="job")).strip(".") or "job"


def budget_status(value: float, budget: float) -> str:
    """``OK`` if value < WARN_AT * budget, ``WARN`` if <= budget, else ``OVER``."""
    if budget <= 0:
        return "OVER" if value > 0 else "OK"
    if value < WARN_AT * budget:
        return "OK"
    return "WARN" if value <= budget else "OVER"


def bottleneck_share(moves: pd.DataFrame) -> pd.DataFrame:
    """Counts and time by ``limit`` over motion moves (G0-G3) of a motion plan.

    Returns a DataFrame indexed by limit (feed_cap, accel, jerk, none) with ``count``,
    ``count_share``, ``time_s``, ``time_share``. Empty when there is no ``limit`` column.
    """
    if "limit" not in moves.columns:
        return pd.DataFrame(columns=["count", "count_share", "time_s", "time_share"])
    m = moves[moves["code"].isin(["G0", "G1", "G2", "G3"])]
    t = m["t_s"] if "t_s" in m.columns else pd.Series(0.0, index=m.index)
    rows = []
    for lim in LIMITS:
        sel = m["limit"] == lim
        rows.append({"limit": lim, "count": int(sel.sum()), "time_s": float(t[sel].sum())})
    df = pd.DataFrame(rows).set_index("limit")
    n, T = df["count"].sum(), df["time_s"].sum()
    df["count_share"] = df["count"] / n if n else 0.0
    df["time_share"] = df["time_s"] / T if T else 0.0
    return df[["count", "count_share", "time_s", "time_share"]]


@dataclass
class ThermalReport:
    """What :func:`write_report` wrote and computed.

    Attributes:
        job: sanitised job name; folder: output folder; markdown, png, moves_json: paths;
        csv: {"energy", "bottleneck", "heat"} -> path; table: energy per move
        (:func:`annotate`); series: binned heat; totals: :func:`totals` plus peaks;
        partition: heat partition rows (sink, fraction, energy_j, mean_w, peak_w, budget_w,
        use, status); bottleneck: :func:`bottleneck_share`.
    """

    job: str
    folder: Path
    markdown: Path
    png: Path
    moves_json: Path
    csv: dict[str, Path]
    table: pd.DataFrame
    series: pd.DataFrame
    totals: dict[str, float]
    partition: pd.DataFrame
    bottleneck: pd.DataFrame
    files: list[Path] = field(default_factory=list)


def plot_power(series: pd.DataFrame, ax: Any = None, title: str | None = None) -> Any:
    """Step plot of binned power (total and per sink) against time; returns the Axes."""
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(9, 3.5))
    t = np.r_[series["t0_s"].to_numpy(), series["t1_s"].to_numpy()[-1:]] if len(series) else np.zeros(1)
    for col, label in [("power_w", "total"), ("power_chip_w", "chip"), ("power_tool_w", "tool"),
                       ("power_work_w", "work")]:
        if col in series:
            y = series[col].to_numpy()
            ax.stairs(y, t, label=label, linewidth=1.5 if col == "power_w" else 1.0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mean power per bin (W)")
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def _fmt(v: float, nd: int = 1) -> str:
    return f"{v:,.{nd}f}"


def write_report(plan: Any, material: str | Material, *, job_name: str, out_dir: str | Path,
                 machine_id: str | None = None, tool_d: float | None = None, rpm: float | None = None,
                 flutes: int | None = None, bins: int = 50, method: str = "heightmap",
                 top_z: float | None = None, budgets_w: Mapping[str, float] | None = None,
                 pocket_volume_mm3: float | None = None, table: pd.DataFrame | None = None
                 ) -> ThermalReport:
    """Compute energy and heat of a planned job and write the thermal report files.

    Args:
        plan: ``MotionPlan`` (times and ``limit`` from the controller model) or ``Toolpath``
            (nominal times, no bottleneck section).
        material: material id or :class:`Material`.
        job_name: any text; sanitised for file names (``../../etc/x`` -> ``etc_x``).
        out_dir: folder to write into (created).
        machine_id, tool_d, rpm, flutes, method, top_z: see :func:`annotate` (machine_id for
            the Context section; default the plan's ``summary["machine"]``).
        bins: number of time bins of the heat series.
        budgets_w: per-sink budget (W) overriding the material's.
        pocket_volume_mm3: if given, the Totals section compares the removed volume to it.
        table: a precomputed :func:`annotate` table (skips the computation).

    Returns:
        :class:`ThermalReport`.

    Raises:
        InputError / MaterialError: as :func:`annotate`, bad bins.
    """
    mat = load_material(material)
    job = job_slug(job_name)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    moves, _, meta = _moves_and_meta(plan)
    tab = table if table is not None else annotate(plan, mat, tool_d=tool_d, rpm=rpm, flutes=flutes,
                                                    method=method, top_z=top_z)
    ser = heat_series(tab, bins)
    tot = totals(tab)
    summary = getattr(plan, "summary", None) or {}
    machine = machine_id or summary.get("machine") or meta.get("machine") or "(not given)"
    budgets = {**mat.heat_budget_w, **(budgets_w or {})}
    cut_t = tot["cut_time_s"]
    prow = []
    for s in SINKS:
        e = tot[f"heat_{s}_j"]
        peak = float(ser[f"power_{s}_w"].max()) if len(ser) else 0.0
        b = float(budgets[s])
        prow.append({"sink": s, "fraction": mat.partition[s], "energy_j": e,
                     "mean_w": e / cut_t if cut_t > 0 else 0.0, "peak_w": peak, "budget_w": b,
                     "use": peak / b if b > 0 else math.inf, "status": budget_status(peak, b)})
    part = pd.DataFrame(prow)
    bn = bottleneck_share(moves)

    # ---- files
    csv = {"energy": folder / f"energy_{job}.csv", "bottleneck": folder / f"bottleneck_{job}.csv",
           "heat": folder / f"heat_{job}.csv"}
    etab = tab.copy()
    etab.insert(0, "idx", np.arange(len(etab)))
    etab.to_csv(csv["energy"], index=False, float_format="%.6g")
    bcols = [c for c in ("code", "kind", "len_mm", "feed", "v_entry", "v_exit", "v_peak", "t_s", "limit")
             if c in moves.columns]
    b = moves[bcols].copy()
    b.insert(0, "idx", np.arange(len(b)))
    b.to_csv(csv["bottleneck"], index=False, float_format="%.6g")
    ser.to_csv(csv["heat"], index=False, float_format="%.6g")
    png = folder / f"power_{job}.png"
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 3.5), dpi=100)
    plot_power(ser, fig.add_subplot(111), title=f"Power over time: {job}")
    fig.tight_layout()
    fig.savefig(png)
    mj = folder / f"moves_{job}.json"
    mj.write_text(json.dumps(to_json_moves(moves)), encoding="utf-8")

    # ---- markdown
    L: list[str] = []
    L += [f"# Thermal report: {job}", "",
          f"Generated {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by workbench.thermal.", ""]
    L += ["## Context", "", "| item | value |", "|---|---|",
          f"| job | {job} |", f"| machine | {machine} |", f"| material | {mat.name} (`{mat.id}`) |",
          f"| tool diameter | {tab.attrs['tool_d']:g} mm |"]
    for k, unit in (("stepover", ""), ("stepdown", " mm"), ("depth", " mm"), ("rpm", " rpm")):
        v = meta_param(meta, k)
        if isinstance(v, (int, float)):
            L.append(f"| {k} | {v:g}{unit} |")
    u_src = ("specific energy %.3g J/mm³" % mat.specific_energy_j_mm3 if mat.specific_energy_j_mm3
             else f"Kienzle kc1 = {mat.kc1_n_mm2:g} N/mm², mc = {mat.mc:g}")
    L += [f"| moves | {len(moves)} |", f"| removed volume from | {tab.attrs['method']}"
          + (f" (cell {tab.attrs['cell_mm']:.3g} mm)" if tab.attrs.get("cell_mm") else "") + " |",
          f"| times from | {tab.attrs['time_source']} |", f"| cutting energy | {u_src} |",
          f"| feed per tooth | {tab.attrs['fz_source']} |", ""]
    L += ["## Totals", "", "| quantity | value |", "|---|---|",
          f"| removed volume | {_fmt(tot['removed_mm3'])} mm³ ({tot['removed_mm3'] / 1000:.2f} cm³) |"]
    if pocket_volume_mm3:
        L.append(f"| pocket volume (area x depth) | {_fmt(pocket_volume_mm3)} mm³ "
                 f"(removed / pocket = {tot['removed_mm3'] / pocket_volume_mm3:.4f}) |")
    cyc = float(summary.get("cycle_time_s", tot["time_s"]))
    L += [f"| cycle time | {cyc:,.1f} s |", f"| cutting time (moves removing material) | {cut_t:,.1f} s |",
          f"| cutting energy | {_fmt(tot['energy_j'])} J ({tot['energy_j'] / 3600:.3f} Wh) |",
          f"| mean cutting power | {tot['mean_power_w']:.1f} W |",
          f"| peak binned power | {float(ser['power_w'].max()) if len(ser) else 0.0:.1f} W |",
          f"| peak move power | {tot['peak_power_w']:.1f} W |", ""]
    L += ["## Heat partition", "",
          f"Budgets are peak heat flow per time bin (W); status OK below {WARN_AT:.0%} of the budget, "
          "WARN up to it, OVER above.", "",
          "| sink | fraction | heat (J) | mean (W) | peak (W) | budget (W) | use | status |",
          "|---|---|---|---|---|---|---|---|"]
    for r in prow:
        L.append(f"| {r['sink']} | {r['fraction']:.2f} | {_fmt(r['energy_j'])} | {r['mean_w']:.1f} | "
                 f"{r['peak_w']:.1f} | {r['budget_w']:.0f} | {r['use']:.0%} | **{r['status']}** |")
    L += ["", f"Partition source: {mat.sources.get('heat_partition', '-')}", ""]
    L += ["## Power over time", "",
          f"{len(ser)} bins of {(ser['t1_s'] - ser['t0_s']).iloc[0] if len(ser) else 0:.2f} s; "
          f"each bin holds the energy of the moves overlapping it (binned energy "
          f"{integrate(ser):,.1f} J = total {tot['energy_j']:,.1f} J).", "", "```"]
    for col, lab in (("power_w", "total"), ("power_chip_w", "chip "), ("power_tool_w", "tool "),
                     ("power_work_w", "work ")):
        L.append(f"{lab:5s} {sparkline(ser[col].to_numpy())}  max {ser[col].max():.1f} W")
    L += ["```", "", f"![Power over time]({png.name})", ""]
    L += ["## Bottleneck share", ""]
    if len(bn):
        L += ["| limit | moves | share | time (s) | time share |", "|---|---|---|---|---|"]
        for lim, r in bn.iterrows():
            L.append(f"| {lim} | {int(r['count'])} | {r['count_share']:.1%} | {r['time_s']:.1f} | "
                     f"{r['time_share']:.1%} |")
        top = bn["time_share"].idxmax()
        L += ["", f"Most time is spent in `{top}` moves ({bn.loc[top, 'time_share']:.0%})."
              + (" Raising the feed will not shorten this job much: the controller caps it."
                 if top == "feed_cap" else ""), ""]
    else:
        L += ["No motion plan (no `limit` per move): plan the toolpath with "
              "`workbench.machine.plan_motion` for the bottleneck share.", ""]
    L += ["## CSV exports", "",
          f"- [energy per move]({csv['energy'].name})",
          f"- [bottleneck per move]({csv['bottleneck'].name})",
          f"- [heat time series]({csv['heat'].name})",
          f"- [moves array (JSON)]({mj.name})", ""]
    md = folder / f"thermal_report_{job}.md"
    md.write_text("\n".join(L), encoding="utf-8")
    tot = {**tot, "cycle_time_s": cyc, "peak_binned_power_w": float(ser["power_w"].max()) if len(ser) else 0.0}
    return ThermalReport(job=job, folder=folder, markdown=md, png=png, moves_json=mj, csv=csv,
                         table=tab, series=ser, totals=tot, partition=part, bottleneck=bn,
                         files=[md, mj, *csv.values(), png])


def load_moves_json(path: str | Path, *, tool_d: float | None = None,
                    start: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Any:
    """A Toolpath from a ``moves.json`` array (pocket lab output, or the bundle's moves file).

    ``len_mm`` is recomputed where the JSON has none (lines: distance; arcs: radius x sweep
    plus helix rise). ``tool_d`` goes into meta.

    Raises:
        InputError: unreadable file, not a JSON array, bad items (index named).
    """
    from ..toolpath import Toolpath, from_json_moves
    p = Path(path)
    try:
        items = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{p}: cannot read moves JSON: {exc}") from None
    if not isinstance(items, list):
        raise InputError(f"{p}: expected a JSON array of moves")
    has_len = [isinstance(it, Mapping) and (it.get("meta") or {}).get("len_mm") is not None for it in items]
    df = from_json_moves(items)
    end = df[["x", "y", "z"]].to_numpy(dtype=float)
    st = np.vstack([np.asarray(start, dtype=float)[None, :], end[:-1]]) if len(df) else end
    ln = np.linalg.norm(end - st, axis=1)
    arc = df["code"].isin(["G2", "G3"]).to_numpy()
    if arc.any():
        i, j = df["i"].to_numpy(dtype=float), df["j"].to_numpy(dtype=float)
        r = np.hypot(i, j)
        a0 = np.arctan2(-j, -i)
        a1 = np.arctan2(end[:, 1] - (st[:, 1] + j), end[:, 0] - (st[:, 0] + i))
        ccw = (a1 - a0) % (2 * np.pi)
        sweep = np.where(df["code"].to_numpy() == "G3", ccw, (2 * np.pi - ccw) % (2 * np.pi))
        sweep = np.where(sweep < 1e-9, 2 * np.pi, sweep)
        ln = np.where(arc, np.hypot(r * sweep, end[:, 2] - st[:, 2]), ln)
        df["radius_mm"] = np.where(arc & df["radius_mm"].isna(), r, df["radius_mm"])
    df["len_mm"] = np.where(has_len, df["len_mm"].to_numpy(dtype=float), ln)
    meta = {"source": str(p)}
    if tool_d is not None:
        meta["tool_d"] = float(tool_d)
    return Toolpath(moves=df, start=tuple(float(v) for v in start), meta=meta)


def write_bundle(report: ThermalReport, zip_path: str | Path | None = None) -> Path:
    """Zip a report's files (flat, by their names) into ``thermal_report_<job>.zip`` beside
    them (or ``zip_path``); return the ZIP's path."""
    out = Path(zip_path) if zip_path is not None else report.folder / f"thermal_report_{report.job}.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in report.files:
            z.write(p, arcname=p.name)
    return out


def thermal_report_bundle(plan: Any, material: str | Material, *, job_name: str,
                          out_dir: str | Path, **kw: Any) -> tuple[ThermalReport, Path]:
    """:func:`write_report` then :func:`write_bundle`; returns (report, zip path)."""
    rep = write_report(plan, material, job_name=job_name, out_dir=out_dir, **kw)
    return rep, write_bundle(rep)
