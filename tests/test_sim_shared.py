"""Real programs from ../shared/data: every one simulates; the MVP program gouges its island."""

from __future__ import annotations

import pytest

from workbench.db import make_engine
from workbench.geometry import read_regions
from workbench.gcode import read_file
from workbench.sim import Stock, Tool, simulate, validate_report
from workbench.sim.runs import run_job

pytestmark = pytest.mark.shared

PROGRAMS = ["botomata_bottom.nc", "cds.gcode", "heart.ngc", "mvp_rect_with_island__grbl.nc",
            pytest.param("LesPaul_Body_Complete.nc", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_shared_program_simulates(shared_data, tmp_path, name):
    prog = shared_data / "gcode" / name
    proj = shared_data / "sim" / (prog.stem + ".camotics")
    run = run_job(prog, project=proj if proj.exists() else None, cell_mm=1.0 if "LesPaul" in name else 0.5,
                  out_root=tmp_path, engine=make_engine(tmp_path / "wb.db"), media=False)
    assert run.status == "succeeded", run.error
    rep = run.report
    validate_report(rep)
    assert rep["removed_volume_mm3"] > 0 and rep["est_time_s"] > 0
    assert rep["time_source"] == "motion_planner"
    assert rep["removed_volume_mm3"] <= rep["stock"]["volume_mm3"]
    if proj.exists():
        assert {t["number"] for t in rep["tools"]} <= set(int(k) for k in __import__("json").loads(proj.read_text())["tools"])
    else:
        assert not any(n["code"] == "default_tool" for n in rep["notes"]) or name.startswith("mvp")


def test_mvp_program_gouges_the_island(shared_data):
    (region,) = read_regions(shared_data / "dxf" / "mvp_rect_with_island.dxf", layers="GEOMETRY", units="mm")
    island = region.polygon.interiors[0]
    tp = read_file(shared_data / "gcode" / "mvp_rect_with_island__grbl.nc")
    x0, y0, x1, y1 = region.bounds
    res = simulate(tp, Tool("flat", 6.0, 24.0), Stock(x0, y0, -10, x1, y1, 0), pocket=region, cell_mm=0.5,
                   frames=0)
    gouges = [v for v in res.violations if v.code == "gouge"]
    assert gouges, "the program cuts into the island; the simulator must say so"
    ix0, iy0, ix1, iy1 = island.bounds
    inside = [v for v in gouges if ix0 <= v.x <= ix1 and iy0 <= v.y <= iy1]
    assert inside and max(v.depth_mm for v in inside) == pytest.approx(3.0, abs=0.05)
    assert all(v.line > 0 for v in gouges)
    src = (shared_data / "gcode" / "mvp_rect_with_island__grbl.nc").read_text().splitlines()
    assert all(src[v.line - 1].startswith("G1") for v in gouges)  # the gouging lines are cuts
    assert res.collision_count == 0
