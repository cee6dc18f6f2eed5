"""Cutting tools for the simulator: shapes, profiles, body cylinders and tool tables.

A :class:`Tool` is an axisymmetric cutter (flat end mill, ball nose, bull nose, V-bit) with a
fluted cutting length, a shank and a holder made of stacked cylinders. Its *profile* ``f(r)``
is the height of the cutting surface above the tip at radial distance ``r`` (mm):

- flat end mill: ``f(r) = 0``;
- ball nose (radius R): ``f(r) = R - sqrt(R² - r²)``;
- bull nose (corner radius rc, flat radius r0 = R - rc): ``0`` for ``r <= r0``, else
  ``rc - sqrt(rc² - (r - r0)²)``;
- V-bit (included angle a): ``f(r) = r / tan(a/2)``.

These are the standard APT/ISO cutter descriptions (Chiou & Lee, "A machining potential field
approach to tool path generation", CAD 34 (2002), generalised cutter; CAMotics
``src/gcode/Tool.cpp`` shapes ``cylindrical``, ``ballnose``, ``conical``). Every profile is
convex and non-decreasing in ``r``, which :mod:`workbench.sim.sweep` relies on.

Tool tables are JSON: either a CAMotics project (``.camotics``: ``{"tools": {"1": {"units":
"imperial", "shape": "cylindrical", "length": 1.5, "diameter": 0.25}}}``) or the same
``tools`` block on its own, with optional workbench keys (``corner_radius``, ``angle``,
``shank_diameter``, ``shank_length``, ``holder``: ``[[diameter, length], ...]``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..units import MM_PER_IN
from .errors import ToolSpecError

__all__ = ["Tool", "SHAPES", "parse_tool_spec", "load_tool_table", "tool_from_camotics",
           "tools_from_comments", "DEFAULT_TOOL"]

SHAPES: tuple[str, ...] = ("flat", "ball", "bull", "vbit")

#: CAMotics shape names (src/gcode/ToolShape.h) -> workbench shape.
CAMOTICS_SHAPES: dict[str, str] = {"cylindrical": "flat", "ballnose": "ball", "conical": "vbit"}


@dataclass(frozen=True)
class Tool:
    """An axisymmetric cutter with shank and holder, all lengths in mm.

    Attributes:
        shape: ``flat``, ``ball``, ``bull`` or ``vbit``.
        diameter: cutting diameter D.
        cutting_length: fluted length from the tip (the deepest axial depth ap it can cut).
        corner_radius: bull nose corner radius (``0 < rc <= D/2``); ignored otherwise.
        angle_deg: V-bit included angle; ignored otherwise.
        shank_diameter: shank diameter (default: D).
        shank_length: shank length above the flutes, to the holder (default: the cutting length).
        holder: stacked cylinders ``((diameter, length), ...)`` from the shank top upwards.
        number: tool number (T word), when known.
        description: free text (where the definition came from).
    """

    shape: str
    diameter: float
    cutting_length: float
    corner_radius: float = 0.0
    angle_deg: float = 90.0
    shank_diameter: float | None = None
    shank_length: float | None = None
    holder: tuple[tuple[float, float], ...] = field(default_factory=tuple)
    number: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ToolSpecError(f"tool {self.number}: unknown shape {self.shape!r} (one of {SHAPES})")
        if not (self.diameter > 0 and math.isfinite(self.diameter)):
            raise ToolSpecError(f"tool {self.number}: diameter must be > 0 mm, got {self.diameter}")
        if not (self.cutting_length > 0):
            raise ToolSpecError(f"tool {self.number}: cutting length must be > 0 mm, got {self.cutting_length}")
        if self.shape == "bull" and not (0 < self.corner_radius <= self.diameter / 2):
            raise ToolSpecError(f"tool {self.number}: bull nose corner radius must be in (0, D/2], "
                                f"got {self.corner_radius} for D={self.diameter}")
        if self.shape == "vbit" and not (0 < self.angle_deg < 180):
            raise ToolSpecError(f"tool {self.number}: V-bit angle must be in (0, 180) degrees, got {self.angle_deg}")
        for d, ln in self.holder:
            if d <= 0 or ln <= 0:
                raise ToolSpecError(f"tool {self.number}: holder cylinder ({d}, {ln}) must have positive size")

    @property
    def radius(self) -> float:
        """Cutting radius R = D/2, mm."""
        return self.diameter / 2.0

    @property
    def tip_height(self) -> float:
        """Height of the profile at r = R (ball: R, V-bit: cone height, bull: rc), mm."""
        return float(self.profile(np.array([self.radius]))[0])

    def profile(self, r: np.ndarray) -> np.ndarray:
        """Height of the cutting surface above the tip at radial distance ``r`` (mm, array).

        Valid for ``0 <= r <= R``; values of ``r`` above R are clipped to R.
        """
        r = np.minimum(np.asarray(r, dtype=float), self.radius)
        if self.shape == "flat":
            return np.zeros_like(r)
        if self.shape == "ball":
            R = self.radius
            return R - np.sqrt(np.maximum(R * R - r * r, 0.0))
        if self.shape == "bull":
            rc = self.corner_radius
            r0 = self.radius - rc
            e = np.maximum(r - r0, 0.0)
            return rc - np.sqrt(np.maximum(rc * rc - e * e, 0.0))
        # vbit
        return r / math.tan(math.radians(self.angle_deg) / 2.0)

    def body_cylinders(self) -> list[tuple[str, float, float]]:
        """The non-cutting body as ``(name, radius, bottom offset above the tip)``, mm.

        The shank starts at the top of the flutes; holder cylinders stack above it. A body
        cylinder does not cut: stock inside it is a collision (shank or holder hit).
        """
        out: list[tuple[str, float, float]] = []
        sd = self.shank_diameter if self.shank_diameter is not None else self.diameter
        sl = self.shank_length if self.shank_length is not None else self.cutting_length
        out.append(("shank", sd / 2.0, self.cutting_length))
        z = self.cutting_length + sl
        for n, (d, ln) in enumerate(self.holder):
            out.append((f"holder{n + 1}" if len(self.holder) > 1 else "holder", d / 2.0, z))
            z += ln
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (sim_report ``tools[]``)."""
        d = asdict(self)
        d["holder"] = [list(h) for h in self.holder]
        return d


#: Used when a program selects a tool that nothing defines and defaults are allowed.
DEFAULT_TOOL = Tool("flat", 6.0, 24.0, description="default: 6 mm flat end mill, 24 mm flutes")

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)"


def _length(text: str, what: str) -> float:
    """'6', '6mm', '0.25in', '1/4in' -> mm."""
    s = text.strip().lower()
    scale = 1.0
    if s.endswith("mm"):
        s = s[:-2]
    elif s.endswith("in") or s.endswith('"'):
        s = s[:-2] if s.endswith("in") else s[:-1]
        scale = MM_PER_IN
    try:
        if "/" in s:
            a, b = s.split("/", 1)
            v = float(a) / float(b)
        else:
            v = float(s)
    except (ValueError, ZeroDivisionError):
        raise ToolSpecError(f"{what}: {text!r} is not a length (mm, or with 'in')") from None
    return v * scale


def parse_tool_spec(spec: str) -> Tool:
    """Parse a command-line tool spec into a :class:`Tool`.

    Grammar: ``[N=]SHAPE:D[:X][,key=value...]`` where SHAPE is flat|ball|bull|vbit, D the
    diameter (mm, or with an ``in`` suffix), X the bull corner radius or the V-bit angle
    (degrees), and keys ``flute`` (cutting length), ``shank`` (diameter), ``shank_len``,
    ``holder`` (``DxL+DxL``, mm). Examples: ``flat:6``, ``2=ball:1/8in,flute=12``,
    ``vbit:12.7:60``, ``bull:10:1,shank=10,holder=20x30+40x40``.

    Raises:
        ToolSpecError: naming the part of the spec that is wrong.
    """
    s = spec.strip()
    number: int | None = None
    m = re.match(r"^T?(\d+)=(.*)$", s, re.I)
    if m:
        number, s = int(m.group(1)), m.group(2)
    head, *opts = s.split(",")
    parts = head.split(":")
    if len(parts) < 2:
        raise ToolSpecError(f"tool spec {spec!r}: expected SHAPE:DIAMETER, e.g. 'flat:6'")
    shape = parts[0].strip().lower()
    shape = {"end": "flat", "endmill": "flat", "ballnose": "ball", "v": "vbit", "bullnose": "bull"}.get(shape, shape)
    d = _length(parts[1], f"tool spec {spec!r} diameter")
    kw: dict[str, Any] = {}
    if len(parts) > 2:
        if shape == "bull":
            kw["corner_radius"] = _length(parts[2], f"tool spec {spec!r} corner radius")
        elif shape == "vbit":
            try:
                kw["angle_deg"] = float(parts[2])
            except ValueError:
                raise ToolSpecError(f"tool spec {spec!r}: V-bit angle {parts[2]!r} is not a number") from None
        else:
            raise ToolSpecError(f"tool spec {spec!r}: a {shape} tool takes no third field")
    flute = 4.0 * d
    for o in opts:
        if "=" not in o:
            raise ToolSpecError(f"tool spec {spec!r}: option {o!r} is not key=value")
        k, v = (t.strip().lower() for t in o.split("=", 1))
        if k in ("flute", "cutting_length", "length"):
            flute = _length(v, f"tool spec {spec!r} {k}")
        elif k in ("shank", "shank_diameter"):
            kw["shank_diameter"] = _length(v, f"tool spec {spec!r} {k}")
        elif k in ("shank_len", "shank_length"):
            kw["shank_length"] = _length(v, f"tool spec {spec!r} {k}")
        elif k == "holder":
            cyl = []
            for c in v.split("+"):
                if "x" not in c:
                    raise ToolSpecError(f"tool spec {spec!r}: holder cylinder {c!r} is not DxL")
                a, b = c.split("x", 1)
                cyl.append((_length(a, "holder diameter"), _length(b, "holder length")))
            kw["holder"] = tuple(cyl)
        else:
            raise ToolSpecError(f"tool spec {spec!r}: unknown option {k!r} "
                                "(flute, shank, shank_len, holder)")
    return Tool(shape, d, flute, number=number, description=f"spec {spec}", **kw)


def tool_from_camotics(number: int, d: Mapping[str, Any], source: str = "") -> Tool:
    """One entry of a CAMotics ``tools`` block (or a workbench tool table) -> :class:`Tool`.

    CAMotics fields (``src/gcode/Tool.cpp``): ``units`` (``imperial``/``metric``), ``shape``
    (``cylindrical``, ``ballnose``, ``conical``), ``length`` (cutting length), ``diameter``.
    Workbench extras (same unit): ``corner_radius``, ``angle``, ``shank_diameter``,
    ``shank_length``, ``holder`` ``[[diameter, length], ...]``. A conical tool's angle is
    ``2 atan(R / length)`` unless ``angle`` is given (CAMotics models the cone over the whole
    length).

    Raises:
        ToolSpecError: unknown shape or unit, or a missing/non-numeric size, naming the tool.
    """
    where = f"{source}: tool {number}" if source else f"tool {number}"
    units = str(d.get("units", "metric")).lower()
    if units not in ("metric", "imperial", "mm", "inch", "in"):
        raise ToolSpecError(f"{where}: unknown units {units!r}")
    k = MM_PER_IN if units in ("imperial", "inch", "in") else 1.0
    raw_shape = str(d.get("shape", "cylindrical")).lower()
    shape = CAMOTICS_SHAPES.get(raw_shape, raw_shape)
    if shape not in SHAPES:
        raise ToolSpecError(f"{where}: shape {raw_shape!r} is not supported "
                            f"(cylindrical, ballnose, conical, or {', '.join(SHAPES)})")

    def num(key: str, default: float | None = None) -> float | None:
        v = d.get(key, default)
        if v is None:
            return None
        try:
            return float(v) * k
        except (TypeError, ValueError):
            raise ToolSpecError(f"{where}: {key} {v!r} is not a number") from None

    dia = num("diameter")
    if dia is None:
        raise ToolSpecError(f"{where}: no diameter")
    length = num("length") or 4.0 * dia
    kw: dict[str, Any] = {}
    if shape == "bull":
        kw["corner_radius"] = num("corner_radius", d.get("snub_diameter", 0)) or dia / 4
    if shape == "vbit":
        kw["angle_deg"] = float(d["angle"]) if "angle" in d else math.degrees(2 * math.atan(dia / 2 / length))
    if d.get("shank_diameter") is not None:
        kw["shank_diameter"] = num("shank_diameter")
    if d.get("shank_length") is not None:
        kw["shank_length"] = num("shank_length")
    if d.get("holder"):
        try:
            kw["holder"] = tuple((float(a) * k, float(b) * k) for a, b in d["holder"])
        except (TypeError, ValueError):
            raise ToolSpecError(f"{where}: holder must be [[diameter, length], ...]") from None
    desc = str(d.get("description") or "") or f"{raw_shape} {dia:g} mm"
    return Tool(shape, dia, length, number=number, description=desc, **kw)


def read_json(path: Path, what: str) -> Any:
    """The JSON content of ``path``, or ToolSpecError("<path>: <what> not found" / "not a JSON
    <what>: <reason>")."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolSpecError(f"{path}: {what} not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ToolSpecError(f"{path}: not a JSON {what} ({exc})") from None


def load_tool_table(path: str | Path) -> dict[int, Tool]:
    """Read the tools of a ``.camotics`` project or a JSON tool table.

    Returns:
        ``{tool number: Tool}`` in mm.

    Raises:
        ToolSpecError: unreadable JSON, no ``tools`` object, or a bad tool (file and tool named).
    """
    p = Path(path)
    data = read_json(p, "tool table")
    tools = data.get("tools") if isinstance(data, dict) else None
    if not isinstance(tools, dict) or not tools:
        raise ToolSpecError(f"{p}: no 'tools' object")
    out: dict[int, Tool] = {}
    for key, val in tools.items():
        try:
            n = int(str(key).lstrip("Tt"))
        except ValueError:
            raise ToolSpecError(f"{p}: tool key {key!r} is not a tool number") from None
        if not isinstance(val, dict):
            raise ToolSpecError(f"{p}: tool {key} is not an object")
        out[n] = tool_from_camotics(n, val, source=str(p))
    return out


_COMMENT = re.compile(r"\(([^()]*)\)|;(.*)$")
_DIA_MM = re.compile(r"(\d+(?:\.\d+)?)\s*mm\b", re.I)
_DIA_FRAC = re.compile(r"(\d+)\s*/\s*(\d+)\s*(?:in\b|inch|\"|'')", re.I)
_DIA_IN = re.compile(r"(\d*\.\d+|\d+)\s*(?:in\b|inch|\")", re.I)


def _tool_from_comment(text: str, number: int) -> Tool | None:
    """'T1 - 10mm Flat End Mill', 'Tool: 1/4 in Carbide End Mill' -> Tool, or None."""
    dia = None
    m = _DIA_MM.search(text)
    if m:
        dia = float(m.group(1))
    else:
        m = _DIA_FRAC.search(text)
        if m and float(m.group(2)) > 0:
            dia = float(m.group(1)) / float(m.group(2)) * MM_PER_IN
        else:
            m = _DIA_IN.search(text)
            if m:
                dia = float(m.group(1)) * MM_PER_IN
    if not dia or dia <= 0 or dia > 100:
        return None
    low = text.lower()
    if "ball" in low:
        shape = "ball"
    elif re.search(r"v[- ]?bit|v[- ]?groove|engrav|chamfer", low):
        return Tool("vbit", dia, dia, angle_deg=90.0, number=number, description=f"from comment: {text.strip()}")
    else:
        shape = "flat"
    return Tool(shape, dia, 4.0 * dia, number=number, description=f"from comment: {text.strip()}")


def tools_from_comments(lines: list[str]) -> dict[int, Tool]:
    """Guess tools from the comments next to tool changes (the sensible-default source).

    For each ``M6`` block with a ``T`` number, looks at the comments on that line and the three
    lines above it for a diameter (``10mm``, ``1/4 in``, ``0.125"``) and a shape word (ball,
    V-bit; flat otherwise). The cutting length defaults to 4 D (a common long-flute end mill).

    Args:
        lines: the program's lines.

    Returns:
        ``{tool number: Tool}`` for the tools whose comment gives a diameter.
    """
    out: dict[int, Tool] = {}
    for n, t in tool_changes(lines):
        if t in out:
            continue
        for k in range(n - 1, max(n - 5, -1), -1):
            comments = " ".join(a or b or "" for a, b in _COMMENT.findall(lines[k]))
            tool = _tool_from_comment(comments, t) if comments else None
            if tool:
                out[t] = tool
                break
    return out


def _strip_comments(line: str) -> str:
    out, depth = [], 0
    for ch in line:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch == ";" and depth == 0:
            break
        elif depth == 0:
            out.append(ch)
    return "".join(out)


_TWORD = re.compile(r"T\s*(\d+)", re.I)
_M6 = re.compile(r"M\s*0*6(?!\d)", re.I)


def tool_changes(lines: list[str]) -> list[tuple[int, int]]:
    """``(0-based line index, tool number)`` of every tool change (M6) in a program.

    The tool is the T word on the M6 line, else the last T word before it (``T2`` ... ``M6``).
    Comments (nested parentheses, ``;``) are ignored.
    """
    out: list[tuple[int, int]] = []
    pending: int | None = None
    for n, raw in enumerate(lines):
        code = _strip_comments(raw)
        tm = _TWORD.findall(code)
        if tm:
            pending = int(tm[-1])
        if _M6.search(code) and pending is not None:
            out.append((n, pending))
    return out


def with_number(tool: Tool, number: int) -> Tool:
    """A copy of ``tool`` carrying tool number ``number``."""
    return replace(tool, number=number)
