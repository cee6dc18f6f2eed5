"""Query speed on a large telemetry database: tracking error and latency percentiles.

Builds (once, in a temp folder) a database with 1,000,000 position-feedback rows at 1 kHz,
1,000,000 set_joint commands for joint 0 and 1,000,000 web requests, then times
``get_tracking_error(0, delay_s=0.2, frame=True)`` (as-of join), the same returning the list of
dicts, and ``get_web_latency_stats()`` (p50/p95/p99 overall and for 5 endpoints), in seconds.
The tracking error of the synthetic data is known (feedback = command 0.2 s earlier), so the
run also prints the max error (expected 0).

Usage: ``python benchmarks/bench_telemetry_query.py [--rows 1000000]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench.telemetry import TelemetryQuery
from workbench.telemetry.schema import TABLE_COLUMNS, init_db


def build(path: Path, n: int) -> None:
    conn = init_db(path)
    t0 = 1_700_000_000.0
    t = t0 + np.arange(n) / 1000.0
    cmd = np.sin(np.arange(n) / 500.0) * 50.0
    lag = 200
    fb = np.concatenate([np.full(lag, cmd[0]), cmd[:-lag]])
    rng = np.random.default_rng(1)
    ms = rng.lognormal(1.0, 0.6, n)
    eps = [f"/api/ep{k}" for k in range(5)]

    def ins(table: str, rows) -> None:
        cols = TABLE_COLUMNS[table]
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows)
        conn.execute("COMMIT")

    ins("dds_commands", ((float(t[i]), float(t[i] - t0), i, 1, 0, float(cmd[i]), None, None, 0) for i in range(n)))
    ins("dds_feedback", ((float(t[i]), float(t[i] - t0), i, 1, float(fb[i]), None, None, None, None, None,
                          None, None, None, None, None, None) for i in range(n)))
    ins("web_requests", ((eps[i % 5], "GET", None, float(ms[i]), 200, None, 1, float(t[i])) for i in range(n)))
    conn.close()


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    db = Path(tempfile.mkdtemp(prefix="bench_telemetry_query_")) / "big.db"
    dt, _ = timed(lambda: build(db, a.rows))
    print(f"built {a.rows:,} feedback + {a.rows:,} commands + {a.rows:,} web requests in {dt:.1f} s ({db})")
    with TelemetryQuery(db) as q:
        dt, r = timed(lambda: q.get_tracking_error(0, delay_s=0.2, frame=True))
        print(f"get_tracking_error(frame=True)      : {dt:6.2f} s  samples {r['samples']:,}  "
              f"max error {r['max_error_deg']:.3g}")
        dt, r = timed(lambda: q.get_tracking_error(0, delay_s=0.2))
        print(f"get_tracking_error(list of dicts)   : {dt:6.2f} s")
        dt, r = timed(q.get_web_latency_stats)
        print(f"get_web_latency_stats               : {dt:6.2f} s  p50 {r['p50_ms']:.2f}  p95 {r['p95_ms']:.2f}  "
              f"p99 {r['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
