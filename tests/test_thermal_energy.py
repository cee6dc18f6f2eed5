"""Energy model: one test per formula against hand-computed values, and conservation."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, box
from shapely.ops import unary_union

from workbench.errors import InputError
from workbench.thermal import (ae_from_engagement, annotate, cutting_power_w, heat_series, integrate,
                               list_materials, load_material, mean_chip_thickness, mrr_mm3_s,
                               pass_depths, sparkline, specific_energy, totals)
from workbench.thermal.materials import MaterialError, material_from_dict
from workbench.toolpath import Toolpath, moves_frame


# ---------------------------------------------------------------- formulas, by hand

def test_ae_from_engagement_hand_values() -> None:
    # ae = D/2 (1 - cos theta): 90 deg -> D/2, 180 deg (slot) -> D, 60 deg -> D/4
    assert ae_from_engagement(90.0, 6.0) == pytest.approx(3.0)
    assert ae_from_engagement(180.0, 6.0) == pytest.approx(6.0)
    assert ae_from_engagement(60.0, 6.0) == pytest.approx(1.5)
    assert ae_from_engagement(0.0, 6.0) == 0.0
    np.testing.assert_allclose(ae_from_engagement(np.array([90.0, 180.0]), 10.0), [5.0, 10.0])


def test_mean_chip_thickness_hand_values() -> None:
    # slot: hm = 2 fz / pi
    assert mean_chip_thickness(0.1, 6.0, 6.0) == pytest.approx(0.2 / math.pi)
    # ae = 0.6, D = 6: theta = acos(0.8) = 0.6435011 rad; hm = 0.05 * 0.2 / 0.6435011
    assert mean_chip_thickness(0.05, 0.6, 6.0) == pytest.approx(0.01553999, rel=1e-6)
    assert mean_chip_thickness(0.05, 0.0, 6.0) == 0.0


def test_specific_energy_kienzle_and_constant() -> None:
    al = load_material("al_6061")
    # u = kc1 * hm^-mc / 1000 = 650 * 50**0.25 / 1000 = 650 * 2.6591479 / 1000
    assert specific_energy(al, 0.02) == pytest.approx(1.7284461, rel=1e-6)
    assert specific_energy(al, 1.0) == pytest.approx(0.650)
    maple = load_material("maple_hard")
    assert specific_energy(maple, 0.02) == pytest.approx(0.060)
    np.testing.assert_allclose(specific_energy(maple, np.array([0.01, 0.2])), [0.06, 0.06])


def test_mrr_and_power_hand_values() -> None:
    # ae 3 mm, ap 2 mm, vf 1200 mm/min -> 3*2*1200/60 = 120 mm^3/s; maple 0.06 J/mm^3 -> 7.2 W
    assert float(mrr_mm3_s(3.0, 2.0, 1200.0)) == pytest.approx(120.0)
    assert float(cutting_power_w(0.06, 120.0)) == pytest.approx(7.2)


def _slot_path(z: float = -2.0, feed: float = 1200.0, length: float = 60.0) -> Toolpath:
    rows = [
        dict(code="G0", x=0.0, y=0.0, z=5.0, kind="rapid", len_mm=5.0),
        dict(code="G1", x=0.0, y=0.0, z=z, kind="plunge", feed=300.0, len_mm=5.0 - z),
        dict(code="G1", x=length, y=0.0, z=z, kind="cut", feed=feed, len_mm=length, engagement_deg=180.0),
        dict(code="G0", x=length, y=0.0, z=5.0, kind="rapid", len_mm=5.0 - z),
    ]
    return Toolpath(moves_frame(rows), start=(0.0, 0.0, 5.0), meta={"tool_d": 6.0})


def test_annotate_engagement_method_slot_by_hand() -> None:
    tab = annotate(_slot_path(), "maple_hard", method="engagement")
    cut = tab.iloc[2]
    # ae = 6 (slot), ap = 2, V = 6*2*60 = 720 mm^3; t = 60/1200*60 = 3 s; E = 0.06*720 = 43.2 J
    assert cut["ae_mm"] == pytest.approx(6.0)
    assert cut["ap_mm"] == pytest.approx(2.0)
    assert cut["removed_mm3"] == pytest.approx(720.0)
    assert cut["t_s"] == pytest.approx(3.0)
    assert cut["mrr_mm3_s"] == pytest.approx(240.0)
    assert cut["power_w"] == pytest.approx(14.4)
    assert cut["energy_j"] == pytest.approx(43.2)
    # maple partition chip 0.80 / tool 0.10 / work 0.10
    assert (cut["heat_chip_j"], cut["heat_tool_j"], cut["heat_work_j"]) == pytest.approx((34.56, 4.32, 4.32))
    assert tab["removed_mm3"].drop(index=2).sum() == 0.0


def test_annotate_heightmap_slot_by_hand() -> None:
    tab = annotate(_slot_path(), "maple_hard", cell_mm=0.1)
    plunge, cut = tab.iloc[1], tab.iloc[2]
    # plunge: a disk pi R^2 deep 2 mm; the slot: the rest of the capsule, 60 x 6 x 2
    assert plunge["removed_mm3"] == pytest.approx(math.pi * 9 * 2, rel=0.01)
    assert cut["removed_mm3"] == pytest.approx(720.0, rel=0.01)
    assert cut["ae_mm"] == pytest.approx(6.0, rel=0.01)
    assert cut["ap_mm"] == pytest.approx(2.0, rel=1e-9)
    assert tab.iloc[0]["removed_mm3"] == 0.0 and tab.iloc[3]["removed_mm3"] == 0.0
    # identity V = ae * ap * L and E = P * t
    assert cut["ae_mm"] * cut["ap_mm"] * 60.0 == pytest.approx(cut["removed_mm3"])
    assert cut["power_w"] * cut["t_s"] == pytest.approx(cut["energy_j"])


def test_pass_depths_from_z_levels() -> None:
    rows = [dict(code="G1", x=0, y=0, z=-1.5, kind="plunge", feed=300),
            dict(code="G1", x=10, y=0, z=-1.5, feed=1000),
            dict(code="G1", x=10, y=0, z=-3.0, kind="plunge", feed=300),
            dict(code="G1", x=0, y=0, z=-3.0, feed=1000),
            dict(code="G1", x=0, y=0, z=-4.0, kind="plunge", feed=300),
            dict(code="G1", x=10, y=0, z=-4.0, feed=1000)]
    ap = pass_depths(moves_frame(rows))
    assert np.isnan(ap[0]) and np.isnan(ap[2]) and np.isnan(ap[4])
    assert ap[[1, 3, 5]] == pytest.approx([1.5, 1.5, 1.0])


# ---------------------------------------------------------------- conservation

def offset_pocket(region, tool_d: float, stepover_mm: float, depths: list[float],
                  feed: float = 1200.0) -> tuple[Toolpath, object]:
    """A plain contour-parallel pocket (rings of the region offset inward), inside out, for
    every depth; returns the toolpath and the swept plan area (tool discs along the path)."""
    R = tool_d / 2
    rings = []
    g = region.buffer(-R, join_style="mitre")
    while not g.is_empty:
        for p in ([g] if g.geom_type == "Polygon" else list(g.geoms)):
            rings.append(list(p.exterior.coords))
            rings.extend(list(h.coords) for h in p.interiors)
        g = g.buffer(-stepover_mm, join_style="mitre")
    rings = rings[::-1]
    rows = []
    for z in depths:
        for ring in rings:
            x0, y0 = ring[0]
            rows.append(dict(code="G0", x=x0, y=y0, z=5.0, kind="rapid"))
            rows.append(dict(code="G1", x=x0, y=y0, z=z, kind="plunge", feed=300.0, len_mm=5.0 - z))
            for (xa, ya), (xb, yb) in zip(ring[:-1], ring[1:]):
                rows.append(dict(code="G1", x=xb, y=yb, z=z, kind="cut", feed=feed,
                                 len_mm=float(math.hypot(xb - xa, yb - ya))))
            rows.append(dict(code="G0", x=ring[-1][0], y=ring[-1][1], z=5.0, kind="rapid"))
    swept = unary_union([LineString(r).buffer(R) for r in rings])
    return Toolpath(moves_frame(rows), start=(0.0, 0.0, 5.0), meta={"tool_d": tool_d}), swept


def test_removed_volume_matches_pocket_volume() -> None:
    region = box(0, 0, 100, 50).difference(box(40, 20, 60, 30))
    tp, swept = offset_pocket(region, 6.0, 2.7, [-2.0, -4.0])
    tab = annotate(tp, "maple_hard")
    V = tab["removed_mm3"].sum()
    assert V == pytest.approx(region.area * 4.0, rel=0.02)          # the criterion
    assert V == pytest.approx(swept.area * 4.0, rel=0.002)          # the exact swept volume
    # the nominal stepover (ae = stepover everywhere) under-counts the corners and the slot
    nominal = (2.7 * 2.0 * tab.loc[tab["kind"] == "cut", "len_mm"]).sum()
    assert nominal < 0.97 * V


def test_binned_heat_integrates_to_total() -> None:
    region = box(0, 0, 60, 40)
    tp, _ = offset_pocket(region, 6.0, 2.4, [-1.5, -3.0])
    tab = annotate(tp, "al_6061", rpm=18000, flutes=2)
    total = tab["energy_j"].sum()
    assert total > 0
    for bins in (1, 7, 50, 333):
        s = heat_series(tab, bins)
        assert integrate(s) == pytest.approx(total, rel=1e-9)
        for sink in ("chip", "tool", "work"):
            assert integrate(s, f"power_{sink}_w") == pytest.approx(tab[f"heat_{sink}_j"].sum(), rel=1e-9)
        assert s["t1_s"].iloc[-1] == pytest.approx(tab["t_s"].sum())


def test_heat_series_hand_values() -> None:
    # move 1: 10 J over [0,1] (10 W); move 2: 60 J over [1,4] (20 W); bins [0,2], [2,4]
    tab = pd.DataFrame({"t_s": [1.0, 3.0], "energy_j": [10.0, 60.0]})
    s = heat_series(tab, 2)
    assert s["energy_j"].tolist() == pytest.approx([30.0, 40.0])
    assert s["power_w"].tolist() == pytest.approx([15.0, 20.0])
    with pytest.raises(InputError):
        heat_series(tab, 0)


def test_totals_and_sparkline() -> None:
    tab = annotate(_slot_path(), "maple_hard", method="engagement")
    t = totals(tab)
    assert t["removed_mm3"] == pytest.approx(720.0)
    assert t["energy_j"] == pytest.approx(43.2)
    assert t["cut_time_s"] == pytest.approx(3.0)
    assert t["mean_power_w"] == pytest.approx(14.4)
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([]) == ""


# ---------------------------------------------------------------- materials and bad input

def test_materials_shipped_with_sources() -> None:
    ids = list_materials()
    for mid in ("maple_hard", "mahogany", "mdf", "al_6061", "acrylic"):
        assert mid in ids
        m = load_material(mid)
        assert sum(m.partition.values()) == pytest.approx(1.0)
        for key in ("heat_partition", "chip_load_mm"):
            assert m.sources[key].strip()
        assert ("specific_energy_j_mm3" in m.sources) or ("kc1_n_mm2" in m.sources and "mc" in m.sources)


def test_material_errors(data_dir) -> None:
    with pytest.raises(MaterialError, match="unknown material 'unobtainium'.*maple_hard"):
        load_material("unobtainium")
    with pytest.raises(MaterialError, match="must be letters"):
        load_material("../machines/x")
    d = json.loads((data_dir / "materials" / "maple_hard.json").read_text())
    d["heat_partition"]["chip"] = 0.9
    with pytest.raises(MaterialError, match="not 1"):
        material_from_dict(d)
    d = json.loads((data_dir / "materials" / "maple_hard.json").read_text())
    del d["specific_energy_j_mm3"]["source"]
    with pytest.raises(MaterialError, match="no 'source'"):
        material_from_dict(d)


def test_annotate_bad_input() -> None:
    tp = _slot_path()
    tp.meta = {}
    with pytest.raises(InputError, match="tool_d"):
        annotate(tp, "maple_hard")
    with pytest.raises(InputError, match="unknown method"):
        annotate(tp, "maple_hard", tool_d=6.0, method="guess")
    with pytest.raises(InputError, match="rpm"):
        annotate(tp, "maple_hard", tool_d=6.0, rpm=-5, flutes=2)
