"""Telemetry queries (read-only, tracking error exactness, percentiles), sources, middleware, CLI."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from workbench.telemetry import (TelemetryCollector, TelemetryInputError, TelemetryQuery)
from workbench.telemetry.cli import main as cli_main
from workbench.telemetry.sources.grbl import ingest_log, parse_status, read_serial
from workbench.telemetry.sources.virtual_machine import (VirtualMachine, demo_toolpath, run_demo,
                                                         trajectory)
from workbench.toolpath import moves_frame

T0 = 1_700_000_000.0


def lagged_db(path: Path, lag_s: float, dt: float = 0.01, n: int = 500, v: float = 3.0) -> Path:
    """Commands on joint 1: a ramp cmd = v*k*dt sent at k*dt; feedback = the command lag_s earlier,
    sampled at the command instants (so with delay = lag the error is exactly 0)."""
    c = TelemetryCollector(path, batch_size=1000)
    c.start()
    lag_k = round(lag_s / dt)
    for k in range(n):
        c.log_command(k, 1, 1, v * k * dt, None, ts=T0 + k * dt)
        if k >= lag_k:
            c.log_feedback(k, 1, {1: v * (k - lag_k) * dt}, None, ts=T0 + k * dt)
    c.stop()
    return path


def test_tracking_error_exact_with_known_lag(tmp_path: Path) -> None:
    db = lagged_db(tmp_path / "t.db", lag_s=0.2)
    with TelemetryQuery(db) as q:
        exact = q.get_tracking_error(1, delay_s=0.2)
        assert exact["samples"] == 480
        assert exact["max_error_deg"] == pytest.approx(0.0, abs=1e-9)
        none = q.get_tracking_error(1, delay_s=0.0)
        # without the delay the feedback trails by v * lag = 0.6
        assert none["samples"] == 480
        assert none["mean_error_deg"] == pytest.approx(0.6, abs=1e-9)
        assert none["bias_deg"] == pytest.approx(-0.6, abs=1e-9)
        half = q.get_tracking_error(1, delay_s=0.1)
        assert half["max_error_deg"] == pytest.approx(0.3, abs=1e-9)
        # time range: only samples inside, command in force found even before the range
        r = q.get_tracking_error(1, (T0 + 4.0, T0 + 4.5), delay_s=0.2)
        assert r["samples"] == 51 and r["max_error_deg"] == pytest.approx(0.0, abs=1e-9)
        first = r["errors"][0]
        assert set(first) == {"ts", "target", "actual", "error"}
        assert first["target"] == pytest.approx(3.0 * 3.8) and first["actual"] == pytest.approx(3.0 * 3.8)
        fr = q.get_tracking_error(1, delay_s=0.2, frame=True)["errors"]
        assert len(fr) == 480 and list(fr.columns) == ["ts", "target", "actual", "error"]
        empty = q.get_tracking_error(4)
        assert empty["samples"] == 0 and empty["mean_error_deg"] is None
        with pytest.raises(TelemetryInputError, match="joint"):
            q.get_tracking_error(7)
        with pytest.raises(TelemetryInputError, match="delay_s"):
            q.get_tracking_error(1, delay_s=-1)
        with pytest.raises(TelemetryInputError, match="time_range"):
            q.get_tracking_error(1, (T0 + 5, T0))


def test_tracking_error_with_set_all_commands(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db)
    c.start()
    c.log_command(1, 2, None, None, {"angles": [10.0, 20.0, 30.0]}, ts=T0)
    c.log_command(2, 2, None, None, {"angles": [11.0, 21.0, 31.0]}, ts=T0 + 1)
    c.log_feedback(1, 1, [10.5, 20.0, 29.0], None, ts=T0 + 0.5)
    c.log_feedback(2, 1, [11.0, 22.0, 31.0], None, ts=T0 + 1.5)
    c.stop()
    with TelemetryQuery(db) as q:
        r = q.get_tracking_error(2, delay_s=0.5)
        assert [e["error"] for e in r["errors"]] == [-1.0, 0.0]


def test_virtual_machine_tracking_matches_truth(tmp_path: Path) -> None:
    db = tmp_path / "vm.db"
    c = TelemetryCollector(db, batch_size=500)
    c.start()
    # pure transport delay, no lag, no noise: feedback is the command 0.05 s earlier
    run = VirtualMachine(c, demo_toolpath(), rate_hz=100, servo_tau_s=0.0, transport_delay_s=0.05).run()
    c.stop()
    with TelemetryQuery(db) as q:
        for j in range(3):
            assert q.get_tracking_error(j, delay_s=0.05)["max_error_deg"] == pytest.approx(0, abs=1e-9)
            # with delay 0 the query recovers the true (noise-free) error exactly
            assert q.get_tracking_error(j, delay_s=0.0)["mean_error_deg"] == pytest.approx(
                run.true_tracking_error[j], rel=1e-12, abs=1e-12)
        stats = q.get_db_stats()
        for t in ("dds_commands", "dds_feedback", "smoother_state", "web_requests", "camera_health",
                  "system_events"):
            assert stats[t] > 0, t
        assert stats["dds_feedback"] == run.samples and stats["dds_commands"] == 3 * run.samples
        s = q.get_session_summary()
        assert s["duration_s"] == pytest.approx(run.duration_s)
        assert s["feedback_rate_hz"] == pytest.approx((run.samples) / run.duration_s)


def test_first_order_lag_steady_state(tmp_path: Path) -> None:
    # a long constant-speed line: a first-order servo trails by v * tau (Franklin et al.)
    moves = moves_frame([{"code": "G1", "x": 100.0, "y": 0.0, "z": 0.0, "feed": 600.0, "len_mm": 100.0}])
    db = tmp_path / "lag.db"
    c = TelemetryCollector(db, batch_size=1000)
    c.start()
    VirtualMachine(c, moves, rate_hz=1000, servo_tau_s=0.1).run()
    c.stop()
    with TelemetryQuery(db) as q:
        e = q.get_tracking_error(0, (T0 * 0, 1e12), delay_s=0.0, frame=True)["errors"]
    mid = e.iloc[len(e) // 2:len(e) * 3 // 4]["error"].to_numpy()
    # v = 10 mm/s, tau = 0.1 s; ZOH at 1 kHz adds half a sample (0.005 mm)
    assert np.allclose(-mid, 10 * 0.1 + 10 * 0.0005, atol=2e-3)


def test_trajectory_arc_stays_on_circle() -> None:
    tp = demo_toolpath()
    tr = trajectory(tp.moves.assign(t_s=[1.0] * len(tp.moves)), tp.start, rate_hz=50)
    arc = tr[tr["move"] == 3]
    r = np.hypot(arc["x"] - 40.0, arc["y"] - 10.0)
    assert np.allclose(r, 10.0) and len(arc) == 50


def test_queries_are_read_only_and_filter(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db)
    c.start()
    for k, ms in enumerate(range(1, 101)):  # latencies 1..100 ms on /a, 1000 ms on /b
        c.log_web_request("/a", "GET", None, float(ms), 200, True, ts=T0 + k)
    c.log_web_request("/b", "POST", None, 1000.0, 500, False, ts=T0 + 200)
    c.log_system_event("estop", "web", "pressed", level="error", ts=T0 + 1)
    c.log_system_event("connect", "dds", ts=T0 + 2)
    c.log_camera_health("c1", {"actual_fps": 5}, ts=T0)
    c.log_command(1, 1, 6, 40.0, None, ts=T0 + 1)
    c.log_feedback(1, 1, {6: 39.5}, None, ts=T0 + 2)
    c.stop()
    q = TelemetryQuery(db)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        q._conn.execute("DELETE FROM web_requests")
    st = q.get_web_latency_stats()
    # nearest rank over 1..100 and 1000: n = 101
    assert st["count"] == 101 and st["p50_ms"] == 51.0 and st["p95_ms"] == 96.0 and st["p99_ms"] == 100.0
    assert st["by_endpoint"]["/a"]["p50_ms"] == 50.0 and st["by_endpoint"]["/a"]["p99_ms"] == 99.0
    assert st["by_endpoint"]["/b"] == {"count": 1, "mean_ms": 1000.0, "p50_ms": 1000.0,
                                       "p95_ms": 1000.0, "p99_ms": 1000.0}
    assert len(q.get_web_requests(endpoint="/a", limit=5)) == 5
    assert q.get_web_requests(endpoint="/a", limit=5)[-1]["ts"] == T0 + 99
    assert len(q.get_web_requests((T0, T0 + 9))) == 10
    assert [e["event_type"] for e in q.get_events(level="error")] == ["estop"]
    assert [e["event_type"] for e in q.get_events(source="dds")] == ["connect"]
    assert q.get_session_summary()["error_count"] == 1
    assert q.get_gripper_log() == [{"ts": T0 + 1, "position": 40.0, "source": "command"},
                                   {"ts": T0 + 2, "position": 39.5, "source": "feedback"}]
    assert q.get_joint_history(6) == [{"ts": T0 + 2, "angle": 39.5}]
    r = q.get_command_rate(10.0, now=T0 + 5)
    assert r["total_commands"] == 1 and r["rate_hz"] == 0.1 and r["by_funcode"] == {1: 0.1}
    with pytest.raises(TelemetryInputError, match="limit"):
        q.get_commands(limit=0)
    q.close()


GRBL_LOG = """\
Grbl 1.1h ['$' for help]
ok
<Idle|MPos:0.000,0.000,0.000|FS:0,0|WCO:1.000,2.000,0.000>
<Run|WPos:0.500,0.000,-1.000|FS:800,12000>
<Run|MPos:3.000,2.000,-1.000|FS:800,12000|Ov:100,100,100>
ALARM:1
<Alarm|MPos:3.000,2.000,-1.000|FS:0,0>
error:9
"""


def test_grbl_log_ingest(tmp_path: Path) -> None:
    log = tmp_path / "capture.log"
    log.write_text(GRBL_LOG)
    db = tmp_path / "g.db"
    c = TelemetryCollector(db)
    c.start()
    res = ingest_log(c, log, poll_hz=5.0, start_ts=T0)
    c.stop()
    assert (res.reports, res.state_changes, res.errors, res.skipped) == (4, 3, 2, 2)
    with TelemetryQuery(db) as q:
        snap = q.get_all_joints_snapshot()
        assert [(s["angle0"], s["angle1"], s["angle2"]) for s in snap] == [
            (0.0, 0.0, 0.0), (1.5, 2.0, -1.0), (3.0, 2.0, -1.0), (3.0, 2.0, -1.0)]  # WPos + WCO
        assert [s["ts"] for s in snap] == [T0, T0 + 0.2, T0 + 0.4, T0 + 0.6]
        ev = q.get_events()
        assert [e["detail"] for e in ev if e["event_type"] == "error"] == ["ALARM:1", "error:9"]
        states = [e["data"]["state"] for e in ev if e["event_type"] == "state_update"]
        assert states == ["Idle", "Run", "Alarm"]
        status = q.table_frame("dds_feedback").query("funcode == 3")
        assert status["exec_status"].tolist() == [0, 1, 0] and status["error_status"].tolist() == [0, 0, 1]
    bad = tmp_path / "bad.log"
    bad.write_text("<Idle|MPos:1.0,abc,0|FS:0,0>\n")
    with pytest.raises(TelemetryInputError, match="bad.log: line 1: bad MPos"):
        ingest_log(TelemetryCollector(tmp_path / "x.db"), bad)


def test_grbl_timestamps_and_serial_loop(tmp_path: Path) -> None:
    st = parse_status("<Hold:0|MPos:1,2,3,4|F:500>")
    assert (st.state, st.substate, st.mpos, st.feed) == ("Hold", 0, (1.0, 2.0, 3.0, 4.0), 500.0)
    import serial
    db = tmp_path / "s.db"
    c = TelemetryCollector(db)
    c.start()
    port = serial.serial_for_url("loop://", timeout=0.05)
    port.write(b"<Run|MPos:5.000,6.000,7.000|FS:100,0>\r\n")
    res = read_serial(c, "loop://", poll_hz=20, duration_s=0.3, serial_obj=port)
    c.stop()
    assert res.reports == 1
    with TelemetryQuery(db) as q:
        assert q.get_joint_history(2)[0]["angle"] == 7.0


def test_middleware_logs_requests(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from workbench.telemetry.middleware import TelemetryMiddleware

    async def ok(request):  # type: ignore[no-untyped-def]
        return JSONResponse({"ok": True})

    async def fail(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("no", status_code=404)

    app = Starlette(routes=[Route("/api/set-joint", ok, methods=["POST"]), Route("/api/missing", fail),
                            Route("/health", ok)])
    db = tmp_path / "w.db"
    c = TelemetryCollector(db)
    c.start()
    app.add_middleware(TelemetryMiddleware, collector=c)
    with TestClient(app) as client:
        client.post("/api/set-joint?joint=2&angle=10", headers={"X-Correlation-ID": "abc123"})
        client.get("/api/missing")
        client.get("/health")
    c.stop()
    with TelemetryQuery(db) as q:
        reqs = q.get_web_requests()
    assert [(r["endpoint"], r["method"], r["status_code"], r["ok"]) for r in reqs] == [
        ("/api/set-joint", "POST", 200, 1), ("/api/missing", "GET", 404, 0)]
    assert reqs[0]["params"] == {"joint": "2", "angle": "10"} and reqs[0]["correlation_id"] == "abc123"
    assert all(r["response_ms"] > 0 for r in reqs)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "demo.db"
    run_demo(db, seconds=3.0)
    c = TelemetryCollector(db)
    c.start()
    c.log_command(1, 1, 6, 30.0, None)
    c.log_system_event("estop", "web", "pressed", level="error")
    c.stop()
    return db


SUBCOMMANDS = [["summary"], ["commands", "--last", "5"], ["joints", "--joint", "0", "--last", "1s"],
               ["joints"], ["gripper"], ["tracking", "--joint", "1", "--delay", "0"],
               ["smoother", "--joint", "2"], ["requests", "--endpoint", "/api/status"], ["latency"],
               ["cameras", "--cam", "spindle_cam"], ["events", "--level", "error"], ["rate"],
               ["tail", "-n", "3"], ["dbstats"]]


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: a[0])
def test_cli_subcommands_table_and_json(demo_db: Path, args: list[str], capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["--db", str(demo_db), *args]) == 0
    table = capsys.readouterr().out
    assert table.strip() and "Traceback" not in table
    assert cli_main(["--db", str(demo_db), *args, "--format", "json"]) == 0
    out = capsys.readouterr().out
    if args[0] == "tail":
        assert all(json.loads(line)["event_type"] for line in out.splitlines())
    else:
        data = json.loads(out)
        assert data
    if args[0] == "summary":
        assert data["total_feedback"] > 0 and data["error_count"] == 1
        assert "total_feedback" in table
    if args[0] == "events":
        assert [e["event_type"] for e in data] == ["estop"]
    if args[0] == "gripper":
        assert data[-1]["position"] == 30.0
    if args[0] == "tracking":
        assert data["samples"] > 0 and "errors" not in data


def test_cli_tail_follow_sees_new_events(demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import threading
    import time
    db = tmp_path / "f.db"
    c = TelemetryCollector(db, batch_size=1, flush_interval_s=0.05)
    c.start()
    c.log_system_event("connect", "dds", "first")

    def later() -> None:
        time.sleep(0.3)
        c.log_system_event("estop", "web", "second", level="error")

    th = threading.Thread(target=later)
    time.sleep(0.2)
    th.start()
    assert cli_main(["--db", str(db), "tail", "--follow", "--interval", "0.2", "--max-polls", "6"]) == 0
    th.join()
    c.stop()
    out = capsys.readouterr().out
    assert "first" in out and "second" in out and out.index("first") < out.index("second")


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_cli_export(demo_db: Path, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture) -> None:
    import pandas as pd
    out = tmp_path / "exp"
    assert cli_main(["--db", str(demo_db), "export", "--format", fmt, "--out", str(out)]) == 0
    with TelemetryQuery(demo_db) as q:
        n = q.get_db_stats()
    for t in ("dds_commands", "dds_feedback", "system_events"):
        f = out / f"{t}.{fmt}"
        df = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet}[fmt](f)
        assert len(df) == n[t]


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["--db", str(tmp_path / "none.db"), "summary"]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "Traceback" not in err
    db = tmp_path / "t.db"
    TelemetryCollector(db).start()
    assert cli_main(["--db", str(db), "joints", "--last", "forever"]) == 2
    assert "duration" in capsys.readouterr().err
