"""The whole loop on a real pocket: plan, log runs with measured times, train, replan with
adopt_overrides; only the matching moves change feed, nothing exceeds the feed cap, and the
new estimate carries both the overrides and the calibration."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from workbench.cam import plan_pocket
from workbench.learn import plan_with_overrides, train_overrides
from workbench.learn.model import factors_for_moves
from workbench.machine import load_machine, plan_motion
from workbench.runlog import open_log
from workbench.thermal import annotate

MACHINE = "Mach4_Router_4x8"
# what the operator did on the machine (feed override on tight arcs) and the measured times
OPERATOR_ARC_SLOWDOWN = (0.70, 0.75, 0.65)
MEASURED_OVER_ESTIMATE = (1.08, 1.12, 1.10)


@pytest.mark.shared
@pytest.mark.slow
def test_plan_log_train_replan(shared_data, tmp_path) -> None:
    from workbench.geometry.dxf import read_regions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                    # $INSUNITS lies in this file
        region = read_regions(shared_data / "dxf" / "mvp_rect_with_island.dxf")[0]
    prof = load_machine(MACHINE)
    cap = prof.feed_cap
    log = open_log(str(tmp_path / "wb.db"))
    models = tmp_path / "models"

    # 1. plan and log three runs (different stepovers), with measured times
    n_arcs = []
    for so, slow, ratio in zip((0.35, 0.45, 0.55), OPERATOR_ARC_SLOWDOWN, MEASURED_OVER_ESTIMATE):
        tp = plan_pocket(region, tool_d=6.0, stepover=so, stepdown=2.0, depth=4.0, feed=1500.0)
        plan = plan_motion(tp, prof)
        arcs = plan.moves["code"].isin(["G2", "G3"]) & (plan.moves["radius_mm"] <= 5.0)
        assert arcs.sum() >= 20
        n_arcs.append(int(arcs.sum()))
        plan.moves.loc[arcs, "slowdown"] = slow
        log.log_plan(plan, machine_id=MACHINE, material_id="maple_hard", job_name=f"mvp_so{so}",
                     act_time_s=plan.cycle_time_s * ratio)
    assert len(log.runs(MACHINE)) == 3

    # 2. train: the tight-arc rule from > 50 arcs, no trochoids (meta says why)
    model = train_overrides(MACHINE, 5.0, log=log, models_dir=models)
    assert model["meta"]["samples_by_rule"]["arc_tight_mm<=5.00"] >= 50
    # the mean slowdown over all logged tight-arc segments (runs weighted by their arc count)
    expect = np.dot(n_arcs, OPERATOR_ARC_SLOWDOWN) / sum(n_arcs)
    assert model["rules"] == {"arc_tight_mm<=5.00": pytest.approx(expect)}
    assert "trochoid" in model["meta"]["skipped"]
    cal = model["meta"]["calibration"]
    assert cal["n"] == 3 and cal["ratio"] == pytest.approx(np.mean(MEASURED_OVER_ESTIMATE))

    # 3. replan the job with adopt_overrides
    tp = plan_pocket(region, tool_d=6.0, stepover=0.45, stepdown=2.0, depth=4.0, feed=1500.0)
    res = plan_with_overrides(tp, prof, models_dir=models)
    before, after = res.before.moves, res.after.moves
    f0, f1 = before["feed"].to_numpy(), after["feed"].to_numpy()
    match = factors_for_moves(before, model["rules"]) < 1.0
    held = before["limit"].to_numpy() == "feed_cap"
    expect_changed = match & ~held
    assert expect_changed.sum() > 0
    changed = ~np.isclose(f0, f1, equal_nan=True)
    np.testing.assert_array_equal(changed, expect_changed)              # exactly the matching moves
    np.testing.assert_allclose(f1[expect_changed],
                               np.minimum(f0[expect_changed] * model["rules"]["arc_tight_mm<=5.00"], cap))
    assert (f1[expect_changed] <= cap).all()                             # never above the feed cap
    # and no move of the replanned job runs faster than before (grbl's cap is per axis, so a
    # diagonal move may legitimately cruise a little above the scalar cap in both plans)
    assert (after["v_peak"].to_numpy() <= before["v_peak"].to_numpy() * (1 + 1e-9) + 1e-12).all()
    # unchanged moves keep their time up to planner coupling through junctions; changed ones slow down
    assert after["t_s"].to_numpy()[expect_changed].sum() > before["t_s"].to_numpy()[expect_changed].sum()
    assert res.after.cycle_time_s > res.before.cycle_time_s
    # the estimate reflects the overrides (after plan) and the calibration (x ratio)
    assert res.estimate.estimate_s == pytest.approx(res.after.cycle_time_s)
    assert res.estimate.corrected_s == pytest.approx(res.after.cycle_time_s * cal["ratio"])
    assert res.estimate.n == 3
    print(f"\nloop on {MACHINE}: rule {model['rules']}, {int(expect_changed.sum())} moves changed feed, "
          f"cycle {res.before.cycle_time_s:.2f} -> {res.after.cycle_time_s:.2f} s, calibrated "
          f"{res.estimate.corrected_s:.2f} s (x{res.estimate.ratio:.3f} +- {res.estimate.spread:.3f}, n={res.estimate.n})")

    # 4. thermal numbers follow the new plan: same removed volume and (constant-u wood) energy,
    # more time and so less power on the slowed moves
    e0 = annotate(res.before, "maple_hard")
    e1 = annotate(res.after, "maple_hard")
    assert e1["removed_mm3"].sum() == pytest.approx(e0["removed_mm3"].sum(), rel=1e-9)
    assert e1["energy_j"].sum() == pytest.approx(e0["energy_j"].sum(), rel=1e-9)
    cut_changed = expect_changed & (e0["removed_mm3"].to_numpy() > 0)
    assert cut_changed.any()                                # the helix entries cut material
    assert (e1["power_w"].to_numpy()[cut_changed] < e0["power_w"].to_numpy()[cut_changed]).all()

    # 5. where the controller holds the tight arcs at its feed cap, nothing is touched
    knee = load_machine("LinuxCNC_KneeMill")
    fast = plan_pocket(region, tool_d=6.0, stepover=0.45, stepdown=2.0, depth=4.0,
                       feed=knee.feed_cap * 1.5, plunge_feed=knee.feed_cap * 1.5)  # helix arcs too
    res_k = plan_with_overrides(fast, knee, model=model)
    arcs = res_k.before.moves["code"].isin(["G2", "G3"]).to_numpy()
    assert (res_k.before.moves["limit"].to_numpy()[arcs] == "feed_cap").all()
    np.testing.assert_array_equal(res_k.after.moves["feed"].to_numpy(), res_k.before.moves["feed"].to_numpy())
    assert res_k.toolpath.meta["overrides"]["held_at_cap"] == arcs.sum()
    assert res_k.toolpath.meta["overrides"]["changed"] == 0
