"""Motion planner throughput: vectorized plan_motion vs a per-block Python loop reference.

Reads ../shared/data/gcode/LesPaul_Body_Complete.nc (lenient nested comments), repeats its
moves table until it has >= 1,000,000 rows, and times :func:`workbench.machine.plan_motion`
(grblHAL profile ``router_4x8``: step rounding, 100-block look-ahead, arcs chorded like mc_arc)
in moves/s. The baseline, measured in the same run, is a plain per-block Python loop doing
grbl's planner arithmetic (junction speeds, reverse/forward passes, trapezoid times) on a slice
of the same blocks; the ratio and the agreement of the two results on the slice are printed.

    .venv/bin/python benchmarks/bench_motion.py [--moves 1000000] [--slice 20000]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import pandas as pd

from workbench.gcode import read_file
from workbench.machine import load_machine, plan_motion
from workbench.machine.motion import reference_block_times
from workbench.paths import SHARED_DATA
from workbench.toolpath import Toolpath


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=1_000_000)
    ap.add_argument("--slice", type=int, default=20_000, help="moves in the loop-reference slice")
    ap.add_argument("--machine", default="router_4x8")
    args = ap.parse_args(argv)
    src = SHARED_DATA / "gcode" / "LesPaul_Body_Complete.nc"
    if not src.is_file():
        print(f"bench_motion: {src} not found (set WORKBENCH_SHARED_DATA)", file=sys.stderr)
        return 2
    prof = load_machine(args.machine)
    tp = read_file(src, nested_comments="allow")
    reps = -(-args.moves // len(tp.moves))
    big = Toolpath(pd.concat([tp.moves] * reps, ignore_index=True), start=tp.start)
    print(f"program: {src.name}, {len(tp.moves)} moves x {reps} = {len(big.moves):,} moves; "
          f"machine {prof.id} (lookahead {prof.lookahead})")

    plan_motion(tp, prof)  # warm-up
    best, best_cpu = math.inf, math.inf
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        plan = plan_motion(big, prof)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    n_blocks = plan.summary["n_blocks"]
    rate = len(big.moves) / best
    print(f"vectorized plan_motion: {best:.3f} s wall ({best_cpu:.3f} s CPU) for {len(big.moves):,} moves "
          f"({n_blocks:,} blocks): {rate:,.0f} moves/s, {n_blocks / best:,.0f} blocks/s "
          f"(CPU: {len(big.moves) / best_cpu:,.0f} moves/s)")

    sl = Toolpath(big.moves.iloc[: args.slice].reset_index(drop=True), start=big.start)
    t0 = time.perf_counter()
    p_sl = plan_motion(sl, prof)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    c0 = time.process_time()
    held = None if prof.lookahead is None else prof.lookahead - 1
    total_ref = sum(reference_block_times(p_sl.blocks, sl.moves, sl.start, prof, held))
    t_loop = time.perf_counter() - t0
    t_loop_cpu = time.process_time() - c0
    motion = p_sl.summary["cycle_time_s"] - p_sl.summary["dwell_time_s"]
    print(f"loop reference on {len(sl.moves):,} moves ({p_sl.summary['n_blocks']:,} blocks): {t_loop:.3f} s "
          f"= {len(sl.moves) / t_loop:,.0f} moves/s; vectorized on the same slice {t_vec:.3f} s")
    print(f"speed-up (moves/s, full run vs loop): {rate / (len(sl.moves) / t_loop):.0f}x wall, "
          f"{(len(big.moves) / best_cpu) / (len(sl.moves) / t_loop_cpu):.0f}x CPU; "
          f"slice totals: vectorized {motion:.6f} s, loop {total_ref:.6f} s, "
          f"rel. diff {abs(motion - total_ref) / total_ref:.1e}")
    print(f"cycle time of the {reps}x program: {plan.summary['cycle_time_s'] / 3600:.2f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
