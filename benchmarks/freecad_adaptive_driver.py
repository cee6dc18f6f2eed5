"""Run FreeCAD 0.20's libarea Adaptive2d on one pocket. Run by Debian's /usr/bin/python3.

Driven as FreeCAD's own ``Execute`` in /usr/share/freecad/Mod/Path/PathScripts/PathAdaptive.py
does, with the operation defaults of ``PathAdaptive.opSetDefaultValues`` (Side Inside,
OperationType Clearing -> ``ClearingInside``; Tolerance 0.1; StepOver 20 % ->
``stepOverFactor = 0.01 * StepOver``; HelixDiameterLimit 0, passed unchanged as
``helixRampDiameter``, which libarea's ``Adaptive2d::Execute`` then replaces by 0.75 * D;
KeepToolDownRatio 3; StockToLeave 0; ForceInsideOut False; FinishingProfile True). The stock
is a rectangle around the pocket (FreeCAD uses the job stock's bounding box; any box that holds
the pocket gives the same inside clearing).

stdin: JSON {"outer": [[x, y], ...], "holes": [[[x, y], ...], ...], "tool_d": 6 (mm),
"stepover": 0.2 (fraction of D), "tolerance": 0.1 (mm), "helix_d": 0 (mm; 0 = FreeCAD's
default, libarea picks 0.75 D), "keep_tool_down_ratio": 3}.
stdout: a line ``@@JSON@@{"compute_s": .., "regions": [{"helix_center": [x, y],
"start": [x, y], "return_motion_type": int, "paths": [[motion_type, [[x, y], ...]], ...]}]}``
with motion types as area.AdaptiveMotionType (0 cutting, 1 link clear, 2 link not clear,
3 link clear at previous pass); ``compute_s`` is the wall time of ``a2d.Execute`` (s), the part
of FreeCAD's Execute that plans (G-code generation is rebuilt by the benchmark).
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
a2d.helixRampDiameter = float(job.get("helix_d", 0.0))  # HelixDiameterLimit default 0
a2d.keepToolDownDistRatio = float(job.get("keep_tool_down_ratio", 3.0))
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
                "return_motion_type": int(r.ReturnMotionType),
                "paths": [[int(p[0]), [list(q) for q in p[1]]] for p in r.AdaptivePaths]})
sys.stdout.write("\n@@JSON@@" + json.dumps({"compute_s": dt, "regions": out}) + "\n")
