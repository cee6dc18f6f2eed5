"""Machine profiles: the kinematic limits a motion planner needs, as data.

A :class:`MachineProfile` holds per-axis maximum rates (mm/min) and accelerations (mm/s²), the
junction deviation and arc tolerance of grbl-family controllers, an optional jerk limit, the
feed cap, rapid rates, spindle range, planner buffer size and steps/mm. Profiles ship as JSON in
``data/machines/<id>.json``; :func:`from_grbl_settings` builds one from a grbl ``$$`` dump.

Units follow grbl's settings (grbl ``settings.c`` / grblHAL ``settings.c``): ``$110-$112`` max
rate mm/min, ``$120-$122`` acceleration mm/s², ``$11`` junction deviation mm, ``$12`` arc
tolerance mm, ``$100-$102`` steps/mm.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import MachineProfileError
from ..paths import DATA_DIR

CONTROLLERS: tuple[str, ...] = ("grbl", "grblHAL", "mach4", "linuxcnc", "pathpilot", "masso")

#: Planner block buffer size (BLOCK_BUFFER_SIZE) of each controller family when a profile does
#: not give one. grbl 1.1 ``config.h``/``planner.h``: 16 (15 usable, one slot tells full from
#: empty); grblHAL ``config.h``: 100 (the Simulator default). ``None`` = look-ahead over the
#: whole program (trajectory planners that read ahead without a small block buffer).
DEFAULT_BUFFER: dict[str, int | None] = {"grbl": 16, "grblHAL": 100, "mach4": None,
                                         "linuxcnc": None, "pathpilot": None, "masso": None}

MACHINES_DIR: Path = DATA_DIR / "machines"

Triple = tuple[float, float, float]


@dataclass(frozen=True)
class MachineProfile:
    """Kinematic limits of one machine.

    Attributes:
        id: profile name (file stem in ``data/machines``).
        controller: one of :data:`CONTROLLERS`.
        max_rate_mm_min: per-axis maximum rate (x, y, z), mm/min (grbl ``$110-$112``).
        accel_mm_s2: per-axis acceleration (x, y, z), mm/s² (grbl ``$120-$122``).
        junction_deviation_mm: grbl ``$11``; the corner-speed parameter of
            ``planner.c`` (also used as the cornering model for non-grbl controllers).
        arc_tolerance_mm: grbl ``$12``; chord error used to split arcs (``mc_arc``).
        jerk_mm_s3: per-axis jerk (x, y, z), mm/s³, or ``None``; needed by ``mode="scurve"``.
        feed_cap_mm_min: the highest programmed vector feed the controller honours, mm/min, or
            ``None`` (then only the per-axis rates cap the feed, as in grbl); see
            :attr:`feed_cap`.
        rapid_mm_min: per-axis rapid (G0) rate, mm/min; ``None`` = ``max_rate_mm_min``.
        spindle_rpm: (min, max) spindle speed, rpm, or ``None``.
        default_post: name of the post-processor in ``data/posts`` for this machine.
        planner_blocks: planner block buffer size (BLOCK_BUFFER_SIZE); ``None`` = unlimited.
        steps_per_mm: per-axis steps/mm (grbl ``$100-$102``) for grbl's step rounding, or
            ``None`` (no rounding).
        notes: free text.
        sources: where every number comes from.
    """

    id: str
    controller: str
    max_rate_mm_min: Triple
    accel_mm_s2: Triple
    junction_deviation_mm: float
    arc_tolerance_mm: float = 0.002
    jerk_mm_s3: Triple | None = None
    feed_cap_mm_min: float | None = None
    rapid_mm_min: Triple | None = None
    spindle_rpm: tuple[float, float] | None = None
    default_post: str | None = None
    planner_blocks: int | None = None
    steps_per_mm: Triple | None = None
    notes: str = ""
    sources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def feed_cap(self) -> float:
        """Feed cap in mm/min: ``feed_cap_mm_min`` or, when unset, the lower XY max rate."""
        if self.feed_cap_mm_min is not None:
            return float(self.feed_cap_mm_min)
        return float(min(self.max_rate_mm_min[0], self.max_rate_mm_min[1]))

    @property
    def rapid(self) -> Triple:
        """Per-axis rapid rate (x, y, z), mm/min."""
        return self.rapid_mm_min if self.rapid_mm_min is not None else self.max_rate_mm_min

    @property
    def lookahead(self) -> int | None:
        """Planner buffer size used by default: ``planner_blocks`` or the controller's default."""
        if self.planner_blocks is not None:
            return self.planner_blocks
        return DEFAULT_BUFFER.get(self.controller)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists); :func:`profile_from_dict` reads it back."""
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def _triple(d: Mapping[str, Any], key: str, where: str, *, required: bool = True,
            positive: bool = True) -> Triple | None:
    v = d.get(key)
    if v is None:
        if required:
            raise MachineProfileError(f"{where}: required field {key!r} is missing")
        return None
    if isinstance(v, Mapping):
        try:
            v = [v["x"], v["y"], v["z"]]
        except KeyError as exc:
            raise MachineProfileError(f"{where}: field {key!r} lacks axis {exc.args[0]!r}") from None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = [v, v, v]
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        raise MachineProfileError(f"{where}: field {key!r} must be [x, y, z] numbers, got {v!r:.60}")
    out = []
    for a, x in zip("xyz", v):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise MachineProfileError(f"{where}: field {key!r} axis {a} is not a finite number ({x!r})")
        if positive and x <= 0:
            raise MachineProfileError(f"{where}: field {key!r} axis {a} must be positive, got {x}")
        out.append(float(x))
    return (out[0], out[1], out[2])


def _number(d: Mapping[str, Any], key: str, where: str, *, required: bool = True,
            default: float | None = None) -> float | None:
    v = d.get(key)
    if v is None:
        if required:
            raise MachineProfileError(f"{where}: required field {key!r} is missing")
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise MachineProfileError(f"{where}: field {key!r} must be a positive number, got {v!r}")
    return float(v)


def profile_from_dict(d: Mapping[str, Any], *, where: str = "machine profile") -> MachineProfile:
    """Validate a profile mapping (the JSON form) and build a :class:`MachineProfile`.

    Raises:
        MachineProfileError: naming ``where`` (the file) and the missing or bad field.
    """
    if not isinstance(d, Mapping):
        raise MachineProfileError(f"{where}: expected a JSON object, got {type(d).__name__}")
    known = set(MachineProfile.__dataclass_fields__)
    unknown = sorted(set(d) - known - {"$comment", "comment"})
    if unknown:
        raise MachineProfileError(f"{where}: unknown field(s) {unknown}")
    pid = d.get("id")
    if not isinstance(pid, str) or not pid:
        raise MachineProfileError(f"{where}: required field 'id' is missing or not a string")
    ctl = d.get("controller")
    if ctl not in CONTROLLERS:
        raise MachineProfileError(f"{where}: field 'controller' must be one of {list(CONTROLLERS)}, got {ctl!r}")
    spindle = d.get("spindle_rpm")
    if spindle is not None:
        if (not isinstance(spindle, (list, tuple)) or len(spindle) != 2
                or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and s >= 0 for s in spindle)
                or spindle[0] > spindle[1]):
            raise MachineProfileError(f"{where}: field 'spindle_rpm' must be [min, max] rpm with 0 <= min <= max")
        spindle = (float(spindle[0]), float(spindle[1]))
    blocks = d.get("planner_blocks")
    if blocks is not None and (isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1):
        raise MachineProfileError(f"{where}: field 'planner_blocks' must be a positive integer or null, got {blocks!r}")
    jd = d.get("junction_deviation_mm")
    if isinstance(jd, bool) or not isinstance(jd, (int, float)) or not math.isfinite(jd) or jd < 0:
        raise MachineProfileError(f"{where}: field 'junction_deviation_mm' must be a number >= 0, got {jd!r}")
    sources = d.get("sources", ())
    if isinstance(sources, str):
        sources = (sources,)
    post = d.get("default_post")
    if post is not None and not isinstance(post, str):
        raise MachineProfileError(f"{where}: field 'default_post' must be a string")
    return MachineProfile(
        id=pid,
        controller=ctl,
        max_rate_mm_min=_triple(d, "max_rate_mm_min", where),  # type: ignore[arg-type]
        accel_mm_s2=_triple(d, "accel_mm_s2", where),  # type: ignore[arg-type]
        junction_deviation_mm=float(jd),
        arc_tolerance_mm=_number(d, "arc_tolerance_mm", where, required=False, default=0.002),  # type: ignore[arg-type]
        jerk_mm_s3=_triple(d, "jerk_mm_s3", where, required=False),
        feed_cap_mm_min=_number(d, "feed_cap_mm_min", where, required=False),
        rapid_mm_min=_triple(d, "rapid_mm_min", where, required=False),
        spindle_rpm=spindle,
        default_post=post,
        planner_blocks=blocks,
        steps_per_mm=_triple(d, "steps_per_mm", where, required=False),
        notes=str(d.get("notes", "")),
        sources=tuple(str(s) for s in sources),
    )


def list_machines(directory: Path | str | None = None) -> list[str]:
    """Ids of the profiles in ``data/machines`` (or ``directory``), sorted."""
    d = Path(directory) if directory is not None else MACHINES_DIR
    return sorted(p.stem for p in d.glob("*.json"))


def load_machine(id_or_path: str | Path | MachineProfile) -> MachineProfile:
    """Load a profile by id (``data/machines/<id>.json``) or from a JSON file path.

    A :class:`MachineProfile` passes through unchanged.

    Raises:
        MachineProfileError: unknown id (listing the known ones), unreadable or invalid JSON,
            or a missing/bad field (naming the file and the field).
    """
    if isinstance(id_or_path, MachineProfile):
        return id_or_path
    s = str(id_or_path)
    p = Path(s)
    if not (s.endswith(".json") or p.is_file()):
        p = MACHINES_DIR / f"{s}.json"
        if not p.is_file():
            raise MachineProfileError(f"unknown machine {s!r}; known: {', '.join(list_machines()) or '(none)'}")
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise MachineProfileError(f"{p}: cannot read machine profile ({exc.strerror})") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MachineProfileError(f"{p}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    return profile_from_dict(d, where=str(p))


_SETTING = re.compile(r"^\$(\d+)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?:\(.*\))?\s*$")
_SETTING_KEY = re.compile(r"^\$(\d+)\s*=")

#: grbl setting number -> (field, axis index or None).
GRBL_SETTINGS: dict[int, tuple[str, int | None]] = {
    100: ("steps_per_mm", 0), 101: ("steps_per_mm", 1), 102: ("steps_per_mm", 2),
    110: ("max_rate_mm_min", 0), 111: ("max_rate_mm_min", 1), 112: ("max_rate_mm_min", 2),
    120: ("accel_mm_s2", 0), 121: ("accel_mm_s2", 1), 122: ("accel_mm_s2", 2),
    11: ("junction_deviation_mm", None), 12: ("arc_tolerance_mm", None),
}


def from_grbl_settings(text: str, id: str = "grbl_settings", *, controller: str = "grblHAL",
                       planner_blocks: int | None = None, source: str | None = None) -> MachineProfile:
    """Build a profile from a grbl/grblHAL ``$$`` dump.

    Reads ``$100-$102`` (steps/mm), ``$110-$112`` (max rate, mm/min), ``$120-$122``
    (acceleration, mm/s²), ``$11`` (junction deviation, mm) and ``$12`` (arc tolerance, mm);
    other settings, blank lines, ``ok`` and ``[...]`` / ``(...)`` comment lines are ignored.
    Missing ``$12`` defaults to 0.002 mm and missing steps/mm to none (grbl's defaults.h value
    for ``$12``).

    Args:
        text: the dump.
        id: profile id.
        controller: ``"grbl"`` or ``"grblHAL"`` (decides the default planner buffer).
        planner_blocks: planner buffer size; ``None`` = the controller's default.
        source: recorded in ``sources`` (e.g. the dump's file name).

    Raises:
        MachineProfileError: a line that is not ``$N=value`` (naming the line number), a
            non-positive value for a setting used, or a missing ``$110-$112``/``$120-$122``/``$11``.
    """
    if controller not in ("grbl", "grblHAL"):
        raise MachineProfileError(f"from_grbl_settings: controller must be 'grbl' or 'grblHAL', got {controller!r}")
    vals: dict[str, list[float | None] | float] = {
        "steps_per_mm": [None, None, None], "max_rate_mm_min": [None, None, None],
        "accel_mm_s2": [None, None, None]}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.lower() == "ok" or line[0] in "[(;#<":
            continue
        if line.lower().startswith("grbl"):  # the start-up banner, e.g. "Grbl 1.1h ['$' for help]"
            continue
        key = _SETTING_KEY.match(line)
        if key and int(key.group(1)) not in GRBL_SETTINGS:
            continue  # a setting the planner does not use; grblHAL has text ones ($300=hostname)
        m = _SETTING.match(line)
        if not m:
            raise MachineProfileError(f"grbl settings line {n}: expected '$N=value', got {raw.strip()!r:.60}")
        num, value = int(m.group(1)), float(m.group(2))
        name, axis = GRBL_SETTINGS[num]
        if value <= 0 and not (num == 11 and value == 0):
            raise MachineProfileError(f"grbl settings line {n}: ${num} must be positive, got {value}")
        if axis is None:
            vals[name] = value
        else:
            vals[name][axis] = value  # type: ignore[index]
    missing = [f"${k}" for k, (name, ax) in GRBL_SETTINGS.items()
               if k not in (12, 100, 101, 102)
               and (vals.get(name) is None if ax is None else vals[name][ax] is None)]  # type: ignore[index]
    if missing:
        raise MachineProfileError(f"grbl settings: missing {', '.join(sorted(missing))}")
    steps = vals["steps_per_mm"]
    steps_t = tuple(steps) if all(s is not None for s in steps) else None  # type: ignore[union-attr,arg-type]
    return MachineProfile(
        id=id, controller=controller,
        max_rate_mm_min=tuple(vals["max_rate_mm_min"]),  # type: ignore[arg-type]
        accel_mm_s2=tuple(vals["accel_mm_s2"]),  # type: ignore[arg-type]
        junction_deviation_mm=float(vals["junction_deviation_mm"]),  # type: ignore[arg-type]
        arc_tolerance_mm=float(vals.get("arc_tolerance_mm", 0.002)),  # type: ignore[arg-type]
        planner_blocks=planner_blocks,
        steps_per_mm=steps_t,  # type: ignore[arg-type]
        sources=(f"grbl $$ dump{': ' + source if source else ''}",),
    )
