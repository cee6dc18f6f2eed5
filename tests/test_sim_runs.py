"""sim_report v1, sim runs (artefacts, sim_runs rows, failures), media, CAMotics, CLI."""

from __future__ import annotations

import copy
import json
import struct

import imageio.v3 as iio
import numpy as np
import pytest

from workbench.db import make_engine
from workbench.gcode import read
from workbench.sim import SimError, Stock, Tool, build_report, simulate, validate_report
from workbench.sim.camotics import compare_surface, cross_check, load_project, read_stl
from workbench.sim.runs import get_run, run_job
from workbench.sim.stock import Heightmap

from test_sim_engine import pocket_gcode

RAPID_PROG = "G21 G90\nT1 M6\nG0 Z5\nG0 X10 Y10\nG1 Z-2 F300\nG1 X30 F800\nG0 X50\nG0 Z5\nM30\n"


@pytest.fixture()
def engine(tmp_path):
    return make_engine(tmp_path / "wb.db")


def test_report_validates_and_rejects_bad():
    res = simulate(read(RAPID_PROG), Tool("flat", 6, 20), Stock(0, 0, -10, 60, 20, 0), frames=0)
    rep = build_report(res, job="t", source_path="x.nc")
    validate_report(rep)
    assert rep["collision_count"] == 1 and rep["violations"][0]["line"] == 7
    assert any(n["code"] == "rapid_through_stock" for n in rep["notes"])
    for mutate, where in ((lambda r: r.pop("removed_volume_mm3"), "root"),
                          (lambda r: r["notes"].append({"code": "x", "severity": "fatal", "message": ""}), "notes"),
                          (lambda r: r["violations"][0].update(code="oops"), "violations/0/code"),
                          (lambda r: r.update(collision_count=-1), "collision_count")):
        bad = copy.deepcopy(rep)
        mutate(bad)
        with pytest.raises(SimError, match=where):
            validate_report(bad)


def test_run_job_writes_artefacts_and_row(tmp_path, engine):
    prog = tmp_path / "rapid.nc"
    prog.write_text(RAPID_PROG)
    seen = []
    run = run_job(prog, tools=["flat:6,flute=20"], stock="0,0,-10,60,20,0", cell_mm=0.5,
                  out_root=tmp_path / "out", engine=engine, progress=lambda d, n: seen.append((d, n)), frames=8)
    assert run.status == "succeeded", run.error
    out = run.out_dir
    assert out.parent == tmp_path / "out" and out.name.startswith("rapid-")
    rep = json.loads((out / "report.json").read_text())
    validate_report(rep)
    assert rep["sim_video_path"] == "sim.mp4" and rep["sim_snapshot_path"] == "snapshot.png"
    assert rep["collision_count"] == 1 and rep["time_source"] == "motion_planner"
    img = iio.imread(out / "snapshot.png")
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    import imageio.v2 as iio2

    with iio2.get_reader(out / "sim.mp4") as r:
        n = sum(1 for _ in r)
        meta = r.get_meta_data()
    assert n >= len(run.result.frames) - 1 >= 5 and meta["codec"] == "h264"
    gif = iio.imread(out / "sim.gif", index=None)
    assert 2 <= gif.shape[0] <= len(run.result.frames)  # Pillow merges identical frames
    assert "status succeeded" in (out / "sim.log").read_text()
    row = get_run(engine, run.id)
    assert row["status"] == "succeeded" and row["progress"] == 1.0
    assert json.loads(row["report_json"])["collision_count"] == 1
    assert row["video_path"].endswith("sim.mp4") and row["duration_s"] > 0
    assert seen and seen[-1][0] == seen[-1][1]


def test_failed_runs_keep_log_and_status(tmp_path, engine):
    bad = tmp_path / "bad.nc"
    bad.write_text("G21 G90\nG0 X1\nG1 X2 Y3 Q7 F100\n")
    run = run_job(bad, tools=["flat:6"], stock="0,0,-1,10,10,0", out_root=tmp_path, engine=engine)
    assert run.status == "failed" and run.error_class == "GCodeError" and "line 3" in run.error
    assert (run.out_dir / "sim.log").exists() and "GCodeError" in (run.out_dir / "sim.log").read_text()
    row = get_run(engine, run.id)
    assert row["status"] == "failed" and "line 3" in row["error"]

    prog = tmp_path / "p.nc"
    prog.write_text(pocket_gcode())
    run = run_job(prog, tools=["flat:6"], stock="0,0,-10,40,30,0", timeout_s=0.0, out_root=tmp_path, engine=engine)
    assert run.status == "failed" and run.error_class == "SimTimeout"
    run = run_job(prog, tool_table=tmp_path / "none.json", out_root=tmp_path, engine=engine)
    assert run.status == "failed" and run.error_class == "ToolSpecError" and "none.json" in run.error
    run = run_job(prog, tools=["flat:6"], stock="0,0,0,1,1", out_root=tmp_path, engine=engine)
    assert run.status == "failed" and run.error_class == "StockError"


def test_encoding_failure_is_a_failed_run_with_report(tmp_path, engine, monkeypatch):
    import workbench.sim.media as media
    from workbench.sim.errors import EncodingError

    def boom(*a, **k):
        raise EncodingError("sim.mp4: MP4 encoding failed (test)")

    monkeypatch.setattr(media, "write_video", boom)
    prog = tmp_path / "p.nc"
    prog.write_text(pocket_gcode())
    run = run_job(prog, tools=["flat:6"], stock="0,0,-10,40,30,0", cell_mm=0.5, out_root=tmp_path,
                  engine=engine, frames=4)
    assert run.status == "failed" and run.error_class == "EncodingError"
    rep = json.loads((run.out_dir / "report.json").read_text())
    assert rep["sim_video_path"] is None and rep["sim_snapshot_path"] == "snapshot.png"
    assert any(n["code"] == "encoding_failed" for n in rep["notes"])


def test_moves_json_source(tmp_path, engine):
    from workbench.toolpath import to_json_moves

    tp = read(pocket_gcode())
    p = tmp_path / "moves.json"
    p.write_text(json.dumps({"moves": to_json_moves(tp.moves), "start": [0, 0, 0]}))
    run = run_job(p, tools=["flat:6"], stock="0,0,-10,40,30,0", cell_mm=0.5, out_root=tmp_path,
                  engine=engine, media=False)
    assert run.status == "succeeded" and run.report["source"]["kind"] == "toolpath"
    assert run.report["removed_volume_mm3"] == pytest.approx(4 * (1200 - (4 - np.pi) * 9), rel=0.01)


def test_camotics_project_and_stl_compare(shared_data, tmp_path):
    proj = load_project(shared_data / "sim" / "heart.camotics")
    assert proj.tools[1].shape == "ball" and proj.tools[1].diameter == pytest.approx(2.54)
    assert proj.tools[2].cutting_length == pytest.approx(25.4)
    assert proj.stock.zmin == pytest.approx(-12.7) and proj.stock.xmax == 40
    assert load_project(shared_data / "sim" / "botomata_bottom.camotics").stock is None  # automatic
    hm = Heightmap(Stock(0, 0, -5, 10, 10, 0), 1.0)
    hm.h[:, :5] = -2.0
    # a binary STL of two flat squares: z=-2 over x<5, z=0 over x>5
    tris = []
    for x0, z in ((0, -2.0), (5, 0.0)):
        for y0 in range(10):
            tris.append([(x0 + 0.1, y0 + 0.1, z), (x0 + 4.9, y0 + 0.1, z), (x0 + 0.1, y0 + 0.9, z)])
    stl = tmp_path / "s.stl"
    with open(stl, "wb") as f:
        f.write(b"\0" * 80 + struct.pack("<I", len(tris)))
        for t in tris:
            f.write(struct.pack("<3f", 0, 0, 1) + b"".join(struct.pack("<3f", *v) for v in t) + b"\0\0")
    got = read_stl(stl)
    assert got.shape == (20, 3, 3)
    cmp_ = compare_surface(got, hm)
    assert cmp_["mean_abs_diff_mm"] == pytest.approx(0.0) and cmp_["cells"] > 20
    chk = cross_check(shared_data / "sim" / "heart.camotics", hm, binary="camsim-definitely-absent")
    assert chk["status"] == "skipped" and "not on PATH" in chk["message"]


def test_cli_run(tmp_path, capsys):
    from workbench.sim.cli import register
    import argparse

    prog = tmp_path / "r.nc"
    prog.write_text(RAPID_PROG)
    ap = argparse.ArgumentParser()
    register(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["sim", "run", str(prog), "--tool", "flat:6", "--stock", "0,0,-10,60,20,0",
                          "--cell", "0.5", "--out", str(tmp_path / "o"), "--db", str(tmp_path / "c.db"),
                          "--no-media"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "collisions: 1" in out and "rapid_through_stock" in out and "line 7" in out
    args = ap.parse_args(["sim", "run", str(tmp_path / "missing.nc"), "--out", str(tmp_path / "o"),
                          "--db", str(tmp_path / "c.db")])
    assert args.func(args) == 2
    assert "file not found" in capsys.readouterr().err
