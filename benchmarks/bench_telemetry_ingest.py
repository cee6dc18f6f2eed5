"""Sustained telemetry ingest: 4 producer threads through the collector vs the raw SQLite ceiling.

Prints events/s for
- ceiling: one thread, ``sqlite3`` ``executemany`` of the same rows, batches of 1000, one
  transaction per batch, WAL + synchronous=NORMAL, same schema (indexes included), same disk;
- collector: 4 producer threads calling ``log_feedback`` / ``log_command`` (alternating) on a
  :class:`TelemetryCollector`, timed from the first event to ``stop()`` returning (every event
  committed), for the default ``batch_size=50`` and for ``batch_size=1000``;
and the ratio collector/ceiling (goal >= 0.70) and the loss (rows in the file vs events
emitted; goal 0).

Usage: ``python benchmarks/bench_telemetry_ingest.py [--events-per-thread N] [--dir DIR]``
(default 50,000 per thread; DIR default: a temp folder under ``reports/``).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from workbench.paths import REPORTS_DIR
from workbench.telemetry import TelemetryCollector
from workbench.telemetry.schema import TABLE_COLUMNS, init_db

THREADS = 4


def make_rows(n: int, t0: float) -> list[tuple[str, tuple]]:
    """The events of one producer: alternating feedback (3 axes) and set_joint commands."""
    out = []
    for i in range(n):
        ts = t0 + i * 1e-3
        if i % 2:
            out.append(("dds_commands", (ts, ts - t0, i, 1, i % 3, 0.01 * i, None, None, 0)))
        else:
            out.append(("dds_feedback", (ts, ts - t0, i, 1, 0.01 * i, 0.02 * i, -0.5, None, None,
                                         None, None, None, None, None, None, None)))
    return out


def ceiling(path: Path, rows: list[tuple[str, tuple]]) -> float:
    conn = init_db(path)
    sql = {t: f"INSERT INTO {t} ({','.join(c)}) VALUES ({','.join('?' * len(c))})"
           for t, c in TABLE_COLUMNS.items()}
    t = time.perf_counter()
    for k in range(0, len(rows), 1000):
        chunk = rows[k:k + 1000]
        conn.execute("BEGIN")
        for table in ("dds_feedback", "dds_commands"):
            conn.executemany(sql[table], [r for tb, r in chunk if tb == table])
        conn.execute("COMMIT")
    dt = time.perf_counter() - t
    conn.close()
    return len(rows) / dt


def collector_run(path: Path, per_thread: int, batch_size: int) -> tuple[float, int, int]:
    c = TelemetryCollector(path, batch_size=batch_size, flush_interval_s=0.2, put_timeout_s=30.0)
    c.start()
    t0 = time.time()
    barrier = threading.Barrier(THREADS + 1)

    def producer(k: int) -> None:
        barrier.wait()
        lf, lc = c.log_feedback, c.log_command
        for i in range(per_thread):
            ts = t0 + i * 1e-3
            if i % 2:
                lc(i, 1, i % 3, 0.01 * i, None, ts=ts)
            else:
                lf(i, 1, (0.01 * i, 0.02 * i, -0.5), None, ts=ts)

    threads = [threading.Thread(target=producer, args=(k,)) for k in range(THREADS)]
    for th in threads:
        th.start()
    barrier.wait()
    t = time.perf_counter()
    for th in threads:
        th.join()
    c.stop()
    dt = time.perf_counter() - t
    n = THREADS * per_thread
    conn = sqlite3.connect(path)
    stored = sum(conn.execute(f"SELECT COUNT(*) FROM {tb}").fetchone()[0]
                 for tb in ("dds_feedback", "dds_commands"))
    conn.close()
    return n / dt, n - stored, c.get_stats()["dropped"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events-per-thread", type=int, default=50_000)
    ap.add_argument("--dir", type=Path, default=None)
    a = ap.parse_args()
    base = a.dir or Path(tempfile.mkdtemp(prefix="bench_telemetry_", dir=REPORTS_DIR.mkdir(parents=True, exist_ok=True) or REPORTS_DIR))
    n = THREADS * a.events_per_thread
    rows = make_rows(n, time.time())
    ceil = ceiling(base / "ceiling.db", rows)
    print(f"events: {n:,} ({THREADS} threads x {a.events_per_thread:,}); db dir {base}")
    print(f"ceiling  executemany x1000, 1 thread : {ceil:12,.0f} events/s")
    for bs in (50, 1000):
        rate, lost, dropped = collector_run(base / f"collector_{bs}.db", a.events_per_thread, bs)
        print(f"collector batch_size={bs:<5d} 4 threads : {rate:12,.0f} events/s  "
              f"ratio {rate / ceil:5.2f}  lost {lost}  dropped {dropped}")


if __name__ == "__main__":
    main()
