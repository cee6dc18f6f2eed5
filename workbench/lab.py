"""The pocket lab: the Workbench's main job, from a DXF drawing to G-code for real controllers.

The job is the design's data flow, one plain function per arrow::

    read_regions (geometry)  ->  plan_pocket (cam)  ->  plan_motion (machine)  ->  write (gcode)

:func:`run_pocket_job` runs it and writes the artefacts of a report folder (one ``.nc`` per
post, ``moves.json``, ``summary.json``); ``notebooks/pocket_lab.ipynb`` calls the same stages
and adds plots; the CLI commands ``workbench lab`` (the notebook, through papermill) and
``workbench pocket`` (no notebook, for scripts and schedulers) wrap them.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import InputError, PlanningError
from .paths import DATA_DIR, REPO_ROOT
from .toolpath import Toolpath, moves_frame, to_json_moves

SAMPLE_DXF: Path = DATA_DIR / "samples" / "guitar_cavities.dxf"
SAMPLE_LAYERS: tuple[str, ...] = ("CONTROL_CAVITY", "PICKUP_CAVITY", "NECK_POCKET")
ALL_POSTS: tuple[str, ...] = ("grbl", "mach4", "linuxcnc", "pathpilot", "masso")
DEFAULT_RPM: float = 18000.0


@dataclass
class PocketJob:
    """Parameters of a pocket lab job (mm, mm/min, rpm).

    ``layers`` None takes every layer with closed geometry. ``units`` overrides the DXF's
    ``$INSUNITS`` ("mm", "inch", ...). ``stepover`` is a fraction of the tool diameter in (0, 1].
    ``strategy`` is ``"offset"`` (contour-parallel rings, ``cam.plan_pocket``) or
    ``"adaptive"`` (bounded radial engagement, ``cam.plan_adaptive``; stepover <= 0.5).
    ``link_feed`` (adaptive) is the feed of keep-down links through cleared material, mm/min
    (None: the cutting feed; the machine's feed cap limits it in the estimate).
    ``wall_start_slant`` (adaptive) makes the passes meet the walls at a slant, so a pass
    starting there does not meet about twice the target engagement at once (more cycle time;
    ``cam.plan_adaptive``).
    ``spindle_rpm`` None takes the top of the machine's spindle range (18000 rpm when the
    profile gives none). ``material`` is a ``data/materials`` id (used by the run log). ``adopt_overrides`` scales
    the feeds of matching moves by the machine's learned overrides (``workbench.learn``) and
    applies its measured-time calibration to the estimate. ``log_run`` writes the planned run
    to the CAM run log (``workbench.runlog``) at ``log_db`` (None: the default database).
    """

    dxf: str = str(SAMPLE_DXF)
    layers: list[str] | None = field(default_factory=lambda: list(SAMPLE_LAYERS))
    units: str | None = None
    strategy: str = "offset"
    tool_d: float = 6.0
    stepover: float = 0.4
    stepdown: float = 3.0
    depth: float = 6.0
    stock_top: float = 0.0
    safe_z: float = 5.0
    feed: float = 1500.0
    plunge_feed: float = 400.0
    link_feed: float | None = None
    wall_start_slant: bool = False
    climb: bool = True
    entry: str = "helix"
    finish_allowance: float = 0.0
    finish_pass: bool = True
    machine: str = "Mach4_Router_4x8"
    posts: list[str] = field(default_factory=lambda: list(ALL_POSTS))
    spindle_rpm: float | None = None
    material: str = "maple_hard"
    adopt_overrides: bool = False
    log_run: bool = False
    log_db: str | None = None
    job: str | None = None

    def job_name(self) -> str:
        """The job's name: ``job`` if given, else the DXF's stem."""
        return self.job or Path(self.dxf).stem


@dataclass
class PocketResult:
    """What :func:`run_pocket_job` produced.

    Attributes:
        job: the parameters.
        regions: the regions read from the DXF (``workbench.geometry.Region``).
        toolpaths: one toolpath per region, in cutting order.
        toolpath: the whole program (regions joined by retract-and-rapid links).
        plan: the motion plan (``workbench.machine.MotionPlan``) of the whole program.
        summary: the ``summary.json`` content.
        gcode: post id -> G-code text.
        files: artefact name -> path (when written).
    """

    job: PocketJob
    regions: list[Any]
    toolpaths: list[Toolpath]
    toolpath: Toolpath
    plan: Any
    summary: dict[str, Any]
    gcode: dict[str, str]
    files: dict[str, Path] = field(default_factory=dict)


def resolve_input(path: str | Path) -> Path:
    """An input path as given if it exists, else relative to the repository root.

    Notebooks run with different working directories (papermill: the repo root; Voila and
    JupyterLab: ``notebooks/``), so a project-relative path works in all three.
    """
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p
    q = REPO_ROOT / p
    return q if q.exists() else p


def load_regions(job: PocketJob) -> list[Any]:
    """Read the job's regions from its DXF (``workbench.geometry.read_regions``).

    Raises:
        InputError: ``job.layers`` is empty: a drawing holds body outlines, reference layers and
            hardware circles beside its pockets, so the layers to pocket are always chosen; the
            message lists the layers that have closed outlines.
        workbench.errors.DXFError: the drawing or a layer cannot be read (names file and layer).
    """
    from .geometry import layer_report, read_regions

    path = str(resolve_input(job.dxf))
    if not job.layers:
        report = layer_report(path, units=job.units)
        closed = report[report["regions"] > 0]
        listing = ", ".join(f"{r.layer} ({r.regions} region{'s' if r.regions != 1 else ''})"
                            for r in closed.itertuples())
        raise InputError(f"{job.dxf}: choose the layer(s) to pocket (--layer NAME, or the notebook's "
                         f"'layers'); layers with closed outlines: {listing or 'none'}")
    return read_regions(path, layers=job.layers, units=job.units)


def plan_regions(regions: Sequence[Any], job: PocketJob) -> list[Toolpath]:
    """Plan one pocket per region with the job's strategy (``cam.plan_pocket`` for "offset",
    ``cam.plan_adaptive`` for "adaptive"), in nearest-first order from the origin.

    Raises:
        InputError: unknown strategy, adaptive with conventional milling, or a parameter out of
            range (naming the region).
        PlanningError: naming the region when the tool does not fit it.
    """
    from .cam import plan_adaptive, plan_pocket

    if job.strategy not in ("offset", "adaptive"):
        raise InputError(f"strategy must be 'offset' or 'adaptive', got {job.strategy!r}")
    if job.wall_start_slant and job.strategy != "adaptive":
        raise InputError("wall_start_slant (--wall-start-slant) shapes adaptive passes: use it "
                         "with the adaptive strategy")
    if job.strategy == "adaptive" and not job.climb:
        raise InputError("adaptive clearing cuts climb only: drop --conventional (climb=False) "
                         "or use the offset strategy")
    paths = []
    for reg in regions:
        common = dict(tool_d=job.tool_d, stepover=job.stepover, stepdown=job.stepdown,
                      depth=job.depth, stock_top=job.stock_top, safe_z=job.safe_z,
                      feed=job.feed, plunge_feed=job.plunge_feed, entry=job.entry,
                      finish_allowance=job.finish_allowance, finish_pass=job.finish_pass,
                      name=getattr(reg, "name", "pocket"))
        if job.strategy == "offset":
            tp = plan_pocket(reg, climb=job.climb, **common)
        else:  # adaptive clearing is climb-only by design
            tp = plan_adaptive(reg, link_feed=job.link_feed, wall_start_slant=job.wall_start_slant,
                               **common)
        paths.append(tp)
    return _nearest_order(paths)


def _nearest_order(paths: list[Toolpath]) -> list[Toolpath]:
    """Greedy nearest-neighbour order of toolpaths by their start points, from (0, 0)."""
    left = list(paths)
    out: list[Toolpath] = []
    pos = np.zeros(2)
    while left:
        d = [float(np.hypot(*(np.asarray(p.start[:2]) - pos))) for p in left]
        k = int(np.argmin(d))
        tp = left.pop(k)
        out.append(tp)
        end = tp.moves[["x", "y"]].to_numpy()[-1] if len(tp.moves) else np.asarray(tp.start[:2])
        pos = np.asarray(end, dtype=float)
    return out


def join_toolpaths(paths: Sequence[Toolpath], safe_z: float) -> Toolpath:
    """Join toolpaths into one program: retract to ``safe_z``, rapid over, continue.

    The first program starts at ``(x0, y0, safe_z)`` of the first toolpath. Returns a new
    Toolpath whose meta lists the parts (``meta["parts"]``: name and first/last row).
    """
    if not paths:
        raise PlanningError("nothing to join: no toolpath was planned")
    frames: list[pd.DataFrame] = []
    parts = []
    pos = np.asarray(paths[0].start, dtype=float)
    start = (float(pos[0]), float(pos[1]), float(safe_z))
    pos = np.asarray(start)
    row0 = 0
    for tp in paths:
        links = []
        sx, sy, sz = (float(v) for v in tp.start)
        if not np.allclose(pos, (sx, sy, sz)):
            if pos[2] < safe_z:
                links.append({"code": "G0", "x": pos[0], "y": pos[1], "z": safe_z, "kind": "rapid"})
            if not np.allclose(pos[:2], (sx, sy)):
                links.append({"code": "G0", "x": sx, "y": sy, "z": max(safe_z, pos[2]), "kind": "rapid"})
            if not math.isclose(max(safe_z, pos[2]), sz):
                links.append({"code": "G0", "x": sx, "y": sy, "z": sz, "kind": "rapid"})
        if links:
            lf = moves_frame(links)
            lf["len_mm"] = _line_lengths(lf, pos)
            frames.append(lf)
            row0 += len(lf)
        frames.append(tp.moves)
        parts.append({"name": tp.meta.get("name", ""), "first_row": row0, "last_row": row0 + len(tp.moves) - 1})
        row0 += len(tp.moves)
        if len(tp.moves):
            pos = tp.moves[["x", "y", "z"]].to_numpy(dtype=float)[-1]
    if pos[2] < safe_z:
        end = moves_frame([{"code": "G0", "x": pos[0], "y": pos[1], "z": safe_z, "kind": "rapid"}])
        end["len_mm"] = _line_lengths(end, pos)
        frames.append(end)
    moves = moves_frame(pd.concat(frames, ignore_index=True))
    meta = {"parts": parts, "safe_z": safe_z}
    if paths[0].meta:
        meta.update({k: v for k, v in paths[0].meta.items() if k in ("tool", "params")})
    return Toolpath(moves=moves, start=start, meta=meta)


def _line_lengths(df: pd.DataFrame, start: np.ndarray) -> np.ndarray:
    end = df[["x", "y", "z"]].to_numpy(dtype=float)
    beg = np.vstack([np.asarray(start, dtype=float)[None, :], end[:-1]])
    return np.linalg.norm(end - beg, axis=1)


def summarize(job: PocketJob, regions: Sequence[Any], toolpaths: Sequence[Toolpath],
              toolpath: Toolpath, plan: Any) -> dict[str, Any]:
    """The ``summary.json`` of a job (all lengths mm, areas mm^2, times s, angles degrees).

    Keys: job, source, tool, params, machine, cycle_time_s, time_by_limit_s, count_by_limit,
    path_length_mm (by kind), moves (count), cleared_area_mm2, pocket_area_mm2,
    reachable_area_mm2, uncut_area_mm2, max_engagement_deg, p95_engagement_deg (over cutting
    moves), target_engagement_deg (a straight cut at the stepover), corner_contact_deg (the
    engagement the sharpest inside corner forces on any path that clears it to the tool radius:
    :func:`corner_contact_deg`), overload_length_share (share of the cutting length above
    target + 5 degrees), regions[] (each with its own corner_contact_deg).
    The areas are measured at the final depth by ``workbench.cam.checks.uncut_area``:
    reachable = the region opened by the tool radius, cleared = the part of it the tool swept,
    uncut = reachable minus cleared, without slivers narrower than 0.04 mm (chord error of the
    polygonised discs), which are reported apart as ``uncut_sliver_area_mm2`` per region.
    """
    from .cam import checks

    mv = toolpath.moves
    cut = mv[(mv["kind"] == "cut") & np.isfinite(mv["engagement_deg"])]
    eng = cut["engagement_deg"].to_numpy(dtype=float)
    target = target_engagement_deg(job)
    cut_len = float(cut["len_mm"].sum())
    overload = float(cut.loc[cut["engagement_deg"] > target + 5.0, "len_mm"].sum()) / cut_len if cut_len else 0.0
    reg_rows = []
    for reg, tp in zip(_regions_in_order(regions, toolpaths), toolpaths):
        cov = checks.uncut_area(tp, reg, job.tool_d)
        reg_rows.append({
            "name": getattr(reg, "name", ""), "layer": getattr(reg, "layer", ""),
            "area_mm2": float(_poly(reg).area), "islands": len(_poly(reg).interiors),
            "reachable_area_mm2": cov.opened_area, "cleared_area_mm2": cov.swept_area,
            "uncut_area_mm2": cov.significant_area, "uncut_sliver_area_mm2": cov.uncut_area - cov.significant_area,
            "unreachable_area_mm2": float(_poly(reg).area) - cov.opened_area,
            "corner_contact_deg": _corner_contact(reg, job.tool_d),
            "moves": int(len(tp.moves)), "warnings": list(tp.meta.get("warnings", [])),
        })
    s = plan.summary
    by_kind = mv.groupby("kind")["len_mm"].sum()
    return {
        "job": job.job_name(),
        "source": {"dxf": str(job.dxf), "layers": job.layers, "units": job.units,
                   "units_used": sorted({str(getattr(r, "source_units", "mm")) for r in regions})},
        "tool": {"diameter_mm": job.tool_d, "type": "flat end mill"},
        "params": {k: v for k, v in asdict(job).items() if k not in ("dxf", "layers", "units", "job")},
        "machine": job.machine,
        "cycle_time_s": float(s["cycle_time_s"]),
        "time_by_limit_s": {k: float(v) for k, v in s["time_by_limit_s"].items()},
        "count_by_limit": {k: int(v) for k, v in s["count_by_limit"].items()},
        "path_length_mm": {str(k): float(v) for k, v in by_kind.items()},
        "moves": int(len(mv)),
        "pocket_area_mm2": float(sum(r["area_mm2"] for r in reg_rows)),
        "reachable_area_mm2": float(sum(r["reachable_area_mm2"] for r in reg_rows)),
        "cleared_area_mm2": float(sum(r["cleared_area_mm2"] for r in reg_rows)),
        "uncut_area_mm2": float(sum(r["uncut_area_mm2"] for r in reg_rows)),
        "max_engagement_deg": float(eng.max()) if eng.size else None,
        "p95_engagement_deg": float(np.percentile(eng, 95)) if eng.size else None,
        "target_engagement_deg": target,
        "corner_contact_deg": max((r["corner_contact_deg"] for r in reg_rows), default=0.0),
        "overload_length_share": overload,
        "regions": reg_rows,
        "unreachable_area_mm2": float(sum(r["unreachable_area_mm2"] for r in reg_rows)),
        "warnings": [f"{r['name']}: {w}" for r in reg_rows for w in r["warnings"]],
    }


def _poly(reg: Any) -> Any:
    return getattr(reg, "polygon", reg)


def _corner_contact(reg: Any, tool_d: float) -> float:
    from .cam.engagement import corner_contact_bound

    try:
        return corner_contact_bound(_poly(reg), tool_d).contact_deg
    except InputError:  # the tool fits nowhere in it: no path, no corner to enter
        return 0.0


def corner_contact_deg(regions: Sequence[Any], job: PocketJob) -> float:
    """The engagement the sharpest inside corner of ``regions`` forces on any toolpath that
    clears it to the tool radius, degrees (0 when every corner is rounder than the tool):
    the largest of :func:`workbench.cam.engagement.corner_contact_bound` over the regions. A
    square corner gives 90 deg, above any target engagement under 90: such spikes in the
    engagement plot are the corners', not the strategy's."""
    return max((_corner_contact(r, job.tool_d) for r in regions), default=0.0)


def _regions_in_order(regions: Sequence[Any], toolpaths: Sequence[Toolpath]) -> list[Any]:
    by_name = {getattr(r, "name", str(i)): r for i, r in enumerate(regions)}
    out = []
    for i, tp in enumerate(toolpaths):
        out.append(by_name.get(tp.meta.get("name"), regions[i]))
    return out


def run_pocket_job(job: PocketJob, out_dir: str | Path | None = None) -> PocketResult:
    """Run the main job: read regions, plan pockets, plan motion, write G-code for every post.

    Args:
        job: the parameters.
        out_dir: when given, the artefacts are written there: ``<job>_<post>.nc`` per post,
            ``moves.json`` (the original JSON moves form with the motion-plan columns in meta)
            and ``summary.json``.

    Returns:
        :class:`PocketResult`.

    Raises:
        workbench.errors.DXFError: the drawing cannot be read (names file and layer).
        workbench.errors.PlanningError: a region cannot be pocketed with these parameters.
        workbench.errors.MachineProfileError / PostError: unknown machine or post.
    """
    t0 = time.perf_counter()
    check_spindle(job)  # fail early on an unknown machine or a bad speed, before any planning
    regions = load_regions(job)
    toolpaths = plan_regions(regions, job)
    program = join_toolpaths(toolpaths, job.safe_z)
    plan = plan_program(program, job)
    result = finish_job(job, regions, toolpaths, program, plan)
    result.summary["compute_s"] = round(time.perf_counter() - t0, 3)
    if out_dir is not None:
        write_artifacts(result, Path(out_dir))
    return result


def check_spindle(job: PocketJob) -> float:
    """The job's spindle speed, checked against the machine; returns it in rpm.

    ``job.spindle_rpm`` None gives the top of the machine's ``spindle_rpm`` range (18000 rpm,
    a common router spindle, when the profile has none).

    Raises:
        InputError: rpm <= 0 (a program would cut with the spindle off) or outside the
            profile's ``spindle_rpm`` range (the controller would clamp it silently).
        workbench.errors.MachineProfileError: unknown machine.
    """
    from .machine import load_machine

    profile = load_machine(job.machine)
    lo_hi = profile.spindle_rpm
    rpm = job.spindle_rpm
    if rpm is None:
        return float(lo_hi[1]) if lo_hi is not None and lo_hi[1] > 0 else DEFAULT_RPM
    if not (isinstance(rpm, (int, float)) and math.isfinite(rpm) and rpm > 0):
        raise InputError(f"spindle speed must be > 0 rpm, got {rpm!r}: the program would cut with "
                         "the spindle off")
    if lo_hi is not None and not (lo_hi[0] <= rpm <= lo_hi[1]):
        raise InputError(f"spindle speed {rpm:g} rpm is outside {profile.id}'s range "
                         f"{lo_hi[0]:g}-{lo_hi[1]:g} rpm (the controller would clamp it)")
    return float(rpm)


def plan_program(program: Toolpath, job: PocketJob) -> Any:
    """Plan the motion of a program on the job's machine (``workbench.machine.plan_motion``).

    With ``job.adopt_overrides`` the machine's learned feed overrides are applied and the
    program replanned (``workbench.learn.plan_with_overrides``); the returned plan's summary
    then has an ``overrides`` entry: the cycle time before, the rules' match counts and the
    calibrated estimate (measured/estimated ratio, spread, n).
    """
    from .machine import load_machine, plan_motion

    profile = load_machine(job.machine)
    if not job.adopt_overrides:
        return plan_motion(program, profile)
    from .learn import plan_with_overrides

    adopted = plan_with_overrides(program, profile)
    plan = adopted.after
    plan.summary["overrides"] = {"cycle_time_before_s": float(adopted.before.summary["cycle_time_s"]),
                                 **adopted.toolpath.meta.get("overrides", {}),
                                 "calibrated": adopted.estimate.to_dict()}
    return plan


def finish_job(job: PocketJob, regions: Sequence[Any], toolpaths: Sequence[Toolpath], program: Toolpath,
               plan: Any, out_dir: str | Path | None = None) -> PocketResult:
    """Summarise a planned job and write its G-code for every post of the job.

    With ``out_dir`` the artefacts are written there (see :func:`write_artifacts`).
    """
    from .gcode import load_post, write

    rpm = check_spindle(job)
    posts = [load_post(p) for p in job.posts]
    summary = summarize(job, regions, toolpaths, program, plan)
    summary["params"]["spindle_rpm"] = rpm
    tool = {"number": 1, "diameter": job.tool_d, "description": f"{job.tool_d:g} mm flat end mill"}
    gcode = {p.id: write(program, p, program_name=job.job_name(), tool=tool, spindle_rpm=rpm)
             for p in posts}
    if "overrides" in plan.summary:
        summary["overrides"] = plan.summary["overrides"]
    if job.log_run:
        from .runlog import log_plan

        summary["run_id"] = log_plan(plan, machine_id=job.machine, material_id=job.material,
                                     job_name=job.job_name(), url=job.log_db,
                                     tool_d=job.tool_d, stepover=job.stepover, stepdown=job.stepdown,
                                     feed_xy=job.feed, rpm=rpm,
                                     est_time_s=float(plan.summary["cycle_time_s"]))
    result = PocketResult(job, list(regions), list(toolpaths), program, plan, summary, gcode)
    if out_dir is not None:
        write_artifacts(result, Path(out_dir))
    return result


def write_artifacts(result: PocketResult, out_dir: Path) -> dict[str, Path]:
    """Write ``<job>_<post>.nc`` per post, ``moves.json`` and ``summary.json`` into ``out_dir``."""
    from .notebooks import safe_name

    out_dir.mkdir(parents=True, exist_ok=True)
    job = safe_name(result.job.job_name())
    files: dict[str, Path] = {}
    for post_id, text in result.gcode.items():
        p = out_dir / f"{job}_{post_id}.nc"
        p.write_text(text, encoding="ascii", newline="\n")
        files[f"gcode_{post_id}"] = p
    p = out_dir / "moves.json"
    p.write_text(json.dumps(to_json_moves(result.plan.moves)), encoding="utf-8")
    files["moves"] = p
    summary = dict(result.summary)
    summary["files"] = {k: v.name for k, v in files.items()}
    p = out_dir / "summary.json"
    p.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    files["summary"] = p
    result.summary = summary
    result.files = files
    return files


# --------------------------------------------------------------------------- command line

def _job_from_args(a: argparse.Namespace) -> PocketJob:
    layers = a.layer or None
    if layers is None and Path(a.dxf).resolve() == SAMPLE_DXF.resolve():
        layers = list(SAMPLE_LAYERS)
    if Path(a.dxf).exists():  # the notebook runs in the repository: pass what the user meant
        a.dxf = str(Path(a.dxf).resolve())
    if getattr(a, "out", None):
        a.out = str(Path(a.out).resolve())
    return PocketJob(dxf=a.dxf, layers=layers, units=a.units, strategy=a.strategy, tool_d=a.tool_d,
                     stepover=a.stepover, stepdown=a.stepdown, depth=a.depth,
                     stock_top=a.stock_top, safe_z=a.safe_z, feed=a.feed,
                     plunge_feed=a.plunge_feed, link_feed=a.link_feed,
                     wall_start_slant=a.wall_start_slant, climb=not a.conventional,
                     entry=a.entry,
                     finish_allowance=a.finish_allowance, finish_pass=not a.no_finish_pass,
                     machine=a.machine, posts=a.post or list(ALL_POSTS),
                     spindle_rpm=a.rpm, material=a.material, adopt_overrides=a.adopt_overrides,
                     log_run=a.log_run, log_db=a.log_db, job=a.job)


def _add_job_arguments(p: argparse.ArgumentParser, *, dxf_positional: bool) -> None:
    d = PocketJob()
    if dxf_positional:
        p.add_argument("dxf", metavar="FILE.dxf", help="the drawing")
    else:
        p.add_argument("--dxf", default=d.dxf, help="the drawing (default: the project's sample, %(default)s)")
    p.add_argument("--layer", action="append", metavar="NAME",
                   help="layer to pocket; repeat for several (default: every layer with closed outlines"
                   + ("" if dxf_positional else "; for the sample: " + ", ".join(SAMPLE_LAYERS)) + ")")
    p.add_argument("--units", choices=["mm", "cm", "m", "inch", "ft"], help="override the DXF's $INSUNITS")
    p.add_argument("--strategy", choices=["offset", "adaptive"], default=d.strategy, help="clearing strategy (default %(default)s)")
    p.add_argument("--tool-d", type=float, default=d.tool_d, help="tool diameter, mm (default %(default)s)")
    p.add_argument("--stepover", type=float, default=d.stepover, help="stepover as a fraction of the tool diameter, (0, 1] (default %(default)s)")
    p.add_argument("--stepdown", type=float, default=d.stepdown, help="depth per pass, mm (default %(default)s)")
    p.add_argument("--depth", type=float, default=d.depth, help="final pocket depth below stock top, mm (default %(default)s)")
    p.add_argument("--stock-top", type=float, default=d.stock_top, help="Z of the stock top, mm (default %(default)s)")
    p.add_argument("--safe-z", type=float, default=d.safe_z, help="retract height, mm (default %(default)s)")
    p.add_argument("--feed", type=float, default=d.feed, help="cutting feed, mm/min (default %(default)s)")
    p.add_argument("--plunge-feed", type=float, default=d.plunge_feed, help="feed of entry moves (helix, ramp, plunge), mm/min (default %(default)s)")
    p.add_argument("--link-feed", type=float, default=d.link_feed, help="adaptive: feed of keep-down links through cleared material, mm/min (default: the cutting feed; the machine's feed cap limits it)")
    p.add_argument("--wall-start-slant", action="store_true", help="adaptive: passes meet the walls (outer and islands) at a slant, so a pass starting there does not meet about twice the target engagement at once (costs cycle time)")
    p.add_argument("--conventional", action="store_true", help="conventional instead of climb milling")
    p.add_argument("--entry", choices=["helix", "ramp", "plunge"], default=d.entry, help="entry move (default %(default)s; falls back to ramp, then plunge, where it does not fit)")
    p.add_argument("--finish-allowance", type=float, default=d.finish_allowance, help="stock left for the finishing pass, mm (default %(default)s)")
    p.add_argument("--no-finish-pass", action="store_true", help="skip the finishing pass")
    p.add_argument("--machine", default=d.machine, help="machine profile id in data/machines or a profile JSON path (default %(default)s)")
    p.add_argument("--post", action="append", metavar="ID", help="post-processor; repeat for several (default: all of " + ", ".join(ALL_POSTS) + ")")
    p.add_argument("--rpm", type=float, default=None, help="spindle speed, rpm (default: the top of the machine's spindle range)")
    p.add_argument("--material", default=d.material, help="material id in data/materials (default %(default)s)")
    p.add_argument("--adopt-overrides", action="store_true", help="apply the machine's learned feed overrides and time calibration")
    p.add_argument("--log-run", action="store_true", help="write the planned run to the CAM run log")
    p.add_argument("--log-db", help="run-log database URL or SQLite path (default: $WORKBENCH_DB_URL or var/workbench.db)")
    p.add_argument("--job", help="job name used in file names (default: the DXF's name)")


def _cmd_pocket(a: argparse.Namespace) -> int:
    from .notebooks import report_dir

    job = _job_from_args(a)
    out = Path(a.out) if a.out else report_dir("pocket", job.job_name())
    res = run_pocket_job(job, out)
    _print_summary(res.summary, out)
    return 0


def _cmd_lab(a: argparse.Namespace) -> int:
    from .notebooks import run_notebook

    job = _job_from_args(a)
    params = asdict(job)
    run = run_notebook("pocket_lab", params, kind="pocket_lab", job=job.job_name(),
                       out_dir=Path(a.out) if a.out else None, progress=not a.quiet)
    summary = json.loads((run.report_dir / "summary.json").read_text())
    _print_summary(summary, run.report_dir)
    print(f"notebook: {run.notebook}")
    if run.html:
        print(f"html:     {run.html}")
    return 0


def _print_summary(s: dict[str, Any], out: Path) -> None:
    t = s["cycle_time_s"]
    print(f"job {s['job']}: {len(s['regions'])} region(s), {s['moves']} moves on {s['machine']}")
    print(f"  cycle time        {int(t // 3600)}:{int(t % 3600 // 60):02d}:{t % 60:05.2f} ({t:.1f} s)")
    shares = ", ".join(f"{k} {v:.1f} s" for k, v in s["time_by_limit_s"].items())
    print(f"  time by limit     {shares}")
    print(f"  cleared area      {s['cleared_area_mm2']:.0f} of {s['reachable_area_mm2']:.0f} mm^2 reachable "
          f"(pocket {s['pocket_area_mm2']:.0f} mm^2, uncut {s['uncut_area_mm2']:.2f} mm^2)")
    if s.get("unreachable_area_mm2", 0.0) > 0.5:
        d = s["params"]["tool_d"]
        print(f"  tool cannot reach {s['unreachable_area_mm2']:.0f} mm^2 of the pocket (inside corners tighter "
              f"than r {d / 2:g} mm, channels narrower than {d:g} mm)")
    for w in s.get("warnings", []):
        print(f"  warning           {w}")
    if s.get("max_engagement_deg") is not None:
        print(f"  engagement        max {s['max_engagement_deg']:.1f} deg, p95 {s['p95_engagement_deg']:.1f} deg of moves; "
              f"{100 * s['overload_length_share']:.1f} % of the cutting length above target "
              f"{s['target_engagement_deg']:.1f} + 5 deg")
        if s.get("corner_contact_deg", 0.0) > s["target_engagement_deg"]:
            print(f"  corners           the sharpest inside corner forces {s['corner_contact_deg']:.1f} deg "
                  f"on any path that clears it to the tool radius")
    print(f"report: {out}")


def register(sub: Any) -> None:
    """Add ``workbench lab`` and ``workbench pocket`` (see :mod:`workbench.cli`)."""
    p = sub.add_parser("lab", help="run the pocket lab notebook (the main job) through papermill",
                       description="Run notebooks/pocket_lab.ipynb headless on a drawing (the project's "
                       "sample by default) and write reports/pocket_lab/<job>-<timestamp>/: one .nc per post, "
                       "moves.json, summary.json, the executed notebook and its HTML.")
    _add_job_arguments(p, dxf_positional=False)
    p.add_argument("--out", help="report folder (default: reports/pocket_lab/<job>-<timestamp>/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_lab)

    p = sub.add_parser("pocket", help="plan a pocket from a DXF and write G-code (no notebook)",
                       description="Plan offset pockets for the closed outlines of FILE.dxf and write "
                       "<job>_<post>.nc per post, moves.json and summary.json to --out "
                       "(default reports/pocket/<job>-<timestamp>/).")
    _add_job_arguments(p, dxf_positional=True)
    p.add_argument("--out", help="output folder")
    p.set_defaults(func=_cmd_pocket)


def regions_table(regions: Sequence[Any]) -> pd.DataFrame:
    """One row per region: name, layer, area (mm^2), islands, bounding box (mm)."""
    rows = []
    for r in regions:
        poly = _poly(r)
        x0, y0, x1, y1 = poly.bounds
        rows.append({"region": getattr(r, "name", ""), "layer": getattr(r, "layer", ""),
                     "area_mm2": round(poly.area, 1), "islands": len(poly.interiors),
                     "size_mm": f"{x1 - x0:.1f} x {y1 - y0:.1f}"})
    return pd.DataFrame(rows)


def summary_table(summary: dict[str, Any]) -> pd.DataFrame:
    """The headline figures of a ``summary.json`` as a two-column table."""
    t = summary["cycle_time_s"]
    rows = [("cycle time", f"{int(t // 60)} min {t % 60:.1f} s ({t:.1f} s)"),
            ("machine", summary["machine"]), ("moves", summary["moves"])]
    rows += [(f"time at limit '{k}'", f"{v:.1f} s") for k, v in summary["time_by_limit_s"].items()]
    rows += [(f"path length, {k}", f"{v:.0f} mm") for k, v in summary["path_length_mm"].items()]
    rows += [("pocket area", f"{summary['pocket_area_mm2']:.0f} mm^2"),
             ("reachable by the tool", f"{summary['reachable_area_mm2']:.0f} mm^2"),
             ("cleared", f"{summary['cleared_area_mm2']:.0f} mm^2"),
             ("uncut (reachable)", f"{summary['uncut_area_mm2']:.2f} mm^2")]
    if summary.get("max_engagement_deg") is not None:
        rows += [("max engagement", f"{summary['max_engagement_deg']:.1f} deg"),
                 ("p95 engagement (moves)", f"{summary['p95_engagement_deg']:.1f} deg"),
                 ("cutting length above target + 5 deg",
                  f"{100 * summary['overload_length_share']:.1f} % (target {summary['target_engagement_deg']:.1f} deg)")]
        if "corner_contact_deg" in summary:
            rows += [("engagement the sharpest corner forces", f"{summary['corner_contact_deg']:.1f} deg")]
    if "overrides" in summary:
        o = summary["overrides"]
        rows += [("cycle time before overrides", f"{o['cycle_time_before_s']:.1f} s"),
                 ("calibrated estimate", o["calibrated"]["note"])]
    if "run_id" in summary:
        rows += [("run log id", summary["run_id"])]
    return pd.DataFrame(rows, columns=["figure", "value"])


def target_engagement_deg(job: PocketJob) -> float:
    """The radial engagement a straight cut at the job's stepover makes, degrees:
    theta = acos(1 - 2 ae / D) with ae = stepover * D (``cam.straight_cut_engagement_deg``)."""
    from .cam import straight_cut_engagement_deg

    return float(straight_cut_engagement_deg(job.stepover * job.tool_d, job.tool_d))
