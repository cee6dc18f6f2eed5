"""Post-processors as data: a controller's G-code dialect read from ``data/posts/*.json``.

A post says how a controller wants its program written: default units, decimals, arc format
(incremental I/J centres or R), whether full circles are allowed, the largest arc sweep, line
numbers, comment syntax, program delimiters, modal suppression, the G4 dwell unit, and the
header/footer/tool-change blocks as templates. :func:`load_post` reads one, validates it
against ``workbench/gcode/post.schema.json`` (JSON Schema 2020-12, via ``jsonschema``) and
checks every template placeholder; :func:`workbench.gcode.writer.write` prints a toolpath with
it.

Templates are Python ``str.format`` strings. A template line is either a code line (a JSON
string) or a comment line (``{"comment": "..."}``), which the post wraps in its own comment
syntax. A line that renders empty is dropped, a rendered ``\\n`` splits it. Placeholders:
see :data:`TEMPLATE_FIELDS` and :data:`BLOCK_FIELDS`.

The controllers' documented dialects (the ``sources`` of each JSON file):

- grbl: gnea/grbl wiki "Grbl v1.1 Commands" and ``grbl/gcode.c`` (no M6, G4 P in seconds,
  arc radius check 0.005 mm).
- Mach4: "Mach4 Mill G-code and M-code Reference Manual" (G91.1, T M6, G43 H).
- LinuxCNC: linuxcnc.org/docs "G-Codes" and "G-code overview" (';' or '()' comments).
- PathPilot: Tormach PathPilot operator manual (LinuxCNC interpreter, '%' delimiters).
- MASSO G3: masso.com.au documentation (T M6 with automatic tool length, G4 P in ms).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import string
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


from ..errors import PostError
from ..paths import DATA_DIR

#: The JSON Schema every post file must satisfy.
SCHEMA_PATH: Path = Path(__file__).with_name("post.schema.json")

#: Scalar placeholders available in every template, with their meaning.
TEMPLATE_FIELDS: dict[str, str] = {
    "program_name": "program name given to write() (parentheses stripped in comments)",
    "post_id": "the post's id, e.g. 'grbl'",
    "post_name": "the post's display name",
    "controller": "the controller family",
    "date": "ISO date of writing (YYYY-MM-DD)",
    "units_name": "'mm' or 'inch' (the program's units)",
    "units_code": "'G21' (mm) or 'G20' (inch)",
    "work_offset": "work coordinate system, e.g. 'G54'",
    "tool_number": "tool number (integer), '' without a tool",
    "tool_diameter": "tool diameter in program units, formatted with the coordinate decimals",
    "tool_description": "free text tool description",
    "spindle_rpm": "spindle speed (integer rev/min)",
    "header_comments": "the header_comments given to write(), one 'key: value' per line",
}

#: Block placeholders (rendered blocks of the post itself); only header and footer may use them.
BLOCK_FIELDS: tuple[str, ...] = ("safe_start", "tool_change", "spindle_on", "spindle_off",
                                 "coolant_on", "coolant_off")


@dataclass(frozen=True)
class TemplateLine:
    """One template line: ``text`` is a ``str.format`` template; ``comment`` marks a comment line."""

    text: str
    comment: bool = False


@dataclass(frozen=True)
class Decimals:
    """Digits after the decimal point for coordinates (and I/J/K/R) and for feeds."""

    coord: int
    feed: int


@dataclass(frozen=True)
class ArcSettings:
    """How arcs are written.

    Attributes:
        format: ``"ij"`` (centre offsets from the start, G91.1 incremental) or ``"r"`` (radius).
        full_circle: a full circle may be one block (I/J only); otherwise it is split in halves.
        max_sweep_deg: largest sweep of one arc block; longer arcs are split. R posts are
            limited to 180 and the writer keeps every R piece at or under 120 degrees.
        tolerance_mm: the controller's start/end radius check (grbl ``gcode.c``: 0.005 mm).
        planes: arc planes the controller accepts (17, 18, 19).
        helical: helical arcs (a change of the axis normal to the plane) are accepted.
    """

    format: str
    full_circle: bool
    max_sweep_deg: float
    tolerance_mm: float
    planes: tuple[int, ...]
    helical: bool


@dataclass(frozen=True)
class LineNumbers:
    """N words: ``enabled``, first number ``start``, increment ``step``; past ``max`` they wrap to ``start``."""

    enabled: bool
    start: int
    step: int
    max: int


@dataclass(frozen=True)
class Post:
    """A post-processor: one controller's G-code dialect (see the module docstring).

    Build one with :func:`load_post` (or :meth:`from_dict`); derive a variant with
    :meth:`with_overrides`. Every attribute mirrors a field of the JSON file.
    """

    id: str
    name: str
    controller: str
    description: str
    sources: tuple[Mapping[str, str], ...]
    units: str
    decimals: Mapping[str, Decimals]
    arcs: ArcSettings
    line_numbers: LineNumbers
    comment_style: str
    comment_max_length: int
    delimiter: str | None
    max_line_length: int
    modal_motion: bool
    modal_feed: bool
    modal_coordinates: bool
    dwell_unit: str
    dwell_decimals: int
    safe_start: tuple[TemplateLine, ...]
    work_offsets: tuple[str, ...]
    tool_change: tuple[TemplateLine, ...]
    spindle_on: tuple[TemplateLine, ...]
    spindle_off: tuple[TemplateLine, ...]
    coolant_on: tuple[TemplateLine, ...]
    coolant_off: tuple[TemplateLine, ...]
    header: tuple[TemplateLine, ...]
    footer: tuple[TemplateLine, ...]
    notes: tuple[str, ...] = ()
    source: str = "<dict>"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> "Post":
        """Validate a post definition (the JSON object) and build a :class:`Post`.

        Raises:
            PostError: naming ``source`` and the field that is missing or wrong, or the
                template with an unknown placeholder.
        """
        _validate_schema(data, source)
        d = copy.deepcopy(dict(data))
        post = cls(
            id=d["id"], name=d["name"], controller=d["controller"],
            description=d["description"],
            sources=tuple(d["sources"]),
            units=d["units"],
            decimals={u: Decimals(int(v["coord"]), int(v["feed"])) for u, v in d["decimals"].items()},
            arcs=ArcSettings(
                format=d["arcs"]["format"], full_circle=bool(d["arcs"]["full_circle"]),
                max_sweep_deg=float(d["arcs"]["max_sweep_deg"]),
                tolerance_mm=float(d["arcs"]["tolerance_mm"]),
                planes=tuple(int(p) for p in d["arcs"]["planes"]),
                helical=bool(d["arcs"]["helical"])),
            line_numbers=LineNumbers(**{k: d["line_numbers"][k] for k in ("enabled", "start", "step", "max")}),
            comment_style=d["comments"]["style"],
            comment_max_length=int(d["comments"]["max_length"]),
            delimiter=d["program"]["delimiter"] or None,
            max_line_length=int(d["program"]["max_line_length"]),
            modal_motion=bool(d["modal"]["motion"]), modal_feed=bool(d["modal"]["feed"]),
            modal_coordinates=bool(d["modal"]["coordinates"]),
            dwell_unit=d["dwell"]["unit"], dwell_decimals=int(d["dwell"]["decimals"]),
            safe_start=_lines(d["safe_start"]),
            work_offsets=tuple(d["work_offsets"]),
            tool_change=_lines(d["tool_change"]),
            spindle_on=_lines(d["spindle_on"]), spindle_off=_lines(d["spindle_off"]),
            coolant_on=_lines(d["coolant_on"]), coolant_off=_lines(d["coolant_off"]),
            header=_lines(d["header"]), footer=_lines(d["footer"]),
            notes=tuple(d.get("notes", ())),
            source=source, raw=d,
        )
        post._check_templates()
        return post

    def to_dict(self) -> dict[str, Any]:
        """The post definition as a JSON-ready dict (a deep copy of what was loaded)."""
        return copy.deepcopy(dict(self.raw))

    def with_overrides(self, overrides: Mapping[str, Any]) -> "Post":
        """A new post with ``overrides`` deep-merged into this definition and re-validated.

        Example: ``load_post("mach4").with_overrides({"line_numbers": {"enabled": True}})``.

        Raises:
            PostError: when the merged definition is invalid (names the field).
        """
        merged = _deep_merge(self.to_dict(), overrides)
        return Post.from_dict(merged, source=f"{self.source} (with overrides)")

    # ------------------------------------------------------------------ rendering
    def decimals_for(self, units: str) -> Decimals:
        """Coordinate and feed decimals for ``units`` (``"mm"`` or ``"inch"``)."""
        return self.decimals[units]

    def comment(self, text: str) -> list[str]:
        """``text`` as comment line(s) in this post's syntax.

        Parentheses inside the text are removed (no controller here accepts nested comments),
        accents are dropped and other non-ASCII characters removed (controllers read ASCII),
        line breaks start a new comment line, and each line is cut to ``comment_max_length``.
        Returns an empty list for blank text.
        """
        out: list[str] = []
        for part in str(text).splitlines():
            part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode("ascii")
            part = " ".join(part.replace("(", " ").replace(")", " ").split())
            part = part[: self.comment_max_length - 2].rstrip()
            if part:
                out.append(f"({part})" if self.comment_style == "paren" else f"; {part}")
        return out

    def is_comment_line(self, line: str) -> bool:
        """True when ``line`` (as written by this post) is only a comment."""
        return line.startswith("(") if self.comment_style == "paren" else line.startswith(";")

    def render(self, lines: tuple[TemplateLine, ...], context: Mapping[str, Any],
               where: str = "template", comments: bool = True) -> list[str]:
        """Render template lines with ``context`` into program lines.

        Comment lines go through :meth:`comment` (and are dropped when ``comments`` is
        false); code lines are stripped; empty results are dropped; ``\\n`` splits lines.

        Raises:
            PostError: naming the post, ``where`` and the line index for an unknown
                placeholder or a malformed template.
        """
        out: list[str] = []
        fmt = string.Formatter()
        for n, tl in enumerate(lines):
            try:
                text = fmt.vformat(tl.text, (), context)
            except KeyError as exc:
                known = ", ".join(sorted(context))
                raise PostError(f"{self.source}: field {where}[{n}]: unknown placeholder "
                                f"{{{exc.args[0]}}} (known: {known})") from None
            except (ValueError, IndexError, AttributeError) as exc:
                raise PostError(f"{self.source}: field {where}[{n}]: bad template "
                                f"{tl.text!r}: {exc}") from None
            if tl.comment:
                if comments:
                    out.extend(self.comment(text))
            else:
                out.extend(s.strip() for s in text.split("\n") if s.strip())
        return out

    def _check_templates(self) -> None:
        ctx: dict[str, Any] = {k: "0" for k in TEMPLATE_FIELDS}
        for name in BLOCK_FIELDS:
            self.render(getattr(self, name), ctx, where=name)
        full = dict(ctx, **{k: "" for k in BLOCK_FIELDS})
        self.render(self.header, full, where="header")
        self.render(self.footer, full, where="footer")
        for u in ("mm", "inch"):
            if u not in self.decimals:
                raise PostError(f"{self.source}: field decimals: missing {u!r}")


# ---------------------------------------------------------------------- loading
def list_posts() -> list[str]:
    """Ids of the posts shipped in ``data/posts`` (``DATA_DIR/posts/*.json``), sorted."""
    folder = DATA_DIR / "posts"
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def load_post(name_or_path: "str | os.PathLike[str] | Post") -> Post:
    """Load a post-processor by id (``"grbl"``, case-insensitive) or from a JSON file path.

    A :class:`Post` is returned as is. Files are parsed and validated once per modification
    time (cached).

    Raises:
        PostError: unknown id (the message lists the available posts), missing file, invalid
            JSON (with line and column), or a definition that fails the schema (names the
            file and the field).
    """
    if isinstance(name_or_path, Post):
        return name_or_path
    text = os.fspath(name_or_path)
    is_path = isinstance(name_or_path, os.PathLike) or text.endswith(".json") or os.sep in text or "/" in text
    if is_path:
        path = Path(text)
        if not path.is_file():
            raise PostError(f"post file not found: {path}")
    else:
        path = DATA_DIR / "posts" / f"{text.strip().lower()}.json"
        if not path.is_file():
            avail = ", ".join(list_posts()) or "none"
            raise PostError(f"unknown post {text!r}; available posts: {avail} "
                            f"(or give the path of a post JSON file)")
    return _load_cached(str(path.resolve()), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int) -> Post:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise PostError(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except OSError as exc:
        raise PostError(f"{path}: cannot read post file: {exc}") from None
    return Post.from_dict(data, source=path)


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema  # imported here: its format checkers take seconds to import (CLI start-up)

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_schema(data: Any, source: str) -> None:
    if not isinstance(data, Mapping):
        raise PostError(f"{source}: a post must be a JSON object, got {type(data).__name__}")
    errors = sorted(_validator().iter_errors(data), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return
    err = errors[0]
    where = "/".join(str(p) for p in err.path)
    if err.validator == "required" and isinstance(err.instance, Mapping):
        missing = [r for r in err.validator_value if r not in err.instance]
        name = "/".join([where, missing[0]]) if where else missing[0]
        raise PostError(f"{source}: missing field {name!r}")
    if err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
        raise PostError(f"{source}: field {where or '(top level)'}: {err.message}")
    raise PostError(f"{source}: field {where or '(top level)'!r}: {err.message}")


def _lines(items: list[Any]) -> tuple[TemplateLine, ...]:
    return tuple(TemplateLine(it["comment"], True) if isinstance(it, Mapping) else TemplateLine(str(it))
                 for it in items)


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(dict(out[k]), v)
        else:
            out[k] = copy.deepcopy(v)
    return out
