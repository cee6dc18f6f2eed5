"""Simulation throughput on LesPaul_Body_Complete.nc (19k lines, inch, three tools) at 0.25 mm cells.

Prints moves/s and cells updated/s of :func:`workbench.sim.simulate`, and, as a baseline measured
in the same run, the time to read the program and plan its motion (the work every estimate does),
so the figures compare across machines as ratios.

    .venv/bin/python benchmarks/bench_sim.py [--cell 0.25] [--file PATH]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from workbench.gcode import read_file
from workbench.machine import plan_motion
from workbench.paths import SHARED_DATA
from workbench.sim import simulate
from workbench.sim.runs import resolve_tools


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=str(SHARED_DATA / "gcode" / "LesPaul_Body_Complete.nc"))
    ap.add_argument("--cell", type=float, default=0.25)
    args = ap.parse_args()
    path = Path(args.file)
    t0 = time.perf_counter()
    tp = read_file(path, strict=False, nested_comments="allow")
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan_motion(tp, "GRBL_3018_Default")
    t_plan = time.perf_counter() - t0
    tools, tool_no, _ = resolve_tools(tp, path.read_text().splitlines())
    t0 = time.perf_counter()
    res = simulate(tp, tools, cell_mm=args.cell, tool_numbers=tool_no, frames=0)
    t_sim = time.perf_counter() - t0
    hm = res.heightmap
    print(f"file            : {path.name} ({res.moves} moves, {res.segments} swept segments)")
    print(f"grid            : {hm.nx} x {hm.ny} = {hm.nx * hm.ny / 1e6:.2f} M cells at {hm.cell:.3f} mm")
    print(f"simulate        : {res.duration_s:.2f} s (wall incl. time estimate {t_sim:.2f} s)")
    print(f"throughput      : {res.moves / res.duration_s:,.0f} moves/s, "
          f"{res.cells_updated / res.duration_s / 1e6:,.1f} M cells updated/s")
    print(f"removed volume  : {res.removed_volume_mm3 / 1000:,.1f} cm^3, collisions {res.collision_count}, "
          f"violation records {len(res.violations)}")
    print(f"baseline        : read {t_read:.2f} s + plan {t_plan:.2f} s; "
          f"simulate / (read + plan) = {res.duration_s / (t_read + t_plan):.1f}x")


if __name__ == "__main__":
    main()
