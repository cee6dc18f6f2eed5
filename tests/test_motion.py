"""Motion planner: analytic cases (exact to 1e-9), grbl code paths, vectorized == loop reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.machine import MachineProfile, plan_motion
from workbench.machine.motion import (arc_segments, double_s_time, lookahead_cap, plan_passes,
                                      reference_block_times, reference_passes)
from workbench.toolpath import Toolpath, moves_frame

TOL = 1e-9


def prof(**kw) -> MachineProfile:
    base = dict(id="test", controller="grblHAL", max_rate_mm_min=(12000.0, 12000.0, 12000.0),
                accel_mm_s2=(500.0, 500.0, 500.0), junction_deviation_mm=0.01,
                arc_tolerance_mm=0.002, planner_blocks=None)
    base.update(kw)
    return MachineProfile(**base)


def tp(*rows, start=(0.0, 0.0, 0.0)) -> Toolpath:
    full = []
    for r in rows:
        r = dict(r)
        r.setdefault("code", "G1")
        for a in "xyz":
            r.setdefault(a, 0.0)
        full.append(r)
    return Toolpath(moves_frame(full), start=start)


def test_single_long_move_is_a_trapezoid():
    # L = 100 mm at 100 mm/s, a = 500 mm/s²: t = L/v + v/a = 1.2 s
    plan = plan_motion(tp({"x": 100, "feed": 6000}), prof())
    m = plan.moves.iloc[0]
    assert m["t_s"] == pytest.approx(100 / 100 + 100 / 500, abs=TOL)
    assert m["v_peak"] == pytest.approx(100.0, abs=TOL)
    assert m["v_entry"] == 0 and m["v_exit"] == 0
    assert m["limit"] == "none"
    assert plan.summary["cycle_time_s"] == pytest.approx(1.2, abs=TOL)
    assert plan.summary["n_blocks"] == 1


def test_short_move_is_a_triangle_limited_by_accel():
    plan = plan_motion(tp({"x": 1.0, "feed": 6000}), prof())
    m = plan.moves.iloc[0]
    assert m["t_s"] == pytest.approx(2 * math.sqrt(1.0 / 500), abs=TOL)
    assert m["v_peak"] == pytest.approx(math.sqrt(500 * 1.0), abs=TOL)
    assert m["limit"] == "accel"


def test_90_degree_corner_junction_speed_by_hand():
    a, jd, v, L = 500.0, 0.01, 100.0, 100.0
    plan = plan_motion(tp({"x": L, "feed": 6000}, {"x": L, "y": L, "feed": 6000}), prof(junction_deviation_mm=jd))
    # cos(theta) = 0, sin(theta/2) = sqrt(1/2); junction direction (-1, 1)/sqrt2 -> a_j = a*sqrt2
    s = math.sqrt(0.5)
    vj = math.sqrt(a * math.sqrt(2) * jd * s / (1 - s))
    m = plan.moves
    assert m["v_exit"].iloc[0] == pytest.approx(vj, abs=TOL)
    assert m["v_entry"].iloc[1] == pytest.approx(vj, abs=TOL)
    t_one = v / a + (v - vj) / a + (L - v * v / (2 * a) - (v * v - vj * vj) / (2 * a)) / v
    assert m["t_s"].iloc[0] == pytest.approx(t_one, abs=TOL)
    assert m["t_s"].iloc[1] == pytest.approx(t_one, abs=TOL)


def test_feed_above_the_axis_rate_cruises_at_the_cap():
    plan = plan_motion(tp({"x": 200, "feed": 20000}), prof(max_rate_mm_min=(6000.0, 6000.0, 6000.0)))
    m = plan.moves.iloc[0]
    assert m["limit"] == "feed_cap"
    assert m["v_peak"] == pytest.approx(100.0, abs=TOL)
    assert m["t_s"] == pytest.approx(200 / 100 + 100 / 500, abs=TOL)


def test_explicit_feed_cap_is_honoured():
    plan = plan_motion(tp({"x": 200, "feed": 9000}), prof(feed_cap_mm_min=3000.0))
    m = plan.moves.iloc[0]
    assert m["limit"] == "feed_cap" and m["v_peak"] == pytest.approx(50.0, abs=TOL)
    assert m["t_s"] == pytest.approx(200 / 50 + 50 / 500, abs=TOL)


def test_straight_continuation_does_not_slow_down():
    two = plan_motion(tp({"x": 50, "feed": 6000}, {"x": 100, "feed": 6000}), prof())
    one = plan_motion(tp({"x": 100, "feed": 6000}), prof())
    assert two.moves["v_exit"].iloc[0] == pytest.approx(100.0, abs=TOL)
    assert two.summary["cycle_time_s"] == pytest.approx(one.summary["cycle_time_s"], abs=TOL)


def test_reversal_stops():
    plan = plan_motion(tp({"x": 100, "feed": 6000}, {"x": 0, "feed": 6000}), prof())
    assert plan.moves["v_exit"].iloc[0] == 0.0
    assert plan.summary["cycle_time_s"] == pytest.approx(2 * 1.2, abs=TOL)


def test_per_axis_limits_on_a_diagonal():
    p = prof(max_rate_mm_min=(3000.0, 6000.0, 6000.0), accel_mm_s2=(100.0, 500.0, 500.0))
    plan = plan_motion(tp({"x": 100, "y": 100, "feed": 10000}), p)
    u = 1 / math.sqrt(2)
    v = min(3000 / u, 6000 / u) / 60
    a = min(100 / u, 500 / u)
    L = 100 * math.sqrt(2)
    m = plan.moves.iloc[0]
    assert m["t_s"] == pytest.approx(L / v + v / a, abs=TOL)
    assert plan.blocks["accel_mm_s2"].iloc[0] == pytest.approx(a, abs=TOL)
    assert m["limit"] == "feed_cap"


def test_rapid_uses_axis_limited_rapid_rate():
    p = prof(max_rate_mm_min=(6000.0, 6000.0, 600.0))
    plan = plan_motion(tp({"code": "G0", "z": 30}), p)
    v, a = 10.0, 500.0
    assert plan.moves["t_s"].iloc[0] == pytest.approx(30 / v + v / a, abs=TOL)
    assert plan.moves["limit"].iloc[0] == "none"
    assert plan.summary["rapid_time_s"] == pytest.approx(30 / v + v / a, abs=TOL)


def test_arc_chord_count_matches_mc_arc_formula():
    r, tol = 10.0, 0.002
    plan = plan_motion(tp({"code": "G2", "x": 20, "y": 0, "i": 10, "j": 0, "feed": 3000}), prof(arc_tolerance_mm=tol))
    expected = math.floor(abs(0.5 * math.pi * r) / math.sqrt(tol * (2 * r - tol)))
    assert expected == 78
    assert plan.summary["n_blocks"] == expected
    b = plan.blocks
    # chord end points lie on the circle (small-angle rotation + exact correction every 13)
    rad = np.hypot(b["x"] - 10, b["y"]).to_numpy()
    theta = math.pi / expected
    drift = 12 * theta ** 4 / 24 * r        # rho^m - 1 of the small-angle matrix, m <= 12
    assert np.abs(rad - r).max() == pytest.approx(drift, rel=0.02)
    assert np.abs(rad[12::13] - r).max() < 1e-12     # exact cos/sin correction at i = 13, 26, ...
    assert (b["x"].iloc[-1], b["y"].iloc[-1]) == (20.0, 0.0)
    # clockwise from (0,0) around (10,0): the chords go through y > 0
    assert (b["y"].iloc[:-1] > 0).all()
    assert (b["move"] == 0).all()
    # full circle when start == end
    full = plan_motion(tp({"code": "G3", "x": 0, "y": 0, "i": 10, "j": 0, "feed": 3000}), prof(arc_tolerance_mm=tol))
    assert full.summary["n_blocks"] == math.floor(abs(math.pi * r) / math.sqrt(tol * (2 * r - tol)))
    assert full.blocks["len_mm"].sum() == pytest.approx(2 * math.pi * r, rel=1e-4)


def test_arc_segments_tiny_radius_is_one_block():
    assert arc_segments(np.array([math.pi]), np.array([0.0005]), 0.002)[0] == 0
    plan = plan_motion(tp({"code": "G3", "x": 0.001, "y": 0.0, "i": 0.0005, "j": 0, "feed": 100}), prof())
    assert plan.summary["n_blocks"] == 1


def test_dwell_adds_time_and_forces_a_stop():
    moves = tp({"x": 50, "feed": 6000}, {"code": "G4", "x": 50, "dwell_s": 2.5, "kind": "dwell"},
               {"x": 100, "feed": 6000})
    plan = plan_motion(moves, prof())
    single = 50 / 100 + 100 / 500
    assert plan.moves["t_s"].iloc[1] == 2.5
    assert plan.moves["v_exit"].iloc[0] == 0.0
    assert plan.summary["cycle_time_s"] == pytest.approx(2 * single + 2.5, abs=TOL)
    assert plan.summary["dwell_time_s"] == 2.5


def test_rest_before_stops_the_planner():
    plan = plan_motion(tp({"x": 50, "feed": 6000}, {"x": 100, "feed": 6000, "rest_before": True}), prof())
    assert plan.moves["v_exit"].iloc[0] == 0.0
    assert plan.summary["cycle_time_s"] == pytest.approx(2 * (0.5 + 0.2), abs=TOL)


def test_steps_rounding_drops_zero_step_blocks_and_measures_steps():
    p = prof(steps_per_mm=(250.0, 250.0, 250.0))
    plan = plan_motion(tp({"x": 0.001, "feed": 600}, {"x": 10.0011, "feed": 600}), p)
    assert plan.summary["n_blocks"] == 1
    assert plan.moves["t_s"].iloc[0] == 0.0
    assert plan.blocks["len_mm"].iloc[0] == pytest.approx(10.0, abs=1e-12)   # 2500 steps


def test_corner_bound_short_moves_are_labelled_jerk():
    rows = [{"x": 2.0 * (k + 1), "y": 2.0 * (k % 2), "feed": 6000} for k in range(20)]
    plan = plan_motion(tp(*rows), prof())
    inner = plan.moves["limit"].iloc[2:-2]
    assert (inner == "jerk").all()
    assert plan.summary["count_by_limit"]["jerk"] >= 16


def test_finite_lookahead_exact_for_a_one_block_window():
    # buffer of 2 (one block held): every block must stop at its end -> n triangles
    rows = [{"x": 0.5 * (k + 1), "feed": 6000} for k in range(50)]
    full = plan_motion(tp(*rows), prof(), lookahead=0)
    one = plan_motion(tp(*rows), prof(), lookahead=2)
    assert one.summary["cycle_time_s"] == pytest.approx(50 * 2 * math.sqrt(0.5 / 500), abs=1e-9)
    assert full.summary["cycle_time_s"] == pytest.approx(25 / 100 + 100 / 500, abs=1e-9)
    mid = plan_motion(tp(*rows), prof(), lookahead=8)
    assert full.summary["cycle_time_s"] < mid.summary["cycle_time_s"] < one.summary["cycle_time_s"]


@pytest.mark.parametrize("held", [None, 1, 2, 3, 7, 16])
def test_vectorized_passes_equal_the_loop_reference(held):
    rng = np.random.default_rng(7 + (held or 0))
    for _ in range(20):
        n = int(rng.integers(1, 300))
        m = rng.uniform(0, 400, n) ** 2 * (rng.random(n) < 0.8)
        m[rng.random(n) < 0.1] = np.inf
        m[0] = 0.0
        c = 2 * rng.uniform(50, 1000, n) * rng.uniform(0.01, 5, n)
        ref = np.array(reference_passes(m, c, held))
        mm = m if held is None else np.minimum(m, lookahead_cap(c, held))
        vec = plan_passes(mm, c)
        np.testing.assert_allclose(vec, ref, rtol=1e-9, atol=1e-6)
        # the plan is feasible: no speed change larger than the acceleration allows
        assert np.all(np.abs(np.diff(vec)) <= c * (1 + 1e-9) + 1e-6)


def test_whole_plan_matches_a_per_block_loop_on_a_random_program():
    rng = np.random.default_rng(3)
    pts = np.cumsum(rng.uniform(-3, 3, (400, 3)) * [1, 1, 0.1], axis=0)
    rows = [{"code": "G0" if k % 57 == 0 else "G1", "x": p[0], "y": p[1], "z": p[2],
             "feed": float(rng.choice([800, 2000, 6000])), "rest_before": k % 101 == 50}
            for k, p in enumerate(pts)]
    p = prof(max_rate_mm_min=(9000.0, 6000.0, 1500.0), accel_mm_s2=(800.0, 400.0, 150.0))
    plan = plan_motion(tp(*rows), p, lookahead=0)
    # loop reference: grbl's formulas block by block, in scalar Python
    mv = plan.moves
    blocks = plan.blocks
    assert len(blocks) == len(mv)                      # straight moves: one block each
    t = reference_block_times(blocks, mv, (0.0, 0.0, 0.0), p, held=None)
    np.testing.assert_allclose(mv["t_s"].to_numpy(), t, rtol=1e-9, atol=1e-12)
    assert plan.summary["cycle_time_s"] == pytest.approx(sum(t), rel=1e-12)
    assert set(mv["limit"]) <= {"feed_cap", "accel", "jerk", "none"}
    tb = plan.summary["time_by_limit_s"]
    assert sum(tb.values()) == pytest.approx(plan.summary["cycle_time_s"], rel=1e-12)


def test_scurve_long_move_matches_biagiotti_melchiorri_closed_form():
    # v0 = v1 = 0, vmax and amax reached: T = h/vmax + vmax/amax + amax/jmax (B&M 2008, §3.4)
    J, A, v, h = 5000.0, 500.0, 100.0, 100.0
    p = prof(jerk_mm_s3=(J, J, J))
    plan = plan_motion(tp({"x": h, "feed": 6000}), p, mode="scurve")
    assert plan.moves["t_s"].iloc[0] == pytest.approx(h / v + v / A + A / J, abs=TOL)
    # amax not reached ((vmax - v0) J < A²): Ta = 2 sqrt(v/J)
    J2 = 100.0
    one = np.array([1.0])
    t, vp = double_s_time(0 * one, 0 * one, v * one, A * one, J2 * one, 1000 * one)
    assert t[0] == pytest.approx(1000 / v + 2 * math.sqrt(v / J2), abs=TOL)
    # too short to reach vmax: h = 2 vp sqrt(vp/J) -> vp = (h/2)^(2/3) J^(1/3), T = 4 sqrt(vp/J)
    t, vp = double_s_time(0 * one, 0 * one, v * one, A * one, J2 * one, h * one)
    vp_exact = (h / 2) ** (2 / 3) * J2 ** (1 / 3)
    assert vp[0] == pytest.approx(vp_exact, abs=1e-9)
    assert t[0] == pytest.approx(4 * math.sqrt(vp_exact / J2), abs=TOL)


def test_scurve_is_never_faster_and_labels_jerk():
    rows = [{"x": 3.0 * (k + 1), "y": 1.5 * (k % 2), "feed": 6000} for k in range(30)]
    p = prof(jerk_mm_s3=(2000.0, 2000.0, 2000.0))
    g = plan_motion(tp(*rows), p)
    s = plan_motion(tp(*rows), p, mode="scurve")
    assert s.summary["cycle_time_s"] > g.summary["cycle_time_s"]
    assert s.summary["count_by_limit"]["jerk"] > 0
    # every S-curve block is feasible: |v1 - v0| reachable within its length
    b = s.blocks
    assert np.all(b["v_peak"] >= np.maximum(b["v_entry"], b["v_exit"]) - 1e-9)


def test_errors_are_clear():
    with pytest.raises(InputError, match="line 7.*feed"):
        plan_motion(tp({"x": 1.0, "line": 7}), prof())
    with pytest.raises(InputError, match="jerk"):
        plan_motion(tp({"x": 1.0, "feed": 100}), prof(), mode="scurve")
    with pytest.raises(InputError, match="mode"):
        plan_motion(tp({"x": 1.0, "feed": 100}), prof(), mode="fast")
    with pytest.raises(InputError, match="lookahead"):
        plan_motion(tp({"x": 1.0, "feed": 100}), prof(), lookahead=1)


def test_adopt_scales_feeds():
    base = plan_motion(tp({"x": 100, "feed": 3000}), prof())
    fast = plan_motion(tp({"x": 100, "feed": 3000}), prof(), adopt=[2.0])
    assert fast.moves["v_peak"].iloc[0] == pytest.approx(2 * base.moves["v_peak"].iloc[0])
    with pytest.raises(InputError, match="adopt"):
        plan_motion(tp({"x": 100, "feed": 3000}), prof(), adopt=[1.0, 2.0])


def test_empty_and_zero_length_programs():
    plan = plan_motion(tp({"x": 0.0, "feed": 100}), prof())
    assert plan.summary["cycle_time_s"] == 0.0 and plan.summary["n_blocks"] == 0
    assert plan.moves["limit"].iloc[0] == "none"


@pytest.mark.notebook
@pytest.mark.slow
def test_cycle_time_notebook_runs_on_the_project_sample(tmp_path):
    import json

    from workbench.notebooks import run_notebook

    run = run_notebook("cycle_time", {"machine": "GRBL_3018_Default"}, out_dir=tmp_path / "nb", html=False)
    summary = json.loads((run.report_dir / "motion_summary.json").read_text())
    assert summary["machine"] == "GRBL_3018_Default" and summary["cycle_time_s"] > 0
    assert sum(summary["time_by_limit_s"].values()) + summary["dwell_time_s"] == pytest.approx(summary["cycle_time_s"])
    assert (run.report_dir / "motion_moves.csv").stat().st_size > 1000


def test_gcode_cli_estimate_and_read(tmp_path, capsys):
    import json

    from workbench.cli import main

    prog = tmp_path / "p.nc"
    prog.write_text("G21 G90 G17\nG0 Z5\nG0 X10 Y10\nG1 Z-1 F300\nG1 X60 F1500\nG2 X60 Y30 I0 J10\n"
                    "G1 X10\nG4 P0.5\nG1 Y10\nG0 Z5\nM30\n")
    assert main(["gcode", "estimate", str(prog), "--machine", "router_small", "--json", "--top", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dwell_time_s"] == 0.5 and out["n_moves"] >= 8
    assert len(out["slowest_lines"]) == 3
    assert out["slowest_lines"][0]["t_s"] >= out["slowest_lines"][1]["t_s"]
    assert sum(out["time_by_limit_s"].values()) + 0.5 == pytest.approx(out["cycle_time_s"])
    assert main(["gcode", "estimate", str(prog), "--machine", "router_small"]) == 0
    text = capsys.readouterr().out
    assert "cycle time" in text and "slowest lines" in text and "feed_cap" in text
    assert main(["gcode", "read", str(prog), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["moves_by_code"]["G2"] == 1 and s["bounds_mm"]["x"] == [0.0, 60.0]   # end points
    assert main(["gcode", "estimate", str(prog)]) == 2          # no machine given
    assert "--machine" in capsys.readouterr().err
