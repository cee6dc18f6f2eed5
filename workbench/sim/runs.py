"""Simulation runs: inputs resolved, artefacts written, a ``sim_runs`` row kept up to date.

:func:`run_job` is what ``workbench sim run`` and the notebook call. It

1. reads the program (the workbench G-code reader; strict first, then with nested comments
   allowed, noted) or a planned toolpath (``moves.json`` of the pocket lab);
2. resolves the tools (explicit specs > tool table > CAMotics project > tool-change comments
   > a default tool, noted) and the stock (explicit > project workpiece > automatic);
3. simulates with progress, timeout and cancellation, writing progress to the row;
4. writes ``reports/sim/<job>-<timestamp>/``: ``report.json`` (validated sim_report v1),
   ``snapshot.png``, ``sim.mp4``, ``sim.gif`` and ``sim.log``;
5. sets the row's status: ``succeeded``, or ``failed`` / ``cancelled`` with the error class and
   message. Partial artefacts and the log are kept for diagnosis.

The ``sim_runs`` table is created with SQLAlchemy Core ``create_all`` (idempotent); the engine
comes from :func:`workbench.db.make_engine`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.engine import Engine

from ..errors import GCodeError, InputError, WorkbenchError
from ..paths import REPORTS_DIR
from ..toolpath import Toolpath, from_json_moves
from .camotics import CamoticsProject, cross_check, load_project
from .errors import EncodingError, SimCancelled, SimError, SimTimeout, StockError
from .report import build_report, write_report
from .simulate import SimResult, auto_stock, simulate, tool_numbers_from_source
from .stock import Stock, parse_stock
from .tools import Tool, load_tool_table, parse_tool_spec, tools_from_comments

__all__ = ["metadata", "sim_runs", "ensure_tables", "SimRun", "run_job", "load_source",
           "resolve_tools", "get_run", "GCODE_SUFFIXES"]

metadata = MetaData()

#: One row per simulation run.
sim_runs = Table(
    "sim_runs", metadata,
    Column("id", String(36), primary_key=True),
    Column("job", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # queued, running, succeeded, failed, cancelled
    Column("progress", Float, nullable=False, default=0.0),
    Column("source_path", Text),
    Column("project_path", Text),
    Column("out_dir", Text),
    Column("report_json", Text),
    Column("report_path", Text),
    Column("snapshot_path", Text),
    Column("video_path", Text),
    Column("gif_path", Text),
    Column("log_path", Text),
    Column("error_class", String(64)),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("sim_s", Float),
    Column("media_s", Float),
    Column("duration_s", Float),
)

GCODE_SUFFIXES: tuple[str, ...] = (".nc", ".ngc", ".gcode", ".tap", ".cnc", ".txt", ".gc")


def ensure_tables(engine: Engine) -> None:
    """Create ``sim_runs`` if missing (SQLAlchemy ``create_all``; the lead may move it to Alembic)."""
    metadata.create_all(engine, tables=[sim_runs])


def get_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    """The ``sim_runs`` row of ``run_id`` as a dict, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(sim_runs).where(sim_runs.c.id == run_id)).mappings().first()
    return dict(row) if row else None


@dataclass
class SimRun:
    """Outcome of :func:`run_job`.

    Attributes:
        id: the run id (``sim_runs.id``); status: ``succeeded``, ``failed`` or ``cancelled``.
        out_dir: the report folder; report: the sim_report dict (None when the run failed
            before simulating); report_path: ``report.json`` if written.
        error: the error message; error_class: its class name.
        result: the :class:`SimResult` (None when the run failed before or while simulating).
    """

    id: str
    status: str
    out_dir: Path
    report: dict[str, Any] | None = None
    report_path: Path | None = None
    error: str | None = None
    error_class: str | None = None
    result: SimResult | None = None
    artefacts: dict[str, Path | None] = field(default_factory=dict)


def load_source(source: str | Path | Toolpath, *, reader_kw: Mapping[str, Any] | None = None
                ) -> tuple[Toolpath, list[str] | None, list[dict[str, str]]]:
    """Read the program or planned toolpath.

    Args:
        source: a G-code file, a ``moves.json`` (a JSON moves array, or an object with
            ``moves``), or a Toolpath.
        reader_kw: keywords for :func:`workbench.gcode.read_file`.

    Returns:
        ``(toolpath, program lines or None, notes)``.

    Raises:
        GCodeError: the program cannot be read (line named).
        InputError: a JSON file that is not a moves array.
    """
    notes: list[dict[str, str]] = []
    if isinstance(source, Toolpath):
        return source, None, notes
    p = Path(source)
    if not p.exists():
        raise InputError(f"{p}: file not found")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{p}: not JSON ({exc})") from None
        items = data.get("moves") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InputError(f"{p}: expected a JSON moves array or an object with 'moves'")
        tp = Toolpath(from_json_moves(items), meta={"path": str(p)})
        if isinstance(data, dict):
            start = data.get("start")
            if isinstance(start, list) and len(start) == 3:
                tp.start = tuple(float(v) for v in start)  # type: ignore[assignment]
            if isinstance(data.get("meta"), dict):
                tp.meta.update(data["meta"])
        return tp, None, notes
    try:
        from ..gcode import read_file
    except ImportError as exc:  # pragma: no cover - the reader is part of the package
        raise SimError(f"the G-code reader (workbench.gcode) is not importable: {exc}") from exc
    kw = dict(reader_kw or {})
    try:
        tp = read_file(p, **kw)
    except GCodeError as exc:
        if kw:
            raise
        try:  # generators write comments like "( at (1, 2) )": the reader's lenient mode
            tp = read_file(p, strict=False, nested_comments="allow")
        except GCodeError:
            raise exc from None
        notes.append({"code": "lenient_read", "severity": "warning",
                      "message": f"read with nested comments allowed after: {exc}"})
    lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    return tp, lines, notes


def resolve_tools(toolpath: Toolpath, lines: list[str] | None, *,
                  tools: Mapping[int, Tool] | Sequence[str] | None = None,
                  tool_table: str | Path | None = None,
                  project: CamoticsProject | None = None) -> tuple[dict[int, Tool], np.ndarray, list[dict[str, str]]]:
    """Tools by number and the tool number of each move.

    Priority per tool number: explicit ``tools`` (Tool objects or spec strings, see
    :func:`workbench.sim.tools.parse_tool_spec`; a spec without ``N=`` applies to every tool
    the program uses that nothing else defines) > ``tool_table`` > ``project`` > tool-change
    comments in the program. Tools still missing get the simulator's default (noted).
    """
    notes: list[dict[str, str]] = []
    mv = toolpath.moves
    if "tool" in mv.columns:
        tool_no = mv["tool"].fillna(-1).to_numpy(dtype=int)
    elif lines is not None:
        tool_no = tool_numbers_from_source(lines, mv["line"].to_numpy())
    else:
        tool_no = np.full(len(mv), -1, dtype=int)
    table: dict[int, Tool] = {}
    if lines is not None:
        guessed = tools_from_comments(lines)
        if guessed:
            notes.append({"code": "tools_from_comments", "severity": "info",
                          "message": "tool sizes read from tool-change comments: "
                                     + ", ".join(f"T{n} {t.shape} {t.diameter:g} mm" for n, t in sorted(guessed.items()))})
        table.update(guessed)
    if project is not None:
        table.update(project.tools)
    if tool_table is not None:
        table.update(load_tool_table(tool_table))
    wildcard: Tool | None = None
    explicit: set[int] = set()
    if tools:
        if isinstance(tools, Mapping):
            table.update(tools)
            explicit.update(tools)
        else:
            for spec in tools:
                t = parse_tool_spec(spec) if isinstance(spec, str) else spec
                if t.number is None:
                    wildcard = t
                else:
                    table[t.number] = t
                    explicit.add(t.number)
    used = sorted({int(t) for t in tool_no if t > 0}) or ([min(table)] if table else [1])
    if wildcard is not None:
        for n in used:
            if n not in explicit:
                table[n] = replace(wildcard, number=n)
    return table, tool_no, notes


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _out_dir(root: Path, job: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    d = root / f"{job}-{stamp}"
    n = 1
    while d.exists():
        n += 1
        d = root / f"{job}-{stamp}-{n}"
    d.mkdir(parents=True)
    return d


def run_job(source: str | Path | Toolpath, *, project: str | Path | None = None,
            tools: Mapping[int, Tool] | Sequence[str] | None = None,
            tool_table: str | Path | None = None, stock: Stock | str | None = None,
            cell_mm: float | None = None, machine: str | None = None, pocket: Any = None,
            floor_z: float | None = None, max_plunge_mm_min: float | None = None,
            timeout_s: float | None = None, cancel: threading.Event | None = None,
            progress: Callable[[int, int], Any] | None = None, job: str | None = None,
            out_root: str | Path | None = None, engine: Engine | None = None,
            db_url: str | None = None, media: bool = True, frames: int = 40,
            camotics_check: bool = True, reader_kw: Mapping[str, Any] | None = None) -> SimRun:
    """Run one simulation job end to end (see the module docstring).

    Args:
        source: G-code file, ``moves.json`` or Toolpath.
        project: a ``.camotics`` project (tools, workpiece).
        tools, tool_table: see :func:`resolve_tools`.
        stock: a :class:`Stock` or ``"xmin,ymin,zmin,xmax,ymax,zmax"``; default: the
            project's workpiece, else automatic.
        cell_mm, machine, pocket, floor_z, max_plunge_mm_min, timeout_s, cancel, frames:
            passed to :func:`workbench.sim.simulate`.
        progress: ``progress(moves_done, moves_total)`` (e.g. a tqdm update); its return
            value is ignored here, use ``cancel`` to stop.
        job: job name (default: the source file's stem); out_root: default
            ``reports/sim``; engine / db_url: the database (default
            :func:`workbench.db.make_engine`).
        media: write snapshot, MP4 and GIF; camotics_check: run ``camsim`` if on PATH.

    Returns:
        :class:`SimRun`; it does not raise for failures a user can cause: the status says
        ``failed`` with the error (class and message), as the row does.
    """
    from ..db import make_engine

    eng = engine if engine is not None else make_engine(db_url)
    ensure_tables(eng)
    run_id = str(uuid.uuid4())
    src_path = None if isinstance(source, Toolpath) else Path(source)
    job = job or (src_path.stem if src_path else "toolpath")
    root = Path(out_root) if out_root is not None else REPORTS_DIR / "sim"
    out = _out_dir(root, job)
    log_path = out / "sim.log"
    logger = logging.getLogger(f"workbench.sim.run.{run_id}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    now = datetime.now(timezone.utc)
    with eng.begin() as conn:
        conn.execute(insert(sim_runs).values(
            id=run_id, job=job, status="running", progress=0.0,
            source_path=str(src_path) if src_path else None,
            project_path=str(project) if project else None, out_dir=str(out), log_path=str(log_path),
            created_at=now, started_at=now))
    t0 = time.monotonic()
    run = SimRun(run_id, "running", out)
    last_db = [0.0]

    def on_progress(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        t = time.monotonic()
        if t - last_db[0] >= 1.0 or done == total:
            last_db[0] = t
            with eng.begin() as conn:
                conn.execute(update(sim_runs).where(sim_runs.c.id == run_id)
                             .values(progress=round(done / max(total, 1), 4)))

    res: SimResult | None = None
    sim_s = media_s = None
    try:
        logger.info("job %s: source %s, project %s", job, src_path, project)
        proj = load_project(project) if project is not None else None
        tp, lines, notes = load_source(source, reader_kw=reader_kw)
        logger.info("read %d moves", len(tp.moves))
        table, tool_no, tnotes = resolve_tools(tp, lines, tools=tools, tool_table=tool_table, project=proj)
        notes += tnotes
        if isinstance(stock, str):
            stock = parse_stock(stock)
        if stock is None and proj is not None:
            stock = proj.stock
            if stock is None:
                stock = auto_stock(tp, table, tool_no, margin=proj.margin_mm)
                notes.append({"code": "auto_stock", "severity": "info",
                              "message": f"stock from the toolpath extent + project margin {proj.margin_mm:g} mm"})
        ts = time.monotonic()
        res = simulate(tp, table, stock, cell_mm=cell_mm, tool_numbers=tool_no, floor_z=floor_z,
                       max_plunge_mm_min=max_plunge_mm_min, pocket=pocket, machine=machine,
                       progress=on_progress, timeout_s=timeout_s, cancel=cancel,
                       frames=frames if media else 0)
        sim_s = time.monotonic() - ts
        run.result = res
        logger.info("simulated %d moves in %.2f s: removed %.1f mm3, %d collision(s), %d violation record(s)",
                    res.moves, sim_s, res.removed_volume_mm3, res.collision_count, len(res.violations))
        check = cross_check(project, res.heightmap) if (camotics_check and project) else None
        if check:
            logger.info("camotics cross-check: %s", check["message"])
        paths: dict[str, Path | None] = {"snapshot": None, "video": None, "gif": None}
        media_error: EncodingError | None = None
        tm = time.monotonic()
        if media:
            from .media import write_gif, write_snapshot, write_video
            for key, fn, name in (("snapshot", write_snapshot, "snapshot.png"),
                                  ("video", write_video, "sim.mp4"), ("gif", write_gif, "sim.gif")):
                try:
                    paths[key] = fn(res, out / name)
                except EncodingError as exc:
                    logger.error("%s", exc)
                    notes.append({"code": "encoding_failed", "severity": "error", "message": str(exc)})
                    media_error = media_error or exc
        media_s = time.monotonic() - tm
        rel = {k: (v.name if v else None) for k, v in paths.items()}
        report = build_report(res, job=job, source_kind="toolpath" if (src_path is None or src_path.suffix == ".json") else "gcode",
                              source_path=str(src_path) if src_path else None,
                              project_path=str(project) if project else None,
                              sha256=_sha256(src_path) if src_path else None, machine=machine,
                              video_path=rel["video"], snapshot_path=rel["snapshot"], gif_path=rel["gif"],
                              notes=notes, camotics_check=check)
        run.report = report
        run.report_path = write_report(report, out / "report.json")
        run.artefacts = paths
        if media_error is not None:
            raise media_error
        run.status = "succeeded"
    except (SimCancelled,) as exc:
        run.status, run.error, run.error_class = "cancelled", str(exc), type(exc).__name__
    except (WorkbenchError, OSError) as exc:
        run.status, run.error, run.error_class = "failed", str(exc), type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - record any crash in the row before re-raising
        run.status, run.error, run.error_class = "failed", f"internal error: {exc!r}", type(exc).__name__
        logger.exception("internal error")
        _finish(eng, run, t0, sim_s, media_s, logger, handler)
        raise
    if run.status != "succeeded":
        logger.error("%s: %s", run.error_class, run.error)
    _finish(eng, run, t0, sim_s, media_s, logger, handler)
    return run


def _finish(eng: Engine, run: SimRun, t0: float, sim_s: float | None, media_s: float | None,
            logger: logging.Logger, handler: logging.Handler) -> None:
    a = run.artefacts
    with eng.begin() as conn:
        extra = {"progress": 1.0} if run.status == "succeeded" else {}
        conn.execute(update(sim_runs).where(sim_runs.c.id == run.id).values(
            status=run.status, **extra,
            report_json=json.dumps(run.report) if run.report else None,
            report_path=str(run.report_path) if run.report_path else None,
            snapshot_path=str(a.get("snapshot")) if a.get("snapshot") else None,
            video_path=str(a.get("video")) if a.get("video") else None,
            gif_path=str(a.get("gif")) if a.get("gif") else None,
            error_class=run.error_class, error=run.error,
            finished_at=datetime.now(timezone.utc), sim_s=sim_s, media_s=media_s,
            duration_s=time.monotonic() - t0))
    logger.info("status %s", run.status)
    logger.removeHandler(handler)
    handler.close()
