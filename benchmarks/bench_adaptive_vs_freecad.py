"""Adaptive clearing, side by side: workbench.cam.plan_adaptive vs FreeCAD 0.20 libarea Adaptive2d.

Same pockets (every closed pocket layer of LesPaul_CAM_Closed.dxf and smart_guitar_back_v5.dxf,
plus the Les Paul body with its pickup cavities as islands), tool 6 mm, stepover 0.20, one depth
level (3 mm); both paths judged by the same independent raster check
(benchmarks/_raster_engagement.py) and timed by the same motion planner at the same feeds.
FreeCAD runs in Debian's /usr/bin/python3 (benchmarks/freecad_adaptive_driver.py); without it
the FreeCAD columns are skipped with a message.

Usage: .venv/bin/python benchmarks/bench_adaptive_vs_freecad.py [--pockets A,B] [--step 0.2]
(--pockets: comma-separated substrings of the pocket names, e.g. ``PICKUP_CAVITY#0,ELECTRONIC``;
the machine is often shared, so measure a few pockets rather than the whole set)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _raster_engagement import raster_engagement  # noqa: E402

from workbench.errors import InputError
from workbench.cam.adaptive import plan_adaptive  # noqa: E402
from workbench.cam.checks import uncut_area  # noqa: E402
from workbench.cam.engagement import straight_cut_engagement_deg  # noqa: E402
from workbench.geometry import read_regions  # noqa: E402
from workbench.machine import load_machine, plan_motion  # noqa: E402
from workbench.paths import SHARED_DATA  # noqa: E402
from workbench.toolpath import Toolpath, moves_frame  # noqa: E402

D, SO, Z, FEED, SAFE = 6.0, 0.2, -3.0, 1200.0, 5.0
DRIVER = os.path.join(os.path.dirname(__file__), "freecad_adaptive_driver.py")
FREECAD_OK = os.path.exists("/usr/lib/freecad-python3/lib/area.so") and os.path.exists("/usr/bin/python3")


def pockets() -> list[tuple[str, object]]:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lp = SHARED_DATA / "dxf" / "LesPaul_CAM_Closed.dxf"
        sg = SHARED_DATA / "dxf" / "smart_guitar_back_v5.dxf"
        for path, layers in ((lp, ["ELECTRONIC_CAVITIES", "NECK_MORTISE", "PICKUP_CAVITY", "POT_HOLES",
                                   "STUDS"]),
                             (sg, ["CONTROL_CAVITY", "HARDWARE_REFS", "VOID_CHAMBERS"])):
            for reg in read_regions(path, layers=layers):
                if reg.polygon.buffer(-D / 2 - 0.02).is_empty:
                    continue  # the 6 mm tool does not fit (screw holes): not a pocket for it
                out.append((f"{path.stem[:8]}:{reg.name}", reg.polygon))
        body = read_regions(lp, layers=["CUTOUT"])[0].polygon
        holes = [r.polygon for r in read_regions(lp, layers=["PICKUP_CAVITY"])]
        out.append(("LesPaul body - pickups", body.difference(holes[0]).difference(holes[1])))
    return out


def freecad(poly) -> tuple[Toolpath, float] | None:
    job = {"outer": list(poly.exterior.coords), "holes": [list(h.coords) for h in poly.interiors],
           "tool_d": D, "stepover": SO, "tolerance": 0.1, "helix_d": D / 2}
    p = subprocess.run(["/usr/bin/python3", DRIVER], input=json.dumps(job), capture_output=True,
                       text=True, timeout=1800)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("@@JSON@@")]
    if p.returncode or not line:
        print(f"  FreeCAD failed: {p.stderr[-300:]}")
        return None
    res = json.loads(line[-1][8:])
    rows, cur = [], None
    start = None
    for reg in res["regions"]:
        c = reg["helix_center"]
        rh = D / 4
        sx, sy = c[0] + rh, c[1]
        start = start or (sx, sy, SAFE)
        rows += [dict(code="G0", x=sx, y=sy, z=SAFE, kind="rapid"),
                 dict(code="G1", x=sx, y=sy, z=Z, kind="plunge", feed=300.0),  # helix stands in
                 dict(code="G3", x=c[0] - rh, y=c[1], z=Z, i=-rh, j=0.0, radius_mm=rh, kind="ramp", feed=FEED, len_mm=math.pi * rh),
                 dict(code="G3", x=sx, y=sy, z=Z, i=rh, j=0.0, radius_mm=rh, kind="ramp", feed=FEED, len_mm=math.pi * rh)]
        cur = (sx, sy)
        for mt, pts in reg["paths"]:
            if not pts:
                continue
            if mt == 2:  # link not clear: retract, rapid, down
                rows += [dict(code="G0", x=cur[0], y=cur[1], z=SAFE, kind="rapid"),
                         dict(code="G0", x=pts[-1][0], y=pts[-1][1], z=SAFE, kind="rapid"),
                         dict(code="G1", x=pts[-1][0], y=pts[-1][1], z=Z, kind="plunge", feed=300.0)]
            else:
                kind = "cut" if mt == 0 else "link"
                for q in pts:
                    rows.append(dict(code="G1", x=q[0], y=q[1], z=Z, kind=kind, feed=FEED))
            cur = (pts[-1][0], pts[-1][1])
    mv = moves_frame(rows)
    tp = Toolpath(mv, start=start, meta={})
    st = tp.starts()
    ln = np.sqrt(((mv[["x", "y", "z"]].to_numpy() - st) ** 2).sum(axis=1))
    mv.loc[mv["code"].isin(["G0", "G1"]), "len_mm"] = ln[mv["code"].isin(["G0", "G1"]).to_numpy()]
    return tp, float(res["compute_s"])


def _ratio(ours: float, theirs: float) -> str:
    """ours / theirs, or "n/a" where FreeCAD has nothing to compare (no link, no path)."""
    if not (theirs > 1e-6) or not math.isfinite(ours):
        return "n/a"
    return f"{ours / theirs:.2f}"


def figures(tp: Toolpath, poly, compute_s: float, machine, step: float) -> dict:
    mv = tp.moves
    target = straight_cut_engagement_deg(SO * D, D)
    res = raster_engagement(tp, poly, D, z=Z, step=step)
    cut = mv["kind"].isin(["cut"])
    plan = plan_motion(tp, machine)
    try:
        uncut = uncut_area(tp, poly, D, z=Z).significant_area
    except InputError:  # the planner left no cut at the measured depth (e.g. a hole under D)
        uncut = math.nan
    return {"compute_s": compute_s, "cut_mm": mv.loc[cut, "len_mm"].sum(),
            "link_mm": mv.loc[mv["kind"] == "link", "len_mm"].sum(),
            "entries": int((mv["kind"] == "plunge").sum() + (mv["kind"] == "ramp").any()),
            "eng_max": float(res.samples.max()) if len(res.samples) else math.nan,
            "eng_p99": res.quantile(0.99), "eng_p95": res.quantile(0.95),
            "over_t10_mm": res.length_over(target * 1.1), "slot_mm": res.length_over(170.0),
            "uncut_mm2": uncut, "cycle_s": float(plan.summary["cycle_time_s"])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pockets", "--only", dest="pockets", default=None,
                    help="comma-separated substrings of pocket names to run (default: all)")
    ap.add_argument("--step", type=float, default=0.2)
    ap.add_argument("--machine", default="Mach4_Router_4x8")
    a = ap.parse_args()
    machine = load_machine(a.machine)
    if not FREECAD_OK:
        print("FreeCAD (freecad-python3, /usr/lib/freecad-python3/lib/area.so) not found: FreeCAD "
              "columns skipped. Install with: apt-get install freecad")
    keys = ["compute_s", "cut_mm", "link_mm", "entries", "eng_max", "eng_p99", "eng_p95",
            "over_t10_mm", "slot_mm", "uncut_mm2", "cycle_s"]
    print(f"target engagement {straight_cut_engagement_deg(SO * D, D):.1f} deg; D={D} mm, stepover {SO}, z={Z}")
    for name, poly in pockets():
        if a.pockets and not any(s.strip() and s.strip() in name for s in a.pockets.split(",")):
            continue
        t0 = time.perf_counter()
        ours = plan_adaptive(poly, tool_d=D, stepover=SO, stepdown=-Z, depth=-Z, feed=FEED, safe_z=SAFE)
        dt = time.perf_counter() - t0
        cols = {"workbench": figures(ours, poly, dt, machine, a.step)}
        if FREECAD_OK:
            fc = freecad(poly)
            if fc is not None:
                cols["FreeCAD"] = figures(fc[0], poly, fc[1], machine, a.step)
        print(f"\n## {name}  (area {poly.area:.0f} mm2)")
        print(f"{'':14s}" + "".join(f"{k:>12s}" for k in cols))
        for k in keys:
            print(f"{k:14s}" + "".join(f"{c[k]:12.2f}" for c in cols.values()))
        if "FreeCAD" in cols:
            f, o = cols["FreeCAD"], cols["workbench"]
            print(f"ratios: link {_ratio(o['link_mm'], f['link_mm'])} (goal <= 0.5), cycle "
                  f"{_ratio(o['cycle_s'], f['cycle_s'])} (goal <= 0.85), compute "
                  f"{_ratio(o['compute_s'], f['compute_s'])} (goal <= 2)")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
