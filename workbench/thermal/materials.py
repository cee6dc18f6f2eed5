"""Workpiece materials for the energy and heat model.

A material is a JSON file in ``data/materials/<id>.json`` (DESIGN.md, "Material"). Every number
is an object ``{"value": ..., "source": "..."}`` so the source travels with it:

- ``specific_energy_j_mm3``: specific cutting energy u (J/mm^3), or ``null``;
- ``kc1_n_mm2`` and ``mc``: Kienzle specific cutting force at h = 1 mm and its exponent
  (used when u is not given: u = kc1 * hm^-mc / 1000, see :func:`specific_energy`);
- ``heat_partition``: fractions of the cutting heat into ``chip``, ``tool``, ``work`` (sum 1);
- ``chip_load_mm``: recommended feed per tooth fz (mm);
- ``heat_budget_w``: peak heat flow per sink above which the thermal report says OVER.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError
from .. import paths

_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
SINKS: tuple[str, ...] = ("chip", "tool", "work")


class MaterialError(InputError):
    """A material file is missing, malformed or implausible."""


@dataclass(frozen=True)
class Material:
    """A workpiece material (numbers in package units; ``sources`` maps field -> source text).

    Attributes:
        id: file stem, e.g. ``maple_hard``.
        name: human name.
        specific_energy_j_mm3: u in J/mm^3, or None when only kc1/mc are known.
        kc1_n_mm2: Kienzle kc1 (N/mm^2 at hm = 1 mm), or None.
        mc: Kienzle exponent, or None.
        partition: {"chip", "tool", "work"} fractions summing to 1.
        chip_load_mm: recommended fz in mm.
        heat_budget_w: {"chip", "tool", "work"} budgets in W.
        density_kg_m3: density, or None.
    """

    id: str
    name: str
    specific_energy_j_mm3: float | None
    kc1_n_mm2: float | None
    mc: float | None
    partition: dict[str, float]
    chip_load_mm: float
    heat_budget_w: dict[str, float]
    density_kg_m3: float | None = None
    sources: dict[str, str] = field(default_factory=dict)


def materials_dir() -> Path:
    """``<DATA_DIR>/materials``."""
    return paths.DATA_DIR / "materials"


def list_materials() -> list[str]:
    """Ids of the shipped materials, sorted."""
    return sorted(p.stem for p in materials_dir().glob("*.json"))


def _num(d: Mapping[str, Any], key: str, where: str, *, required: bool,
         sources: dict[str, str]) -> float | None:
    v = d.get(key)
    if v is None:
        if required:
            raise MaterialError(f"{where}: '{key}' is required")
        return None
    if isinstance(v, Mapping):
        if "source" not in v or not str(v["source"]).strip():
            raise MaterialError(f"{where}: '{key}' has no 'source'")
        sources[key] = str(v["source"])
        v = v.get("value")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise MaterialError(f"{where}: '{key}' must be a positive number, got {v!r}")
    return float(v)


def _sinks(d: Mapping[str, Any], key: str, where: str, sources: dict[str, str]) -> dict[str, float]:
    v = d.get(key)
    if not isinstance(v, Mapping):
        raise MaterialError(f"{where}: '{key}' must be an object with chip/tool/work")
    if "source" not in v:
        raise MaterialError(f"{where}: '{key}' has no 'source'")
    sources[key] = str(v["source"])
    out = {}
    for s in SINKS:
        x = v.get(s)
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
            raise MaterialError(f"{where}: '{key}.{s}' must be a number >= 0, got {x!r}")
        out[s] = float(x)
    return out


def material_from_dict(d: Mapping[str, Any], where: str = "material") -> Material:
    """Build a :class:`Material` from its JSON object.

    Raises:
        MaterialError: naming ``where`` and the field that is missing or wrong (no source,
            non-positive value, partition not summing to 1 within 1e-6, neither u nor kc1/mc).
    """
    if not isinstance(d, Mapping):
        raise MaterialError(f"{where}: expected a JSON object")
    src: dict[str, str] = {}
    mid = d.get("id")
    if not isinstance(mid, str) or not _ID_RE.match(mid):
        raise MaterialError(f"{where}: 'id' must be letters, digits, '_', '-', '.', got {mid!r}")
    u = _num(d, "specific_energy_j_mm3", where, required=False, sources=src)
    kc1 = _num(d, "kc1_n_mm2", where, required=False, sources=src)
    mc = _num(d, "mc", where, required=False, sources=src)
    if u is None and (kc1 is None or mc is None):
        raise MaterialError(f"{where}: give 'specific_energy_j_mm3' or both 'kc1_n_mm2' and 'mc'")
    if mc is not None and mc >= 1:
        raise MaterialError(f"{where}: 'mc' must be < 1, got {mc}")
    part = _sinks(d, "heat_partition", where, src)
    if abs(sum(part.values()) - 1.0) > 1e-6:
        raise MaterialError(f"{where}: heat_partition chip+tool+work = {sum(part.values())}, not 1")
    fz = _num(d, "chip_load_mm", where, required=True, sources=src)
    budget = _sinks(d, "heat_budget_w", where, src)
    rho = _num(d, "density_kg_m3", where, required=False, sources=src)
    return Material(id=mid, name=str(d.get("name", mid)), specific_energy_j_mm3=u,
                    kc1_n_mm2=kc1, mc=mc, partition=part, chip_load_mm=float(fz),
                    heat_budget_w=budget, density_kg_m3=rho, sources=src)


def load_material(material: str | Material | Mapping[str, Any]) -> Material:
    """Load a material by id (``data/materials/<id>.json``), or pass one through.

    Raises:
        MaterialError: unknown id (listing the known ones), unreadable or malformed file.
    """
    if isinstance(material, Material):
        return material
    if isinstance(material, Mapping):
        return material_from_dict(material)
    if not isinstance(material, str) or not _ID_RE.match(material):
        raise MaterialError(f"material id must be letters, digits, '_', '-', '.', got {material!r}")
    path = materials_dir() / f"{material}.json"
    if not path.is_file():
        raise MaterialError(f"unknown material {material!r}; known: {', '.join(list_materials())}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise MaterialError(f"{path}: cannot read material: {exc}") from None
    m = material_from_dict(data, where=str(path))
    if m.id != material:
        raise MaterialError(f"{path}: 'id' is {m.id!r}, expected {material!r} (the file name)")
    return m
