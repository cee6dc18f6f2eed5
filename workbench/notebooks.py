"""Run the Workbench's notebooks headless: the papermill runner used by the CLI and the tests.

A report is a folder ``reports/<kind>/<job>-<timestamp>/`` holding the executed notebook, its
HTML rendering, and whatever artefacts the notebook wrote there (the notebook receives the
folder as its ``report_dir`` parameter). This module keeps that convention in one place.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import InputError
from .paths import REPO_ROOT, REPORTS_DIR

NOTEBOOK_DIR: Path = REPO_ROOT / "notebooks"

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, default: str = "job") -> str:
    """A file-name-safe version of ``name``: no path separators, no traversal, no spaces.

    ``"../../etc/x"`` -> ``"etc_x"``; an empty result gives ``default``.
    """
    cleaned = _SAFE.sub("_", str(name)).strip("._-")
    cleaned = re.sub(r"_+", "_", cleaned)
    return cleaned[:80] or default


def timestamp() -> str:
    """UTC timestamp used in report folder names, e.g. ``20261122T175801Z``."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def report_dir(kind: str, job: str, *, root: Path | None = None, stamp: str | None = None) -> Path:
    """Create and return ``<root>/<kind>/<job>-<timestamp>/`` (root defaults to ``REPORTS_DIR``)."""
    base = Path(root) if root is not None else REPORTS_DIR
    out = base / safe_name(kind) / f"{safe_name(job)}-{stamp or timestamp()}"
    n = 1
    candidate = out
    while candidate.exists():
        n += 1
        candidate = out.with_name(f"{out.name}-{n}")
    candidate.mkdir(parents=True)
    return candidate


def notebook_path(name: str) -> Path:
    """Path of the project notebook ``name`` (with or without ``.ipynb``).

    Raises:
        InputError: if there is no such notebook; the message lists the available ones.
    """
    p = NOTEBOOK_DIR / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not p.is_file():
        have = sorted(q.stem for q in NOTEBOOK_DIR.glob("*.ipynb"))
        raise InputError(f"no notebook {name!r} in {NOTEBOOK_DIR}; available: {', '.join(have)}")
    return p


@dataclass(frozen=True)
class NotebookRun:
    """The outcome of :func:`run_notebook`.

    Attributes:
        report_dir: the report folder.
        notebook: the executed notebook (``<name>.ipynb`` inside report_dir).
        html: its HTML rendering, or None when ``html=False``.
    """

    report_dir: Path
    notebook: Path
    html: Path | None


def run_notebook(name: str, parameters: Mapping[str, Any] | None = None, *, kind: str | None = None,
                 job: str = "job", out_dir: Path | None = None, html: bool = True,
                 timeout_s: int = 1800, progress: bool = False) -> NotebookRun:
    """Execute a project notebook with papermill into a report folder.

    Args:
        name: notebook name in ``notebooks/`` (e.g. ``"pocket_lab"``).
        parameters: values for the notebook's ``parameters`` cell; ``report_dir`` is added.
        kind: report kind (folder under ``reports/``); defaults to ``name``.
        job: job name (sanitised with :func:`safe_name`).
        out_dir: use this folder instead of creating ``reports/<kind>/<job>-<timestamp>/``.
        html: also write ``<name>.html`` with nbconvert (code cells hidden).
        timeout_s: per-cell timeout.
        progress: show papermill's progress bar.

    Returns:
        :class:`NotebookRun`.

    Raises:
        InputError: unknown notebook.
        papermill.PapermillExecutionError: a cell raised; the executed notebook is kept in the
            report folder for diagnosis.
    """
    import papermill as pm

    src = notebook_path(name)
    folder = Path(out_dir) if out_dir is not None else report_dir(kind or src.stem, job)
    folder.mkdir(parents=True, exist_ok=True)
    params = dict(parameters or {})
    params["report_dir"] = str(folder)
    executed = folder / src.name
    pm.execute_notebook(str(src), str(executed), parameters=params, cwd=str(REPO_ROOT),
                        progress_bar=progress, request_save_on_cell_execute=False,
                        execution_timeout=timeout_s, kernel_name="python3")
    html_path = None
    if html:
        html_path = export_html(executed)
    return NotebookRun(folder, executed, html_path)


def export_html(notebook: Path) -> Path:
    """Render an executed notebook to HTML beside it (input cells hidden), return the path."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    out = Path(notebook).with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


#: Parameters a page's query string may not set: a shared link must not redirect where reports
#: are written or which run log a job is recorded in.
NOT_FROM_QUERY: frozenset[str] = frozenset({"report_dir", "out_root", "log_db", "log_run", "db_url", "db_path"})


def query_overrides(defaults: Mapping[str, Any], query: str | None = None) -> dict[str, Any]:
    """Values from a Voila query string (``?tool_d=8&layers=A,B``) for known parameters.

    Voila exposes the page's query string to the kernel as ``$QUERY_STRING``; this reads it
    (or ``query``) and converts each value to the type of the parameter's default: bool
    (``1/true/yes``), int, float, list (comma-separated), None-able strings (``none`` -> None).
    Unknown names are ignored, so a shared link cannot inject arbitrary variables, and so are
    :data:`NOT_FROM_QUERY` (where files are written, which database is logged to).

    Returns:
        name -> converted value, only for the names present in the query.

    Raises:
        InputError: a value cannot be converted (names the parameter and the value).
    """
    import os
    from urllib.parse import parse_qsl

    q = os.environ.get("QUERY_STRING", "") if query is None else query
    out: dict[str, Any] = {}
    for key, raw in parse_qsl(q, keep_blank_values=True):
        if key not in defaults or key in NOT_FROM_QUERY:
            continue
        d = defaults[key]
        try:
            if raw.lower() in ("none", "null"):
                out[key] = None
            elif isinstance(d, bool):
                out[key] = raw.lower() in ("1", "true", "yes", "on")
            elif isinstance(d, int):
                out[key] = int(raw)
            elif isinstance(d, float):
                out[key] = float(raw)
            elif isinstance(d, (list, tuple)):
                out[key] = [v for v in raw.split(",") if v]
            else:
                out[key] = raw
        except ValueError:
            raise InputError(f"query parameter {key}={raw!r}: expected {type(d).__name__}") from None
    return out
