"""Writing and reading the CAM run log.

:func:`open_log` makes an engine through :func:`workbench.db.make_engine` (SQLite file in WAL
mode by default, any SQLAlchemy URL otherwise) and applies the migrations; the returned
:class:`RunLog` validates and writes runs, and aggregates the bottleneck distribution
(:meth:`RunLog.caps`). A run and its segments are written in one transaction after the whole
input has been validated, so bad input never leaves a half-written run.
"""

from __future__ import annotations

import math
import time
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..db import make_engine
from ..errors import InputError
from ..migrations import upgrade
from ..toolpath import LIMITS, MOVE_CODES
from .tables import RUN_COLUMNS, SEGMENT_COLUMNS, runs, segments


class RunLogError(InputError):
    """A run or segment to log is invalid, or the log has nothing for a query."""


class NoLogsError(RunLogError):
    """The run log holds no runs (or no segments) for the machine asked about."""


# ---------------------------------------------------------------------------- validation

def _is_num(v: Any) -> bool:
    return not isinstance(v, (bool, np.bool_)) and isinstance(v, (int, float, np.integer, np.floating))


def _number(where: str, v: Any, *, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False) -> float:
    if not _is_num(v):
        raise RunLogError(f"{where}: expected a number, got {type(v).__name__} {v!r:.40}")
    v = float(v)
    if not math.isfinite(v):
        raise RunLogError(f"{where}: expected a finite number, got {v}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise RunLogError(f"{where}: must be {'>' if lo_open else '>='} {lo:g}, got {v:g}")
    if hi is not None and v > hi:
        raise RunLogError(f"{where}: must be <= {hi:g}, got {v:g}")
    return v


def _integer(where: str, v: Any, *, lo: int = 0) -> int:
    f = _number(where, v, lo=lo)
    if f != int(f):
        raise RunLogError(f"{where}: expected an integer, got {v!r}")
    return int(f)


def _text(where: str, v: Any, *, required: bool = False, max_len: int = 500) -> str | None:
    if v is None:
        if required:
            raise RunLogError(f"{where}: required")
        return None
    if not isinstance(v, str):
        raise RunLogError(f"{where}: expected text, got {type(v).__name__} {v!r:.40}")
    if required and not v.strip():
        raise RunLogError(f"{where}: must not be empty")
    if len(v) > max_len:
        raise RunLogError(f"{where}: longer than {max_len} characters")
    return v


REQUIRED_RUN_FIELDS: tuple[str, ...] = ("machine_id", "material_id", "tool_d", "stepover", "stepdown")


def validate_run(run: Mapping[str, Any]) -> dict[str, Any]:
    """Check a run record and return the row to insert.

    Required: ``machine_id``, ``material_id`` (text), ``tool_d`` (mm, 0 < D <= 200),
    ``stepover`` (fraction of D, 0 < s <= 1), ``stepdown`` (mm, 0 < ap <= 100). Optional:
    ``job_name``, ``post_id``, ``notes`` (text), ``feed_xy`` (mm/min > 0), ``rpm`` (integer >= 0),
    ``est_time_s`` (>= 0), ``act_time_s`` (> 0), ``ts_utc`` (Unix s; default now).

    Raises:
        RunLogError: naming the field (``run.tool_d: expected a number, got str 'six'``),
            including unknown fields (typos).
    """
    if not isinstance(run, Mapping):
        raise RunLogError(f"run: expected an object, got {type(run).__name__}")
    unknown = sorted(set(run) - set(RUN_COLUMNS))
    if unknown:
        raise RunLogError(f"run: unknown field(s) {unknown}; known: {list(RUN_COLUMNS)}")
    for f in REQUIRED_RUN_FIELDS:
        if run.get(f) is None:
            raise RunLogError(f"run.{f}: required field is missing")
    row: dict[str, Any] = {
        "machine_id": _text("run.machine_id", run["machine_id"], required=True, max_len=200),
        "material_id": _text("run.material_id", run["material_id"], required=True, max_len=200),
        "tool_d": _number("run.tool_d", run["tool_d"], lo=0, lo_open=True, hi=200),
        "stepover": _number("run.stepover", run["stepover"], lo=0, lo_open=True, hi=1),
        "stepdown": _number("run.stepdown", run["stepdown"], lo=0, lo_open=True, hi=100),
    }
    for f in ("job_name", "post_id", "notes"):
        row[f] = _text(f"run.{f}", run.get(f), max_len=2000)
    opt = {"feed_xy": dict(lo=0, lo_open=True), "est_time_s": dict(lo=0),
           "act_time_s": dict(lo=0, lo_open=True)}
    for f, kw in opt.items():
        row[f] = None if run.get(f) is None else _number(f"run.{f}", run[f], **kw)
    row["rpm"] = None if run.get("rpm") is None else _integer("run.rpm", run["rpm"])
    row["ts_utc"] = int(time.time()) if run.get("ts_utc") is None else _integer("run.ts_utc", run["ts_utc"])
    return row


def validate_segments(segs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check segment records and return the rows to insert (without ``run_id``).

    Fields: ``idx`` (integer >= 0, unique; default the list position), ``code`` (G0..G4),
    ``x, y`` (mm), ``len_mm`` (>= 0), ``limit`` (feed_cap|accel|jerk|none), ``slowdown`` (0..1),
    ``trochoid`` (bool or 0/1), ``radius_mm`` (> 0), ``feed_f`` (mm/min >= 0), ``t_s`` (>= 0);
    all but ``idx`` may be null.

    Raises:
        RunLogError: naming the segment and field (``segments[3].limit: ...``).
    """
    if isinstance(segs, (str, bytes, Mapping)) or not isinstance(segs, Iterable):
        raise RunLogError("segments: expected a list of objects")
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for n, s in enumerate(segs):
        w = f"segments[{n}]"
        if not isinstance(s, Mapping):
            raise RunLogError(f"{w}: expected an object, got {type(s).__name__}")
        unknown = sorted(set(s) - set(SEGMENT_COLUMNS))
        if unknown:
            raise RunLogError(f"{w}: unknown field(s) {unknown}; known: {list(SEGMENT_COLUMNS)}")
        row: dict[str, Any] = {}
        row["idx"] = n if s.get("idx") is None else _integer(f"{w}.idx", s["idx"])
        if row["idx"] in seen:
            raise RunLogError(f"{w}.idx: {row['idx']} appears twice (segments are unique on run_id, idx)")
        seen.add(row["idx"])
        code = s.get("code")
        if code is not None and (not isinstance(code, str) or code.upper() not in MOVE_CODES):
            raise RunLogError(f"{w}.code: expected one of {list(MOVE_CODES)}, got {code!r}")
        row["code"] = code.upper() if code is not None else None
        lim = s.get("limit")
        if lim is not None and lim not in LIMITS:
            raise RunLogError(f"{w}.limit: expected one of {list(LIMITS)}, got {lim!r}")
        row["limit"] = lim
        for f, kw in {"x": {}, "y": {}, "len_mm": dict(lo=0), "slowdown": dict(lo=0, hi=1),
                      "radius_mm": dict(lo=0, lo_open=True), "feed_f": dict(lo=0),
                      "t_s": dict(lo=0)}.items():
            v = s.get(f)
            if v is not None and _is_num(v) and math.isnan(float(v)):
                v = None
            row[f] = None if v is None else _number(f"{w}.{f}", v, **kw)
        tr = s.get("trochoid")
        if tr is None:
            row["trochoid"] = None
        elif isinstance(tr, (bool, np.bool_)) or (_is_num(tr) and float(tr) in (0.0, 1.0)):
            row["trochoid"] = int(bool(tr))
        else:
            raise RunLogError(f"{w}.trochoid: expected true/false, got {tr!r}")
        out.append(row)
    return out


# ---------------------------------------------------------------------------- the log

class RunLog:
    """The run log on one database (see :func:`open_log`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write_run(self, run: Mapping[str, Any], segments_: Iterable[Mapping[str, Any]] = ()) -> int:
        """Validate and write a run and its segments in one transaction; return the run id.

        Raises:
            RunLogError: see :func:`validate_run`, :func:`validate_segments` (nothing written).
        """
        row = validate_run(run)
        segs = validate_segments(segments_)
        with self.engine.begin() as conn:
            run_id = int(conn.execute(runs.insert().values(**row)).inserted_primary_key[0])
            if segs:
                conn.execute(segments.insert(), [{**s, "run_id": run_id} for s in segs])
        return run_id

    def delete_run(self, run_id: int) -> bool:
        """Delete a run (its segments go with it: ON DELETE CASCADE). True if it existed."""
        with self.engine.begin() as conn:
            return conn.execute(runs.delete().where(runs.c.id == int(run_id))).rowcount > 0

    def runs(self, machine_id: str | None = None) -> pd.DataFrame:
        """The runs (all, or one machine's) as a DataFrame ordered by id."""
        q = sa.select(runs).order_by(runs.c.id)
        if machine_id is not None:
            q = q.where(runs.c.machine_id == machine_id)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in runs.columns])

    def segments(self, machine_id: str | None = None, run_id: int | None = None) -> pd.DataFrame:
        """Segments joined with their run's ``machine_id`` (filtered by machine and/or run)."""
        q = sa.select(segments, runs.c.machine_id).join(runs, runs.c.id == segments.c.run_id) \
            .order_by(segments.c.run_id, segments.c.idx)
        if machine_id is not None:
            q = q.where(runs.c.machine_id == machine_id)
        if run_id is not None:
            q = q.where(segments.c.run_id == int(run_id))
        cols = [c.name for c in segments.columns] + ["machine_id"]
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).mappings().all(), columns=cols)

    def machines(self) -> list[str]:
        """Machine ids that have at least one run, sorted."""
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(sa.select(runs.c.machine_id).distinct()) if r[0])

    def caps(self, machine_id: str) -> dict[str, Any]:
        """Bottleneck distribution over the logged segments of ``machine_id``.

        Returns:
            ``{"machine_id", "runs", "segments", "counts": {feed_cap, accel, jerk, none},
            "count_share": {...}, "time_s": {...}, "time_share": {...}, "unlabelled"}``.
            ``counts`` is the original endpoint's response; shares are fractions (0..1) of the
            labelled segments (time: of those with ``t_s``).

        Raises:
            NoLogsError: the machine has no runs or no segments.
        """
        with self.engine.connect() as conn:
            n_runs = conn.execute(sa.select(sa.func.count()).select_from(runs)
                                  .where(runs.c.machine_id == machine_id)).scalar_one()
            if not n_runs:
                known = self.machines()
                raise NoLogsError(f"no runs logged for machine {machine_id!r}"
                                  + (f"; machines with logs: {known}" if known else "; the log is empty"))
            q = sa.select(segments.c.limit, sa.func.count(), sa.func.sum(segments.c.t_s)) \
                .join(runs, runs.c.id == segments.c.run_id) \
                .where(runs.c.machine_id == machine_id).group_by(segments.c.limit)
            rows = conn.execute(q).all()
        counts = {k: 0 for k in LIMITS}
        times = {k: 0.0 for k in LIMITS}
        unlabelled = 0
        for lim, n, ts in rows:
            if lim in counts:
                counts[lim] = int(n)
                times[lim] = float(ts or 0.0)
            else:
                unlabelled += int(n)
        total_n = sum(counts.values())
        if total_n == 0 and unlabelled == 0:
            raise NoLogsError(f"machine {machine_id!r} has {n_runs} run(s) but no segments logged")
        total_t = sum(times.values())
        return {
            "machine_id": machine_id, "runs": int(n_runs), "segments": total_n + unlabelled,
            "counts": counts,
            "count_share": {k: (v / total_n if total_n else 0.0) for k, v in counts.items()},
            "time_s": times,
            "time_share": {k: (v / total_t if total_t else 0.0) for k, v in times.items()},
            "unlabelled": unlabelled,
        }

    def log_plan(self, plan: Any, *, machine_id: str, material_id: str, job_name: str | None = None,
                 act_time_s: float | None = None, post_id: str | None = None,
                 notes: str | None = None, **run_fields: Any) -> int:
        """Log a planned toolpath in one call; return the run id.

        Args:
            plan: a ``MotionPlan`` (``.moves`` with ``t_s``/``limit``, ``.summary``) or a
                ``Toolpath``; tool_d, stepover (fraction of D), stepdown, feed (feed_xy) and rpm
                come from its ``meta`` unless given in ``run_fields``.
            machine_id, material_id, job_name, act_time_s (measured, s), post_id, notes.
            run_fields: any other run column (e.g. ``tool_d=6.0``, ``est_time_s``).

        Raises:
            RunLogError: as :meth:`write_run`.
        """
        run, segs = plan_to_records(plan)
        run.update({"machine_id": machine_id, "material_id": material_id, "job_name": job_name,
                    "act_time_s": act_time_s, "post_id": post_id, "notes": notes})
        run.update(run_fields)
        return self.write_run(run, segs)


def _meta_of(plan: Any) -> dict[str, Any]:
    meta = dict(getattr(plan, "meta", {}) or {})
    tp = getattr(plan, "toolpath", None)
    if tp is not None:
        meta = {**dict(getattr(tp, "meta", {}) or {}), **meta}
    return meta


def plan_to_records(plan: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run fields and segment records of a planned toolpath (see :meth:`RunLog.log_plan`)."""
    moves = getattr(plan, "moves", plan)
    if not isinstance(moves, pd.DataFrame):
        raise RunLogError(f"expected a MotionPlan, Toolpath or moves DataFrame, got {type(plan).__name__}")
    meta = _meta_of(plan)
    run: dict[str, Any] = {}
    from ..thermal.energy import meta_param
    for f, keys in {"tool_d": ("tool_d",), "stepover": ("stepover",), "stepdown": ("stepdown",),
                    "feed_xy": ("feed_xy", "feed"), "rpm": ("rpm", "spindle_rpm")}.items():
        for k in keys:
            v = meta_param(meta, k)
            if v is not None:
                run[f] = v
                break
    summary = getattr(plan, "summary", None)
    if isinstance(summary, Mapping) and summary.get("cycle_time_s") is not None:
        run["est_time_s"] = float(summary["cycle_time_s"])
    elif "t_s" in moves.columns and moves["t_s"].notna().all():
        run["est_time_s"] = float(moves["t_s"].sum())
    cols = {"code": "code", "x": "x", "y": "y", "len_mm": "len_mm", "limit": "limit",
            "slowdown": "slowdown", "trochoid": "trochoid", "radius_mm": "radius_mm",
            "feed_f": "feed", "t_s": "t_s"}
    have = {k: v for k, v in cols.items() if v in moves.columns}
    recs = []
    data = {k: moves[v].tolist() for k, v in have.items()}
    for n in range(len(moves)):
        rec: dict[str, Any] = {"idx": n}
        for k in have:
            v = data[k][n]
            if isinstance(v, float) and math.isnan(v):
                v = None
            rec[k] = v
        recs.append(rec)
    return run, recs


_LOGS: dict[str, RunLog] = {}


def open_log(url: str | None = None) -> RunLog:
    """Open (and migrate) the run log at ``url``: a SQLAlchemy URL, a SQLite file path, or None
    for :func:`workbench.db.default_url`. Logs are cached per URL within the process."""
    key = str(url) if url is not None else "<default>"
    log = _LOGS.get(key)
    if log is None:
        engine = make_engine(url)
        upgrade(engine)
        log = _LOGS[key] = RunLog(engine)
    return log


def write_run(run: Mapping[str, Any], segments_: Iterable[Mapping[str, Any]] = (), *,
              log: RunLog | None = None, url: str | None = None) -> int:
    """Validate and write one run with its segments (see :meth:`RunLog.write_run`); return run_id."""
    return (log or open_log(url)).write_run(run, segments_)


def caps(machine_id: str, *, log: RunLog | None = None, url: str | None = None) -> dict[str, Any]:
    """Bottleneck distribution of a machine (see :meth:`RunLog.caps`)."""
    return (log or open_log(url)).caps(machine_id)


def log_plan(plan: Any, *, machine_id: str, material_id: str, log: RunLog | None = None,
             url: str | None = None, **kw: Any) -> int:
    """Log a planned toolpath in one call (see :meth:`RunLog.log_plan`); return run_id."""
    return (log or open_log(url)).log_plan(plan, machine_id=machine_id, material_id=material_id, **kw)
