"""Cycle-time estimate error against grblHAL's own planner (../shared/data/groundtruth).

For every record of grblhal_times.json: read the program with the project's reader (the
original file; heart.ngc with its named parameters), plan it with the record's profile
(data/machines/router_small.json / router_4x8.json) in grbl mode with the profile's 100-block
look-ahead and with unlimited look-ahead, and print measured vs estimated time, the relative
error and the planner block counts. Also prints what a naive estimate (length / feed, rapids
at the max rate, no acceleration) would say, for scale.

    .venv/bin/python benchmarks/bench_estimate_error.py
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from workbench.gcode import read_file
from workbench.machine import load_machine, plan_motion
from workbench.paths import SHARED_DATA

ORIGINALS = ("cds.gcode", "heart.ngc")


def naive_time(moves, prof) -> float:
    """Length / feed for cuts, length / XY max rate for rapids, plus dwells (no acceleration)."""
    rapid = moves["code"] == "G0"
    feed = moves["feed"].to_numpy(dtype=float)
    rate = np.where(rapid, min(prof.max_rate_mm_min[:2]), feed) / 60.0
    t = np.where(moves["len_mm"].to_numpy() > 0, moves["len_mm"].to_numpy() / rate, 0.0)
    return float(np.nansum(t) + moves["dwell_s"].sum())


def main() -> int:
    gt = SHARED_DATA / "groundtruth"
    if not gt.is_dir():
        print(f"bench_estimate_error: {gt} not found (set WORKBENCH_SHARED_DATA)", file=sys.stderr)
        return 2
    records = json.loads((gt / "grblhal_times.json").read_text())["records"]
    head = (f"{'file':24s} {'profile':12s} {'measured s':>11s} {'estimate s':>11s} {'error %':>9s} "
            f"{'unlim. %':>9s} {'naive %':>8s} {'blocks':>13s} {'ms':>6s}")
    print(head)
    print("-" * len(head))
    errs = []
    for rec in records:
        path = (SHARED_DATA / "gcode" / rec["file"]) if rec["file"] in ORIGINALS else gt / "fed" / rec["file"]
        prof = load_machine(rec["profile"])
        tp = read_file(path)
        t0 = time.perf_counter()
        plan = plan_motion(tp, prof)
        ms = 1000 * (time.perf_counter() - t0)
        unl = plan_motion(tp, prof, lookahead=0).summary["cycle_time_s"]
        est, truth = plan.summary["cycle_time_s"], rec["motion_time_s"]
        err = 100 * (est / truth - 1)
        errs.append(abs(err))
        naive = 100 * (naive_time(tp.moves, prof) / truth - 1)
        print(f"{rec['file']:24s} {rec['profile']:12s} {truth:11.3f} {est:11.3f} {err:+9.4f} "
              f"{100 * (unl / truth - 1):+9.4f} {naive:+8.2f} {plan.summary['n_blocks']:>6d}/{rec['blocks']:<6d} {ms:6.1f}")
    print(f"\nmean |error| {np.mean(errs):.4f} %, worst {np.max(errs):.4f} % over {len(errs)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
