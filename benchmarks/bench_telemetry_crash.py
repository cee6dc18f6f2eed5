"""Crash safety: a producer process killed with SIGKILL mid-ingest, 10 times.

The child process emits ``log_command`` events with ``seq = 0, 1, 2, ...`` at a steady rate
(default 20,000 events/s, in bursts every 10 ms) into a :class:`TelemetryCollector`
(batch_size 50, flush_interval_s 1.0). After every commit the writer's ``on_commit`` callback
appends the number of committed events to a log (``os.write``, so it survives the kill); the
producer appends the number emitted. The parent kills the child after a random 0.5-2.5 s and then
checks: ``PRAGMA integrity_check`` is ``ok``; every event counted as committed is present
(seq 0..committed-1); events lost = emitted - present. Events commit in queue order, so loss is
bounded by what was queued but uncommitted at the kill: at most one flush interval's worth
(rate x flush_interval_s) plus one batch, and in practice one writer cycle.

Usage: ``python benchmarks/bench_telemetry_crash.py [--runs 10] [--rate 20000]``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import os, sys, time
from workbench.telemetry import TelemetryCollector
db, log, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
c = TelemetryCollector(db, batch_size=50, flush_interval_s=1.0,
                       on_commit=lambda n: os.write(fd, b"C %d\n" % n))
c.start()
os.write(fd, b"READY\n")
i = 0
t0 = time.monotonic()
while True:
    due = int((time.monotonic() - t0) * rate)
    while i < due:
        c.log_command(i, 1, i % 3, float(i), None)
        i += 1
    os.write(fd, b"E %d\n" % i)
    time.sleep(0.01)
"""


def one_run(base: Path, k: int, rate: float) -> dict:
    db, log = base / f"crash{k}.db", base / f"crash{k}.log"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(log), str(rate)], env=env)
    deadline = time.monotonic() + 60
    while (not log.exists() or b"READY" not in log.read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(random.uniform(0.5, 2.5))
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    committed = emitted = 0
    for line in log.read_text().splitlines():
        if line.startswith("C "):
            committed = max(committed, int(line[2:]))
        elif line.startswith("E "):
            emitted = max(emitted, int(line[2:]))
    conn = sqlite3.connect(db)
    ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
    seqs = {r[0] for r in conn.execute("SELECT seq FROM dds_commands")}
    conn.close()
    missing_committed = sum(1 for s in range(committed) if s not in seqs)
    return {"integrity": ok, "committed_logged": committed, "emitted_logged": emitted,
            "present": len(seqs), "missing_committed": missing_committed,
            "lost": max(emitted - len(seqs), 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rate", type=float, default=20_000.0, help="events/s emitted by the child")
    a = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench_telemetry_crash_"))
    print(f"{a.runs} SIGKILLs at {a.rate:,.0f} events/s (batch 50, flush 1.0 s); dir {base}")
    print(f"{'run':>3}  {'integrity':>9}  {'emitted':>8}  {'committed':>9}  {'present':>8}  "
          f"{'missing_committed':>17}  {'lost':>5}")
    losses = []
    for k in range(a.runs):
        r = one_run(base, k, a.rate)
        losses.append(r["lost"])
        print(f"{k:>3}  {r['integrity']:>9}  {r['emitted_logged']:>8}  {r['committed_logged']:>9}  "
              f"{r['present']:>8}  {r['missing_committed']:>17}  {r['lost']:>5}")
    print(f"events lost per crash: max {max(losses)}, mean {sum(losses) / len(losses):.0f} "
          f"(bound: rate x flush_interval + batch = {a.rate * 1.0 + 50:,.0f})")


if __name__ == "__main__":
    main()
