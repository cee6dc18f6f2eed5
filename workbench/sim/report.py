"""sim_report v1: build, validate (JSON Schema) and write the simulation report.

The schema is ``workbench/sim/sim_report.schema.json`` (draft 2020-12): the original task's
fields (collision_count, removed_volume_mm3, est_time_s, sim_video_path, sim_snapshot_path,
notes[]) plus the simulator's (violations with line numbers, stock, tools, cell size,
duration). Every report is validated before it is written.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any


from .errors import SimError
from .simulate import COLLISION_CODES, SimResult

__all__ = ["SCHEMA_PATH", "load_schema", "build_report", "validate_report", "write_report"]

SCHEMA_PATH: Path = Path(__file__).with_name("sim_report.schema.json")


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The sim_report v1 JSON Schema (parsed once)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _clean(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def build_report(result: SimResult, *, job: str = "sim", source_kind: str = "gcode",
                 source_path: str | None = None, project_path: str | None = None,
                 sha256: str | None = None, machine: str | None = None,
                 video_path: str | None = None, snapshot_path: str | None = None,
                 gif_path: str | None = None, notes: list[dict[str, str]] | None = None,
                 camotics_check: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble a sim_report v1 dict from a :class:`SimResult` (not yet validated).

    Media paths should be relative to the report folder (they travel with it). A note is added
    for each violation code found (severity of the worst record), so a reader of ``notes[]``
    alone sees the findings, as the original task's UI did.
    """
    counts: dict[str, int] = {}
    worst: dict[str, str] = {}
    rank = {"info": 0, "warning": 1, "error": 2}
    for v in result.violations:
        counts[v.code] = counts.get(v.code, 0) + v.moves
        if rank[v.severity] > rank.get(worst.get(v.code, "info"), -1) or v.code not in worst:
            worst[v.code] = v.severity
    all_notes = list(result.notes) + list(notes or [])
    for code, k in counts.items():
        first = next(v for v in result.violations if v.code == code)
        kind = "collision" if code in COLLISION_CODES else "violation"
        all_notes.append({"code": code, "severity": worst[code],
                          "message": f"{k} move(s) with {code.replace('_', ' ')} ({kind}); first at line {first.line}"})
    hm = result.heightmap
    rep: dict[str, Any] = {
        "schema": "sim_report/v1",
        "collision_count": int(result.collision_count),
        "removed_volume_mm3": max(float(result.removed_volume_mm3), 0.0),
        "est_time_s": max(float(result.est_time_s), 0.0),
        "sim_video_path": video_path,
        "sim_snapshot_path": snapshot_path,
        "notes": all_notes,
        "sim_gif_path": gif_path,
        "job": job,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {"kind": source_kind, "path": source_path, "project": project_path,
                   "moves": int(result.moves), "sha256": sha256},
        "time_source": result.time_source,
        "machine": machine,
        "violations": [v.as_dict() for v in result.violations],
        "violation_counts": counts,
        "stock": result.stock.summary() if result.stock is not None else hm.stock.summary(),
        "tools": [t.summary() for t in result.tools.values()],
        "cell_size_mm": float(hm.cell),
        "grid": hm.summary(),
        "moves": int(result.moves),
        "segments": int(result.segments),
        "cells_updated": int(result.cells_updated),
        "duration_s": float(result.duration_s),
    }
    if camotics_check is not None:
        rep["camotics_check"] = camotics_check
    return _clean(rep)


def validate_report(report: dict[str, Any]) -> None:
    """Validate against sim_report v1.

    Raises:
        SimError: naming the JSON path and what is wrong (a bug in the report builder, or a
            hand-edited report).
    """
    import jsonschema  # imported here: its format checkers take seconds to import (CLI start-up)

    validator = jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        raise SimError(f"report does not match sim_report v1 at {where}: {e.message}"
                       + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))


def write_report(report: dict[str, Any], path: str | Path) -> Path:
    """Validate ``report`` and write it as indented JSON to ``path``. Returns the path.

    Raises:
        SimError: the report is not valid sim_report v1 (nothing is written).
    """
    validate_report(report)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return p
