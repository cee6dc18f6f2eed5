"""G-code reader: program text -> :class:`workbench.toolpath.Toolpath` (the moves table).

The reader reproduces what a grbl / grblHAL controller sends to its motion planner, with the
LinuxCNC extensions that CAM programs use (parameters, expressions, canned cycles).

Output: one row per motion, in absolute **machine** coordinates in mm (work offsets, G92 and
tool length offset applied), with ``line`` the 1-based source line. See
:mod:`workbench.toolpath` for the columns; the reader also sets ``spindle_rpm`` (commanded
speed while the spindle runs, 0 when it is stopped) and ``tool`` (the tool of the latest M6,
or the latest T word when the program never uses M6).

Two engines give identical tables:

- the *general* engine (:class:`_Machine`): an exact per-line state machine, the reference;
- the *fast* engine (:mod:`workbench.gcode._fast`): tokenises the whole text at once with numpy
  and resolves modal state by forward fill; it handles programs made of plain words only and
  hands anything else (parameters, cycles, offsets writes, every error) to the general engine.

Semantics and sources (grbl 1.1 ``grbl/gcode.c`` ``gc_execute_line``, grblHAL ``grbl/gcode.c``,
LinuxCNC G-code manual and ``src/emc/rs274ngc``):

- Execution order inside a block follows gc_execute_line / LinuxCNC "order of execution":
  feed mode, F, S, T, M6, M3/M4/M5, M7/M8/M9, G4, plane, units, G40, G43/G49, G54..,
  G61/G64, G90/G91, G98/G99, G10/G28/G30/G92, motion, M0/M1/M2/M30. Units (G20/G21) and
  distance mode given in a block apply to that block's words.
- Two words of one modal group, or the same letter twice, in one block: error (grbl
  STATUS_GCODE_MODAL_GROUP_VIOLATION / STATUS_GCODE_WORD_REPEATED). LinuxCNC's exception
  M7 with M8 is accepted.
- G1/G2/G3 with no feed rate defined: error (grbl error 22, STATUS_GCODE_UNDEFINED_FEED_RATE).
  In G93 every feed move needs its own F (1/min); the row's ``feed`` is F * len_mm, the mm/min
  that makes the move last 1/F minutes. Leaving G93 for G94 makes the feed undefined again
  (gc_execute_line, "[2. Set feed rate ]").
- Arcs: I/J/K are incremental from the start (G91.1, the default) or absolute work coordinates
  (G90.1, LinuxCNC). R form: centre from grbl's formula (gc_execute_line, "Arc Radius Mode"),
  negative R selects the arc over 180 degrees, start == end with R is an error. Centre form:
  error when the radius at the end differs from the radius at the start by more than 0.005 mm
  AND (more than 0.5 mm OR more than 0.1 % of the radius) (gc_execute_line, "Arc Offset Mode").
  ``radius_mm`` is the start radius, the sweep is grbl's mc_arc (``motion_control.c``): atan2
  of the start and end radius vectors, corrected by the direction with
  ARC_ANGULAR_TRAVEL_EPSILON = 5e-7 rad, so start == end is a full circle.
  ``len_mm = sqrt((r * sweep)^2 + linear^2)`` (helix). Plane axes follow grbl: G17 (X, Y; Z
  linear), G18 (Z, X; Y linear), G19 (Y, Z; X linear).
- G4 P is seconds (grbl and LinuxCNC). G53 (this block only) takes machine coordinates and
  needs G0 or G1 (grbl semantics: absolute even in G91).
- G28/G30 with axis words: rapid to the intermediate point, then rapid to the stored position
  for the named axes only; without axis words: rapid to the stored position on every axis
  (grbl gc_execute_line "NON_MODAL_GO_HOME_0/1" and LinuxCNC agree). Stored positions are the
  LinuxCNC parameters #5161-#5163 (G28) and #5181-#5183 (G30), machine mm, **0,0,0 by default**;
  G28.1/G30.1 store the current position.
- G10 L2 P<n> sets work offset n (P0 = current) to the given values; G10 L20 P<n> sets it so the
  current position has the given work coordinates (grbl gc_execute_line "NON_MODAL_SET_COORDINATE_DATA").
  Work offsets live in #5221+20*(n-1).. (machine mm), G92 offsets in #5211-#5213.
- G43 H<n>: tool length offset from ``tool_lengths`` (mm, **default 0 for every tool**); G43
  without H uses the current tool; G43.1 Z<v> (grbl dynamic TLO); G49 cancels.
- Canned cycles G81, G82, G83, G73 (XY plane), G98/G99, L repeats, G80: expanded into the rapid
  and feed moves of LinuxCNC's interpreter (``interp_cycles.cc`` convert_cycle_xy and
  convert_cycle_g81/g82/g83/g73, documented in the G-code manual): if the current Z is below R,
  rapid to R; per repeat: rapid XY at the current Z, rapid to R, then the cycle; retract to R
  (G99) or to the higher of the initial Z and R (G98, the default). In G91, R is relative to the
  initial Z and Z relative to R, and X/Y are added per repeat. G83 pecks by Q, retracts to R
  and rapids back to 0.254 mm (0.010 in) above the last depth; G73 retracts 0.254 mm only.
- Comments: ``;`` and ``( )``; the first ``)`` ends a comment (grbl, LinuxCNC). With
  ``nested_comments="allow"`` parentheses nest (lenient). Block delete: a line starting with
  ``/`` is skipped unless ``block_delete=False``. ``%`` alone on the first line opens the
  program and on a later line ends it (LinuxCNC).
- M2/M30 end the program and reset modes as grbl does (G1, G17, G90, G94, G54, M5, M9); the
  reader keeps reading after it (grbl executes what the sender sends next) and warns.

``rest_before`` (the planner comes to a full stop before the row) is set on the first row of
the program and on the first row after each point where grbl/grblHAL calls
``protocol_buffer_synchronize()``; each site is cited in :meth:`_Machine.block`.

Zero-length moves are kept as rows with ``len_mm = 0``: the motion planner decides (grbl drops
blocks with zero steps in plan_buffer_line).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import GCodeError
from ..toolpath import Toolpath, empty_moves, moves_frame
from ..units import MM_PER_IN
from ._tokens import ParamKey, lex_line, strip_comments

__all__ = ["read", "read_file", "ARC_ANGULAR_TRAVEL_EPSILON", "G83_RAPID_DELTA_MM"]

#: grbl config.h / grblHAL config.h: tolerance of the atan2 direction correction in mc_arc.
ARC_ANGULAR_TRAVEL_EPSILON = 5e-7
#: LinuxCNC interp_cycles.cc G83_RAPID_DELTA = 0.010 inch, the peck clearance (mm).
G83_RAPID_DELTA_MM = 0.010 * MM_PER_IN
#: grbl gc_execute_line arc offset check: 0.005 mm absolute, 0.5 mm hard limit, 0.1 % relative.
ARC_RADIUS_TOL_MM = 0.005
ARC_RADIUS_HARD_MM = 0.5
ARC_RADIUS_REL = 0.001

TWO_PI = 2.0 * math.pi

# G code (tenths) -> modal group. 0 = non-modal group (grbl MODAL_GROUP_G0).
_G_GROUP: dict[int, str] = {
    40: "nonmodal", 100: "nonmodal", 280: "nonmodal", 281: "nonmodal", 300: "nonmodal",
    301: "nonmodal", 530: "nonmodal", 920: "nonmodal", 921: "nonmodal",
    0: "motion", 10: "motion", 20: "motion", 30: "motion", 800: "motion", 810: "motion",
    820: "motion", 830: "motion", 730: "motion",
    170: "plane", 180: "plane", 190: "plane",
    900: "distance", 910: "distance",
    901: "arc_distance", 911: "arc_distance",
    930: "feed_mode", 940: "feed_mode",
    200: "units", 210: "units",
    400: "cutter",
    430: "tlo", 431: "tlo", 490: "tlo",
    980: "retract", 990: "retract",
    540: "coord", 550: "coord", 560: "coord", 570: "coord", 580: "coord", 590: "coord",
    591: "coord", 592: "coord", 593: "coord",
    610: "path", 611: "path", 640: "path",
}
_COORD_INDEX = {540: 1, 550: 2, 560: 3, 570: 4, 580: 5, 590: 6, 591: 7, 592: 8, 593: 9}
_M_GROUP: dict[int, str] = {0: "stop", 1: "stop", 2: "stop", 30: "stop", 6: "toolchange",
                            3: "spindle", 4: "spindle", 5: "spindle",
                            7: "coolant", 8: "coolant", 9: "coolant"}
_VALUE_LETTERS = frozenset("XYZIJKRFSTPQLHN")
_MOTION_NAME = {0: "G0", 10: "G1", 20: "G2", 30: "G3", 800: "G80", 810: "G81", 820: "G82",
                830: "G83", 730: "G73"}
_CYCLES = frozenset(("G81", "G82", "G83", "G73"))
# grbl gc_execute_line plane axes: (axis_0, axis_1, axis_linear).
_PLANE_AXES = {17: (0, 1, 2), 18: (2, 0, 1), 19: (1, 2, 0)}
_OFFSET_LETTER = ("I", "J", "K")
_CTRL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")

COLUMNS = ("code", "x", "y", "z", "i", "j", "k", "plane", "feed", "len_mm", "radius_mm",
           "kind", "line", "dwell_s", "rest_before", "spindle_rpm", "tool")


def _coord_param(n: int, axis: int) -> int:
    """LinuxCNC parameter number of work offset n (1 = G54) on axis 0..2."""
    return 5221 + 20 * (n - 1) + axis


class _Rows:
    """Column lists of the moves table under construction."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}

    def add(self, code: str, x: float, y: float, z: float, i: float, j: float, k: float,
            plane: int, feed: float, length: float, radius: float, kind: str, line: int,
            dwell: float, rest: bool, rpm: float, tool: int) -> None:
        c = self.cols
        c["code"].append(code); c["x"].append(x); c["y"].append(y); c["z"].append(z)
        c["i"].append(i); c["j"].append(j); c["k"].append(k); c["plane"].append(plane)
        c["feed"].append(feed); c["len_mm"].append(length); c["radius_mm"].append(radius)
        c["kind"].append(kind); c["line"].append(line); c["dwell_s"].append(dwell)
        c["rest_before"].append(rest); c["spindle_rpm"].append(rpm); c["tool"].append(tool)

    def frame(self) -> pd.DataFrame:
        return build_frame({k: np.asarray(v) if k not in ("code", "kind") else v
                            for k, v in self.cols.items()})


def build_frame(cols: Mapping[str, Any]) -> pd.DataFrame:
    """Moves table from reader columns (shared by both engines so dtypes match exactly)."""
    n = len(cols["code"])
    if n == 0:
        df = empty_moves()
        df["spindle_rpm"] = pd.Series(dtype="float64")
        df["tool"] = pd.Series(dtype="int64")
        return df
    data = {
        "code": pd.Series(np.asarray(cols["code"], dtype=object), dtype=object),
        "x": np.asarray(cols["x"], dtype=np.float64),
        "y": np.asarray(cols["y"], dtype=np.float64),
        "z": np.asarray(cols["z"], dtype=np.float64),
        "i": np.asarray(cols["i"], dtype=np.float64),
        "j": np.asarray(cols["j"], dtype=np.float64),
        "k": np.asarray(cols["k"], dtype=np.float64),
        "plane": np.asarray(cols["plane"], dtype=np.int64),
        "feed": np.asarray(cols["feed"], dtype=np.float64),
        "len_mm": np.asarray(cols["len_mm"], dtype=np.float64),
        "radius_mm": np.asarray(cols["radius_mm"], dtype=np.float64),
        "kind": pd.Series(np.asarray(cols["kind"], dtype=object), dtype=object),
        "line": np.asarray(cols["line"], dtype=np.int64),
        "dwell_s": np.asarray(cols["dwell_s"], dtype=np.float64),
        "rest_before": np.asarray(cols["rest_before"], dtype=bool),
        "spindle_rpm": np.asarray(cols["spindle_rpm"], dtype=np.float64),
        "tool": np.asarray(cols["tool"], dtype=np.int64),
    }
    return moves_frame(pd.DataFrame(data))


def arc_geometry(s0: float, s1: float, t0: float, t1: float, c0: float, c1: float,
                 clockwise: bool) -> tuple[float, float]:
    """Start radius and signed sweep (rad) of an arc in its plane, as grbl's mc_arc computes.

    Inputs are the plane coordinates (mm) of start ``s``, target ``t`` and centre ``c``.
    Returns ``(r, sweep)``; sweep < 0 for clockwise, |sweep| in (0, 2*pi] (start == end is a
    full circle). Source: grbl ``motion_control.c`` mc_arc, ARC_ANGULAR_TRAVEL_EPSILON.
    """
    r0 = s0 - c0
    r1 = s1 - c1
    rt0 = t0 - c0
    rt1 = t1 - c1
    ang = math.atan2(r0 * rt1 - r1 * rt0, r0 * rt0 + r1 * rt1)
    if clockwise:
        if ang >= -ARC_ANGULAR_TRAVEL_EPSILON:
            ang -= TWO_PI
    elif ang <= ARC_ANGULAR_TRAVEL_EPSILON:
        ang += TWO_PI
    return math.sqrt(r0 * r0 + r1 * r1), ang


class _Machine:
    """The general engine: grbl/LinuxCNC modal state machine, one block at a time."""

    def __init__(self, *, path: str | None, units: str, start: Sequence[float],
                 work_offsets: Mapping[Any, Sequence[float]] | None,
                 tool_lengths: Mapping[int, float] | None) -> None:
        self.path = path
        self.pos = [float(start[0]), float(start[1]), float(start[2])]
        self.inch = units == "inch"
        self.units_seen: set[str] = {units}
        self.absolute = True
        self.arc_absolute = False
        self.plane = 17
        self.inverse_time = False
        self.feed: float | None = None  # mm/min, None = undefined (grbl: 0)
        self.motion = "G0"  # grbl power-up motion mode (gc_init: MOTION_MODE_SEEK)
        self.coord = 1
        self.tlo = 0.0
        self.spindle = 5
        self.rpm = 0.0
        self.coolant = 0  # bit 1 mist (M7), bit 2 flood (M8): grbl COOLANT_MIST/FLOOD_ENABLE
        self.tool_selected = 0
        self.tool_loaded: int | None = None
        self.retract_r_plane = False  # G98 default
        self.cycle: dict[str, float] = {}
        self.tool_lengths = {int(k): float(v) for k, v in (tool_lengths or {}).items()}
        self.params: dict[int, float] = {}
        self.named: dict[str, float] = {}
        self.rest = True  # program start: the planner starts from rest
        self.ended = False
        self.warnings: list[str] = []
        self.tools: set[int] = set()
        self.speeds: set[float] = set()
        self.rows = _Rows()
        for key, vec in (work_offsets or {}).items():
            n = _offset_index(key)
            for a in range(3):
                self.params[_coord_param(n, a)] = float(vec[a])
        self._update_offset()

    # -- parameters -----------------------------------------------------------------------
    def get_param(self, key: ParamKey) -> float:
        if isinstance(key, int):
            if 5420 <= key <= 5422:
                return self.program_pos(key - 5420)
            if key == 5220:
                return float(self.coord)
            return self.params.get(key, 0.0)
        if key.startswith("_"):
            v = self._system_named(key)
            if v is not None:
                return v
        return self.named[key]

    def _system_named(self, key: str) -> float | None:
        # LinuxCNC predefined named parameters (G-code manual, "Predefined Named Parameters").
        axes = {"_X": 0, "_Y": 1, "_Z": 2}
        if key in axes and key not in self.named:
            return self.program_pos(axes[key])
        table = {
            "_METRIC": 0.0 if self.inch else 1.0, "_IMPERIAL": 1.0 if self.inch else 0.0,
            "_ABSOLUTE": 1.0 if self.absolute else 0.0,
            "_INCREMENTAL": 0.0 if self.absolute else 1.0,
            "_FEED": (self.feed or 0.0) / self.u(), "_RPM": self.rpm,
            "_CURRENT_TOOL": float(self.tool_loaded or 0),
            "_SELECTED_TOOL": float(self.tool_selected),
        }
        if key in table and key not in self.named:
            return table[key]
        return None

    def u(self) -> float:
        return MM_PER_IN if self.inch else 1.0

    def program_pos(self, axis: int) -> float:
        return (self.pos[axis] - self.off[axis]) / self.u()

    def _update_offset(self) -> None:
        p = self.params
        self.off = [
            (p.get(_coord_param(self.coord, a), 0.0) + p.get(5211 + a, 0.0))
            + (self.tlo if a == 2 else 0.0)
            for a in range(3)
        ]

    def _set_rest(self) -> None:
        self.rest = True

    # -- rows -----------------------------------------------------------------------------
    def _spindle_rpm(self) -> float:
        return self.rpm if self.spindle in (3, 4) else 0.0

    def _tool(self) -> int:
        return self.tool_loaded if self.tool_loaded is not None else self.tool_selected

    def emit_line(self, code: str, t: list[float], line: int, feed: float | None,
                  f_inverse: float | None = None) -> None:
        p = self.pos
        dx, dy, dz = t[0] - p[0], t[1] - p[1], t[2] - p[2]
        length = math.sqrt(dx * dx + dy * dy + dz * dz)
        if code == "G0":
            kind, fv = "rapid", math.nan
        else:
            kind = "plunge" if (dx == 0.0 and dy == 0.0 and dz < 0.0) else "cut"
            fv = f_inverse * length if f_inverse is not None else float(feed)  # type: ignore[arg-type]
        self.rows.add(code, t[0], t[1], t[2], math.nan, math.nan, math.nan, self.plane, fv,
                      length, math.nan, kind, line, 0.0, self.rest, self._spindle_rpm(),
                      self._tool())
        self.rest = False
        self.pos = t

    def emit_dwell(self, seconds: float, line: int) -> None:
        p = self.pos
        # grbl mc_dwell(): protocol_buffer_synchronize() before the dwell -> rest before and after.
        self.rows.add("G4", p[0], p[1], p[2], math.nan, math.nan, math.nan, self.plane,
                      math.nan, 0.0, math.nan, "dwell", line, seconds, True,
                      self._spindle_rpm(), self._tool())
        self.rest = True

    # -- one block ------------------------------------------------------------------------
    def error(self, msg: str, line: int, word: str | None = None) -> GCodeError:
        return GCodeError(msg, line=line, word=word, path=self.path)

    def block(self, words: list[tuple[str, float, str]], line: int) -> None:
        """Execute one block (the words of one line) in gc_execute_line order."""
        groups: dict[str, tuple[int, str]] = {}
        mgroups: dict[str, list[tuple[int, str]]] = {}
        vals: dict[str, tuple[float, str]] = {}
        for letter, v, text in words:
            if letter == "G":
                g = round(v * 10)
                grp = _G_GROUP.get(g) if abs(v * 10 - g) < 1e-6 else None
                if grp is None:
                    raise self.error("unsupported G-code", line, text)
                if grp in groups:
                    raise self.error(f"two G-codes of the {grp} modal group in one block "
                                     f"({groups[grp][1]} and {text})", line, text)
                groups[grp] = (g, text)
            elif letter == "M":
                m = round(v)
                grp = _M_GROUP.get(m) if abs(v - m) < 1e-9 else None
                if grp is None:
                    raise self.error("unsupported M-code", line, text)
                prev = mgroups.setdefault(grp, [])
                if prev and not (grp == "coolant" and {m, prev[0][0]} == {7, 8}):
                    raise self.error(f"two M-codes of the {grp} modal group in one block "
                                     f"({prev[0][1]} and {text})", line, text)
                prev.append((m, text))
            elif letter in _VALUE_LETTERS:
                if letter in vals:
                    raise self.error(f"word {letter} repeated in one block", line, text)
                vals[letter] = (v, text)
            else:
                raise self.error(f"unsupported word {letter}", line, text)
        used: set[str] = {"N"}

        # [1] feed rate mode. Leaving G93 makes the feed undefined (grbl "[2. Set feed rate ]").
        if "feed_mode" in groups:
            inv = groups["feed_mode"][0] == 930
            if self.inverse_time and not inv:
                self.feed = None
            self.inverse_time = inv
        # units of this block apply to its own words
        if "units" in groups:
            self.inch = groups["units"][0] == 200
            self.units_seen.add("inch" if self.inch else "mm")
        u = self.u()
        # [2] feed rate
        f_inverse: float | None = None
        if "F" in vals:
            used.add("F")
            fv = vals["F"][0]
            if fv < 0:
                raise self.error("negative feed rate", line, vals["F"][1])
            if self.inverse_time:
                f_inverse = fv
            else:
                self.feed = fv * u if fv > 0 else None
        # [3] spindle speed. grbl spindle_sync() -> protocol_buffer_synchronize() when S changes
        # while the spindle runs (gc_execute_line "[4. Set spindle speed ]").
        if "S" in vals:
            used.add("S")
            s = vals["S"][0]
            if s < 0:
                raise self.error("negative spindle speed", line, vals["S"][1])
            self.speeds.add(s)
            if s != self.rpm and self.spindle in (3, 4):
                self._set_rest()
            self.rpm = s
        # [4] tool select
        if "T" in vals:
            used.add("T")
            t = vals["T"][0]
            if t < 0 or t != int(t):
                raise self.error("tool number must be a non-negative integer", line, vals["T"][1])
            self.tool_selected = int(t)
            self.tools.add(int(t))
        # [5] tool change. grblHAL gcode.c "[6. Change tool ]": protocol_buffer_synchronize()
        # before the tool change (grbl 1.1 ignores M6; grblHAL syncs).
        if "toolchange" in mgroups:
            self.tool_loaded = self.tool_selected
            self._set_rest()
        # [6] spindle control: spindle_sync() on a state change (grbl "[7. Spindle control ]").
        if "spindle" in mgroups:
            m = mgroups["spindle"][0][0]
            if m != self.spindle:
                self._set_rest()
            self.spindle = m
        # [7] coolant: coolant_sync() -> protocol_buffer_synchronize() on a state change
        # (grbl gc_execute_line "[8. Coolant control ]").
        if "coolant" in mgroups:
            c = self.coolant
            for m, _ in mgroups["coolant"]:
                c = 0 if m == 9 else c | (1 if m == 7 else 2)
            if c != self.coolant:
                self._set_rest()
            self.coolant = c
        nonmodal = groups.get("nonmodal")
        nm = nonmodal[0] if nonmodal else None
        # [9] dwell: mc_dwell() -> protocol_buffer_synchronize() (grbl motion_control.c).
        if nm == 40:
            if "P" not in vals:
                raise self.error("G4 needs a P word (seconds)", line, nonmodal[1])  # type: ignore[index]
            used.add("P")
            p = vals["P"][0]
            if p < 0:
                raise self.error("negative dwell time", line, vals["P"][1])
            self.emit_dwell(p, line)
        # [10] plane
        if "plane" in groups:
            self.plane = {170: 17, 180: 18, 190: 19}[groups["plane"][0]]
        # [12] cutter compensation: only G40 (off) is supported (G41/G42 are not G-codes here).
        # [13] tool length offset. grbl: system_flag_wco_change() -> protocol_buffer_synchronize()
        # (config.h FORCE_BUFFER_SYNC_DURING_WCO_CHANGE) when the offset changes.
        if "tlo" in groups:
            g, text = groups["tlo"]
            if g == 490:
                new = 0.0
            elif g == 431:
                if "Z" not in vals:
                    raise self.error("G43.1 needs a Z word", line, text)
                new = vals["Z"][0] * u
                used.add("Z")
            else:
                if "H" in vals:
                    used.add("H")
                    h = vals["H"][0]
                    if h < 0 or h != int(h):
                        raise self.error("H must be a non-negative integer", line, vals["H"][1])
                    n = int(h)
                else:
                    n = self._tool()
                new = self.tool_lengths.get(n, 0.0)
            if new != self.tlo:
                self._set_rest()
            self.tlo = new
            self._update_offset()
        # [14] coordinate system select (wco change sync as above).
        if "coord" in groups:
            n = _COORD_INDEX[groups["coord"][0]]
            if n != self.coord:
                self._set_rest()
            self.coord = n
            self._update_offset()
        # [15] path control G61/G64 (P/Q blending tolerance accepted, no effect on the plan).
        if "path" in groups and groups["path"][0] == 640:
            used.update({"P", "Q"} & vals.keys())
        # [16] distance modes
        if "distance" in groups:
            self.absolute = groups["distance"][0] == 900
        if "arc_distance" in groups:
            self.arc_absolute = groups["arc_distance"][0] == 901
        # [17] retract mode
        if "retract" in groups:
            self.retract_r_plane = groups["retract"][0] == 990

        axis = {a: vals[a][0] * u for a in "XYZ" if a in vals and not (a == "Z" and "Z" in used)}
        motion_word = groups.get("motion")
        axis_user = nm in (100, 280, 300, 920)
        if axis_user and motion_word and motion_word[0] != 800:
            raise self.error("axis words are claimed by both a motion and "
                             f"{nonmodal[1]} in one block", line, motion_word[1])  # type: ignore[index]
        # [18] non-modal commands using axis words
        if nm == 100:
            self._g10(vals, used, u, line, nonmodal[1])  # type: ignore[index]
        elif nm in (280, 300):
            used.update("XYZ" & vals.keys())
            self._go_home(axis, nm, line)
        elif nm in (281, 301):
            if axis:
                raise self.error(f"{nonmodal[1]} takes no axis words", line, nonmodal[1])  # type: ignore[index]
            base = 5161 if nm == 281 else 5181
            for a in range(3):
                self.params[base + a] = self.pos[a]
            # settings_write_coord_data() syncs (grbl config.h FORCE_BUFFER_SYNC_DURING_EEPROM_WRITE)
            self._set_rest()
        elif nm == 920:
            if not axis:
                raise self.error("G92 needs at least one axis word", line, nonmodal[1])  # type: ignore[index]
            used.update("XYZ" & vals.keys())
            for a, letter in enumerate("XYZ"):
                if letter in axis:
                    # grbl: G92 offset = MPos - WCS - TLO - value
                    self.params[5211 + a] = (self.pos[a] - self.params.get(_coord_param(self.coord, a), 0.0)
                                             - (self.tlo if a == 2 else 0.0) - axis[letter])
            self._update_offset()
            self._set_rest()  # system_flag_wco_change() sync
        elif nm == 921:
            for a in range(3):
                self.params[5211 + a] = 0.0
            self._update_offset()
            self._set_rest()  # system_flag_wco_change() sync

        # [19] motion
        prev_motion = self.motion
        if motion_word:
            self.motion = _MOTION_NAME[motion_word[0]]
        g53 = nm == 530
        run_motion = bool(motion_word) or (bool(axis) and not axis_user)
        if run_motion:
            self._motion(vals, axis, used, u, line, g53, f_inverse,
                         motion_word[1] if motion_word else self.motion, prev_motion)
        elif g53:
            raise self.error("G53 needs a G0 or G1 move with axis words", line, nonmodal[1])  # type: ignore[index]
        # [20] program flow. grbl: protocol_buffer_synchronize() for M0/M1/M2/M30, and M2/M30
        # reset modal state (gc_execute_line "[21. Program flow ]").
        if "stop" in mgroups:
            m = mgroups["stop"][0][0]
            self._set_rest()
            if m in (2, 30):
                self.motion = "G1"
                self.plane = 17
                self.absolute = True
                self.inverse_time = False
                self.coord = 1
                self.spindle = 5
                self.coolant = 0
                self._update_offset()
                self.ended = True

        unused = [vals[k][1] for k in vals if k not in used]
        if unused:
            raise self.error("word not used by any command in this block", line, unused[0])

    # -- non-modal helpers ----------------------------------------------------------------
    def _g10(self, vals: dict[str, tuple[float, str]], used: set[str], u: float, line: int,
             text: str) -> None:
        if "L" not in vals or "P" not in vals:
            raise self.error("G10 needs L and P words", line, text)
        used.update({"L", "P"} | ("XYZ" & vals.keys()))
        lv, pv = vals["L"][0], vals["P"][0]
        if lv not in (2.0, 20.0):
            raise self.error("only G10 L2 and G10 L20 are supported", line, vals["L"][1])
        if pv != int(pv) or not 0 <= pv <= 9:
            raise self.error("G10 P must be 0 (current) or 1..9", line, vals["P"][1])
        n = int(pv) or self.coord
        for a, letter in enumerate("XYZ"):
            if letter not in vals:
                continue
            v = vals[letter][0] * u
            if lv == 2.0:
                new = v
            else:
                # grbl L20: WCS = MPos - G92 - TLO - WPos
                new = self.pos[a] - self.params.get(5211 + a, 0.0) - v - (self.tlo if a == 2 else 0.0)
            self.params[_coord_param(n, a)] = new
        self._update_offset()
        # settings_write_coord_data(): protocol_buffer_synchronize()
        # (grbl config.h FORCE_BUFFER_SYNC_DURING_EEPROM_WRITE; grblHAL the same).
        self._set_rest()

    def _go_home(self, axis: dict[str, float], nm: int, line: int) -> None:
        # grbl gc_execute_line NON_MODAL_GO_HOME_0/1: planned as rapids, no sync.
        base = 5161 if nm == 280 else 5181
        if axis:
            t = self._target(axis, False)
            self.emit_line("G0", t, line, None)
            home = list(self.pos)
            for a, letter in enumerate("XYZ"):
                if letter in axis:
                    home[a] = self.params.get(base + a, 0.0)
        else:
            home = [self.params.get(base + a, 0.0) for a in range(3)]
        self.emit_line("G0", home, line, None)

    def _target(self, axis: dict[str, float], g53: bool) -> list[float]:
        t = list(self.pos)
        for a, letter in enumerate("XYZ"):
            if letter in axis:
                v = axis[letter]
                if g53:
                    t[a] = v
                elif self.absolute:
                    t[a] = v + self.off[a]
                else:
                    t[a] = self.pos[a] + v
        return t

    # -- motion ---------------------------------------------------------------------------
    def _motion(self, vals: dict[str, tuple[float, str]], axis: dict[str, float], used: set[str],
                u: float, line: int, g53: bool, f_inverse: float | None, mtext: str,
                prev_motion: str) -> None:
        mode = self.motion
        used.update("XYZ" & vals.keys())
        if mode == "G80":
            if axis:
                raise self.error("axis words with no motion mode active (G80)", line, mtext)
            return
        if g53 and mode not in ("G0", "G1"):
            raise self.error("G53 needs G0 or G1", line, mtext)
        if mode in _CYCLES:
            self._cycle(mode, vals, used, u, line, mtext, prev_motion != mode)
            return
        if mode != "G0":
            # grbl error 22: feed rate undefined (G93: F on every block).
            if self.inverse_time:
                if f_inverse is None or f_inverse == 0:
                    raise self.error("undefined feed rate: G93 needs an F word on every feed "
                                     "move", line, mtext)
            elif self.feed is None:
                raise self.error("undefined feed rate (grbl error 22): no F before the first "
                                 "feed move", line, mtext)
        if mode in ("G0", "G1"):
            if not axis:
                return
            self.emit_line(mode, self._target(axis, g53), line, self.feed, f_inverse)
            return
        self._arc(mode, vals, axis, used, u, line, f_inverse, mtext)

    def _arc(self, mode: str, vals: dict[str, tuple[float, str]], axis: dict[str, float],
             used: set[str], u: float, line: int, f_inverse: float | None, mtext: str) -> None:
        a0, a1, al = _PLANE_AXES[self.plane]
        letters = "XYZ"
        if letters[a0] not in axis and letters[a1] not in axis:
            raise self.error(f"G{mode[1]} needs an axis word in the G{self.plane} plane "
                             f"({letters[a0]} or {letters[a1]})", line, mtext)
        start = self.pos
        t = self._target(axis, False)
        x = t[a0] - start[a0]
        y = t[a1] - start[a1]
        has_ijk = [c for c in _OFFSET_LETTER if c in vals]
        if "R" in vals:
            used.add("R")
            if has_ijk:
                raise self.error("arc has both R and I/J/K", line, vals["R"][1])
            r = vals["R"][0] * u
            if x == 0.0 and y == 0.0:
                raise self.error("R-form arc with start == end (a full circle needs I/J/K)",
                                 line, vals["R"][1])
            # grbl gc_execute_line, "Arc Radius Mode": centre on the perpendicular bisector.
            d2 = x * x + y * y
            h = 4.0 * r * r - d2
            if h < 0.0:
                if h < -1e-9 * (4.0 * r * r):
                    raise self.error(f"arc radius {abs(r):g} mm is smaller than half the chord "
                                     f"{math.sqrt(d2) / 2:g} mm", line, vals["R"][1])
                h = 0.0
            h = -math.sqrt(h) / math.sqrt(d2)
            if mode == "G3":
                h = -h
            if r < 0:
                h = -h
                r = -r
            off0 = 0.5 * (x - (y * h))
            off1 = 0.5 * (y + (x * h))
        else:
            in_plane = [_OFFSET_LETTER[a0], _OFFSET_LETTER[a1]]
            if not any(c in vals for c in in_plane):
                raise self.error(f"G{mode[1]} needs an R word or an offset word in the "
                                 f"G{self.plane} plane ({in_plane[0]} or {in_plane[1]})", line, mtext)
            used.update(has_ijk)
            out = [c for c in has_ijk if c not in in_plane]
            if out:
                self.warnings.append(f"line {line}: {out[0]} ignored on an arc in the "
                                     f"G{self.plane} plane (grbl ignores it)")
            i0 = vals[in_plane[0]][0] * u if in_plane[0] in vals else 0.0
            i1 = vals[in_plane[1]][0] * u if in_plane[1] in vals else 0.0
            if self.arc_absolute:
                # G90.1: centre in work coordinates (LinuxCNC); offsets made relative to start.
                off0 = (i0 + self.off[a0]) - start[a0]
                off1 = (i1 + self.off[a1]) - start[a1]
            else:
                off0, off1 = i0, i1
            r_start = math.sqrt(off0 * off0 + off1 * off1)
            e0, e1 = x - off0, y - off1
            r_end = math.sqrt(e0 * e0 + e1 * e1)
            dr = abs(r_end - r_start)
            # grbl gc_execute_line, "Arc Offset Mode" radius check.
            if dr > ARC_RADIUS_TOL_MM and (dr > ARC_RADIUS_HARD_MM or dr > ARC_RADIUS_REL * r_start):
                raise self.error(f"arc radius differs at start ({r_start:.4f} mm) and end "
                                 f"({r_end:.4f} mm) by more than grbl's tolerance", line, mtext)
        c0 = start[a0] + off0
        c1 = start[a1] + off1
        r_arc, sweep = arc_geometry(start[a0], start[a1], t[a0], t[a1], c0, c1, mode == "G2")
        if "R" in vals:
            r_arc = r
        lin = t[al] - start[al]
        rs = r_arc * sweep
        length = math.sqrt(rs * rs + lin * lin)
        ijk = [math.nan, math.nan, math.nan]
        ijk[a0] = off0
        ijk[a1] = off1
        fv = f_inverse * length if f_inverse is not None else float(self.feed)  # type: ignore[arg-type]
        self.rows.add(mode, t[0], t[1], t[2], ijk[0], ijk[1], ijk[2], self.plane, fv, length,
                      r_arc, "cut", line, 0.0, self.rest, self._spindle_rpm(), self._tool())
        self.rest = False
        self.pos = t

    def _cycle(self, mode: str, vals: dict[str, tuple[float, str]], used: set[str], u: float,
               line: int, mtext: str, new_cycle: bool) -> None:
        """Canned cycle, LinuxCNC interp_cycles.cc convert_cycle_xy."""
        if self.plane != 17:
            raise self.error("canned cycles are supported in the G17 plane only", line, mtext)
        if self.inverse_time:
            raise self.error("canned cycles cannot run in G93 inverse time", line, mtext)
        if self.feed is None:
            raise self.error("undefined feed rate (grbl error 22): no F before the canned "
                             "cycle", line, mtext)
        cyc = self.cycle
        if new_cycle:
            cyc.clear()
        for letter in "RZPQ":
            if letter in vals:
                used.add(letter)
                cyc[letter] = vals[letter][0] * (u if letter in "RZQ" else 1.0)
        if new_cycle and "Z" not in vals:
            raise self.error(f"{mode} needs a Z word when the cycle starts", line, mtext)
        if new_cycle and "R" not in vals:
            raise self.error(f"{mode} needs an R word (retract plane)", line, mtext)
        if mode in ("G83", "G73") and cyc.get("Q", 0.0) <= 0.0:
            raise self.error(f"{mode} needs a positive Q word (peck depth)", line, mtext)
        if mode == "G82" and "P" not in cyc:
            raise self.error("G82 needs a P word (dwell seconds)", line, mtext)
        reps = 1
        if "L" in vals:
            used.add("L")
            lv = vals["L"][0]
            if lv != int(lv) or lv < 1:
                raise self.error("L must be a positive integer", line, vals["L"][1])
            reps = int(lv)
        old_z = self.pos[2]
        if self.absolute:
            r = cyc["R"] + self.off[2]
            bottom = cyc["Z"] + self.off[2]
            xs = [vals["X"][0] * u + self.off[0] if "X" in vals else self.pos[0]]
            ys = [vals["Y"][0] * u + self.off[1] if "Y" in vals else self.pos[1]]
            dx = dy = 0.0
        else:
            r = cyc["R"] + old_z
            bottom = r + cyc["Z"]
            xs, ys = [self.pos[0]], [self.pos[1]]
            dx = vals["X"][0] * u if "X" in vals else 0.0
            dy = vals["Y"][0] * u if "Y" in vals else 0.0
        if r < bottom:
            raise self.error("canned cycle R is below the bottom Z", line, mtext)
        x, y = xs[0], ys[0]
        if old_z < r:
            self.emit_line("G0", [self.pos[0], self.pos[1], r], line, None)
            old_z = r
        clear = r if self.retract_r_plane else old_z
        feed = self.feed
        for _ in range(reps):
            x, y = x + dx, y + dy
            self.emit_line("G0", [x, y, old_z], line, None)
            if old_z != r:
                self.emit_line("G0", [x, y, r], line, None)
            if mode == "G83" or mode == "G73":
                delta = cyc["Q"]
                depth = r - delta
                while depth > bottom:
                    self.emit_line("G1", [x, y, depth], line, feed)
                    if mode == "G83":
                        self.emit_line("G0", [x, y, r], line, None)
                    self.emit_line("G0", [x, y, depth + G83_RAPID_DELTA_MM], line, None)
                    depth = depth - delta
            self.emit_line("G1", [x, y, bottom], line, feed)
            if mode == "G82":
                self.emit_dwell(cyc["P"], line)
            self.emit_line("G0", [x, y, clear], line, None)
            old_z = clear

    # -- result ---------------------------------------------------------------------------
    def apply_assignments(self, assigns: list[tuple[ParamKey, float]]) -> None:
        touched = False
        for key, v in assigns:
            if isinstance(key, int):
                if 5420 <= key <= 5422 or key == 5220:
                    continue  # read-only system parameters
                self.params[key] = v
                touched = touched or 5161 <= key <= 5400
            else:
                self.named[key] = v
        if touched:
            self._update_offset()


def _offset_index(key: Any) -> int:
    """Work-offset key (``"G54"``..``"G59.3"``, or 1..9) -> coordinate system number 1..9."""
    if isinstance(key, (int, np.integer)) and 1 <= int(key) <= 9:
        return int(key)
    if isinstance(key, str):
        k = key.strip().upper()
        names = {"G54": 1, "G55": 2, "G56": 3, "G57": 4, "G58": 5, "G59": 6, "G59.1": 7,
                 "G59.2": 8, "G59.3": 9}
        if k in names:
            return names[k]
    raise GCodeError(f"work_offsets key {key!r} is not G54..G59.3 or 1..9")


_CTRL_BYTES = bytes([*range(0, 9), *range(14, 32), 127])


def _check_text(text: str, path: str | None) -> bytes:
    """Raise on control bytes (binary data); return the UTF-8 bytes of the text."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data.translate(None, _CTRL_BYTES)) == len(data):
        return data
    m = _CTRL.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise GCodeError(f"binary data (control byte 0x{ord(m.group()):02x}), not G-code text",
                         line=line, path=path)
    return data  # pragma: no cover


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_general(text: str, *, path: str | None = None, units: str = "mm",
                 start: Sequence[float] = (0.0, 0.0, 0.0),
                 work_offsets: Mapping[Any, Sequence[float]] | None = None,
                 tool_lengths: Mapping[int, float] | None = None, strict: bool = True,
                 nested_comments: str = "error", block_delete: bool = True,
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The general engine. Returns ``(moves, info)``; see :func:`read`."""
    mach = _Machine(path=path, units=units, start=start, work_offsets=work_offsets,
                    tool_lengths=tool_lengths)
    lines = _lines(text)
    opened = False
    seen_code = False
    end_line: int | None = None
    for n, raw in enumerate(lines, 1):
        if raw.lstrip().startswith("/"):
            if block_delete:
                continue
            raw = raw.lstrip()[1:]
        code = strip_comments(raw.rstrip("\r"), n, nested=nested_comments, strict=strict,
                              path=path)
        stripped = code.strip()
        if not stripped:
            continue
        if stripped == "%":
            if not seen_code and not opened:
                opened = True
                continue
            end_line = n
            break
        words, assigns = lex_line(code, n, mach.get_param, path)
        if words and mach.ended:
            mach.warnings.append(f"line {n}: program continues after M2/M30 (grbl executes it)")
            mach.ended = False
        seen_code = True
        if words:
            mach.block(words, n)
        if assigns:
            mach.apply_assignments(assigns)
    if end_line is not None and any(s.strip() for s in lines[end_line:]):
        mach.warnings.append(f"line {end_line}: text after the closing '%' is ignored")
    info = {
        "units_seen": sorted(mach.units_seen),
        "tools": sorted(mach.tools),
        "spindle_speeds": sorted(mach.speeds),
        "warnings": mach.warnings,
        "line_count": len(lines),
    }
    return mach.rows.frame(), info


def _finish(moves: pd.DataFrame, info: dict[str, Any], path: str | None,
            start: Sequence[float], engine: str) -> Toolpath:
    feed = moves["feed"].to_numpy(dtype=float)
    fin = feed[np.isfinite(feed)]
    xyz = moves[["x", "y", "z"]].to_numpy(dtype=float)
    meta: dict[str, Any] = {
        "path": path,
        "line_count": info["line_count"],
        "units_seen": info["units_seen"],
        "tools": info["tools"],
        "spindle_speeds": info["spindle_speeds"],
        "feed_range": [float(fin.min()), float(fin.max())] if len(fin) else None,
        "bounds": ({"min": [float(v) for v in xyz.min(axis=0)],
                    "max": [float(v) for v in xyz.max(axis=0)]} if len(xyz) else None),
        "warnings": info["warnings"],
        "engine": engine,
    }
    return Toolpath(moves=moves, start=(float(start[0]), float(start[1]), float(start[2])),
                    meta=meta)


def read(text: str, *, path: str | None = None, units: Literal["mm", "inch"] | None = None,
         start: Sequence[float] = (0.0, 0.0, 0.0),
         work_offsets: Mapping[Any, Sequence[float]] | None = None,
         tool_lengths: Mapping[int, float] | None = None, strict: bool = True,
         nested_comments: Literal["error", "allow"] | None = None, block_delete: bool = True,
         engine: Literal["auto", "fast", "general"] = "auto",
         dwell_unit: Literal["s", "ms"] = "s") -> Toolpath:
    """Read a G-code program into a toolpath (see the module docstring for the semantics).

    Args:
        text: the program.
        path: file name, used in errors and ``meta["path"]``.
        units: units in force before the first G20/G21 (``None`` = ``"mm"``, grbl's default).
        start: machine position (mm) before the program; becomes ``Toolpath.start``.
        work_offsets: work offsets in machine mm, ``{"G54": (x, y, z), "G55": ...}`` (or keys
            1..9); unlisted systems are 0,0,0.
        tool_lengths: tool length offsets in mm by tool number for G43 (default 0 for all).
        strict: True (default): an unclosed ``(`` is an error, parentheses do not nest.
        nested_comments: ``"error"`` (the first ``)`` ends a comment, as grbl and LinuxCNC; the
            default when strict) or ``"allow"`` (nested parentheses, the default when not
            strict), for programs such as generators' comments ``( at (1, 2) )``.
        block_delete: skip lines starting with ``/`` (the block-delete switch on).
        engine: ``"auto"`` (fast engine when the program allows it), ``"fast"`` (raise
            GCodeError if the fast engine cannot take the program) or ``"general"``.
        dwell_unit: the unit of ``P`` in G4 and G82 dwells: ``"s"`` (grbl, LinuxCNC, PathPilot,
            Mach4 by default) or ``"ms"`` (MASSO, Mach4 with "Dwell in ms" set); ``dwell_s`` is
            always in seconds.

    Returns:
        Toolpath with ``moves`` (machine mm, mm/min, one row per motion/dwell; extra columns
        ``spindle_rpm`` and ``tool``), ``start`` and ``meta``: path, line_count, units_seen,
        tools (T numbers), spindle_speeds, feed_range [min, max] mm/min, bounds (end points,
        machine mm), warnings, engine.

    Raises:
        GCodeError: with the line number and word: unsupported word or G/M code, modal group
            conflict, repeated word, arc radius mismatch, R arc with start == end, undefined
            feed, axis words with G80, unused words, bad expressions, division by zero,
            non-finite values, binary data, unclosed comments (strict).
    """
    if units is None:
        units = "mm"
    if units not in ("mm", "inch"):
        raise GCodeError(f"units must be 'mm' or 'inch', got {units!r}", path=path)
    if nested_comments is None:
        nested_comments = "error" if strict else "allow"
    if nested_comments not in ("error", "allow"):
        raise GCodeError(f"nested_comments must be 'error' or 'allow', got {nested_comments!r}",
                         path=path)
    if len(start) != 3 or not all(math.isfinite(float(v)) for v in start):
        raise GCodeError(f"start must be three finite numbers, got {start!r}", path=path)
    data = _check_text(text, path)
    kw = dict(path=path, units=units, start=start, work_offsets=work_offsets,
              tool_lengths=tool_lengths, strict=strict, nested_comments=nested_comments,
              block_delete=block_delete)
    if engine not in ("auto", "fast", "general"):
        raise GCodeError(f"engine must be 'auto', 'fast' or 'general', got {engine!r}", path=path)
    if dwell_unit not in ("s", "ms"):
        raise GCodeError(f"dwell_unit must be 's' or 'ms', got {dwell_unit!r}", path=path)
    tp = None
    if engine != "general":
        from . import _fast

        res = _fast.read_fast(text, data, **kw)  # type: ignore[arg-type]
        if res is not None:
            tp = _finish(res[0], res[1], path, start, "fast")
        elif engine == "fast":
            # let the general engine raise the precise error, if there is one
            read_general(text, **kw)  # type: ignore[arg-type]
            raise GCodeError("the fast engine cannot read this program (it uses words beyond "
                             "plain G0-G3 motion); use engine='auto'", path=path)
    if tp is None:
        moves, info = read_general(text, **kw)  # type: ignore[arg-type]
        tp = _finish(moves, info, path, start, "general")
    if dwell_unit == "ms":
        tp.moves["dwell_s"] = tp.moves["dwell_s"] / 1000.0
    tp.meta["dwell_unit"] = dwell_unit
    return tp


def read_file(path: str | Path, **kw: Any) -> Toolpath:
    """Read a G-code file (bytes, UTF-8; see :func:`read` for the keywords).

    Raises:
        GCodeError: the file cannot be opened, contains binary data or bytes that are not
            UTF-8 (naming the line), or any error of :func:`read`.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise GCodeError(f"cannot read file: {exc.strerror or exc}", path=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise GCodeError(f"byte 0x{data[exc.start]:02x} is not UTF-8 text (binary data?)",
                         line=line, path=str(path)) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    kw.setdefault("path", str(path))
    return read(text, **kw)
