"""The telemetry recorder: schema, routing, batching, threads, stop(), retention, bad input."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.telemetry import (EventType, TelemetryCollector, TelemetryDatabaseError,
                                 TelemetryEvent, TelemetryInputError, TelemetryQuery,
                                 TelemetryWriterError, init_db)
from workbench.telemetry.schema import TABLE_COLUMNS


def rows(db: Path, table: str) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    out = [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
    conn.close()
    return out


def count(db: Path, table: str) -> int:
    conn = sqlite3.connect(db)
    n = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    conn.close()
    return n


def test_schema_as_plan(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "dir" / "t.db"
    conn = init_db(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert set(TABLE_COLUMNS) <= tables
    idx = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idx_dds_commands_ts", "idx_dds_commands_cid", "idx_dds_commands_funcode",
            "idx_dds_feedback_ts", "idx_dds_feedback_funcode", "idx_smoother_ts",
            "idx_smoother_joint", "idx_web_requests_ts", "idx_web_requests_endpoint",
            "idx_camera_health_ts", "idx_camera_health_cam", "idx_system_events_ts",
            "idx_system_events_type"} <= idx
    fb = [r[1] for r in conn.execute("PRAGMA table_info(dds_feedback)")]
    assert [f"angle{j}" for j in range(7)] == [c for c in fb if c.startswith("angle")]
    conn.close()
    init_db(db).close()  # idempotent


def test_emit_routes_by_event_type(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db)
    c.start()
    cid = c.new_correlation_id()
    ev = c.emit("dds", EventType.DDS_PUBLISH, {"seq": 7, "funcode": 1, "joint_id": 2,
                                               "target_value": 12.5}, cid)
    assert isinstance(ev, TelemetryEvent) and ev.correlation_id == cid
    with pytest.raises(Exception):
        ev.source = "x"  # frozen
    c.emit("dds", "dds_receive", {"seq": 8, "funcode": 1, "angles": [1.0, 2.0, 3.0]})
    c.emit("dds", EventType.DDS_RECEIVE, {"seq": 9, "funcode": 3,
                                          "status": {"power_status": 1, "error_status": 0}})
    c.emit("web", EventType.CMD_SENT, {"endpoint": "/api/command/set-joint", "params": {"j": 2}}, cid)
    c.emit("camera", EventType.CAM_FRAME, {"camera_id": "cam0", "actual_fps": 29.5,
                                           "target_fps": 30, "resolution": [640, 480]})
    c.emit("dds", EventType.ERROR, {"message": "timeout"}, cid)
    for et in (EventType.STATE_UPDATE, EventType.CMD_ACK, EventType.CMD_EXEC):
        c.emit("dds", et, {"detail": et.value}, cid)
    c.emit("web", EventType.WS_SEND, {"clients": 3})
    c.stop()
    cmd = rows(db, "dds_commands")
    assert [(r["seq"], r["funcode"], r["joint_id"], r["target_value"], r["correlation_id"])
            for r in cmd] == [(7, 1, 2, 12.5, cid)]
    fb = rows(db, "dds_feedback")
    assert [(r["funcode"], r["angle0"], r["angle1"], r["angle2"], r["angle3"]) for r in fb] == \
        [(1, 1.0, 2.0, 3.0, None), (3, None, None, None, None)]
    assert (fb[1]["power_status"], fb[1]["error_status"], fb[1]["exec_status"]) == (1, 0, None)
    web = rows(db, "web_requests")
    assert [(r["endpoint"], r["method"], r["correlation_id"]) for r in web] == \
        [("/api/command/set-joint", "POST", cid)]
    cam = rows(db, "camera_health")
    assert [(r["camera_id"], r["actual_fps"], r["resolution_w"], r["resolution_h"]) for r in cam] == \
        [("cam0", 29.5, 640, 480)]
    ev_rows = rows(db, "system_events")
    assert [(r["event_type"], r["level"]) for r in ev_rows] == [
        ("error", "error"), ("state_update", "info"), ("cmd_ack", "info"), ("cmd_exec", "info")]
    assert ev_rows[0]["detail"] == "timeout"
    # WS_SEND is not stored anywhere but is counted
    total = sum(count(db, t) for t in TABLE_COLUMNS)
    assert total == 9
    stats = c.get_stats()
    assert stats["by_type"]["ws_send"] == 1 and stats["by_type"]["system_events" if False else "error"] == 1
    assert stats["total_events"] == 10 and stats["written"] == 9
    # pipeline: every event of the correlation id, in order
    pipe = c.get_pipeline(cid)
    assert [p["event_type"] for p in pipe] == ["dds_publish", "cmd_sent", "error", "state_update",
                                               "cmd_ack", "cmd_exec"]
    assert pipe[0]["delta_ms"] == 0.0 and all(p["delta_ms"] >= 0 for p in pipe)


def test_typed_log_methods(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db)
    c.start()
    c.log_command(1, 1, 6, 35.0, {"gripper_mm": 35.0}, "c1", raw_len=40)
    c.log_feedback(2, 1, {"angle0": 1.5, 6: 34.0}, None)
    c.log_smoother_tick([{"joint_id": 0, "target": 10, "current": 5, "sent": 5.5, "step_size": 0.5},
                         {"joint_id": 1, "target": 1, "current": 1, "sent": 1, "dirty": False}])
    c.log_web_request("/api/x", "GET", {"a": 1}, 12.5, 200, True, "c1")
    c.log_camera_health("cam1", {"actual_fps": 10, "stalled": False, "connected": True})
    c.log_system_event("connect", "dds", "link up", {"port": 1}, level="warning")
    c.stop()
    assert rows(db, "dds_commands")[0]["data_json"] == '{"gripper_mm":35.0}'
    assert rows(db, "dds_commands")[0]["raw_len"] == 40
    fb = rows(db, "dds_feedback")[0]
    assert (fb["angle0"], fb["angle6"], fb["angle1"]) == (1.5, 34.0, None)
    sm = rows(db, "smoother_state")
    assert [(r["joint_id"], r["sent"], r["dirty"]) for r in sm] == [(0, 5.5, 1), (1, 1.0, 0)]
    assert sm[0]["ts"] == sm[1]["ts"]
    w = rows(db, "web_requests")[0]
    assert (w["method"], w["response_ms"], w["status_code"], w["ok"]) == ("GET", 12.5, 200, 1)
    assert rows(db, "camera_health")[0]["stalled"] == 0
    se = rows(db, "system_events")[0]
    assert (se["event_type"], se["source"], se["detail"], se["level"]) == ("connect", "dds", "link up", "warning")


def test_read_your_writes_before_and_after_start(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db, batch_size=10_000, flush_interval_s=60)
    for i in range(5):
        c.emit("dds", EventType.DDS_PUBLISH, {"seq": i, "funcode": 1})
    c.emit("web", EventType.WS_SEND, {})
    evs = c.get_events()  # writer not started: all from the queue
    assert [e.payload["seq"] for e in evs] == [0, 1, 2, 3, 4]
    assert c.get_stats()["queue_depth"] == 5 and c.get_stats()["by_type"]["ws_send"] == 1
    c.start()
    for i in range(5, 8):
        c.emit("dds", EventType.DDS_PUBLISH, {"seq": i, "funcode": 1})
    # nothing committed yet (batch 10,000, interval 60 s) but every event is visible once
    assert [e.payload["seq"] for e in c.get_events(limit=100)] == list(range(8))
    c.stop()
    assert count(db, "dds_commands") == 8
    assert [e.payload["seq"] for e in c.get_events(limit=3)] == [5, 6, 7]
    assert [e.payload["seq"] for e in c.get_events(event_type="dds_publish", source="dds")][:2] == [0, 1]
    assert c.get_events(source="camera") == []


def test_commit_at_batch_size_and_at_interval(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db, batch_size=20, flush_interval_s=30.0)
    c.start()
    for i in range(19):
        c.log_command(i, 1, 0, float(i), None)
    time.sleep(0.3)
    assert count(db, "dds_commands") == 0  # under batch size, interval not reached
    c.log_command(19, 1, 0, 19.0, None)
    deadline = time.monotonic() + 5
    while count(db, "dds_commands") < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert count(db, "dds_commands") == 20  # batch size reached: committed without waiting 30 s
    c.stop()

    db2 = tmp_path / "t2.db"
    c2 = TelemetryCollector(db2, batch_size=1000, flush_interval_s=0.2)
    c2.start()
    c2.log_command(0, 1, 0, 0.0, None)
    deadline = time.monotonic() + 5
    while count(db2, "dds_commands") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert count(db2, "dds_commands") == 1  # committed by the interval
    assert c2.get_stats()["commits"] >= 1
    c2.stop()


def test_many_threads_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db, batch_size=50, flush_interval_s=0.05, max_queue=500, put_timeout_s=30)
    c.start()
    n_threads, m = 8, 2000

    def work(k: int) -> None:
        for i in range(m):
            if i % 3 == 0:
                c.log_feedback(k * m + i, 1, [float(i)], None)
            elif i % 3 == 1:
                c.emit("dds", EventType.DDS_PUBLISH, {"seq": k * m + i, "funcode": 1})
            else:
                c.log_system_event("tick", f"t{k}", str(i))

    ts = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    c.stop()
    total = count(db, "dds_feedback") + count(db, "dds_commands") + count(db, "system_events")
    assert total == n_threads * m
    st = c.get_stats()
    assert st["written"] == n_threads * m and st["dropped"] == 0 and st["queue_depth"] == 0
    conn = sqlite3.connect(db)
    seqs = sorted(r[0] for r in conn.execute(
        "SELECT seq FROM dds_feedback UNION ALL SELECT seq FROM dds_commands"))
    conn.close()
    assert seqs == sorted(k * m + i for k in range(n_threads) for i in range(m) if i % 3 != 2)


def test_stop_flushes_everything_and_refuses_after(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db, batch_size=100_000, flush_interval_s=3600)
    c.start()
    for i in range(1234):
        c.log_command(i, 1, 0, float(i), None)
    c.stop()
    assert count(db, "dds_commands") == 1234
    with pytest.raises(TelemetryWriterError, match="stopped"):
        c.log_command(0, 1, 0, 0.0, None)
    c.start()  # restartable
    c.log_command(1, 1, 0, 0.0, None)
    c.stop()
    assert count(db, "dds_commands") == 1235


def test_disable_enable(tmp_path: Path) -> None:
    c = TelemetryCollector(tmp_path / "t.db")
    c.disable()
    assert not c.enabled
    c.log_command(0, 1, 0, 0.0, None)
    c.emit("dds", EventType.ERROR, {"message": "x"})
    assert c.get_stats()["skipped_disabled"] == 2 and c.get_stats()["queue_depth"] == 0
    c.enable()
    c.log_command(0, 1, 0, 0.0, None)
    assert c.get_stats()["queue_depth"] == 1


def test_retention_deletes_old_rows_and_reclaims(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db, retention_days=7)
    c.start()
    old, new = time.time() - 8 * 86400, time.time() - 6 * 86400
    for i in range(12_000):
        c.log_feedback(i, 1, [float(i)] * 7, None, ts=old + i * 1e-3)
        c.log_system_event("old", "test", "x" * 50, ts=old)
    c.log_feedback(0, 1, [1.0], None, ts=new)
    c.log_web_request("/api/keep", "GET", None, 1.0, 200, True, ts=new)
    c.stop()
    assert count(db, "dds_feedback") == 12_001
    size_before = db.stat().st_size
    c2 = TelemetryCollector(db, retention_days=7)
    c2.start()
    c2.stop()
    assert count(db, "dds_feedback") == 1 and count(db, "system_events") == 0
    assert count(db, "web_requests") == 1
    assert c2.get_stats()["retention_deleted"]["dds_feedback"] == 12_000
    assert db.stat().st_size < size_before / 2  # pages handed back (incremental vacuum)
    wal = Path(str(db) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # WAL truncated


def test_retention_env_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_RETENTION_DAYS", "1")
    assert TelemetryCollector(tmp_path / "a.db").retention_days == 1.0
    monkeypatch.setenv("TELEMETRY_RETENTION_DAYS", "a week")
    with pytest.raises(TelemetryInputError, match="TELEMETRY_RETENTION_DAYS"):
        TelemetryCollector(tmp_path / "a.db")


def test_bad_events_raise_clear_errors(tmp_path: Path) -> None:
    c = TelemetryCollector(tmp_path / "t.db")
    with pytest.raises(TelemetryInputError, match="unknown telemetry event type 'dds_teleport'"):
        c.emit("dds", "dds_teleport", {})
    with pytest.raises(TelemetryInputError, match="not JSON-serialisable"):
        c.emit("dds", EventType.ERROR, {"exc": object()})
    with pytest.raises(TelemetryInputError, match="not JSON-serialisable"):
        c.log_command(1, 1, 0, 1.0, {"when": {1, 2}})
    with pytest.raises(TelemetryInputError, match="'target_value' must be a number"):
        c.log_command(1, 1, 0, "ten", None)
    with pytest.raises(TelemetryInputError, match="joint 9 out of range"):
        c.log_feedback(1, 1, {9: 1.0}, None)
    with pytest.raises(TelemetryInputError, match="missing 'sent'"):
        c.log_smoother_tick([{"joint_id": 0, "target": 1, "current": 1}])
    with pytest.raises(TelemetryInputError, match="level"):
        c.log_system_event("x", "y", level="catastrophic")
    with pytest.raises(TelemetryInputError, match="payload must be a dict"):
        c.emit("dds", EventType.ERROR, ["not", "a", "dict"])  # type: ignore[arg-type]
    assert isinstance(TelemetryInputError("x"), WorkbenchError)
    assert c.get_stats()["queue_depth"] == 0  # nothing half-queued


def test_sql_looking_strings_are_stored_verbatim(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    evil = "x'); DROP TABLE web_requests; --"
    c = TelemetryCollector(db)
    c.start()
    c.log_web_request(evil, "GET", {"q": evil}, 1.0, 200, True)
    c.log_system_event(evil, evil, evil)
    c.log_camera_health(evil, {"actual_fps": 1})
    c.stop()
    assert rows(db, "web_requests")[0]["endpoint"] == evil
    se = rows(db, "system_events")[0]
    assert se["event_type"] == se["source"] == se["detail"] == evil
    q = TelemetryQuery(db)
    assert [r["endpoint"] for r in q.get_web_requests(endpoint=evil)] == [evil]
    assert [r["camera_id"] for r in q.get_camera_health(camera_id=evil)] == [evil]
    q.close()


def test_corrupt_database_file_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    db.write_bytes(b"this is not a database at all" * 200)
    c = TelemetryCollector(db)
    with pytest.raises(TelemetryDatabaseError, match="not a telemetry database, or corrupt"):
        c.start()
    with pytest.raises(TelemetryDatabaseError, match="corrupt"):
        TelemetryQuery(db)
    with pytest.raises(TelemetryDatabaseError, match="file not found"):
        TelemetryQuery(tmp_path / "missing.db")


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE dds_commands (id INTEGER PRIMARY KEY, ts REAL)")
    conn.commit()
    conn.close()
    with pytest.raises(TelemetryDatabaseError, match="dds_commands lacks column"):
        TelemetryCollector(db).start()


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(TelemetryDatabaseError, match="cannot create the directory"):
        TelemetryCollector(tmp_path / "afile" / "t.db").start()


READONLY_SCRIPT = """
import os, sys, sqlite3, json, logging, encodings.idna
from workbench.telemetry import TelemetryCollector, TelemetryDatabaseError
if os.geteuid() == 0:  # root ignores permissions: drop to nobody after the imports
    os.setgid(65534)
    os.setuid(65534)
try:
    TelemetryCollector(sys.argv[1]).start()
except TelemetryDatabaseError as exc:
    print("ERR", exc)
    sys.exit(0)
print("NO ERROR")
sys.exit(1)
"""


def test_read_only_directory() -> None:
    # a world-traversable folder (pytest's tmp_path sits under a 0700 folder), read-only inside
    base = Path(tempfile.mkdtemp(prefix="telemetry_ro_"))
    base.chmod(0o755)
    ro = base / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        p = subprocess.run([sys.executable, "-c", READONLY_SCRIPT, str(ro / "t.db")],
                           capture_output=True, text=True, timeout=60,
                           cwd="/", env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    finally:
        ro.chmod(0o755)
        shutil.rmtree(base)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ERR" in p.stdout and "cannot open the telemetry database for writing" in p.stdout


def test_write_failure_is_counted_and_writer_survives(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    c = TelemetryCollector(db, batch_size=1, flush_interval_s=0.05)
    c.start()
    c.log_command(0, 1, 0, 0.0, None)
    c.stop()
    # sabotage: drop the table behind the collector's back, then write
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE dds_commands RENAME TO gone")
    conn.execute("ALTER TABLE gone RENAME TO dds_commands")
    conn.commit()
    conn.close()
    # a failure during writing (a table vanishes after start): counted, writer still alive
    c2 = TelemetryCollector(db, batch_size=1, flush_interval_s=0.05)
    c2.start()
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE web_requests")
    conn.commit()
    conn.close()
    c2.log_web_request("/api/a", "GET", None, 1.0, 200, True)
    deadline = time.monotonic() + 10
    while c2.get_stats()["dropped"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    st = c2.get_stats()
    assert st["dropped"] == 1 and st["write_errors"] == 3 and "web_requests" in st["last_error"]
    assert c2.running
    c2.log_command(1, 1, 0, 1.0, None)  # other tables still written
    c2.stop()
    assert count(db, "dds_commands") == 2


def test_dead_writer_refuses_events(tmp_path: Path) -> None:
    c = TelemetryCollector(tmp_path / "t.db", batch_size=1, flush_interval_s=0.05)

    def boom(_n: int) -> None:
        raise RuntimeError("callback exploded")

    c.on_commit = boom
    c.start()
    c.log_command(0, 1, 0, 0.0, None)
    deadline = time.monotonic() + 5
    while c.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not c.running and c.get_stats()["state"] == "dead"
    with pytest.raises(TelemetryWriterError, match="writer thread died.*callback exploded"):
        c.log_command(1, 1, 0, 0.0, None)


def test_queue_full_drops_are_counted(tmp_path: Path) -> None:
    c = TelemetryCollector(tmp_path / "t.db", max_queue=10, put_timeout_s=0.01)
    for i in range(15):  # not started: nobody drains
        c.log_command(i, 1, 0, 0.0, None)
    st = c.get_stats()
    assert st["queue_depth"] == 10 and st["dropped"] == 5 and st["dropped_queue_full"] == 5
    assert "queue full" in st["last_error"] and st["by_type"]["dds_publish"] == 15
