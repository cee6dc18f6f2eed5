"""DXF import and export of pocket regions.

:func:`read_regions` turns the closed geometry of a DXF drawing into :class:`Region` objects
(shapely polygons with islands, in mm):

1. **Read** the file with ezdxf; INSERTed blocks are exploded (``virtual_entities``, nested
   blocks too; block entities on layer ``0`` take the INSERT's layer, as in AutoCAD).
2. **Units.** ``$INSUNITS`` gives the drawing unit (0 unitless is read as mm) unless
   ``units=`` overrides it. Real files lie: several guitar drawings declare metres
   (``$INSUNITS=6``) but hold millimetres. Policy (``units=None``): when the drawing's
   extents in the declared unit exceed :data:`PLAUSIBLE_MAX_MM` (5 m, larger than any shop
   router bed) while the same numbers read as millimetres are plausible, a
   :class:`UnitsWarning` is issued and millimetres are assumed; pass ``units=`` to override.
   Extents below :data:`PLAUSIBLE_MIN_MM` only warn (no reinterpretation is guessed). With
   an explicit ``units=`` the override is always honoured (a warning still flags implausible
   extents).
3. **Flatten** every curve to a polyline within a chord (sagitta) tolerance ``chord_tol`` mm.
   Circular arcs (ARC, CIRCLE, polyline bulges) use the sagitta relation
   ``s = r (1 - cos(theta/2))`` for a chord spanning ``theta``, hence
   ``n = ceil(sweep / (2 acos(1 - tol/r)))`` chords (standard CAM chordal-deviation rule,
   e.g. Farin, *Curves and Surfaces for CAGD*, or LinuxCNC's arc tolerance); ELLIPSE uses
   ezdxf's adaptive ``flattening(distance)``, SPLINE a de Boor evaluation with adaptive
   midpoint subdivision (:func:`spline_points`). Lengths in a drawing's own unit are
   converted to mm by the ``INSUNITS`` factors; the tolerances apply in mm.
4. **Chain** open pieces (LINE, ARC, open polylines, open splines/elliptical arcs) into closed
   loops: endpoints closer than ``join_tol`` mm are merged through a KD-tree (pieces may be
   drawn in either direction), pieces with a free end are pruned as open chains, and what
   remains is walked loop by loop (see :func:`_chain`). A chain that cannot close is an error
   naming the gap and both open ends; an outline that branches is an error naming the point.
5. **Validate** each loop (a self-intersecting loop is an error naming the crossing; nothing
   is repaired), drop loops under ``min_area``, de-duplicate coincident loops (a warning).
6. **Nest** loops by containment per layer: depth 0 (not inside any other loop) is an outer
   boundary, depth 1 an island of its parent, depth 2 (inside an island) a new outer
   boundary, and so on (even = outer, odd = island).

:func:`layer_report` does the same for every layer and tabulates the outcome without raising
for a bad layer; :func:`write_regions_dxf` writes regions back (R2010, one LWPOLYLINE per ring).
"""

from __future__ import annotations

import math
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from ..errors import DXFError, InputError
from ..units import MM_PER_IN
from .region import Region, region_from_polygon

__all__ = [
    "UnitsWarning",
    "DuplicateLoopWarning",
    "SkippedLayerWarning",
    "read_regions",
    "layer_report",
    "write_regions_dxf",
    "INSUNITS",
    "arc_segments",
    "spline_points",
    "PLAUSIBLE_MAX_MM",
    "PLAUSIBLE_MIN_MM",
]

#: ``$INSUNITS`` code -> (unit name, millimetres per unit). Codes from the AutoCAD DXF
#: reference (HEADER section, ``$INSUNITS``); factors are exact SI/imperial definitions.
INSUNITS: dict[int, tuple[str, float]] = {
    0: ("mm", 1.0),  # unitless: read as millimetres (documented policy)
    1: ("inch", MM_PER_IN),
    2: ("ft", 12 * MM_PER_IN),
    3: ("mi", 63360 * MM_PER_IN),
    4: ("mm", 1.0),
    5: ("cm", 10.0),
    6: ("m", 1000.0),
    7: ("km", 1.0e6),
    8: ("microinch", MM_PER_IN * 1e-6),
    9: ("mil", MM_PER_IN * 1e-3),
    10: ("yd", 36 * MM_PER_IN),
    11: ("angstrom", 1e-7),
    12: ("nm", 1e-6),
    13: ("um", 1e-3),
    14: ("dm", 100.0),
    15: ("dam", 1.0e4),
    16: ("hm", 1.0e5),
    17: ("Gm", 1.0e12),
}

#: Names accepted by ``units=`` -> ``$INSUNITS`` code.
UNIT_ALIASES: dict[str, int] = {
    "mm": 4, "millimeter": 4, "millimeters": 4, "millimetre": 4, "millimetres": 4,
    "in": 1, "inch": 1, "inches": 1, '"': 1,
    "ft": 2, "foot": 2, "feet": 2,
    "cm": 5, "centimeter": 5, "centimeters": 5, "centimetre": 5, "centimetres": 5,
    "m": 6, "meter": 6, "meters": 6, "metre": 6, "metres": 6,
    "mil": 9, "mils": 9, "thou": 9,
    "yd": 10, "yard": 10, "yards": 10,
    "um": 13, "micron": 13, "microns": 13, "µm": 13,
    "dm": 14,
}

#: Largest plausible drawing extent, mm (5 m: larger than any shop router or mill bed).
PLAUSIBLE_MAX_MM: float = 5000.0
#: Smallest plausible drawing extent, mm (a pocket smaller than 0.5 mm cannot be machined).
PLAUSIBLE_MIN_MM: float = 0.5

#: Entity types that can contribute geometry.
GEOMETRY_TYPES: frozenset[str] = frozenset(
    {"LWPOLYLINE", "POLYLINE", "LINE", "ARC", "CIRCLE", "ELLIPSE", "SPLINE"})

_MAX_INSERT_DEPTH = 16


class UnitsWarning(UserWarning):
    """The drawing's declared unit gives implausible extents (see module docstring)."""


class DuplicateLoopWarning(UserWarning):
    """The same closed outline is drawn twice on one layer; one copy was dropped."""


class SkippedLayerWarning(UserWarning):
    """``read_regions(layers=None)`` skipped a layer that has open pieces but no closed loop
    (a centre line, a wiring channel drawn as a path, an unfinished outline)."""


# --------------------------------------------------------------------------- data


@dataclass
class _Piece:
    """A flattened entity: points ``(n, 2)`` (drawing units until scaled, then mm)."""

    pts: np.ndarray
    closed: bool
    kind: str
    handle: str
    order: int


@dataclass
class _Loop:
    ring: np.ndarray  # (n, 2) mm, not repeating the first point
    pieces: list[_Piece]

    @property
    def order(self) -> int:
        return min(p.order for p in self.pieces)

    def describe(self) -> str:
        kinds = Counter(p.kind for p in self.pieces)
        handles = [p.handle for p in self.pieces[:4]]
        more = ", ..." if len(self.pieces) > 4 else ""
        return (f"{_count_str(kinds)} (handle{'s' if len(self.pieces) > 1 else ''} "
                f"{', '.join(handles)}{more})")


@dataclass
class _OpenChain:
    """Connected open pieces that belong to no closed loop, with their free ends (mm)."""

    pieces: list[_Piece]
    ends: list[np.ndarray]

    @property
    def gap(self) -> float:
        """Smallest distance between two free ends, mm (NaN with fewer than two)."""
        ge = self.gap_ends()
        return math.nan if ge is None else float(np.hypot(*(ge[0] - ge[1])))

    def gap_ends(self) -> tuple[np.ndarray, np.ndarray] | None:
        pairs = [(float(np.hypot(*(a - b))), i, j) for i, a in enumerate(self.ends)
                 for j, b in enumerate(self.ends) if i < j]
        if not pairs:
            return None
        _, i, j = min(pairs)
        return self.ends[i], self.ends[j]

    def describe(self) -> str:
        kinds = Counter(p.kind for p in self.pieces)
        handles = ", ".join(p.handle for p in self.pieces[:4]) + (", ..." if len(self.pieces) > 4 else "")
        what = f"{_count_str(kinds)} (handle{'s' if len(self.pieces) > 1 else ''} {handles})"
        ge = self.gap_ends()
        if ge is None:
            end = _fmt_pt(self.ends[0]) if self.ends else "?"
            return f"{what} dangles from a closed loop, free end at {end} mm"
        extra = ""
        if len(self.ends) > 2:
            extra = (f" (the chain branches: {len(self.ends)} free ends at "
                     f"{', '.join(_fmt_pt(e) for e in self.ends[:6])})")
        return (f"{what} leaves a gap of {self.gap:.3f} mm between its open ends "
                f"{_fmt_pt(ge[0])} and {_fmt_pt(ge[1])} mm{extra}")


@dataclass
class _Units:
    name: str
    scale: float  # mm per drawing unit
    declared: str
    note: str


@dataclass
class _Drawing:
    path: str
    layer_names: dict[str, str]  # lower-case -> name as drawn
    entities: dict[str, list[tuple[int, object]]]  # layer name -> (order, entity)
    counts: dict[str, Counter]
    units: _Units


@dataclass
class _LayerResult:
    layer: str
    loops: int = 0
    open_chains: list[_OpenChain] = field(default_factory=list)
    junctions: int = 0
    regions: list[Region] = field(default_factory=list)
    error: DXFError | None = None


# --------------------------------------------------------------------------- helpers


def _count_str(counts: Counter) -> str:
    return ", ".join(f"{k} x{v}" if v > 1 else k for k, v in sorted(counts.items()))


def _fmt_pt(p: Sequence[float]) -> str:
    return f"({p[0]:.3f}, {p[1]:.3f})"


def arc_segments(radius: float, sweep: float, chord_tol: float) -> int:
    """Number of chords for an arc so that the sagitta (chord-to-arc distance) is ≤ chord_tol.

    ``n = ceil(|sweep| / (2 acos(1 - tol/r)))``, from the sagitta of a chord spanning angle
    ``theta``: ``s = r (1 - cos(theta/2))``. At least one chord per 120° so a full circle
    is never fewer than 3 chords (also when ``tol >= r``).

    Args:
        radius: arc radius (any length unit, same as ``chord_tol``), > 0.
        sweep: swept angle, radians (sign ignored).
        chord_tol: allowed sagitta, > 0.
    """
    sweep = abs(sweep)
    n_min = max(1, math.ceil(sweep / (2 * math.pi / 3) - 1e-9))
    if radius <= 0 or chord_tol >= radius:
        return n_min
    step = 2.0 * math.acos(1.0 - chord_tol / radius)
    return max(n_min, math.ceil(sweep / step - 1e-9))


def _arc_points(cx: float, cy: float, r: float, a0: float, sweep: float, tol: float) -> np.ndarray:
    """Points of a circular arc from angle a0 (rad) sweeping ``sweep`` (signed, CCW > 0),
    both end points included, ``n + 1`` points with ``n = arc_segments(r, sweep, tol)``."""
    n = arc_segments(r, sweep, tol)
    t = a0 + sweep * np.arange(n + 1) / n
    return np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)])


def _bulge_points(p1: np.ndarray, p2: np.ndarray, bulge: float, tol: float) -> np.ndarray:
    """Interior points of a polyline bulge segment from p1 to p2 (end points excluded).

    DXF bulge = tan(theta/4), theta the included angle, positive = counter-clockwise (AutoCAD
    DXF reference, LWPOLYLINE group code 42). Chord c, radius ``r = c / (2 sin(theta/2))``,
    centre on the left normal of the chord at signed distance ``(c/2) / tan(theta/2)``.
    """
    d = p2 - p1
    c = float(np.hypot(d[0], d[1]))
    if c == 0.0 or bulge == 0.0:
        return np.empty((0, 2))
    theta = 4.0 * math.atan(bulge)
    r = c / (2.0 * abs(math.sin(theta / 2.0)))
    m = (p1 + p2) / 2.0
    left = np.array([-d[1], d[0]]) / c
    centre = m + left * (c / 2.0) / math.tan(theta / 2.0)
    a0 = math.atan2(p1[1] - centre[1], p1[0] - centre[0])
    pts = _arc_points(centre[0], centre[1], r, a0, theta, tol)
    return pts[1:-1]


def spline_points(entity, tol: float) -> np.ndarray:
    """Flatten a DXF SPLINE to points ``(n, 2)`` within chord tolerance ``tol`` (drawing units).

    The B-spline (ezdxf ``construction_tool()``: control points, knots, weights; fit-point-only
    splines are interpolated by ezdxf) is evaluated with ``scipy.interpolate.BSpline`` (de Boor)
    over its valid domain ``[t_p, t_n]`` (Piegl & Tiller, *The NURBS Book*, 2nd ed., §2.2),
    which is also right for unclamped (periodic, "closed") splines that ezdxf 1.4's own
    ``flattening`` evaluates from the first knot. Rational splines are evaluated in
    homogeneous coordinates. Each knot span starts with 4 chords, and a chord is halved while
    the curve's midpoint is farther than ``tol`` from it (depth ≤ 16).
    """
    from scipy.interpolate import BSpline

    bs = entity.construction_tool()
    k = int(bs.degree)
    cps = np.array([(v.x, v.y) for v in bs.control_points], dtype=float)
    knots = np.asarray(bs.knots(), dtype=float)
    n = len(cps)
    if n <= k or len(knots) != n + k + 1:
        raise ValueError(f"degree {k} spline with {n} control points and {len(knots)} knots")
    w = np.asarray(bs.weights(), dtype=float) if bs.is_rational else np.ones(n)
    curve = BSpline(knots, np.column_stack([cps * w[:, None], w]), k, extrapolate=False)

    def ev(t: np.ndarray) -> np.ndarray:
        h = curve(np.clip(t, knots[k], knots[n]))
        return h[:, :2] / h[:, 2:3]

    breaks = np.unique(knots[k:n + 1])
    ts = [np.linspace(a, b, 5)[:-1] for a, b in zip(breaks[:-1], breaks[1:])] + [breaks[-1:]]
    t = np.concatenate(ts)
    for _ in range(16):
        p = ev(t)
        tm = (t[:-1] + t[1:]) / 2.0
        pm = ev(tm)
        a, b = p[:-1], p[1:]
        d = b - a
        ln = np.hypot(d[:, 0], d[:, 1])
        cross = np.abs(d[:, 0] * (pm[:, 1] - a[:, 1]) - d[:, 1] * (pm[:, 0] - a[:, 0]))
        dev = np.where(ln > 0, cross / np.where(ln > 0, ln, 1.0), np.hypot(*(pm - a).T))
        split = dev > tol
        if not split.any():
            return p
        t = np.sort(np.concatenate([t, tm[split]]))
    return ev(t)


def _dedupe_consecutive(pts: np.ndarray, closed: bool, eps: float = 1e-9) -> np.ndarray:
    if len(pts) < 2:
        return pts
    keep = np.ones(len(pts), bool)
    keep[1:] = np.hypot(*np.diff(pts, axis=0).T) > eps
    pts = pts[keep]
    if closed and len(pts) > 1 and np.hypot(*(pts[-1] - pts[0])) <= eps:
        pts = pts[:-1]
    return pts


def _to_wcs(entity, pts: np.ndarray, elevation: float = 0.0) -> np.ndarray:
    """OCS -> WCS for 2D entities (ARC, CIRCLE, LWPOLYLINE, 2D POLYLINE); xy kept."""
    extrusion = entity.dxf.get("extrusion", (0.0, 0.0, 1.0))
    if tuple(round(float(v), 12) for v in extrusion) == (0.0, 0.0, 1.0):
        return pts
    ocs = entity.ocs()
    from ezdxf.math import Vec3

    wcs = ocs.points_to_wcs(Vec3(x, y, elevation) for x, y in pts)
    return np.array([(v.x, v.y) for v in wcs], dtype=float)


def _polyline_points(xyb: list[tuple[float, float, float]], closed: bool, tol: float) -> np.ndarray:
    n = len(xyb)
    out: list[np.ndarray] = []
    nseg = n if closed else n - 1
    for i in range(n):
        x, y, b = xyb[i]
        p1 = np.array([x, y], float)
        out.append(p1[None, :])
        if i < nseg and b:
            x2, y2, _ = xyb[(i + 1) % n]
            out.append(_bulge_points(p1, np.array([x2, y2], float), float(b), tol))
    return np.vstack(out) if out else np.empty((0, 2))


def _entity_pieces(e, tol: float, order: int) -> list[_Piece]:
    """Flatten one entity (drawing units, chord tolerance ``tol`` in drawing units)."""
    t = e.dxftype()
    handle = str(e.dxf.get("handle", "?"))

    def piece(pts, closed: bool) -> list[_Piece]:
        pts = _dedupe_consecutive(np.asarray(pts, dtype=float).reshape(-1, 2), closed)
        if len(pts) < 2 or (closed and len(pts) < 3):
            return []
        return [_Piece(pts, closed, t, handle, order)]

    if t == "LINE":
        s, en = e.dxf.start, e.dxf.end
        return piece([(s.x, s.y), (en.x, en.y)], False)
    if t == "LWPOLYLINE":
        xyb = [(p[0], p[1], p[2]) for p in e.get_points("xyb")]
        pts = _polyline_points(xyb, bool(e.closed), tol)
        return piece(_to_wcs(e, pts, float(e.dxf.get("elevation", 0.0))), bool(e.closed))
    if t == "POLYLINE":
        if e.is_2d_polyline:
            xyb = [(v.dxf.location.x, v.dxf.location.y, v.dxf.get("bulge", 0.0)) for v in e.vertices]
            pts = _polyline_points(xyb, bool(e.is_closed), tol)
            elev = float(e.dxf.get("elevation", (0, 0, 0))[2])
            return piece(_to_wcs(e, pts, elev), bool(e.is_closed))
        if e.is_3d_polyline:
            pts = [(v.dxf.location.x, v.dxf.location.y) for v in e.vertices]
            return piece(pts, bool(e.is_closed))
        return []  # polyface / polymesh: not a profile
    if t in ("ARC", "CIRCLE"):
        c = e.dxf.center
        r = float(e.dxf.radius)
        if r <= 0:
            return []
        if t == "CIRCLE":
            pts = _arc_points(c.x, c.y, r, 0.0, 2 * math.pi, tol)[:-1]
            return piece(_to_wcs(e, pts, c.z), True)
        a0 = math.radians(e.dxf.start_angle)
        sweep = math.radians((e.dxf.end_angle - e.dxf.start_angle) % 360.0) or 2 * math.pi
        pts = _arc_points(c.x, c.y, r, a0, sweep, tol)
        return piece(_to_wcs(e, pts, c.z), False)
    if t == "ELLIPSE":
        span = (e.dxf.end_param - e.dxf.start_param) % (2 * math.pi)
        full = span < 1e-9 or abs(span - 2 * math.pi) < 1e-9
        pts = [(v.x, v.y) for v in e.flattening(tol)]
        return piece(pts, full)
    if t == "SPLINE":
        pts = spline_points(e, tol)
        # a closed flag is trusted only when the curve really closes; otherwise the piece
        # goes to chaining, which reports the gap
        closes = bool(np.hypot(*(pts[-1] - pts[0])) <= max(tol, 1e-9))
        return piece(pts, closes)
    return []


# --------------------------------------------------------------------------- reading


def _open_doc(path: str | os.PathLike):
    import ezdxf

    p = Path(path)
    if not p.exists():
        raise DXFError("file not found", path=str(path))
    if p.is_dir():
        raise DXFError("is a directory, not a DXF file", path=str(path))
    if p.stat().st_size == 0:
        raise DXFError("file is empty (0 bytes), not a DXF drawing", path=str(path))
    try:
        return ezdxf.readfile(str(p))
    except ezdxf.DXFStructureError as exc:
        raise DXFError(f"not a readable DXF file ({exc})", path=str(path)) from None
    except (ezdxf.DXFError, UnicodeDecodeError, ValueError, IndexError, KeyError) as exc:
        raise DXFError(f"cannot read DXF ({type(exc).__name__}: {exc})", path=str(path)) from None
    except OSError as exc:
        if "not a DXF" in str(exc):
            raise DXFError("not a DXF file (no DXF header section)", path=str(path)) from None
        raise DXFError(f"cannot open file ({exc.strerror or exc})", path=str(path)) from None


def _explode(e, layer: str, depth: int, path: str) -> Iterator[tuple[str, object]]:
    """Yield (layer, entity) for an entity, exploding INSERTs (block refs) recursively."""
    if e.dxftype() != "INSERT":
        yield layer, e
        return
    if depth > _MAX_INSERT_DEPTH:
        raise DXFError(f"blocks nested deeper than {_MAX_INSERT_DEPTH} levels (recursive block?)",
                       path=path, layer=layer)
    try:
        inserts = list(e.multi_insert()) if e.mcount > 1 else [e]
        for ins in inserts:
            for sub in ins.virtual_entities():
                sub_layer = sub.dxf.get("layer", "0")
                if sub_layer == "0":  # AutoCAD: block entities on layer 0 take the INSERT's layer
                    sub_layer = layer
                    sub.dxf.layer = layer
                yield from _explode(sub, sub_layer, depth + 1, path)
    except DXFError:
        raise
    except Exception as exc:  # ezdxf raises assorted errors for unsupported transforms
        raise DXFError(f"cannot explode block reference {e.dxf.get('name', '?')!r} "
                       f"(handle {e.dxf.get('handle', '?')}): {exc}", path=path, layer=layer) from None


def _resolve_units(doc, path: str, units: str | None, geom: list[object]) -> _Units:
    from ezdxf import bbox

    code = int(doc.header.get("$INSUNITS", 0) or 0)
    declared = INSUNITS.get(code, (f"code {code}", 1.0))[0]
    if code == 0:
        declared = "unitless"
    size = 0.0
    if geom:
        try:
            box = bbox.extents(geom, fast=True)
            if box.has_data:
                size = float(max(box.size.x, box.size.y))
        except Exception:  # extents are only a plausibility check
            size = 0.0

    if units is not None:
        key = str(units).strip().lower()
        if key not in UNIT_ALIASES:
            raise DXFError(f"unknown units {units!r}; use one of "
                           f"{', '.join(sorted({'mm', 'inch', 'ft', 'cm', 'm', 'mil', 'um', 'yd', 'dm'}))}",
                           path=path)
        name, scale = INSUNITS[UNIT_ALIASES[key]]
        note = f"units={name} (override; file declares {declared})"
        size_mm = size * scale
        if size and not (PLAUSIBLE_MIN_MM <= size_mm <= PLAUSIBLE_MAX_MM):
            warnings.warn(f"{path}: with units={name} the drawing is {size_mm:.4g} mm across, "
                          f"which is implausible for a workpiece; check the units override",
                          UnitsWarning, stacklevel=4)
        return _Units(name, scale, declared, note)

    if code not in INSUNITS:
        warnings.warn(f"{path}: unknown $INSUNITS={code}; reading the drawing as millimetres "
                      f"(pass units= to override)", UnitsWarning, stacklevel=4)
        return _Units("mm", 1.0, declared, f"mm (unknown $INSUNITS={code})")
    name, scale = INSUNITS[code]
    size_mm = size * scale
    if size and size_mm > PLAUSIBLE_MAX_MM and size <= PLAUSIBLE_MAX_MM:
        warnings.warn(f"{path}: $INSUNITS={code} declares {declared}, which makes the drawing "
                      f"{size_mm / 1000.0:.4g} m across; implausible for a workpiece, so the "
                      f"values are read as millimetres ({size:.4g} mm across). Pass units='{name}' "
                      f"to force the declared unit, or units='mm' to silence this warning.",
                      UnitsWarning, stacklevel=4)
        return _Units("mm", 1.0, declared, f"mm (declared {declared}: implausible extents)")
    if size and size_mm < PLAUSIBLE_MIN_MM:
        warnings.warn(f"{path}: $INSUNITS={code} ({declared}) makes the drawing only "
                      f"{size_mm:.4g} mm across; check the drawing units (pass units= to override)",
                      UnitsWarning, stacklevel=4)
    note = name if code != 0 else "mm (unitless drawing read as mm)"
    return _Units(name, scale, declared, note)


def _load(path: str | os.PathLike, units: str | None) -> _Drawing:
    spath = str(path)
    doc = _open_doc(path)
    layer_names: dict[str, str] = {}
    for lay in doc.layers:
        layer_names.setdefault(lay.dxf.name.lower(), lay.dxf.name)
    entities: dict[str, list[tuple[int, object]]] = {}
    counts: dict[str, Counter] = {}
    order = 0
    for e in doc.modelspace():
        for lay, sub in _explode(e, e.dxf.get("layer", "0"), 0, spath):
            name = layer_names.setdefault(lay.lower(), lay)
            counts.setdefault(name, Counter())[sub.dxftype()] += 1
            entities.setdefault(name, []).append((order, sub))
            order += 1
    geom = [e for lst in entities.values() for _, e in lst if e.dxftype() in GEOMETRY_TYPES]
    u = _resolve_units(doc, spath, units, geom)
    return _Drawing(spath, layer_names, entities, counts, u)


# --------------------------------------------------------------------------- chaining


def _chain(pieces: list[_Piece], tol: float
           ) -> tuple[list[_Loop], list[_OpenChain], list[tuple[np.ndarray, int]]]:
    """Chain open pieces into closed loops through their endpoints.

    1. Endpoints within ``tol`` of each other are merged into nodes (pairs from a scipy
       ``cKDTree``, union-find), so pieces drawn in either direction join.
    2. Pieces are edges of the endpoint graph. Edges at a node of degree 1 (a free end) are
       pruned repeatedly: they cannot lie on a closed loop. The pruned pieces, grouped by
       connectivity, are the open chains, each with its free ends.
    3. What remains has every node of degree >= 2. A connected component whose nodes all have
       degree 2 is one closed loop, walked piece by piece (reversing pieces as needed). A
       node of degree > 2 is a branch (three or more ends meeting); it is returned as a
       junction, because an outline that branches is ambiguous.

    Closed pieces (closed polylines, circles, full ellipses, closed splines) are loops as
    they are. Pieces shorter than ``tol`` whose ends merge into one node are dropped.

    Returns:
        ``(loops, open_chains, junctions)`` with junctions as ``(point_mm, n_ends)``.
    """
    loops = [_Loop(p.pts, [p]) for p in pieces if p.closed]
    opens = [p for p in pieces if not p.closed]
    if not opens:
        return loops, [], []
    m = len(opens)
    ends = np.array([[p.pts[0], p.pts[-1]] for p in opens], dtype=float).reshape(-1, 2)
    root = np.arange(2 * m)

    def find(k: int) -> int:
        while root[k] != k:
            root[k] = root[root[k]]
            k = root[k]
        return k

    for a, b in cKDTree(ends).query_pairs(tol, output_type="ndarray").tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            root[max(ra, rb)] = min(ra, rb)
    node = np.array([find(k) for k in range(2 * m)])
    edges: list[tuple[int, int]] = []
    keep: list[int] = []
    for i, p in enumerate(opens):
        u, v = int(node[2 * i]), int(node[2 * i + 1])
        if u == v:
            span = float(np.max(np.hypot(*(p.pts - p.pts[0]).T)))
            if span <= tol or len(p.pts) < 3:
                continue  # a zero-length connector
        keep.append(i)
        edges.append((u, v))
    adj: dict[int, list[int]] = {}
    for e, (u, v) in enumerate(edges):
        adj.setdefault(u, []).append(e)
        adj.setdefault(v, []).append(e)
    deg0 = {n: len(es) for n, es in adj.items()}
    deg = dict(deg0)
    alive = [True] * len(edges)
    stack = [n for n, d in deg.items() if d == 1]
    while stack:
        n = stack.pop()
        if deg[n] != 1:
            continue
        e = next(e for e in adj[n] if alive[e])
        alive[e] = False
        for x in edges[e]:
            deg[x] -= 1
            if deg[x] == 1:
                stack.append(x)

    # open chains: connected groups of pruned edges
    groups: dict[int, list[int]] = {}
    groot = {n: n for n in adj}

    def gfind(n: int) -> int:
        while groot[n] != n:
            groot[n] = groot[groot[n]]
            n = groot[n]
        return n

    for e, (u, v) in enumerate(edges):
        if not alive[e]:
            ru, rv = gfind(u), gfind(v)
            if ru != rv:
                groot[ru] = rv
    for e, (u, v) in enumerate(edges):
        if not alive[e]:
            groups.setdefault(gfind(u), []).append(e)
    chains: list[_OpenChain] = []
    for es in groups.values():
        free: list[np.ndarray] = []
        for e in es:
            i = keep[e]
            for side, nd in enumerate(edges[e]):
                if deg0[nd] == 1:
                    free.append(opens[i].pts[0 if side == 0 else -1].copy())
        chains.append(_OpenChain([opens[keep[e]] for e in es], free))
    chains.sort(key=lambda c: (-len(c.pieces), c.pieces[0].order))

    # closed loops among the surviving edges; branches are reported
    junctions = [(ends[n], d) for n, d in deg.items() if d > 2]
    bad_nodes = {n for n, d in deg.items() if d > 2}
    used = [not a for a in alive]
    for e0 in range(len(edges)):
        if used[e0]:
            continue
        # collect the component first: skip it whole if it holds a branch node
        comp, todo, seen = [], [e0], {e0}
        while todo:
            e = todo.pop()
            comp.append(e)
            for nd in edges[e]:
                for f in adj[nd]:
                    if alive[f] and f not in seen:
                        seen.add(f)
                        todo.append(f)
        for e in comp:
            used[e] = True
        if any(nd in bad_nodes for e in comp for nd in edges[e]):
            continue
        p0 = opens[keep[e0]]
        parts = [p0.pts]
        members = [p0]
        start, cur = edges[e0]
        prev = e0
        while cur != start:
            nxt = next(f for f in adj[cur] if alive[f] and f != prev)
            pn = opens[keep[nxt]]
            if edges[nxt][0] == cur:
                parts.append(pn.pts[1:])
                cur = edges[nxt][1]
            else:
                parts.append(pn.pts[::-1][1:])
                cur = edges[nxt][0]
            members.append(pn)
            prev = nxt
        ring = _dedupe_consecutive(np.vstack(parts)[:-1], True)
        loops.append(_Loop(ring, members))
    return loops, chains, junctions


# --------------------------------------------------------------------------- per layer


def _validity_location(poly: Polygon) -> str:
    reason = explain_validity(poly)
    if "[" in reason and reason.endswith("]"):
        what, _, coords = reason.partition("[")
        xy = coords[:-1].split()
        try:
            return f"{what.strip().lower()} at ({float(xy[0]):.3f}, {float(xy[1]):.3f}) mm"
        except (ValueError, IndexError):
            pass
    return reason


def _layer(drawing: _Drawing, layer: str, chord_tol: float, join_tol: float,
           min_area: float) -> _LayerResult:
    """Loops, open chains and regions of one layer; errors are stored, not raised."""
    res = _LayerResult(layer)
    u = drawing.units
    path = drawing.path
    tol_du = chord_tol / u.scale
    pieces: list[_Piece] = []
    try:
        for order, e in drawing.entities.get(layer, []):
            if e.dxftype() not in GEOMETRY_TYPES:
                continue
            try:
                got = _entity_pieces(e, tol_du, order)
            except Exception as exc:  # malformed entity data inside ezdxf
                raise DXFError(f"cannot flatten {e.dxftype()} (handle {e.dxf.get('handle', '?')}): "
                               f"{type(exc).__name__}: {exc}", path=path, layer=layer) from None
            for p in got:
                p.pts = p.pts * u.scale
            pieces.extend(got)

        loops, chains, junctions = _chain(pieces, join_tol)
        res.loops = len(loops)
        res.open_chains = chains
        res.junctions = len(junctions)
        if junctions:
            pt, n = junctions[0]
            raise DXFError(f"the outline branches: {n} piece ends meet within join_tol={join_tol:g} mm "
                           f"at {_fmt_pt(pt)} mm ({len(junctions)} such point(s)); a pocket outline "
                           f"must be a simple closed loop", path=path, layer=layer)

        polys: list[tuple[Polygon, _Loop]] = []
        for lp in loops:
            poly = Polygon(lp.ring) if len(lp.ring) >= 3 else Polygon()
            if poly.is_empty or not poly.is_valid or poly.area <= 0.0:
                where = _validity_location(poly) if not poly.is_empty else "too few distinct points"
                if not poly.is_empty and poly.is_valid:
                    where = "zero area"
                raise DXFError(f"closed loop drawn by {lp.describe()} is not a simple outline: "
                               f"{where}; fix the drawing (the loop is never repaired silently)",
                               path=path, layer=layer)
            if poly.area < min_area:
                continue
            polys.append((poly, lp))

        if chains:
            shown = "; ".join(c.describe() for c in chains[:3])
            more = f"; and {len(chains) - 3} more" if len(chains) > 3 else ""
            raise DXFError(f"open profile: {len(chains)} chain(s) of pieces do not close "
                           f"(join_tol={join_tol:g} mm): {shown}{more}", path=path, layer=layer)

        polys = _dedupe_loops(polys, join_tol, path, layer)
        res.regions = _nest(polys, path, layer, u.name)
    except DXFError as exc:
        res.error = exc
    return res


def _dedupe_loops(polys: list[tuple[Polygon, _Loop]], tol: float, path: str,
                  layer: str) -> list[tuple[Polygon, _Loop]]:
    if len(polys) < 2:
        return polys
    geoms = [p for p, _ in polys]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    drop: set[int] = set()
    for i, j in zip(left.tolist(), right.tolist()):
        if i >= j or i in drop or j in drop:
            continue
        a, b = geoms[i], geoms[j]
        if abs(a.area - b.area) <= tol * max(a.length, b.length) and a.hausdorff_distance(b) <= tol:
            drop.add(j)
            c = a.representative_point()
            warnings.warn(f"{path}: layer {layer!r}: the outline {polys[j][1].describe()} duplicates "
                          f"{polys[i][1].describe()} (within {tol:g} mm, near ({c.x:.3f}, {c.y:.3f})); "
                          f"the copy is ignored", DuplicateLoopWarning, stacklevel=5)
    return [pl for k, pl in enumerate(polys) if k not in drop]


def _nest(polys: list[tuple[Polygon, _Loop]], path: str, layer: str, units: str) -> list[Region]:
    """Depth by containment: even depth = outer boundary, odd = island of its parent."""
    if not polys:
        return []
    idx = sorted(range(len(polys)), key=lambda k: -polys[k][0].area)
    geoms = [polys[k][0] for k in idx]
    tree = shapely.STRtree(geoms)
    # crossing loops cannot be nested (neither is inside the other): refuse
    left, right = tree.query(geoms, predicate="overlaps")
    for i, j in zip(left.tolist(), right.tolist()):
        if i < j:
            x = geoms[i].boundary.intersection(geoms[j].boundary).representative_point()
            raise DXFError(f"loops {polys[idx[i]][1].describe()} and {polys[idx[j]][1].describe()} "
                           f"cross each other near ({x.x:.3f}, {x.y:.3f}) mm; pockets on one layer "
                           f"must be disjoint or nested", path=path, layer=layer)
    parent = [-1] * len(geoms)
    depth = [0] * len(geoms)
    # tree.query(g, predicate) pairs (input i, tree j) with predicate(geoms[i], geoms[j]).
    # Loops are sorted by decreasing area, so a container precedes what it contains; the
    # immediate parent is the container latest in that order (the smallest one).
    containers, inners = tree.query(geoms, predicate="contains")
    best: dict[int, int] = {}
    for container, inner in zip(containers.tolist(), inners.tolist()):
        if container >= inner:
            continue
        if inner not in best or container > best[inner]:
            best[inner] = container
    for j in range(len(geoms)):
        if j in best:
            parent[j] = best[j]
            depth[j] = depth[best[j]] + 1
    regions: list[tuple[int, Polygon]] = []
    for j in range(len(geoms)):
        if depth[j] % 2:
            continue
        holes = [geoms[k].exterior.coords for k in range(len(geoms)) if parent[k] == j]
        poly = Polygon(geoms[j].exterior.coords, holes)
        try:
            reg = region_from_polygon(poly, layer=layer, source=path, source_units=units)
        except InputError:
            raise DXFError(f"the outline {polys[idx[j]][1].describe()} and its islands do not form "
                           f"a valid pocket: {_validity_location(poly)}", path=path, layer=layer) from None
        regions.append((polys[idx[j]][1].order, reg.polygon))
    regions.sort(key=lambda t: t[0])
    return [Region(polygon=poly, layer=layer, source=path, index=i, source_units=units)
            for i, (_, poly) in enumerate(regions)]


# --------------------------------------------------------------------------- public API


def _select_layers(drawing: _Drawing, layers: str | Sequence[str] | None) -> list[str] | None:
    if layers is None:
        return None
    wanted = [layers] if isinstance(layers, str) else list(layers)
    out: list[str] = []
    for w in wanted:
        name = drawing.layer_names.get(str(w).lower())
        if name is None:
            have = sorted(set(drawing.layer_names.values()))
            raise DXFError(f"no layer named {w!r}; the file has layers: {', '.join(have)}",
                           path=drawing.path)
        if name not in out:
            out.append(name)
    return out


def read_regions(path: str | os.PathLike, layers: str | Sequence[str] | None = None, *,
                 units: str | None = None, chord_tol: float = 0.01, join_tol: float = 0.05,
                 min_area: float = 0.0) -> list[Region]:
    """Read the pocket regions of a DXF drawing (model space, INSERTs exploded).

    Args:
        path: the DXF file.
        layers: ``None`` for every layer holding closed geometry (layers whose pieces form no
            closed loop at all, e.g. text or a centre line, are skipped; a
            :class:`SkippedLayerWarning` names skipped layers that hold open pieces), a layer
            name, or a list of names; matched case-insensitively.
        units: drawing unit override (``"mm"``, ``"inch"``, ``"cm"``, ``"m"``, ``"ft"``, ...);
            ``None`` uses ``$INSUNITS`` with the plausibility policy of the module docstring.
        chord_tol: maximum chord-to-curve distance (sagitta) when flattening curves, mm.
        join_tol: endpoints closer than this are joined when chaining pieces, mm.
        min_area: loops smaller than this (mm²) are dropped before nesting.

    Returns:
        Regions (valid shapely polygons in mm, exterior CCW, islands CW), grouped by layer in
        the order of ``layers`` (drawing order of layers when ``None``), then in drawing order
        of their outer boundary within the layer (``Region.index``).

    Raises:
        DXFError: file missing or not a DXF; unknown layer (lists the file's layers); a chain
            that cannot close (gap in mm and both open ends); a self-intersecting loop (the
            crossing's location); crossing loops; a selected layer without closed geometry
            (lists the entity types it does hold); nothing closed in the whole file.

    Warns:
        UnitsWarning: implausible extents for the declared unit (mm assumed, see policy).
        DuplicateLoopWarning: an outline drawn twice on one layer (the copy is ignored).
        SkippedLayerWarning: with ``layers=None``, a layer of open pieces only was skipped.
    """
    if chord_tol <= 0 or join_tol < 0 or min_area < 0:
        raise InputError(f"chord_tol must be > 0, join_tol and min_area >= 0 "
                         f"(got {chord_tol}, {join_tol}, {min_area})")
    drawing = _load(path, units)
    selected = _select_layers(drawing, layers)
    out: list[Region] = []
    if selected is None:
        skipped: list[_LayerResult] = []
        for name in drawing.entities:
            res = _layer(drawing, name, chord_tol, join_tol, min_area)
            if res.loops == 0 and res.junctions == 0:
                if res.error is not None:
                    skipped.append(res)
                continue
            if res.error is not None:
                raise res.error
            out.extend(res.regions)
        if not out:
            if skipped:
                raise skipped[0].error  # type: ignore[misc]
            summary = "; ".join(f"{k}: {_count_str(v)}" for k, v in drawing.counts.items())
            raise DXFError(f"no closed geometry on any layer ({summary or 'the model space is empty'})",
                           path=drawing.path)
        for res in skipped:
            warnings.warn(f"{drawing.path}: layer {res.layer!r} skipped: it holds no closed loop "
                          f"({len(res.open_chains)} open chain(s); layer_report() shows why)",
                          SkippedLayerWarning, stacklevel=2)
        return out
    for name in selected:
        res = _layer(drawing, name, chord_tol, join_tol, min_area)
        if res.error is not None:
            raise res.error
        if not res.regions:
            counts = drawing.counts.get(name)
            if not counts:
                raise DXFError("layer is empty (no entities in model space)", path=drawing.path, layer=name)
            why = " (all loops are smaller than min_area)" if res.loops else ""
            raise DXFError(f"no closed geometry on this layer{why}; it holds: {_count_str(counts)}",
                           path=drawing.path, layer=name)
        out.extend(res.regions)
    return out


def layer_report(path: str | os.PathLike, *, units: str | None = None, chord_tol: float = 0.01,
                 join_tol: float = 0.05, min_area: float = 0.0,
                 layers: str | Sequence[str] | None = None,
                 include_empty: bool = False) -> pd.DataFrame:
    """One row per layer of a DXF drawing: what it holds and what it becomes.

    Columns: ``layer``, ``entities`` (count by type, e.g. ``"CIRCLE x4, LINE"``),
    ``closed_loops``, ``open_chains`` (chains that could not be closed), ``regions``,
    ``islands``, ``area_mm2`` (total pocket area, islands subtracted), ``units`` (how the
    drawing's coordinates were read) and ``error`` (the :class:`DXFError` message when the
    layer cannot be turned into regions, else ``""``). A bad layer never raises; a bad file
    (missing, not a DXF) does. Layers without entities are listed only with
    ``include_empty=True``. ``layers`` restricts the rows to those layers (unknown name ->
    :class:`DXFError` listing the file's layers). ``df.attrs["units"]`` holds the unit used.

    Other arguments as in :func:`read_regions`.
    """
    drawing = _load(path, units)
    selected = _select_layers(drawing, layers)
    if selected is not None:
        names = selected
    else:
        names = list(drawing.entities)
        if include_empty:
            names += [n for n in drawing.layer_names.values() if n not in drawing.entities]
    rows = []
    for name in names:
        res = _layer(drawing, name, chord_tol, join_tol, min_area)
        counts = drawing.counts.get(name, Counter())
        err = ""
        if res.error is not None:
            err = str(res.error)
        elif not res.regions and counts:
            err = f"no closed geometry (holds {_count_str(counts)})"
        rows.append({
            "layer": name,
            "entities": _count_str(counts),
            "closed_loops": res.loops,
            "open_chains": len(res.open_chains),
            "regions": len(res.regions) if res.error is None else 0,
            "islands": sum(r.islands for r in res.regions) if res.error is None else 0,
            "area_mm2": float(sum(r.area for r in res.regions)) if res.error is None else 0.0,
            "units": drawing.units.note,
            "error": err,
        })
    df = pd.DataFrame(rows, columns=["layer", "entities", "closed_loops", "open_chains", "regions",
                                     "islands", "area_mm2", "units", "error"])
    df.attrs["units"] = drawing.units.name
    df.attrs["path"] = drawing.path
    return df


def write_regions_dxf(regions: Iterable[Region], path: str | os.PathLike) -> Path:
    """Write regions to a DXF R2010 file in mm (``$INSUNITS=4``).

    One closed LWPOLYLINE per ring (exterior and each island) on the region's layer
    (``"0"`` when the region has none). Reading the file back with :func:`read_regions`
    gives the same polygons (vertices are written at full double precision).

    Returns:
        The path written.
    """
    import ezdxf

    doc = ezdxf.new("R2010", units=4)
    doc.header["$MEASUREMENT"] = 1
    msp = doc.modelspace()
    for reg in regions:
        layer = reg.layer or "0"
        if layer not in doc.layers:
            doc.layers.add(layer)
        rings = [reg.polygon.exterior, *reg.polygon.interiors]
        for ring in rings:
            msp.add_lwpolyline([(float(x), float(y)) for x, y in list(ring.coords)[:-1]],
                               close=True, dxfattribs={"layer": layer})
    out = Path(path)
    try:
        doc.saveas(out)
    except OSError as exc:
        raise InputError(f"{out}: cannot write DXF ({exc.strerror or exc})") from None
    return out
