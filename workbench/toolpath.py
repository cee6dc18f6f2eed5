"""The moves table: the one data contract every stage of the Workbench speaks.

A toolpath is a :class:`Toolpath`: an ordered pandas DataFrame with one row per move
(``moves``), the position before the first move (``start``) and free-form ``meta`` (tool,
parameters, provenance). The planner writes it, the G-code reader produces it from a program,
the motion planner annotates it, the G-code writer prints it.

Columns (all lengths in mm, absolute coordinates, feeds in mm/min):

==================  ========  ==============================================================
column              dtype     meaning
==================  ========  ==============================================================
``code``            str       ``G0`` rapid, ``G1`` line, ``G2`` CW arc, ``G3`` CCW arc,
                              ``G4`` dwell (no motion)
``x, y, z``         float     end point of the move
``i, j, k``         float     arc centre minus start point (G2/G3); NaN for lines. ``k`` is
                              used in the G18 (ZX) and G19 (YZ) planes only
``plane``           int       17 (XY), 18 (ZX) or 19 (YZ): the arc plane
``feed``            float     requested feed, mm/min; NaN for G0 (the machine's rapid rate)
``len_mm``          float     path length of the move (arc length for arcs, helix included)
``radius_mm``       float     arc radius; NaN for lines
``kind``            str       ``cut``, ``link``, ``ramp``, ``plunge``, ``rapid``, ``dwell``
``engagement_deg``  float     radial engagement angle of the move; NaN where not known
``slowdown``        float     feed factor 0..1 from engagement (1.0 at or under target)
``trochoid``        bool      the move belongs to a trochoidal loop
``line``            int       source line number (G-code reader); 0 for planned moves
``dwell_s``         float     dwell time of a G4 row, seconds; 0 otherwise
``rest_before``     bool      the controller is at rest before this move (program start,
                              spindle start/stop or speed change, tool change, dwell, M0/M1):
                              the motion planner must plan a full stop before it
==================  ========  ==============================================================

The JSON form of the original system (``moves.json``, logs)::

    [{"code": "G1", "x": 10, "y": 0, "z": -1, "f": 1200,
      "meta": {"slowdown": 1.0, "trochoid": false, "engagement_deg": 53.1, "kind": "cut"}}]

with ``i``/``j`` on arcs; :func:`to_json_moves` and :func:`from_json_moves` convert exactly
(floats round-trip bit for bit through JSON).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .errors import InputError

MOVE_CODES: tuple[str, ...] = ("G0", "G1", "G2", "G3", "G4")
MOVE_KINDS: tuple[str, ...] = ("cut", "link", "ramp", "plunge", "rapid", "dwell")

#: Column name -> (dtype, default). Order is the canonical column order.
MOVE_COLUMNS: dict[str, tuple[str, Any]] = {
    "code": ("object", "G1"),
    "x": ("float64", math.nan),
    "y": ("float64", math.nan),
    "z": ("float64", math.nan),
    "i": ("float64", math.nan),
    "j": ("float64", math.nan),
    "k": ("float64", math.nan),
    "plane": ("int64", 17),
    "feed": ("float64", math.nan),
    "len_mm": ("float64", 0.0),
    "radius_mm": ("float64", math.nan),
    "kind": ("object", "cut"),
    "engagement_deg": ("float64", math.nan),
    "slowdown": ("float64", 1.0),
    "trochoid": ("bool", False),
    "line": ("int64", 0),
    "dwell_s": ("float64", 0.0),
    "rest_before": ("bool", False),
}

#: Columns the motion planner adds (see ``workbench.machine``).
MOTION_COLUMNS: tuple[str, ...] = ("v_entry", "v_exit", "v_peak", "t_s", "limit")

#: The values of the ``limit`` column (DESIGN.md, "Motion plan columns").
LIMITS: tuple[str, ...] = ("feed_cap", "accel", "jerk", "none")


def empty_moves() -> pd.DataFrame:
    """An empty moves table with every column of :data:`MOVE_COLUMNS` and its dtype."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in MOVE_COLUMNS.items()})


def moves_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a moves table from row dicts (or a partial DataFrame), filling defaults.

    Missing columns, and missing values in them (NaN/None), take the defaults of
    :data:`MOVE_COLUMNS` (columns whose default is NaN keep NaN); extra columns are kept after
    the canonical ones. Returns a new DataFrame with a fresh RangeIndex.
    """
    df = pd.DataFrame(rows if isinstance(rows, pd.DataFrame) else list(rows)).reset_index(drop=True)
    for c, (dtype, default) in MOVE_COLUMNS.items():
        if c not in df.columns:
            df[c] = default
        if dtype == "bool":
            df[c] = df[c].fillna(default).astype(bool)
        elif dtype == "int64":
            df[c] = df[c].fillna(default).astype("int64")
        elif dtype == "float64":
            df[c] = df[c].astype("float64")
            if not (isinstance(default, float) and math.isnan(default)):
                df[c] = df[c].fillna(default)
        else:
            df[c] = df[c].astype(object).where(df[c].notna(), default)
    extra = [c for c in df.columns if c not in MOVE_COLUMNS]
    return df[list(MOVE_COLUMNS) + extra]


def validate_moves(df: pd.DataFrame) -> None:
    """Check that ``df`` follows the moves-table contract.

    Raises:
        InputError: naming the first missing column, unknown code or kind, or non-finite
            end point.
    """
    missing = [c for c in MOVE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"moves table lacks column(s) {missing}")
    bad = ~df["code"].isin(MOVE_CODES)
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"moves table row {r}: unknown code {df['code'].iloc[r]!r}")
    bad = ~df["kind"].isin(MOVE_KINDS)
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"moves table row {r}: unknown kind {df['kind'].iloc[r]!r}")
    xyz = df[["x", "y", "z"]].to_numpy(dtype=float)
    if len(xyz) and not np.isfinite(xyz).all():
        r = int(np.flatnonzero(~np.isfinite(xyz).all(axis=1))[0])
        raise InputError(f"moves table row {r}: end point is not finite")


@dataclass
class Toolpath:
    """An ordered toolpath.

    Attributes:
        moves: the moves table (see module docstring), one row per move.
        start: (x, y, z) in mm, the position before the first move.
        meta: free-form metadata (tool diameter, parameters, source file, ...); JSON-serialisable.
    """

    moves: pd.DataFrame
    start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.moves)

    def starts(self) -> np.ndarray:
        """Start point of every move, shape (n, 3), mm."""
        end = self.moves[["x", "y", "z"]].to_numpy(dtype=float)
        out = np.empty_like(end)
        if len(end):
            out[0] = self.start
            out[1:] = end[:-1]
        return out


_META_KEYS = ("kind", "slowdown", "trochoid", "engagement_deg", "len_mm", "radius_mm", "line",
              "plane", "dwell_s", "rest_before")


def _json_num(v: Any) -> Any:
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if math.isnan(v) else v
    return v


def to_json_moves(moves: pd.DataFrame) -> list[dict[str, Any]]:
    """Convert a moves table to the original JSON moves array.

    Output: ``[{"code", "x", "y", "z", "f"?, "i"?, "j"?, "k"?, "meta": {...}}]``; ``f`` is the
    feed in mm/min (absent on G0), ``i``/``j`` (and ``k``) only on arcs; NaN values are left
    out. ``meta`` carries kind, slowdown, trochoid, engagement_deg, len_mm, radius_mm and any
    motion-plan columns present (``limit``, ``t_s``, ...).
    """
    out: list[dict[str, Any]] = []
    cols = set(moves.columns)
    motion = [c for c in MOTION_COLUMNS if c in cols]
    for rec in moves.to_dict("records"):
        m: dict[str, Any] = {"code": rec["code"]}
        for a in ("x", "y", "z"):
            m[a] = _json_num(rec[a])
        f = _json_num(rec.get("feed"))
        if f is not None and rec["code"] != "G0":
            m["f"] = f
        if rec["code"] in ("G2", "G3"):
            for a in ("i", "j", "k"):
                v = _json_num(rec.get(a))
                if v is not None:
                    m[a] = v
        meta = {}
        for key in _META_KEYS + tuple(motion):
            if key in rec:
                v = _json_num(rec[key])
                if v is not None:
                    meta[key] = v
        m["meta"] = meta
        out.append(m)
    return out


def from_json_moves(items: list[Mapping[str, Any]]) -> pd.DataFrame:
    """Convert the original JSON moves array back to a moves table.

    Accepts what :func:`to_json_moves` writes and the original system's minimal form
    (``{"code": "G1", "x": 10, "y": 0}``, where a missing axis keeps its previous value).

    Raises:
        InputError: naming the index of an item that is not an object, lacks ``code``, or
            has an unknown code.
    """
    rows: list[dict[str, Any]] = []
    last = {"x": 0.0, "y": 0.0, "z": 0.0}
    for n, it in enumerate(items):
        if not isinstance(it, Mapping) or "code" not in it:
            raise InputError(f"moves[{n}]: expected an object with a 'code', got {it!r:.80}")
        code = str(it["code"]).upper()
        if code not in MOVE_CODES:
            raise InputError(f"moves[{n}]: unknown code {it['code']!r}")
        row: dict[str, Any] = {"code": code}
        for a in ("x", "y", "z"):
            v = it.get(a)
            row[a] = float(v) if v is not None else last[a]
            last[a] = row[a]
        row["feed"] = float(it["f"]) if it.get("f") is not None else math.nan
        for a in ("i", "j", "k"):
            row[a] = float(it[a]) if it.get(a) is not None else math.nan
        meta = it.get("meta") or {}
        for key in _META_KEYS + MOTION_COLUMNS:
            if key in meta and meta[key] is not None:
                row[key] = meta[key]
        if "kind" not in row:
            row["kind"] = "rapid" if code == "G0" else ("dwell" if code == "G4" else "cut")
        rows.append(row)
    return moves_frame(rows) if rows else empty_moves()
