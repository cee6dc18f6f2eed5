"""CAM run log: schema via Alembic, validation, caps, cascade, one-call plan logging."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from workbench.migrations import current_revision, head_revision
from workbench.runlog import NoLogsError, RunLogError, open_log
from workbench.toolpath import Toolpath, moves_frame

RUN = {"job_name": "LP_body_pocket", "machine_id": "Mach4_Router_4x8", "material_id": "maple_hard",
       "tool_d": 6.0, "stepover": 0.45, "stepdown": 1.5, "feed_xy": 1200, "rpm": 18000,
       "est_time_s": 45.3, "act_time_s": 47.1, "notes": None}
SEGS = [{"idx": 0, "code": "G1", "x": 10, "y": 0, "len_mm": 10.0, "limit": "none", "slowdown": 1.0, "t_s": 1.0},
        {"idx": 1, "code": "G2", "x": 10, "y": 10, "len_mm": 15.7, "limit": "accel", "slowdown": 0.75,
         "trochoid": False, "radius_mm": 5.0, "feed_f": 900.0, "t_s": 3.0},
        {"idx": 2, "code": "G1", "x": 0, "y": 10, "len_mm": 10.0, "limit": "accel", "t_s": 1.0},
        {"idx": 3, "code": "G0", "x": 0, "y": 0, "len_mm": 10.0, "limit": "feed_cap", "t_s": 0.5}]


@pytest.fixture()
def log(tmp_path):
    return open_log(str(tmp_path / "wb.db"))


def _count(log, table: str) -> int:
    with log.engine.connect() as c:
        return c.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one()


def test_migrated_schema_wal_and_foreign_keys(log) -> None:
    assert current_revision(log.engine) == head_revision() == "0001_runlog"
    insp = sa.inspect(log.engine)
    cols = {c["name"] for c in insp.get_columns("segments")}
    assert {"run_id", "idx", "code", "x", "y", "len_mm", "limit", "slowdown", "trochoid",
            "radius_mm", "feed_f"} <= cols
    assert {"ts_utc", "job_name", "machine_id", "material_id", "tool_d", "stepover", "stepdown",
            "post_id", "feed_xy", "rpm", "est_time_s", "act_time_s", "notes"} <= \
        {c["name"] for c in insp.get_columns("runs")}
    with log.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_write_run_and_caps(log) -> None:
    rid = log.write_run(RUN, SEGS)
    assert isinstance(rid, int) and rid >= 1
    caps = log.caps("Mach4_Router_4x8")
    assert caps["counts"] == {"feed_cap": 1, "accel": 2, "jerk": 0, "none": 1}
    assert caps["time_s"] == {"feed_cap": 0.5, "accel": 4.0, "jerk": 0.0, "none": 1.0}
    assert caps["time_share"]["accel"] == pytest.approx(4.0 / 5.5)
    assert caps["count_share"]["accel"] == pytest.approx(0.5)
    assert caps["runs"] == 1 and caps["segments"] == 4
    seg = log.segments(run_id=rid)
    assert seg["idx"].tolist() == [0, 1, 2, 3]
    assert seg.loc[1, "radius_mm"] == 5.0 and seg.loc[1, "trochoid"] == 0


def test_cascade_delete(log) -> None:
    rid = log.write_run(RUN, SEGS)
    assert _count(log, "segments") == 4
    assert log.delete_run(rid)
    assert _count(log, "segments") == 0 and _count(log, "runs") == 0


def test_unique_run_idx_enforced_by_database(log) -> None:
    rid = log.write_run(RUN, SEGS[:1])
    with pytest.raises(sa.exc.IntegrityError):
        with log.engine.begin() as c:
            c.exec_driver_sql(f"INSERT INTO segments (run_id, idx, code) VALUES ({rid}, 0, 'G1')")


@pytest.mark.parametrize("field", ["machine_id", "material_id", "tool_d", "stepover", "stepdown"])
def test_missing_required_field(log, field) -> None:
    bad = {k: v for k, v in RUN.items() if k != field}
    with pytest.raises(RunLogError, match=f"run.{field}: required"):
        log.write_run(bad, SEGS)
    assert _count(log, "runs") == 0


@pytest.mark.parametrize("field,value,msg", [
    ("tool_d", "six", r"run.tool_d: expected a number, got str 'six'"),
    ("tool_d", "6.0", r"run.tool_d: expected a number"),
    ("tool_d", -6.0, r"run.tool_d: must be > 0"),
    ("stepover", 2.7, r"run.stepover: must be <= 1"),
    ("rpm", 1.5, r"run.rpm: expected an integer"),
    ("machine_id", "", r"run.machine_id: must not be empty"),
    ("tool_diameter", 6.0, r"unknown field"),
    ("act_time_s", True, r"run.act_time_s: expected a number"),
])
def test_bad_run_values(log, field, value, msg) -> None:
    with pytest.raises(RunLogError, match=msg):
        log.write_run({**RUN, field: value}, SEGS)
    assert _count(log, "runs") == 0


def test_bad_segment_leaves_nothing_written(log) -> None:
    segs = SEGS + [{"idx": 4, "code": "G1", "limit": "slow"}]
    with pytest.raises(RunLogError, match=r"segments\[4\].limit"):
        log.write_run(RUN, segs)
    with pytest.raises(RunLogError, match=r"segments\[1\].idx: 0 appears twice"):
        log.write_run(RUN, [SEGS[0], SEGS[0]])
    with pytest.raises(RunLogError, match=r"segments\[0\].slowdown: must be <= 1"):
        log.write_run(RUN, [{"idx": 0, "slowdown": 1.5}])
    assert _count(log, "runs") == 0 and _count(log, "segments") == 0


def test_database_failure_rolls_back_the_run(log) -> None:
    # a failure inside the transaction (after the run row is inserted) leaves nothing behind
    with log.engine.begin() as c:
        c.exec_driver_sql("CREATE TRIGGER no_g3 BEFORE INSERT ON segments WHEN NEW.code = 'G3' "
                          "BEGIN SELECT RAISE(ABORT, 'no G3 here'); END")
    with pytest.raises(sa.exc.IntegrityError):
        log.write_run(RUN, SEGS + [{"idx": 9, "code": "G3"}])
    assert _count(log, "runs") == 0 and _count(log, "segments") == 0


def test_caps_for_machine_without_logs(log) -> None:
    with pytest.raises(NoLogsError, match="no runs logged for machine 'Ghost'.*empty"):
        log.caps("Ghost")
    log.write_run(RUN, SEGS)
    with pytest.raises(NoLogsError, match="Mach4_Router_4x8"):
        log.caps("Ghost")


def test_log_plan_one_call(log) -> None:
    from workbench.machine import plan_motion
    rows = [dict(code="G1", x=0, y=0, z=-1, kind="plunge", feed=300, len_mm=1.0),
            dict(code="G1", x=20, y=0, z=-1, feed=1200, len_mm=20.0),
            dict(code="G2", x=20, y=-8, z=-1, i=0, j=-4, feed=1200, len_mm=4 * 3.141592653589793,
                 radius_mm=4.0, slowdown=0.8),
            dict(code="G0", x=0, y=0, z=5, kind="rapid", len_mm=25.0)]
    tp = Toolpath(moves_frame(rows), start=(0, 0, 5),
                  meta={"tool_d": 6.0, "stepover": 0.4, "stepdown": 1.0, "feed": 1200.0, "rpm": 18000})
    plan = plan_motion(tp, "Mach4_Router_4x8")
    rid = log.log_plan(plan, machine_id="Mach4_Router_4x8", material_id="maple_hard",
                       job_name="t", act_time_s=plan.cycle_time_s * 1.1)
    run = log.runs("Mach4_Router_4x8").iloc[0]
    assert run["id"] == rid and run["tool_d"] == 6.0 and run["stepover"] == 0.4
    assert run["est_time_s"] == pytest.approx(plan.cycle_time_s)
    seg = log.segments(run_id=rid)
    assert len(seg) == 4 and seg["limit"].tolist() == plan.moves["limit"].tolist()
    assert seg.loc[2, "radius_mm"] == 4.0 and seg.loc[2, "slowdown"] == 0.8
    assert seg["t_s"].sum() == pytest.approx(plan.cycle_time_s)
