"""The main job end to end: the pocket lab notebook under papermill on the project's sample
and on real drawings, the `workbench pocket` command, and the invariants of every toolpath it
produces (no gouge, nothing reachable left uncut, every depth reached, G-code read back equals
the toolpath)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench import lab
from workbench.cam import checks
from workbench.gcode import read
from workbench.geometry import read_regions
from workbench.notebooks import run_notebook
from workbench.toolpath import Toolpath, from_json_moves

REAL_JOBS = {
    "lespaul": ("dxf/LesPaul_CAM_Closed.dxf", ["PICKUP_CAVITY", "ELECTRONIC_CAVITIES", "NECK_MORTISE"]),
    "smart_guitar": ("dxf/smart_guitar_back_v5.dxf", ["VOID_CHAMBERS", "CONTROL_CAVITY"]),
    "mvp_island": ("dxf/mvp_rect_with_island.dxf", ["GEOMETRY"]),
}
TOOL_D = 6.0
DEPTH = 6.0
STEPDOWN = 2.5


def check_job_invariants(report: Path, dxf: Path, layers: list[str] | None) -> dict:
    """Check a pocket-lab report folder against its drawing; returns the summary."""
    summary = json.loads((report / "summary.json").read_text())
    moves = from_json_moves(json.loads((report / "moves.json").read_text()))
    regions = read_regions(str(dxf), layers=layers)
    tool_d = summary["params"]["tool_d"]
    depth = summary["params"]["depth"]
    stepdown = summary["params"]["stepdown"]
    tp = Toolpath(moves=moves, start=tuple(moves[["x", "y"]].iloc[0]) + (summary["params"]["safe_z"],))
    # No gouge: tool centre at least r from every boundary and island, every move of the program
    # below the stock top, each checked against the region it is nearest to (its own pocket).
    import shapely

    ends = shapely.points(moves[["x", "y"]].to_numpy())
    owner = np.argmin(np.stack([shapely.distance(ends, reg.polygon) for reg in regions]), axis=0)
    for k, reg in enumerate(regions):
        g = checks.gouge_check(tp, reg, tool_d, rows=np.flatnonzero(owner == k))
        assert g.ok, f"{reg.name}: gouge, min clearance {g.min_clearance_mm:.4f} mm at rows {g.violations[:5]}"
        assert g.checked_moves > 0
    # Everything the tool can reach is cleared (at the final depth), per region.
    for row in summary["regions"]:
        assert row["uncut_area_mm2"] <= max(0.5, 1e-3 * row["reachable_area_mm2"]), row
        assert row["cleared_area_mm2"] >= 0.999 * row["reachable_area_mm2"] - 0.5, row
    # Every depth pass reached, the last exactly at the final depth.
    levels = [-min(depth, k * stepdown) for k in range(1, math.ceil(depth / stepdown - 1e-9) + 1)]
    cut_z = set(np.round(moves.loc[moves["kind"] == "cut", "z"].to_numpy(), 6))
    for z in levels:
        assert round(z, 6) in cut_z, f"depth {z} never cut; cut levels {sorted(cut_z)}"
    assert min(cut_z) == pytest.approx(-depth)
    # G-code of every post, read back, reproduces the motions within the written precision.
    for post_file in sorted(report.glob("*.nc")):
        back = read(post_file.read_text(), path=str(post_file)).moves
        motion = moves[moves["code"] != "G4"].reset_index(drop=True)
        back = back[back["code"] != "G4"].reset_index(drop=True)
        # the post's own header may add positioning moves, and the writer may write one arc
        # as several pieces (a controller's sweep limit, a half circle that rounding would
        # flip): match the toolpath's moves to the program's from the end, each move to the
        # last piece of its own, the pieces before it being arcs of the same code
        assert len(back) >= len(motion), post_file.name
        tol = 0.0005 * 25.4 if "G20" in post_file.read_text()[:400] else 0.0005 + 1e-9
        bxyz, mxyz = back[["x", "y", "z"]].to_numpy(), motion[["x", "y", "z"]].to_numpy()
        bcode, mcode = back["code"].to_numpy(), motion["code"].to_numpy()
        j = len(back) - 1
        for k in range(len(motion) - 1, -1, -1):
            while j >= 0 and np.abs(bxyz[j] - mxyz[k]).max() > tol + 1e-6:
                # only an earlier piece of the next move's arc may stand between
                assert k + 1 < len(motion) and mcode[k + 1] in ("G2", "G3") and bcode[j] == mcode[k + 1], \
                    f"{post_file.name}: move {k} ({mcode[k]} to {mxyz[k]}) not in the program"
                j -= 1
            assert j >= 0, f"{post_file.name}: move {k} not in the program"
            assert bcode[j] == mcode[k], f"{post_file.name}: move {k} is {mcode[k]}, written {bcode[j]}"
            j -= 1
    return summary


@pytest.mark.notebook
def test_pocket_lab_on_project_sample(tmp_path: Path) -> None:
    run = run_notebook("pocket_lab", {}, out_dir=tmp_path / "sample")
    summary = check_job_invariants(run.report_dir, lab.SAMPLE_DXF, list(lab.SAMPLE_LAYERS))
    assert summary["cycle_time_s"] > 0
    assert {p.stem.rsplit("_", 1)[1] for p in run.report_dir.glob("*.nc")} == set(lab.ALL_POSTS)
    assert run.html is not None and run.html.stat().st_size > 10_000
    print(f"\nsample: cycle {summary['cycle_time_s']:.1f} s, cleared {summary['cleared_area_mm2']:.0f} mm^2, "
          f"max engagement {summary['max_engagement_deg']:.1f} deg")


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL_JOBS))
def test_pocket_lab_on_real_drawings(name: str, shared_data: Path, tmp_path: Path) -> None:
    rel, layers = REAL_JOBS[name]
    dxf = shared_data / rel
    params = {"dxf": str(dxf), "layers": layers, "tool_d": TOOL_D, "stepover": 0.4,
              "stepdown": STEPDOWN, "depth": DEPTH, "job": name}
    run = run_notebook("pocket_lab", params, out_dir=tmp_path / name, html=False)
    s = check_job_invariants(run.report_dir, dxf, layers)
    print(f"\n{name}: {len(s['regions'])} regions, {s['moves']} moves, cycle {s['cycle_time_s']:.1f} s "
          f"on {s['machine']}, time by limit {s['time_by_limit_s']}, cleared {s['cleared_area_mm2']:.0f} of "
          f"{s['reachable_area_mm2']:.0f} mm^2 reachable (pocket {s['pocket_area_mm2']:.0f}), "
          f"uncut {s['uncut_area_mm2']:.2f} mm^2, engagement max {s['max_engagement_deg']:.1f} / "
          f"p95 {s['p95_engagement_deg']:.1f} deg")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_pocket_command_writes_the_artefacts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _cli("pocket", str(lab.SAMPLE_DXF), "--layer", "CONTROL_CAVITY", "--tool-d", "6",
             "--stepover", "0.2", "--stepdown", "3", "--depth", "3", "--machine", "GRBL_3018_Default",
             "--post", "grbl", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "cycle time" in r.stdout and str(out) in r.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["guitar_cavities_grbl.nc", "moves.json", "summary.json"], names
    s = check_job_invariants(out, lab.SAMPLE_DXF, ["CONTROL_CAVITY"])
    assert s["machine"] == "GRBL_3018_Default"
    assert set(s["time_by_limit_s"]) <= {"feed_cap", "accel", "jerk", "none"}
    assert sum(s["time_by_limit_s"].values()) == pytest.approx(s["cycle_time_s"], rel=1e-9)
    assert s["corner_contact_deg"] == 0.0 and s["regions"][0]["corner_contact_deg"] == 0.0


def test_corner_contact_of_the_sample() -> None:
    # NECK_POCKET of the sample is square at its open end ((-28, 461), (28, 461)) and meets its
    # heel curve at 71.6 deg; CONTROL_CAVITY's corners are rounded wider than the 6 mm tool
    neck, control = (read_regions(str(lab.SAMPLE_DXF), layers=[name]) for name in ("NECK_POCKET", "CONTROL_CAVITY"))
    job = lab.PocketJob(tool_d=6.0)
    assert lab.corner_contact_deg(neck, job) == pytest.approx(90.0)
    assert lab.corner_contact_deg(control, job) == 0.0
    assert lab.corner_contact_deg(neck + control, job) == pytest.approx(90.0)
    # a tool wider than the neck pocket fits nowhere: no corner to enter
    assert lab.corner_contact_deg(neck, lab.PocketJob(tool_d=60.0)) == 0.0


def test_help_is_followable() -> None:
    r = _cli("--help")
    assert r.returncode == 0
    for word in ("lab", "pocket", "gcode", "dxf", "machine"):
        assert word in r.stdout
    r = _cli("pocket", "--help")
    assert "--stepover" in r.stdout and "--post" in r.stdout


@pytest.mark.parametrize("args, expect", [
    (["--stepover", "0"], "stepover"),
    (["--stepover", "1.5"], "stepover"),
    (["--tool-d", "200"], "does not fit"),
    (["--layer", "NO_SUCH_LAYER"], "NO_SUCH_LAYER"),
    (["--machine", "NoSuchMachine"], "NoSuchMachine"),
    (["--post", "nosuchpost"], "nosuchpost"),
    (["--rpm", "0"], "spindle off"),
    (["--rpm", "40000"], "outside"),
    (["--safe-z", "0"], "above the stock top"),
    (["--strategy", "adaptive", "--conventional"], "climb only"),
    (["--wall-start-slant"], "adaptive strategy"),
])
def test_bad_parameters_give_clear_errors(args: list[str], expect: str, tmp_path: Path) -> None:
    r = _cli("pocket", str(lab.SAMPLE_DXF), "--layer", "CONTROL_CAVITY", *args, "--out", str(tmp_path / "o"))
    if "--layer" in args:
        r = _cli("pocket", str(lab.SAMPLE_DXF), *args, "--out", str(tmp_path / "o"))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert expect.lower() in r.stderr.lower(), r.stderr


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dxf"
    junk.write_bytes(b"\x00\x01 this is not a drawing \xff" * 20)
    r = _cli("pocket", str(junk), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "junk.dxf" in r.stderr and "Traceback" not in r.stderr, r.stderr

    import ezdxf

    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 4
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (50, 0), (50, 30), (0, 30)], dxfattribs={"layer": "OPEN"})  # not closed
    msp.add_lwpolyline([(0, 0), (5, 0), (5, 5)], close=True, dxfattribs={"layer": "EMPTYISH"})
    doc.layers.add("EMPTY")
    f = tmp_path / "bad.dxf"
    doc.saveas(f)
    r = _cli("pocket", str(f), "--layer", "OPEN", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "OPEN" in r.stderr and "gap" in r.stderr.lower(), r.stderr
    r = _cli("pocket", str(f), "--layer", "EMPTY", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "EMPTY" in r.stderr, r.stderr


def test_join_toolpaths_links_through_safe_z() -> None:
    from workbench.toolpath import moves_frame

    a = Toolpath(moves_frame([{"code": "G1", "x": 1, "y": 0, "z": -1, "feed": 100, "len_mm": 1}]), (0, 0, -1))
    b = Toolpath(moves_frame([{"code": "G1", "x": 11, "y": 0, "z": -1, "feed": 100, "len_mm": 1}]), (10, 0, -1))
    prog = lab.join_toolpaths([a, b], safe_z=5.0)
    mv = prog.moves
    assert list(mv["code"]) == ["G0", "G1", "G0", "G0", "G0", "G1", "G0"]
    assert prog.start == (0.0, 0.0, 5.0)
    # every rapid happens at or above safe Z except the final descent onto the next start
    assert list(zip(mv["x"], mv["z"]))[2:5] == [(1.0, 5.0), (10.0, 5.0), (10.0, -1.0)]
    assert mv["len_mm"].iloc[3] == pytest.approx(9.0)
    assert mv["z"].iloc[-1] == 5.0


def test_lab_logs_the_run_and_adopts_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.runlog import open_log

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))  # no learned model: a fresh shop
    db = tmp_path / "log.db"
    job = lab.PocketJob(layers=["PICKUP_CAVITY"], depth=3.0, stepdown=3.0, machine="GRBL_3018_Default",
                        posts=["grbl"], log_run=True, log_db=str(db), adopt_overrides=True)
    res = lab.run_pocket_job(job)
    runs = open_log(str(db)).runs()
    assert len(runs) == 1 and res.summary["run_id"] == int(runs["id"].iloc[0])
    assert runs["machine_id"].iloc[0] == "GRBL_3018_Default" and runs["material_id"].iloc[0] == "maple_hard"
    assert runs["est_time_s"].iloc[0] == pytest.approx(res.summary["cycle_time_s"])
    segs = open_log(str(db)).segments()
    assert len(segs) == len(res.plan.moves)
    o = res.summary["overrides"]
    # nothing learned for this machine in a fresh home: the plan is unchanged, and says so
    assert o["cycle_time_before_s"] == pytest.approx(res.summary["cycle_time_s"])
    assert "calibrated" in o


@pytest.mark.slow
def test_pocket_command_adaptive_strategy(tmp_path: Path) -> None:
    out = tmp_path / "adaptive"
    r = _cli("pocket", str(lab.SAMPLE_DXF), "--layer", "PICKUP_CAVITY", "--strategy", "adaptive",
             "--stepover", "0.2", "--stepdown", "3", "--depth", "3", "--post", "linuxcnc", "--post", "grbl",
             "--link-feed", "6000", "--wall-start-slant", "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = check_job_invariants(out, lab.SAMPLE_DXF, ["PICKUP_CAVITY"])
    assert s["params"]["strategy"] == "adaptive"
    assert s["params"]["wall_start_slant"] is True
    moves = from_json_moves(json.loads((out / "moves.json").read_text()))
    assert moves["code"].isin(["G2", "G3"]).sum() > 0, "adaptive paths carry fitted arcs"
    # keep-down links run at --link-feed, cuts at the cutting feed
    links = moves[(moves["kind"] == "link") & (moves["code"] != "G0")]
    assert len(links) and (links["feed"] == 6000.0).all()
    assert (moves.loc[moves["kind"] == "cut", "feed"] == lab.PocketJob().feed).all()



def test_layers_are_chosen_not_guessed(shared_data: Path, tmp_path: Path) -> None:
    """A real drawing holds body outlines, reference layers and screw circles beside its
    pockets: without --layer the job stops and lists the layers it could pocket."""
    r = _cli("pocket", str(shared_data / "dxf" / "smart_guitar_back_v5.dxf"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "choose the layer" in r.stderr and "VOID_CHAMBERS (4 regions)" in r.stderr, r.stderr
    assert not (tmp_path / "o" / "summary.json").exists()


def test_unreachable_area_and_warnings_are_reported(tmp_path: Path) -> None:
    """A 4 mm slot off a 40 mm pocket cannot take a 6 mm tool: the summary and the command
    say how much of the pocket is not cut, instead of only 'uncut 0 of reachable'."""
    import ezdxf

    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 4
    doc.modelspace().add_lwpolyline([(0, 0), (40, 0), (40, 18), (80, 18), (80, 22), (40, 22), (40, 40), (0, 40)],
                                    close=True, dxfattribs={"layer": "P"})
    f = tmp_path / "slot.dxf"
    doc.saveas(f)
    r = _cli("pocket", str(f), "--layer", "P", "--depth", "3", "--post", "grbl", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["unreachable_area_mm2"] == pytest.approx(40 * 4, rel=0.05)
    assert "tool cannot reach 16" in r.stdout, r.stdout
    assert s["source"]["units_used"] == ["mm"]
