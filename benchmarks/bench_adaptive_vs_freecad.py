"""Adaptive clearing, side by side: workbench.cam.plan_adaptive vs FreeCAD 0.20 libarea Adaptive2d.

Pockets: every closed pocket layer of LesPaul_CAM_Closed.dxf (ELECTRONIC_CAVITIES,
NECK_MORTISE, PICKUP_CAVITY, POT_HOLES, STUDS) and smart_guitar_back_v5.dxf (CONTROL_CAVITY,
VOID_CHAMBERS) where the 6 mm tool fits, plus the Les Paul body with its pickup cavities as
islands (:func:`lespaul_body`: CUTOUT is not the body but the open C-shaped channel of the
body's cut-out profile, 15,607 mm²; the body is the area its inner edge encloses, 58,703 mm²,
less the two pickup cavities). HARDWARE_REFS of smart_guitar_back_v5.dxf is left out: it is a reference
layer, not a pocket (its two rectangles are labelled "NECK BOLT" and "HEADSTOCK TUNERS" on the
ANNOTATIONS layer; the tuner box, y 191..306 mm, lies outside BODY_OUTLINE, y <= 189 mm).
Identical pockets (the same shape translated: PICKUP_CAVITY#0/#1, POT_HOLES#0..3, STUDS#0..3)
are run once and reported as "x2"/"x4"; the weighted totals count them that many times.

Tool 6 mm, stepover 0.20 D, stock top 0, one level at z = -3 mm, safe/clearance height 5 mm,
cutting feed 1200 mm/min, vertical (plunge/helix) feed 300 mm/min.

* **Ours**: ``plan_adaptive`` with ``link_feed`` = the machine's feed cap
  (``MachineProfile.feed_cap``): a G1 keep-down link at the feed cap is our equivalent of
  FreeCAD's G0 link at depth; ``ramp_angle_deg`` = FreeCAD's HelixAngle (5 deg; our default
  is 3), so both helices descend alike (ours runs at the cutting feed, FreeCAD's at the
  vertical feed, as each program says). ``cycle_ct_s`` re-times the same plan with radial chip thinning
  applied to its ``engagement_deg`` column exactly as ``plan_adaptive(chip_thinning=True,
  max_feed=feed cap)`` does (cut moves only, factor ``1/sin(max(theta, theta_target))``,
  ``workbench.cam.chipthinning``), so the pocket is planned once.
* **FreeCAD**: Adaptive2d run by benchmarks/freecad_adaptive_driver.py under Debian's
  /usr/bin/python3 with FreeCAD's defaults, and its program rebuilt as FreeCAD's own
  ``GenerateGCode`` (PathScripts/PathAdaptive.py) writes it with ``opSetDefaultValues``:
  HelixAngle 5 deg, HelixConeAngle 0, UseHelixArcs False, LiftDistance 0 (LinkClear = G0 at
  depth), LinkNotClear = G0 up to clearance and G0 across, then G1 down at vertFeed; the helix
  is G1 segments (pi/16 steps) at vertFeed after a G1 from safe height to the stock top at
  vertFeed, then one flat circle at horizFeed. FreeCAD has no chip thinning:
  ``cycle_ct_s = cycle_s``. G0 links at depth keep kind ``link`` and code G0 (timed as rapids).

Figures (both sides by the same referees): ``compute_s`` (ours: wall time of plan_adaptive;
FreeCAD: a2d.Execute), ``plan_s`` (ours: ``meta["timing_s"]`` plan + arcfit, what FreeCAD's
Execute does; FreeCAD: = compute_s); ``link_mm`` = all non-cutting XY travel (links at depth,
kind ``link``, plus XY rapids at clearance height between cuts); ``link_depth_mm`` the part at
depth; ``retracts``; engagement from the independent raster (benchmarks/_raster_engagement.py;
G0 moves at depth are replayed as feeds there, they sweep material like any move):
``conventional_mm`` the path length milled with the stock on the left (conventional with an M3
spindle; both planners mean to climb); ``eng_max`` over every move at the level, ``eng_p95``/``eng_p99`` length-weighted over cut
moves, ``eng_max_ex`` over cut moves outside entries (excluding ramp/plunge moves and the first
1.5 D of cutting after each entry); ``uncut_mm2`` (``workbench.cam.checks.uncut_area``);
the pocket's corner bound (``workbench.cam.engagement.corner_contact_bound``: the contact its
sharpest corner forces on every path that clears it to the tool radius);
``cycle_s`` by ``workbench.machine.plan_motion`` on the same machine.

The summary is printed as markdown and written to ``REPORTS_DIR/bench/adaptive_vs_freecad.md``;
a second table (:func:`floors_md`) gives what the cycle and link goals ask of the path: our
cutting time alone over FreeCAD's cycle (the floor of the cycle ratio at equal feeds) and the
link-to-cutting length the link goal allows.

Usage: .venv/bin/python benchmarks/bench_adaptive_vs_freecad.py [--pockets A,B] [--skip-body]
[--timeout S] [--step 0.2] [--machine Mach4_Router_4x8] [--wall-start-slant]
(--pockets: comma-separated substrings of pocket names, e.g. ``PICKUP_CAVITY,POT_HOLES``; the
machine is often shared, so measure a few pockets rather than the whole set; the body takes
minutes)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import Polygon

sys.path.insert(0, os.path.dirname(__file__))
from _raster_engagement import EngagementResult, raster_engagement  # noqa: E402

from workbench.cam.adaptive import plan_adaptive  # noqa: E402
from workbench.cam.checks import tool_centre_paths, uncut_area  # noqa: E402
from workbench.cam.chipthinning import chip_thinning_factor_deg  # noqa: E402
from workbench.cam.engagement import corner_contact_bound, straight_cut_engagement_deg  # noqa: E402
from workbench.errors import InputError  # noqa: E402
from workbench.geometry import read_regions  # noqa: E402
from workbench.machine import load_machine, plan_motion  # noqa: E402
from workbench.paths import REPORTS_DIR, SHARED_DATA  # noqa: E402
from workbench.toolpath import Toolpath, moves_frame  # noqa: E402

D, SO, Z, TOP = 6.0, 0.2, -3.0, 0.0           # tool mm, stepover fraction, level mm, stock top mm
FEED, VFEED, SAFE = 1200.0, 300.0, 5.0        # horizFeed, vertFeed (mm/min), safe = clearance mm
HELIX_ANGLE_DEG, LIFT_DISTANCE = 5.0, 0.0     # FreeCAD opSetDefaultValues
ENTRY_SKIP = 1.5 * D                          # cutting length after an entry left out of eng_max_ex, mm
RASTER_STEP = 0.1                             # raster_engagement's default sample step, mm
DRIVER = os.path.join(os.path.dirname(__file__), "freecad_adaptive_driver.py")
FREECAD_OK = os.path.exists("/usr/lib/freecad-python3/lib/area.so") and os.path.exists("/usr/bin/python3")
REPORT = REPORTS_DIR / "bench" / "adaptive_vs_freecad.md"


@dataclass
class Pocket:
    name: str
    poly: Polygon
    members: list[str] = field(default_factory=list)   # names of the identical pockets

    @property
    def count(self) -> int:
        return max(1, len(self.members))


def _same_shape(a: Polygon, b: Polygon, tol: float = 0.01) -> bool:
    """True when ``b`` is ``a`` translated (Hausdorff distance after aligning the bounding-box
    corners under ``tol`` mm)."""
    if abs(a.area - b.area) > 1e-3 * a.area:
        return False
    ax, ay = a.bounds[:2]
    bx, by = b.bounds[:2]
    bb = shapely.affinity.translate(b, ax - bx, ay - by)
    return shapely.hausdorff_distance(a, bb) < tol


def pockets(skip_body: bool = False) -> list[Pocket]:
    """The benchmark's pockets, identical ones merged (see the module docstring)."""
    out: list[Pocket] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lp = SHARED_DATA / "dxf" / "LesPaul_CAM_Closed.dxf"
        sg = SHARED_DATA / "dxf" / "smart_guitar_back_v5.dxf"
        for path, layers in ((lp, ["ELECTRONIC_CAVITIES", "NECK_MORTISE", "PICKUP_CAVITY", "POT_HOLES",
                                   "STUDS"]),
                             (sg, ["CONTROL_CAVITY", "VOID_CHAMBERS"])):
            for reg in read_regions(path, layers=layers):
                if reg.polygon.buffer(-D / 2 - 0.02).is_empty:
                    continue  # the 6 mm tool does not fit (screw holes): not a pocket for it
                name = f"{path.stem[:8]}:{reg.name}"
                twin = next((p for p in out if p.name.split("#")[0] == name.split("#")[0]
                             and _same_shape(p.poly, reg.polygon)), None)
                if twin is not None:
                    twin.members.append(name)
                else:
                    out.append(Pocket(name, reg.polygon, [name]))
        if not skip_body:
            out.append(Pocket("LesPaul body - pickups", lespaul_body(lp), ["LesPaul body - pickups"]))
    return out


def lespaul_body(path: Any) -> Polygon:
    """The Les Paul body with its two pickup cavities as islands, from LesPaul_CAM_Closed.dxf.

    The CUTOUT layer holds the channel a profile cut leaves around the body: one C-shaped
    polygon (no hole), open at the horn, x 20..60 mm, y 160..215 mm. Bridging that opening with
    the convex hull of the channel's two ends there closes the C into a ring; its hole is the
    body outline. The PICKUP_CAVITY regions lie inside it and become its islands."""
    band = read_regions(path, layers=["CUTOUT"])[0].polygon
    ring = band.union(band.intersection(shapely.geometry.box(20, 160, 60, 215)).convex_hull)
    if len(ring.interiors) != 1:
        raise RuntimeError(f"{path}: the CUTOUT channel did not close into one ring")
    body = Polygon(ring.interiors[0])
    holes = [r.polygon for r in read_regions(path, layers=["PICKUP_CAVITY"])]
    if not all(body.contains(h) for h in holes):
        raise RuntimeError(f"{path}: a PICKUP_CAVITY lies outside the body outline")
    return shapely.geometry.polygon.orient(Polygon(body.exterior, [h.exterior for h in holes]), 1.0)


# --------------------------------------------------------------------------- FreeCAD

def freecad_program(res: dict[str, Any]) -> Toolpath:
    """FreeCAD's program for one level, as PathAdaptive.GenerateGCode writes it (defaults of
    opSetDefaultValues; StartDepth TOP, FinalDepth = StepDown = -Z, one pass), as a moves table.

    Kinds: G0 at clearance / approach ``rapid``; G0 XY of LinkClear (at depth) and LinkNotClear
    (at clearance) ``link``; G1 straight down ``plunge``; helix segments and the flat circle
    ``ramp``; cutting ``cut``. Zero-length moves are dropped.
    """
    regions = res["regions"]
    clear = safe = SAFE
    pass_start, pass_end = TOP, Z
    helix_r_max = max((math.dist(r["helix_center"], r["start"]) for r in regions), default=0.0)
    depth_per_circle = 2 * math.pi * helix_r_max * math.tan(math.radians(HELIX_ANGLE_DEG))
    rows: list[dict[str, Any]] = []
    cur: list[float] | None = None

    def add(code: str, kind: str, x: float | None = None, y: float | None = None,
            z: float | None = None, feed: float = math.nan) -> None:
        nonlocal cur
        assert cur is not None
        p = [cur[0] if x is None else x, cur[1] if y is None else y, cur[2] if z is None else z]
        ln = math.dist(p, cur)
        if ln < 1e-9:
            return
        rows.append(dict(code=code, x=p[0], y=p[1], z=p[2], kind=kind, len_mm=ln,
                         feed=feed if code != "G0" else math.nan))
        cur = p

    start: tuple[float, float, float] | None = None
    for reg in regions:
        c, s = reg["helix_center"], reg["start"]
        start_angle = math.atan2(s[1] - c[1], s[0] - c[0])
        pass_depth = pass_start - pass_end
        helix_r = math.dist(c, s)
        if helix_r > 0.01:
            r = helix_r - 0.01
            maxfi = pass_depth / depth_per_circle * 2 * math.pi
            fi = 0.0
            off = -maxfi + start_angle - math.pi / 16
            hx, hy = c[0] + r * math.cos(off), c[1] + r * math.sin(off)
            if cur is None:  # the program starts above the first helix, at clearance height
                start, cur = (hx, hy, clear), [hx, hy, clear]
            add("G0", "rapid", z=clear)
            add("G0", "rapid", hx, hy, clear)
            add("G0", "rapid", hx, hy, safe)
            add("G1", "plunge", hx, hy, pass_start, VFEED)
            while fi < maxfi:
                add("G1", "ramp", c[0] + r * math.cos(fi + off), c[1] + r * math.sin(fi + off),
                    pass_start - fi / maxfi * (pass_start - pass_end), VFEED)
                fi += math.pi / 16
            maxfi += 2 * math.pi  # one more circle at depth
            while fi < maxfi:
                add("G1", "ramp", c[0] + r * math.cos(fi + off), c[1] + r * math.sin(fi + off),
                    pass_end, FEED)
                fi += math.pi / 16
        else:  # no helix: straight plunge at the start point
            if cur is None:
                start, cur = (s[0], s[1], clear), [s[0], s[1], clear]
            add("G0", "rapid", z=clear)
            add("G0", "rapid", s[0], s[1], clear)
            add("G1", "plunge", s[0], s[1], pass_end, VFEED)
        lz, z = pass_end, clear
        for mt, pts in reg["paths"]:
            for q in pts:
                if mt == 0:  # Cutting
                    z = pass_end
                    if z != lz:
                        add("G1", "plunge", z=z, feed=VFEED)
                    add("G1", "cut", q[0], q[1], feed=FEED)
                elif mt == 1:  # LinkClear: G0 at depth + LiftDistance
                    z = pass_end + LIFT_DISTANCE
                    if z != lz:
                        add("G0", "rapid", z=z)
                    add("G0", "link", q[0], q[1])
                elif mt == 2:  # LinkNotClear: G0 at clearance height
                    z = clear
                    if z != lz:
                        add("G0", "rapid", z=z)
                    add("G0", "link", q[0], q[1])
                # LinkClearAtPrevPass (3): FreeCAD writes nothing (commented out there)
                lz = z
        if lz != clear:
            add("G0", "rapid", z=clear)
    mv = moves_frame(rows)
    return Toolpath(mv, start=start or (0.0, 0.0, clear), meta={})


def freecad(poly: Polygon, timeout: float | None) -> tuple[Toolpath, float] | str:
    """Run the driver; (toolpath, Adaptive2d.Execute seconds) or an error message."""
    job = {"outer": list(poly.exterior.coords), "holes": [list(h.coords) for h in poly.interiors],
           "tool_d": D, "stepover": SO, "tolerance": 0.1, "helix_d": 0.0, "keep_tool_down_ratio": 3.0}
    try:
        p = subprocess.run(["/usr/bin/python3", DRIVER], input=json.dumps(job), capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timeout after {timeout:g} s"
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("@@JSON@@")]
    if p.returncode or not line:
        return f"failed: {p.stderr[-300:]}"
    res = json.loads(line[-1][8:])
    if not res["regions"] or not any(pts for r in res["regions"] for _, pts in r["paths"]):
        # GenerateGCode writes nothing either (its first check)
        return f"no path (Adaptive2d returned no cutting path, {res['compute_s']:.3f} s)"
    return freecad_program(res), float(res["compute_s"])


# --------------------------------------------------------------------------- ours

class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def ours(poly: Polygon, machine: Any, timeout: float | None,
         wall_start_slant: bool = False) -> tuple[Toolpath, float] | str:
    """plan_adaptive with link_feed = the feed cap (and ``wall_start_slant``); (toolpath, wall
    seconds) or an error message.
    The timeout interrupts the planner by SIGALRM (between Python bytecodes)."""
    if timeout:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        t0 = time.perf_counter()
        tp = plan_adaptive(poly, tool_d=D, stepover=SO, stepdown=-Z, depth=-Z, stock_top=TOP,
                           feed=FEED, plunge_feed=VFEED, safe_z=SAFE, link_feed=machine.feed_cap,
                           ramp_angle_deg=HELIX_ANGLE_DEG, wall_start_slant=wall_start_slant)
        return tp, time.perf_counter() - t0
    except _Timeout:
        return f"timeout after {timeout:g} s"
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def chip_thinned(tp: Toolpath, max_feed: float) -> Toolpath:
    """The same plan with the feeds plan_adaptive(chip_thinning=True, max_feed=...) would give:
    cut moves (kind ``cut``, not G0) get ``feed * 1/sin(max(engagement_deg, target))``
    (workbench.cam.chipthinning.chip_thinning_factor_deg), capped at ``max_feed`` mm/min."""
    mv = tp.moves.copy()
    target = float(tp.meta["engagement_target_deg"])
    cut = (mv["kind"] == "cut").to_numpy() & (mv["code"] != "G0").to_numpy()
    fac = chip_thinning_factor_deg(np.maximum(mv["engagement_deg"].to_numpy(dtype=float), target))
    f = mv["feed"].to_numpy(dtype=float) * np.where(cut, fac, 1.0)
    mv["feed"] = np.where(cut, np.minimum(f, float(max_feed)), f)
    return Toolpath(mv, start=tp.start, meta=tp.meta)


# --------------------------------------------------------------------------- figures

def _sample_moves(tp: Toolpath, z: float, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move row, distance along the move (mm) and tool-centre (x, y) (mm, ``(n, 2)``) of every
    sample raster_engagement takes, in its order (same level test, same arc discretisation,
    same ``ceil(L/step)`` samples per segment, samples at the segment ends t = 1/n .. 1)."""
    mv = tp.moves
    st = tp.starts()
    en = mv[["x", "y", "z"]].to_numpy(float)
    at = (np.abs(st[:, 2] - z) < 1e-6) & (np.abs(en[:, 2] - z) < 1e-6) & (mv["code"] != "G0").to_numpy()
    rows = np.flatnonzero(at)
    ids, pos, xy = [], [], []
    for k, pth in zip(rows, tool_centre_paths(tp, rows=list(rows), max_sagitta=0.002)):
        s0 = 0.0
        for a, b in zip(pth[:-1, :2], pth[1:, :2]):
            L = float(math.hypot(*(b - a)))
            if L < 1e-9:
                continue
            n = max(1, int(math.ceil(L / step)))
            t = np.arange(1, n + 1) / n
            ids.append(np.full(n, k))
            pos.append(s0 + L * t)
            xy.append(a + t[:, None] * (b - a))
            s0 += L
    if not ids:
        return np.zeros(0, int), np.zeros(0), np.zeros((0, 2))
    return np.concatenate(ids), np.concatenate(pos), np.concatenate(xy)


def _wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Length-weighted quantile (as EngagementResult.quantile)."""
    if not len(x):
        return math.nan
    o = np.argsort(x)
    c = np.cumsum(w[o])
    return float(x[o][min(len(o) - 1, int(np.searchsorted(c, q * c[-1])))])


def engagement_figures(tp: Toolpath, res: EngagementResult, step: float,
                       poly: Polygon | None = None) -> dict[str, float]:
    """eng_max (all moves at the level), eng_p95/p99 (cut moves), eng_max_ex (cut moves outside
    entries: not ramp/plunge, not within ENTRY_SKIP mm of cutting after an entry), degrees.
    With ``poly``, also where the cutting outside entries over target + 15 deg lies, mm:
    ``over_ex_corner_mm`` within D/4 of a sharp corner of the tool-centre area (one that forces
    more than 10 deg, workbench.cam.engagement.corner_contact_bound), ``over_ex_wall_start_mm``
    in the first 2.5 mm of cutting after a link and within 0.1 D of the tool-centre area's
    boundary (a pass that starts on a wall), ``over_ex_other_mm`` the rest."""
    mv = tp.moves
    kind = mv["kind"].to_numpy()
    out = {"eng_max": float(res.samples.max()) if len(res.samples) else math.nan}
    ids, pos, xy = _sample_moves(tp, Z, step)
    # cutting length at the start of each move since the last entry (ramp/plunge rows), and
    # since the last move that is not a cut (link, rapid, entry)
    xy_len = np.hypot(*(mv[["x", "y"]].to_numpy(float) - tp.starts()[:, :2]).T)
    since, run = np.zeros(len(mv)), np.zeros(len(mv))
    acc, acc_run = math.inf, 0.0
    for k in range(len(mv)):
        if kind[k] in ("ramp", "plunge"):
            acc = 0.0
        if kind[k] != "cut":
            acc_run = 0.0
        since[k], run[k] = acc, acc_run
        if kind[k] == "cut":
            acc += xy_len[k]
            acc_run += xy_len[k]
    if len(ids) == len(res.samples):
        cut = kind[ids] == "cut"
        ex = cut & (since[ids] + pos >= ENTRY_SKIP)
        out["eng_p95"] = _wquantile(res.samples[cut], res.weights[cut], 0.95)
        out["eng_p99"] = _wquantile(res.samples[cut], res.weights[cut], 0.99)
        out["eng_max_ex"] = float(res.samples[ex].max()) if ex.any() else math.nan
        if poly is not None:
            hi = ex & (res.samples > straight_cut_engagement_deg(SO * D, D) + 15.0)
            pts = shapely.points(xy[hi])
            corners = [c[:2] for c in corner_contact_bound(poly, D).corners]
            near_c = (shapely.distance(shapely.multipoints(corners), pts) < D / 4) if corners \
                else np.zeros(int(hi.sum()), bool)
            wall = shapely.distance(poly.buffer(-D / 2.0, quad_segs=16).boundary, pts) < 0.1 * D
            start = (run[ids] + pos)[hi] < 2.5
            w = res.weights[hi]
            out["over_ex_corner_mm"] = float(w[near_c].sum())
            out["over_ex_wall_start_mm"] = float(w[~near_c & wall & start].sum())
            out["over_ex_other_mm"] = float(w[~near_c & ~(wall & start)].sum())
    else:  # sampling changed in _raster_engagement: fall back to per-move maxima
        print(f"  (raster samples {len(res.samples)} != {len(ids)} replayed: per-move eng_max_ex)")
        ok = (kind == "cut") & (since >= ENTRY_SKIP) & np.isfinite(res.per_move)
        out["eng_p95"], out["eng_p99"] = res.quantile(0.95), res.quantile(0.99)
        out["eng_max_ex"] = float(res.per_move[ok].max()) if ok.any() else math.nan
    for k in ("over_ex_corner_mm", "over_ex_wall_start_mm", "over_ex_other_mm"):
        out.setdefault(k, math.nan)
    return out


def figures(tp: Toolpath, poly: Polygon, compute_s: float, plan_s: float, machine: Any,
            step: float, tp_ct: Toolpath | None) -> dict[str, float]:
    """Every per-pocket figure of one program (see the module docstring); mm, s, degrees."""
    mv = tp.moves
    target = straight_cut_engagement_deg(SO * D, D)
    # G0 at depth sweeps material like a feed: replay it as G1 for the referees
    geo_mv = mv.copy()
    at_depth = (geo_mv["code"] == "G0").to_numpy() & (np.abs(tp.starts()[:, 2] - Z) < 1e-6) \
        & (np.abs(geo_mv["z"].to_numpy(float) - Z) < 1e-6)
    geo_mv.loc[at_depth, "code"] = "G1"
    geo_mv.loc[at_depth, "feed"] = FEED
    geo = Toolpath(geo_mv, start=tp.start, meta=tp.meta)
    res = raster_engagement(geo, poly, D, z=Z, step=step)
    eng = engagement_figures(geo, res, step, poly)
    try:
        uncut = uncut_area(geo, poly, D, z=Z).significant_area
    except InputError:  # the planner left no cut at the measured depth (e.g. a hole under D)
        uncut = math.nan
    st = tp.starts()
    xy = np.hypot(*(mv[["x", "y"]].to_numpy(float) - st[:, :2]).T)
    kind = mv["kind"].to_numpy()
    is_link = kind == "link"
    is_rapid_xy = (kind == "rapid") & (xy > 1e-9)
    ent = np.isin(kind, ["ramp", "plunge"])
    cycle = float(plan_motion(tp, machine).summary["cycle_time_s"])
    cycle_ct = float(plan_motion(tp_ct, machine).summary["cycle_time_s"]) if tp_ct is not None else cycle
    return {"compute_s": compute_s, "plan_s": plan_s,
            "cut_mm": float(mv.loc[kind == "cut", "len_mm"].sum()),
            "link_mm": float(xy[is_link | is_rapid_xy].sum()),
            "link_depth_mm": float(xy[is_link & (np.abs(mv["z"].to_numpy(float) - Z) < 1e-6)].sum()),
            "entries": int((ent & ~np.r_[False, ent[:-1]]).sum()),
            "retracts": int(((mv["code"] == "G0").to_numpy() & (st[:, 2] < TOP) & (mv["z"].to_numpy(float) >= SAFE - 1e-9)).sum()),
            **eng, "over_t10_mm": res.length_over(target * 1.1), "slot_mm": res.length_over(170.0),
            "conventional_mm": res.conventional_length(),
            "uncut_mm2": uncut, "cycle_s": cycle, "cycle_ct_s": cycle_ct}


# --------------------------------------------------------------------------- report

def _ratio(ours_v: float, theirs: float) -> float:
    """ours / theirs; NaN where FreeCAD has nothing to compare (no link, no path)."""
    if not (theirs > 1e-6) or not math.isfinite(ours_v):
        return math.nan
    return ours_v / theirs


def _f(v: float, nd: int = 1) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.{nd}f}"


def _pair(o: dict | None, f: dict | None, k: str, nd: int = 1) -> str:
    return f"{_f(o[k], nd) if o else '-'} / {_f(f[k], nd) if f else '-'}"


def _goal(r: float, limit: float, nd: int = 2) -> str:
    return "n/a" if not math.isfinite(r) else f"{r:.{nd}f} {'ok' if r <= limit else 'MISS'}"


def summary_md(results: list[tuple[Pocket, dict | None, dict | None]], header: str,
               notes: list[str] | None = None) -> str:
    """One markdown table over all pockets, plus multiplicity-weighted totals (over the
    pockets where both planners gave a program) and ``notes`` (one bullet each)."""
    t = straight_cut_engagement_deg(SO * D, D)
    lines = [header, "",
             f"Cells are ours / FreeCAD. Goals: link <= 0.5, cycle <= 0.85, compute (plan_s) <= 2, "
             f"p95 <= target+3 = {t + 3:.1f} deg, max outside entries <= target+15 = {t + 15:.1f} deg "
             f"(target {t:.2f} deg). Compute: ours total (plan+arcfit) / FreeCAD Execute, s. Link: all "
             f"non-cutting XY travel (links at depth + rapids at clearance between cuts). p95: cut moves; "
             f"max (all): every move at the level, entries included (the raster does not replay the "
             f"descent, so a helix's flat turn meets full material); outside entries: cut moves, "
             f"without the first {ENTRY_SKIP:.0f} mm of cutting after each entry. CT: radial chip "
             f"thinning (FreeCAD has none: its CT = nominal). Corner bound: the engagement the pocket's "
             f"sharpest corner forces on any path that leaves no stock beyond the tool-radius corners "
             f"(workbench.cam.engagement.corner_contact_bound; exact contact, which the raster can read "
             f"a little under); where it exceeds target+15 that goal and no uncut stock exclude each "
             f"other.", "",
             "| pocket | area mm² | compute s | link mm | cycle s | cycle CT s | p95 ° | max ° (all) | "
             "max ° outside entries | uncut mm² | link ratio | cycle ratio | cycle CT ratio | "
             "compute ratio plan (total) | p95 ours / FC | max-ex ours / FC | corner bound ° |",
             "|" + "---|" * 17]
    tot = {"o_link": 0.0, "f_link": 0.0, "o_cyc": 0.0, "o_cct": 0.0, "f_cyc": 0.0, "o_plan": 0.0,
           "o_comp": 0.0, "f_comp": 0.0}
    complete = True
    for pk, o, f in results:
        name = pk.name + (f" (x{pk.count})" if pk.count > 1 else "")
        comp = (f"{_f(o['compute_s'], 2)} ({_f(o['plan_s'], 2)})" if o else "-") + \
            f" / {_f(f['compute_s'], 2) if f else '-'}"
        if o and f:
            rl = _ratio(o["link_mm"], f["link_mm"])
            rc = _ratio(o["cycle_s"], f["cycle_s"])
            rct = _ratio(o["cycle_ct_s"], f["cycle_ct_s"])
            rp = _ratio(o["plan_s"], f["compute_s"])
            rt = _ratio(o["compute_s"], f["compute_s"])
            n = pk.count
            tot["o_link"] += n * o["link_mm"]; tot["f_link"] += n * f["link_mm"]
            tot["o_cyc"] += n * o["cycle_s"]; tot["o_cct"] += n * o["cycle_ct_s"]; tot["f_cyc"] += n * f["cycle_s"]
            tot["o_plan"] += n * o["plan_s"]; tot["o_comp"] += n * o["compute_s"]; tot["f_comp"] += n * f["compute_s"]
            ratios = [_goal(rl, 0.5), _goal(rc, 0.85), _goal(rct, 0.85),
                      f"{_goal(rp, 2.0)} ({_f(rt, 2)})",
                      " / ".join(_goal(x[k], t + 3, 1) for x in (o, f) for k in ["eng_p95"]),
                      " / ".join(_goal(x[k], t + 15, 1) for x in (o, f) for k in ["eng_max_ex"])]
        else:
            complete = False
            ratios = ["n/a"] * 6
        lines.append(f"| {name} | {pk.poly.area:.0f} | {comp} | {_pair(o, f, 'link_mm', 0)} | "
                     f"{_pair(o, f, 'cycle_s')} | {_pair(o, f, 'cycle_ct_s')} | {_pair(o, f, 'eng_p95')} | "
                     f"{_pair(o, f, 'eng_max')} | {_pair(o, f, 'eng_max_ex')} | {_pair(o, f, 'uncut_mm2', 2)} | "
                     + " | ".join(ratios) + f" | {_f(corner_contact_bound(pk.poly, D).contact_deg)} |")
    if tot["f_cyc"] > 0:
        lines.append(
            f"| **total{'' if complete else ' (pockets with both)'}**, x-weighted | | "
            f"{tot['o_comp']:.2f} ({tot['o_plan']:.2f}) / {tot['f_comp']:.2f} | "
            f"{tot['o_link']:.0f} / {tot['f_link']:.0f} | {tot['o_cyc']:.1f} / {tot['f_cyc']:.1f} | "
            f"{tot['o_cct']:.1f} / {tot['f_cyc']:.1f} | | | | | "
            f"{_goal(_ratio(tot['o_link'], tot['f_link']), 0.5)} | {_goal(_ratio(tot['o_cyc'], tot['f_cyc']), 0.85)} | "
            f"{_goal(_ratio(tot['o_cct'], tot['f_cyc']), 0.85)} | "
            f"{_goal(_ratio(tot['o_plan'], tot['f_comp']), 2.0)} ({_f(_ratio(tot['o_comp'], tot['f_comp']), 2)}) | | | |")
    lines += floors_md(results)
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def floors_md(results: list[tuple[Pocket, dict | None, dict | None]]) -> list[str]:
    """What the cycle and link goals ask of the cutting itself, per pocket with both programs:
    the cutting length of each (ours / FreeCAD), our cutting time alone at the cutting feed
    (``cut_mm / FEED``, no link, entry or acceleration) over FreeCAD's cycle time (the lowest
    cycle ratio our path could reach at equal feeds with every link, entry and acceleration
    for free), FreeCAD's link length over its cutting length, and the link over cutting length
    ours may have for a link ratio of 0.5 (half FreeCAD's links over our cutting length)."""
    rows = [(pk, o, f) for pk, o, f in results if o and f]
    if not rows:
        return []
    out = ["", "What the cycle and link goals ask of the path (same run; cutting time = cutting "
           f"length / {FEED:.0f} mm/min):", "",
           "| pocket | cutting mm ours / FC | cutting ratio | our cutting time s / FC cycle s | "
           "cycle ratio floor at equal feeds | FC link / cutting | ours link / cutting (goal: at most) |",
           "|" + "---|" * 7]
    for pk, o, f in rows:
        t_cut = o["cut_mm"] / FEED * 60.0
        out.append(f"| {pk.name} | {o['cut_mm']:.0f} / {f['cut_mm']:.0f} | {_f(_ratio(o['cut_mm'], f['cut_mm']), 3)} | "
                   f"{t_cut:.1f} / {f['cycle_s']:.1f} | {_f(_ratio(t_cut, f['cycle_s']), 3)} | "
                   f"{_f(_ratio(f['link_mm'], f['cut_mm']), 2)} | {_f(_ratio(o['link_mm'], o['cut_mm']), 2)} "
                   f"({_f(_ratio(0.5 * f['link_mm'], o['cut_mm']), 2)}) |")
    return out


KEYS = ["compute_s", "plan_s", "cut_mm", "link_mm", "link_depth_mm", "entries", "retracts",
        "eng_max", "eng_max_ex", "eng_p99", "eng_p95", "over_ex_corner_mm", "over_ex_wall_start_mm",
        "over_ex_other_mm", "over_t10_mm", "slot_mm", "conventional_mm", "uncut_mm2",
        "cycle_s", "cycle_ct_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pockets", "--only", dest="pockets", default=None,
                    help="comma-separated substrings of pocket names to run (default: all)")
    ap.add_argument("--skip-body", action="store_true", help="leave out the Les Paul body (minutes)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds allowed to each planner per pocket (default: none)")
    ap.add_argument("--step", type=float, default=0.2, help="raster engagement sample step, mm")
    ap.add_argument("--machine", default="Mach4_Router_4x8")
    ap.add_argument("--wall-start-slant", action="store_true",
                    help="ours with plan_adaptive(wall_start_slant=True): passes meet the walls (outer and islands) at a slant")
    a = ap.parse_args()
    machine = load_machine(a.machine)
    cap = machine.feed_cap
    if not FREECAD_OK:
        print("FreeCAD (freecad-python3, /usr/lib/freecad-python3/lib/area.so) not found: FreeCAD "
              "columns skipped. Install with: apt-get install freecad")
    target = straight_cut_engagement_deg(SO * D, D)
    header = (f"# Adaptive clearing: workbench vs FreeCAD 0.20 Adaptive2d\n\n"
              f"{time.strftime('%Y-%m-%d %H:%M')}; `{' '.join(sys.argv[1:]) or '(all pockets)'}`; "
              f"machine {machine.id} (feed cap {cap:.0f} mm/min = our link_feed and CT max_feed); "
              f"D={D} mm, stepover {SO}, z={Z} mm, feed {FEED:.0f}, vertical {VFEED:.0f} mm/min, "
              f"safe {SAFE} mm; raster step {a.step} mm; target engagement {target:.2f} deg"
              f"{'; ours with wall_start_slant' if a.wall_start_slant else ''}.")
    print(header.replace("# ", "", 1))
    sel = [s.strip() for s in (a.pockets or "").split(",") if s.strip()]
    # warm-up: the planner's lazy imports (scipy.fft, contourpy, numba and its cached kernels)
    # load on the first call of a process; FreeCAD's driver likewise imports area before its
    # clock starts, so neither side's compute_s counts module loading
    plan_adaptive(shapely.geometry.box(0, 0, 30, 20), tool_d=D, stepover=SO, stepdown=-Z, depth=-Z)
    results: list[tuple[Pocket, dict | None, dict | None]] = []
    notes: list[str] = ["smart_guitar_back_v5.dxf HARDWARE_REFS left out: a reference layer (its rectangles "
                        "are labelled NECK BOLT and HEADSTOCK TUNERS; the tuner box lies outside BODY_OUTLINE)"]
    for pk in pockets(a.skip_body):
        if sel and not any(s in m for s in sel for m in pk.members + [pk.name]):
            continue
        cols: dict[str, dict] = {}
        if pk.count > 1:
            notes.append(f"{pk.name}: x{pk.count} = {', '.join(pk.members)} (same shape translated; run once)")
        r = ours(pk.poly, machine, a.timeout, a.wall_start_slant)
        if isinstance(r, str):
            print(f"  workbench: {r}")
            notes.append(f"{pk.name}: workbench {r}")
        else:
            tp, dt = r
            ts = tp.meta["timing_s"]
            cols["workbench"] = figures(tp, pk.poly, dt, ts["plan"] + ts["arcfit"], machine, a.step,
                                        chip_thinned(tp, cap))
        if FREECAD_OK:
            fc = freecad(pk.poly, a.timeout)
            if isinstance(fc, str):
                print(f"  FreeCAD: {fc}")
                notes.append(f"{pk.name}: FreeCAD {fc}")
            else:
                cols["FreeCAD"] = figures(fc[0], pk.poly, fc[1], fc[1], machine, a.step, None)
        o, f = cols.get("workbench"), cols.get("FreeCAD")
        results.append((pk, o, f))
        if o:
            where = "; ".join(f"{who} " + " / ".join(_f(c[k], 0) for k in ("over_ex_corner_mm", "over_ex_wall_start_mm",
                                                                          "over_ex_other_mm"))
                              for who, c in (("ours", o), ("FreeCAD", f)) if c)
            notes.append(f"{pk.name}: cutting over target+15 outside entries, at corners / wall starts / "
                         f"elsewhere, mm: {where}")
        more = f"  x{pk.count}: {', '.join(pk.members)}" if pk.count > 1 else ""
        print(f"\n## {pk.name}  (area {pk.poly.area:.0f} mm2){more}")
        print(f"{'':22s}" + "".join(f"{k:>12s}" for k in cols))
        for k in KEYS:
            print(f"{k:22s}" + "".join(f"{c[k]:12.2f}" for c in cols.values()))
        if o and f:
            print(f"ratios: link {_f(_ratio(o['link_mm'], f['link_mm']), 2)} (goal <= 0.5), cycle "
                  f"{_f(_ratio(o['cycle_s'], f['cycle_s']), 2)} / with chip thinning "
                  f"{_f(_ratio(o['cycle_ct_s'], f['cycle_ct_s']), 2)} (goal <= 0.85), compute plan "
                  f"{_f(_ratio(o['plan_s'], f['compute_s']), 2)} / total "
                  f"{_f(_ratio(o['compute_s'], f['compute_s']), 2)} (goal <= 2)")
        sys.stdout.flush()
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(summary_md(results, header, notes))
    md = summary_md(results, header, notes)
    print("\n" + md)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(md)
    print(f"written: {REPORT}")


if __name__ == "__main__":
    main()
