"""Run FreeCAD 0.20's libarea Adaptive2d on one pocket. Run by Debian's /usr/bin/python3.

stdin: JSON {"outer": [[x, y], ...], "holes": [[[x, y], ...], ...], "tool_d": 6,
"stepover": 0.2, "tolerance": 0.1, "helix_d": 3}. stdout: JSON {"compute_s": .., "regions":
[{"helix_center": [x, y], "start": [x, y], "paths": [[motion_type, [[x, y], ...]], ...]}]} with
motion types 0 cutting, 1 link clear, 2 link not clear, 3 link clear at previous pass (as
area.AdaptiveMotionType). Driven like FreeCAD's Mod/Path/PathScripts/PathAdaptive.py.
"""
import json
import sys
import time

sys.path.insert(0, "/usr/lib/freecad-python3/lib")
import area  # noqa: E402

job = json.load(sys.stdin)
outer = [tuple(p) for p in job["outer"]]
xs = [p[0] for p in outer]
ys = [p[1] for p in outer]
m = 10.0
stock = [[(min(xs) - m, min(ys) - m), (max(xs) + m, min(ys) - m), (max(xs) + m, max(ys) + m),
          (min(xs) - m, max(ys) + m)]]
paths = [outer] + [[tuple(p) for p in h] for h in job["holes"]]
a2d = area.Adaptive2d()
a2d.stepOverFactor = float(job["stepover"])
a2d.toolDiameter = float(job["tool_d"])
a2d.helixRampDiameter = float(job.get("helix_d", job["tool_d"] / 2))
a2d.keepToolDownDistRatio = 3.0
a2d.stockToLeave = 0.0
a2d.tolerance = float(job.get("tolerance", 0.1))
a2d.forceInsideOut = False
a2d.finishingProfile = True
a2d.opType = area.AdaptiveOperationType.ClearingInside
t0 = time.perf_counter()
results = a2d.Execute(stock, paths, lambda tp: False)
dt = time.perf_counter() - t0
out = []
for r in results:
    out.append({"helix_center": list(r.HelixCenterPoint), "start": list(r.StartPoint),
                "paths": [[int(p[0]), [list(q) for q in p[1]]] for p in r.AdaptivePaths]})
sys.stdout.write("\n@@JSON@@" + json.dumps({"compute_s": dt, "regions": out}) + "\n")
