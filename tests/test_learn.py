"""Learned feed overrides: training rules, model files and cache, calibration, application."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from workbench.learn import (apply_overrides, calibrated_estimate, calibration_from_runs,
                             feed_factor_for_move, load_model, model_path, train_overrides)
from workbench.learn.model import OverrideModelError, save_model
from workbench.runlog import NoLogsError, open_log
from workbench.toolpath import Toolpath, moves_frame

M = "Mach4_Router_4x8"


def _run(**kw):
    return {"machine_id": M, "material_id": "maple_hard", "tool_d": 6.0, "stepover": 0.4,
            "stepdown": 1.5, **kw}


def _segs(n_arcs: int, arc_slow: float, n_troch: int, troch_slow: float, r: float = 3.0):
    segs = [{"code": "G2", "radius_mm": r, "slowdown": arc_slow, "limit": "accel"} for _ in range(n_arcs)]
    segs += [{"code": "G1", "trochoid": True, "slowdown": troch_slow, "limit": "jerk"} for _ in range(n_troch)]
    segs += [{"code": "G3", "radius_mm": 20.0, "slowdown": 0.2, "limit": "none"} for _ in range(30)]  # wide arcs
    return [{**s, "idx": i} for i, s in enumerate(segs)]


@pytest.fixture()
def env(tmp_path):
    return open_log(str(tmp_path / "wb.db")), tmp_path / "models"


def test_train_rules_from_slowdown_and_save(env) -> None:
    log, md = env
    log.write_run(_run(est_time_s=100.0, act_time_s=110.0), _segs(30, 0.7, 30, 0.9))
    log.write_run(_run(est_time_s=100.0, act_time_s=120.0), _segs(30, 0.8, 30, 0.8))
    log.write_run(_run(est_time_s=200.0, act_time_s=230.0), [])
    model = train_overrides(M, 5.0, log=log, models_dir=md)
    assert set(model) == {"machine_id", "rules", "meta"}
    assert model["machine_id"] == M
    assert model["rules"] == {"arc_tight_mm<=5.00": pytest.approx(0.75), "trochoid": pytest.approx(0.85)}
    meta = model["meta"]
    assert meta["samples"] == 180 and meta["r_min"] == 5.0 and meta["trained_at"].endswith("Z")
    assert meta["samples_by_rule"] == {"arc_tight_mm<=5.00": 60, "trochoid": 60}
    # calibration: ratios 1.1, 1.2, 1.15 -> mean 1.15, sample std 0.05
    assert meta["calibration"]["ratio"] == pytest.approx(1.15)
    assert meta["calibration"]["spread"] == pytest.approx(0.05)
    assert meta["calibration"]["n"] == 3
    saved = json.loads(model_path(M, md).read_text())
    assert saved["rules"] == model["rules"]


def test_clamps(env) -> None:
    log, md = env
    log.write_run(_run(), _segs(60, 0.2, 60, 0.3))
    model = train_overrides(M, 5.0, log=log, models_dir=md)
    assert model["rules"] == {"arc_tight_mm<=5.00": 0.5, "trochoid": 0.6}


def test_below_50_samples_rules_empty_and_meta_says_why(env) -> None:
    log, md = env
    log.write_run(_run(), _segs(49, 0.7, 10, 0.9))
    model = train_overrides(M, 5.0, log=log, models_dir=md)
    assert model["rules"] == {}
    assert model["meta"]["skipped"] == {"arc_tight_mm<=5.00": "49 sample(s) < 50 required",
                                        "trochoid": "10 sample(s) < 50 required"}
    # the arc radius threshold decides which arcs count
    assert train_overrides(M, 2.0, log=log, models_dir=md)["meta"]["samples_by_rule"]["arc_tight_mm<=2.00"] == 0


def test_machine_without_logs(env) -> None:
    log, md = env
    with pytest.raises(NoLogsError, match="no runs logged for machine 'Ghost'"):
        train_overrides("Ghost", log=log, models_dir=md)
    with pytest.raises(OverrideModelError, match="machine_id"):
        train_overrides("../../etc/x", log=log, models_dir=md)
    assert not md.exists()


def test_feed_factor_cache_sees_new_model(env) -> None:
    log, md = env
    arc = {"code": "G2", "x": 1, "y": 1, "i": 3.0, "j": 0.0, "f": 1000, "meta": {"trochoid": False}}
    line = {"code": "G1", "x": 1, "y": 1, "f": 1000, "meta": {"trochoid": False}}
    troch = {"code": "G1", "x": 1, "y": 1, "f": 1000, "meta": {"trochoid": True}}
    assert feed_factor_for_move(arc, M, models_dir=md) == 1.0          # no model yet
    log.write_run(_run(), _segs(60, 0.7, 60, 0.9))
    train_overrides(M, log=log, models_dir=md)
    assert feed_factor_for_move(arc, M, models_dir=md) == pytest.approx(0.7)
    assert feed_factor_for_move(line, M, models_dir=md) == 1.0
    assert feed_factor_for_move(troch, M, models_dir=md) == pytest.approx(0.9)
    # another process writes a new model file: the cache revalidates by mtime/size
    p = model_path(M, md)
    data = json.loads(p.read_text())
    data["rules"]["arc_tight_mm<=5.00"] = 0.55
    p.write_text(json.dumps(data))
    assert feed_factor_for_move(arc, M, models_dir=md) == pytest.approx(0.55)
    p.write_text("{broken")
    with pytest.raises(OverrideModelError, match="cannot read model"):
        load_model(M, md)


def test_calibration_and_calibrated_estimate(tmp_path) -> None:
    cal = calibration_from_runs([100.0, 100.0, 200.0, float("nan")], [110.0, 120.0, 230.0, 50.0])
    assert (cal.ratio, cal.n) == (pytest.approx(1.15), 3)
    assert cal.spread == pytest.approx(0.05)
    model = {"machine_id": M, "rules": {}, "meta": {"calibration": cal.to_dict()}}
    est = calibrated_estimate(200.0, M, model=model)
    assert est.corrected_s == pytest.approx(230.0)
    assert (est.low_s, est.high_s) == (pytest.approx(220.0), pytest.approx(240.0))
    assert "3 measured run" in est.note
    none = calibrated_estimate(200.0, M, models_dir=tmp_path)
    assert none.corrected_s == 200.0 and none.n == 0 and "not corrected" in none.note


def _plan_moves():
    rows = [
        dict(code="G1", x=10, y=0, z=-1, feed=1000.0, limit="none"),                       # 0 line
        dict(code="G2", x=10, y=-6, z=-1, i=0, j=-3, radius_mm=3.0, feed=1000.0, limit="accel"),   # 1 tight
        dict(code="G2", x=10, y=-6, z=-1, i=0, j=-3, radius_mm=3.0, feed=2500.0, limit="feed_cap"),  # 2 held
        dict(code="G3", x=10, y=34, z=-1, i=0, j=20, radius_mm=20.0, feed=1000.0, limit="none"),  # 3 wide
        dict(code="G1", x=0, y=0, z=-1, feed=1000.0, trochoid=True, limit="jerk"),          # 4 troch
        dict(code="G2", x=0, y=0, z=-1, i=1, j=0, radius_mm=1.0, feed=1000.0, trochoid=True, limit="none"),  # 5 both
        dict(code="G0", x=0, y=0, z=5, kind="rapid", limit="none"),                         # 6 rapid
    ]
    return Toolpath(moves_frame(rows), start=(0, 0, 0), meta={"tool_d": 6.0})


def test_apply_overrides_matching_moves_only_never_above_cap() -> None:
    model = {"machine_id": M, "rules": {"arc_tight_mm<=5.00": 0.7, "trochoid": 0.9}, "meta": {}}
    tp = _plan_moves()
    out = apply_overrides(tp, model, 2000.0)
    f0 = tp.moves["feed"].to_numpy()
    f1 = out.moves["feed"].to_numpy()
    assert out.moves["override_factor"].tolist() == pytest.approx([1, 0.7, 1, 1, 0.9, 0.7, 1])
    np.testing.assert_allclose(f1[[1, 4, 5]], [700.0, 900.0, 700.0])
    np.testing.assert_array_equal(f1[[0, 2, 3]], f0[[0, 2, 3]])        # held at cap: untouched
    assert np.isnan(f1[6])
    assert out.meta["overrides"]["changed"] == 3 and out.meta["overrides"]["held_at_cap"] == 1
    assert "limit" not in out.moves and out.moves["limit_before"].tolist()[2] == "feed_cap"
    # without plan labels a scaled feed is still clamped to the feed cap
    nolim = Toolpath(tp.moves.drop(columns=["limit"]), meta=tp.meta)
    out2 = apply_overrides(nolim, model, 1500.0)
    assert out2.moves["feed"].iloc[2] == 1500.0                      # 2500 * 0.7 = 1750 -> cap
    # no model: nothing changes
    out3 = apply_overrides(tp, "NoSuchMachine", 2000.0)
    np.testing.assert_array_equal(out3.moves["feed"].to_numpy()[:6], f0[:6])


def test_bad_model_rejected(tmp_path) -> None:
    with pytest.raises(OverrideModelError, match="factor must be in"):
        save_model({"machine_id": M, "rules": {"trochoid": 1.3}, "meta": {}}, tmp_path)
    with pytest.raises(OverrideModelError, match="unknown rule"):
        apply_overrides(_plan_moves(), {"machine_id": M, "rules": {"fast": 0.9}, "meta": {}})
