"""Thermal report: sections, CSV exports, PNG, bundle contents, safe names, budget status."""

from __future__ import annotations

import csv
import json
import re
import zipfile

import pytest
from shapely.geometry import box

from workbench.cam import plan_pocket
from workbench.machine import plan_motion
from workbench.thermal import (budget_status, integrate, load_moves_json, thermal_report_bundle,
                               write_report)
from workbench.errors import InputError
from workbench.toolpath import to_json_moves


@pytest.fixture(scope="module")
def plan():
    tp = plan_pocket(box(0, 0, 40, 30), tool_d=6.0, stepover=0.45, stepdown=2.0, depth=4.0, feed=1500.0)
    return plan_motion(tp, "Mach4_Router_4x8")


def test_budget_status() -> None:
    assert budget_status(79.0, 100.0) == "OK"
    assert budget_status(80.0, 100.0) == "WARN"
    assert budget_status(100.0, 100.0) == "WARN"
    assert budget_status(100.1, 100.0) == "OVER"


def test_report_sections_files_and_bundle(plan, tmp_path) -> None:
    rep, zp = thermal_report_bundle(plan, "maple_hard", job_name="../../etc/x", out_dir=tmp_path / "out",
                                    pocket_volume_mm3=40 * 30 * 4.0)
    assert rep.job == "etc_x"
    assert zp == tmp_path / "out" / "thermal_report_etc_x.zip"
    # nothing escaped the output folder
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        ["thermal_report_etc_x.md", "moves_etc_x.json", "energy_etc_x.csv", "bottleneck_etc_x.csv",
         "heat_etc_x.csv", "power_etc_x.png", "thermal_report_etc_x.zip"])
    assert not (tmp_path / "etc").exists()
    md = rep.markdown.read_text(encoding="utf-8")
    heads = re.findall(r"^## (.+)$", md, flags=re.M)
    assert heads == ["Context", "Totals", "Heat partition", "Power over time", "Bottleneck share", "CSV exports"]
    for link in re.findall(r"\]\(([^)]+)\)", md):          # every link is relative and exists
        assert "/" not in link and (rep.folder / link).is_file()
    assert re.search(r"\| tool \| 0\.10 \|.*\| \*\*(OK|WARN|OVER)\*\* \|", md)
    assert rep.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # removed volume vs pocket volume (a sharp-cornered box: corners the tool cannot reach)
    assert rep.totals["removed_mm3"] == pytest.approx(40 * 30 * 4.0, rel=0.02)
    # CSVs: one row per move / per bin
    with open(rep.csv["energy"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(plan.moves)
    assert sum(float(r["energy_j"]) for r in rows) == pytest.approx(rep.totals["energy_j"], rel=1e-5)
    with open(rep.csv["bottleneck"], newline="") as f:
        assert [r["limit"] for r in csv.DictReader(f)] == plan.moves["limit"].tolist()
    assert integrate(rep.series) == pytest.approx(rep.totals["energy_j"], rel=1e-9)
    # bottleneck table agrees with the motion planner's own summary
    for lim, t in plan.summary["time_by_limit_s"].items():
        assert rep.bottleneck.loc[lim, "time_s"] == pytest.approx(t)
        assert rep.bottleneck.loc[lim, "count"] == plan.summary["count_by_limit"][lim]
    with zipfile.ZipFile(zp) as z:
        names = set(z.namelist())
        assert {"thermal_report_etc_x.md", "moves_etc_x.json"} <= names
        assert all("/" not in n and ".." not in n for n in names)
        moves = json.loads(z.read("moves_etc_x.json"))
    assert isinstance(moves, list) and len(moves) == len(plan.moves)
    assert moves[0]["code"] == plan.moves["code"].iloc[0] and "limit" in moves[0]["meta"]


def test_budget_over_is_reported(plan, tmp_path) -> None:
    rep = write_report(plan, "acrylic", job_name="hot job", out_dir=tmp_path, bins=20,
                       budgets_w={"tool": 0.001})
    assert rep.job == "hot_job"
    row = rep.partition.set_index("sink").loc["tool"]
    assert row["status"] == "OVER" and row["peak_w"] == pytest.approx(rep.series["power_tool_w"].max())
    assert "| tool |" in rep.markdown.read_text() and "**OVER**" in rep.markdown.read_text()


def test_report_from_toolpath_without_motion_plan(plan, tmp_path) -> None:
    rep = write_report(plan.toolpath, "mdf", job_name="", out_dir=tmp_path)
    assert rep.job == "job"
    md = rep.markdown.read_text()
    assert "No motion plan" in md and "nominal (len/feed)" in md


def test_load_moves_json_recomputes_lengths(plan, tmp_path) -> None:
    items = to_json_moves(plan.toolpath.moves)
    for it in items:
        it["meta"].pop("len_mm", None)
        it["meta"].pop("radius_mm", None)
    p = tmp_path / "moves.json"
    p.write_text(json.dumps(items))
    tp = load_moves_json(p, tool_d=6.0, start=plan.toolpath.start)
    assert tp.moves["len_mm"].to_numpy() == pytest.approx(plan.toolpath.moves["len_mm"].to_numpy(), abs=1e-6)
    arcs = tp.moves["code"].isin(["G2", "G3"])
    assert arcs.any()
    assert tp.moves.loc[arcs, "radius_mm"].to_numpy() == pytest.approx(
        plan.toolpath.moves.loc[arcs, "radius_mm"].to_numpy())
    p.write_text("{}")
    with pytest.raises(InputError, match="JSON array"):
        load_moves_json(p)
