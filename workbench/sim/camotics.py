"""CAMotics interoperability: read ``.camotics`` projects; optional cross-check with ``camsim``.

A CAMotics project (JSON) carries the tools (with their own units), the workpiece bounds and
the program files. :func:`load_project` turns it into workbench tools and stock.

When the CAMotics command-line simulator ``camsim`` is on PATH, :func:`cross_check` runs it on
the same project (it writes an STL surface of the cut stock) and compares that surface with
the workbench heightmap: the top of the STL triangles' vertices per cell against the cell's
height. Without ``camsim`` the check is skipped with a message; CAMotics is not packaged for
this platform and detects no collisions, so it is never required.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..units import MM_PER_IN
from .errors import StockError, ToolSpecError
from .stock import Heightmap, Stock
from .tools import Tool, read_json, tool_from_camotics

__all__ = ["CamoticsProject", "load_project", "cross_check", "read_stl", "compare_surface"]


@dataclass
class CamoticsProject:
    """A parsed ``.camotics`` project.

    Attributes:
        path: the project file.
        units: project units (``metric`` or ``imperial``); bounds are in these units.
        tools: ``{number: Tool}`` in mm.
        stock: the workpiece (mm) when the project fixes it (``automatic: false``), else None.
        margin_mm: the automatic workpiece margin, mm.
        files: the program files named by the project (relative to the project folder).
    """

    path: Path
    units: str
    tools: dict[int, Tool]
    stock: Stock | None
    margin_mm: float = 0.0
    files: list[str] = field(default_factory=list)


def load_project(path: str | Path) -> CamoticsProject:
    """Read a CAMotics project.

    Raises:
        ToolSpecError: unreadable JSON or a bad tool (file and tool named).
        StockError: malformed workpiece bounds.
    """
    p = Path(path)
    data = read_json(p, "CAMotics project")
    if not isinstance(data, dict):
        raise ToolSpecError(f"{p}: not a CAMotics project (expected a JSON object)")
    units = str(data.get("units", "metric")).lower()
    k = MM_PER_IN if units in ("imperial", "inch") else 1.0
    tools: dict[int, Tool] = {}
    for key, val in (data.get("tools") or {}).items():
        try:
            n = int(key)
        except ValueError:
            raise ToolSpecError(f"{p}: tool key {key!r} is not a number") from None
        tools[n] = tool_from_camotics(n, val, source=str(p))
    wp = data.get("workpiece") or {}
    stock = None
    margin = float(wp.get("margin", 0) or 0) * k
    if wp and not wp.get("automatic", True):
        try:
            lo = [float(v) * k for v in wp["bounds"]["min"]]
            hi = [float(v) * k for v in wp["bounds"]["max"]]
        except (KeyError, TypeError, ValueError):
            raise StockError(f"{p}: workpiece bounds must be {{min: [x,y,z], max: [x,y,z]}}") from None
        stock = Stock(lo[0], lo[1], lo[2], hi[0], hi[1], hi[2], source="camotics")
    return CamoticsProject(p, units, tools, stock, margin, [str(f) for f in data.get("files", [])])


def read_stl(path: str | Path) -> np.ndarray:
    """Triangles of an STL file (binary or ASCII), shape (n, 3, 3), in the file's units."""
    data = Path(path).read_bytes()
    if len(data) >= 84:
        n = struct.unpack_from("<I", data, 80)[0]
        if 84 + 50 * n == len(data):
            rec = np.frombuffer(data, dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]),
                                count=n, offset=84)
            return rec["v"].astype(float)
    vals = [list(map(float, ln.split()[1:4])) for ln in data.decode("ascii", "replace").splitlines()
            if ln.strip().startswith("vertex")]
    return np.asarray(vals, dtype=float).reshape(-1, 3, 3)


def compare_surface(tris: np.ndarray, hm: Heightmap) -> dict[str, Any]:
    """Compare an STL surface with the heightmap.

    For each cell, the highest STL vertex (and triangle centroid) falling in it is the STL
    surface there; cells without a sample are ignored.

    Returns:
        ``{"cells": n compared, "mean_abs_diff_mm", "max_abs_diff_mm"}``.
    """
    pts = np.concatenate([tris.reshape(-1, 3), tris.mean(axis=1)])
    st = hm.stock
    ix = np.floor((pts[:, 0] - st.xmin) / hm.dx).astype(int)
    iy = np.floor((pts[:, 1] - st.ymin) / hm.dy).astype(int)
    ok = (ix >= 0) & (ix < hm.nx) & (iy >= 0) & (iy < hm.ny)
    top = np.full((hm.ny, hm.nx), -np.inf)
    np.maximum.at(top, (iy[ok], ix[ok]), pts[ok, 2])
    have = np.isfinite(top) & hm.material
    if not have.any():
        return {"cells": 0, "mean_abs_diff_mm": None, "max_abs_diff_mm": None}
    diff = np.abs(top[have] - np.maximum(hm.h[have], hm.bottom))
    return {"cells": int(have.sum()), "mean_abs_diff_mm": float(diff.mean()),
            "max_abs_diff_mm": float(diff.max())}


def cross_check(project: str | Path | None, hm: Heightmap, *, binary: str = "camsim",
                timeout_s: float = 600.0) -> dict[str, Any]:
    """Run CAMotics' ``camsim`` on the project and compare its surface with ``hm``.

    Returns:
        sim_report ``camotics_check``: ``status`` ``skipped`` (no binary or no project),
        ``ok`` (mean difference within two cells' worth of height), ``differs`` or ``failed``,
        and a ``message``.
    """
    exe = shutil.which(binary)
    if project is None:
        return {"status": "skipped", "message": "no CAMotics project given: cross-check skipped"}
    if exe is None:
        return {"status": "skipped",
                "message": f"'{binary}' (CAMotics) is not on PATH: cross-check skipped"}
    with tempfile.TemporaryDirectory() as tmp:
        stl = Path(tmp) / "camotics.stl"
        try:
            proc = subprocess.run([exe, str(project), str(stl)], capture_output=True, text=True,
                                  timeout=timeout_s, cwd=str(Path(project).parent))
        except subprocess.TimeoutExpired:
            return {"status": "failed", "message": f"camsim timed out after {timeout_s:g} s"}
        if proc.returncode != 0 or not stl.exists():
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or [""]
            return {"status": "failed", "message": f"camsim exit {proc.returncode}: {tail[0][:200]}"}
        cmp_ = compare_surface(read_stl(stl), hm)
    mean = cmp_["mean_abs_diff_mm"]
    if mean is None:
        return {"status": "failed", "message": "camsim surface does not overlap the stock", **_nums(cmp_)}
    ok = mean <= 2 * hm.cell
    return {"status": "ok" if ok else "differs",
            "message": f"camsim surface vs heightmap over {cmp_['cells']} cells: mean |dz| {mean:.3f} mm",
            **_nums(cmp_)}


def _nums(c: dict[str, Any]) -> dict[str, Any]:
    return {"mean_abs_diff_mm": c["mean_abs_diff_mm"], "max_abs_diff_mm": c["max_abs_diff_mm"]}
