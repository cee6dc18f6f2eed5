"""Offset pocket planner on the real pockets of the shared DXF files: size, engagement,
coverage and planning time; plus the raster engagement measure against the exact one.

Run: ``.venv/bin/python benchmarks/bench_pocket.py [--tool-d 6] [--stepover 0.3]``.
Reads ``workbench.paths.SHARED_DATA/dxf``; prints one line per pocket, then the engagement
comparison (speed as a ratio measured in the same run, accuracy in degrees).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from shapely.geometry import Point, box

from workbench.cam import MaterialGrid, engagement_angle, gouge_check, plan_pocket, uncut_area
from workbench.paths import SHARED_DATA

POCKETS = [
    ("LesPaul_CAM_Closed.dxf", ["PICKUP_CAVITY", "ELECTRONIC_CAVITIES", "NECK_MORTISE"]),
    ("smart_guitar_back_v5.dxf", ["VOID_CHAMBERS", "CONTROL_CAVITY"]),
    ("mvp_rect_with_island.dxf", ["GEOMETRY"]),
]


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cw = np.cumsum(w) / w.sum()
    return float(v[np.searchsorted(cw, q / 100.0)])


def bench_pockets(tool_d: float, stepover: float) -> None:
    from workbench.geometry import read_regions

    print(f"tool D={tool_d} mm, stepover {stepover}, stepdown 3 mm, depth 6 mm")
    print(f"{'pocket':24s} {'moves':>6s} {'cut mm':>8s} {'eng max':>7s} {'p95':>6s} {'p95(len)':>8s} "
          f"{'opened':>9s} {'swept':>9s} {'uncut':>6s} {'clear.':>7s} {'plan s':>6s}")
    for fname, layers in POCKETS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            regions = read_regions(SHARED_DATA / "dxf" / fname, layers=layers)
        for reg in regions:
            t0 = time.perf_counter()
            tp = plan_pocket(reg, tool_d=tool_d, stepover=stepover, stepdown=3.0, depth=6.0)
            dt = time.perf_counter() - t0
            u = uncut_area(tp, reg, tool_d)
            g = gouge_check(tp, reg, tool_d)
            mv = tp.moves
            m = mv.engagement_deg.notna().to_numpy()
            eng = mv.engagement_deg.to_numpy()[m]
            ln = mv.len_mm.to_numpy()[m]
            cut_len = mv.loc[mv.kind == "cut", "len_mm"].sum()
            print(f"{reg.name:24s} {len(mv):6d} {cut_len:8.0f} {eng.max():7.1f} "
                  f"{np.percentile(eng, 95):6.1f} {weighted_percentile(eng, ln, 95):8.1f} "
                  f"{u.opened_area:9.1f} {u.swept_area:9.1f} {u.uncut_area:6.2f} "
                  f"{g.min_clearance_mm:7.4f} {dt:6.2f}")


def bench_engagement() -> None:
    r = 3.0
    cleared = Point(0, 0).buffer(8.0, quad_segs=128)
    remaining = box(-40, -40, 40, 40).difference(cleared)
    g = MaterialGrid((-40, -40, 40, 40), 6.0 / 120)
    g.remove_segment((0, 0), (0, 0), 8.0)
    rng = np.random.default_rng(1)
    ang = rng.uniform(0, 2 * np.pi, 200)
    rad = rng.uniform(6.0, 10.5, 200)
    cs = np.column_stack([rad * np.cos(ang), rad * np.sin(ang)])
    ds = rng.normal(size=(200, 2))
    t0 = time.perf_counter()
    exact = np.array([engagement_angle(c, d, r, remaining) for c, d in zip(cs, ds)])
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    raster = np.array([g.engagement(c[None, :], d, r)[0] for c, d in zip(cs, ds)])
    t_raster = time.perf_counter() - t0
    err = np.abs(raster - exact)
    print(f"\nengagement, 200 random tool positions around a cleared disc (D=6):")
    print(f"  exact (shapely, 0.025 deg bins): {1e3 * t_exact / 200:.3f} ms/position")
    print(f"  raster (h=D/120, 0.5 deg bins):  {1e3 * t_raster / 200:.3f} ms/position "
          f"({t_exact / t_raster:.1f}x faster)")
    print(f"  raster - exact: max {err.max():.2f} deg, mean {err.mean():.2f} deg")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tool-d", type=float, default=6.0)
    ap.add_argument("--stepover", type=float, default=0.3)
    a = ap.parse_args()
    if (SHARED_DATA / "dxf").is_dir():
        bench_pockets(a.tool_d, a.stepover)
    else:
        print(f"shared data not found at {SHARED_DATA}; skipping the real pockets")
    bench_engagement()


if __name__ == "__main__":
    main()
