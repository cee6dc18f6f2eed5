"""The simulator's engine: tool profiles, sweeps, analytic volumes, violations, control flow."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.gcode import read
from workbench.sim import (SimCancelled, SimTimeout, Stock, Tool, ToolSpecError, parse_stock,
                           parse_tool_spec, simulate)
from workbench.sim.errors import MissingToolError, StockError
from workbench.sim.sweep import arc_chords, segment_envelope
from workbench.sim.tools import load_tool_table, tool_changes, tools_from_comments
from workbench.toolpath import Toolpath, moves_frame


def slot_path(x0: float, y: float, length: float, depth: float) -> Toolpath:
    rows = [dict(code="G0", x=x0, y=y, z=5, kind="rapid", line=1),
            dict(code="G1", x=x0, y=y, z=-depth, feed=300, kind="plunge", line=2),
            dict(code="G1", x=x0 + length, y=y, z=-depth, feed=1000, line=3),
            dict(code="G0", x=x0 + length, y=y, z=5, kind="rapid", line=4)]
    return Toolpath(moves_frame(rows), start=(0, 0, 5))


def pocket_gcode(w: float = 40.0, h: float = 30.0, d: float = 6.0, depths=(-2.0, -4.0),
                 x0: float = 0.0, y0: float = 0.0) -> str:
    """Zigzag + finishing contour of a w x h rectangular pocket, flat tool of diameter d."""
    r = d / 2
    xa, xb, ya, yb = x0 + r, x0 + w - r, y0 + r, y0 + h - r
    n = math.ceil((yb - ya) / (0.4 * d))
    out = ["G21 G90 G17", "T1 M6", "S10000 M3", "G0 Z5"]
    for z in depths:
        out.append(f"G0 X{xa:.4f} Y{ya:.4f}")
        out.append(f"G1 Z{z:.4f} F200")
        for k in range(n + 1):
            y = ya + (yb - ya) * k / n
            out.append(f"G1 Y{y:.4f} F800")
            out.append(f"G1 X{(xb if k % 2 == 0 else xa):.4f}")
        out += [f"G1 X{xa:.4f} Y{yb:.4f}", f"G1 Y{ya:.4f}", f"G1 X{xb:.4f}", f"G1 Y{yb:.4f}", f"G1 X{xa:.4f}"]
        out.append("G0 Z5")
    out.append("M5")
    out.append("M30")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- tools


def test_tool_profiles_exact_values():
    r = np.array([0.0, 1.0, 2.0, 3.0])
    assert np.allclose(Tool("flat", 6, 20).profile(r), 0)
    assert np.allclose(Tool("ball", 6, 20).profile(r), 3 - np.sqrt(9 - r * r))
    bull = Tool("bull", 6, 20, corner_radius=1.0)  # flat to r=2, then a 1 mm quarter circle
    assert np.allclose(bull.profile(r), [0, 0, 0, 1.0])
    v = Tool("vbit", 6, 20, angle_deg=90)  # 45 deg half angle: height = r
    assert np.allclose(v.profile(r), r)
    assert Tool("vbit", 6, 20, angle_deg=60).tip_height == pytest.approx(3 / math.tan(math.radians(30)))


def test_tool_body_cylinders_stack():
    t = Tool("flat", 3, 10, shank_diameter=6, shank_length=20, holder=((20, 30), (40, 40)))
    assert t.body_cylinders() == [("shank", 3.0, 10.0), ("holder1", 10.0, 30.0), ("holder2", 20.0, 60.0)]


def test_parse_tool_spec_and_errors():
    t = parse_tool_spec("2=ball:1/8in,flute=12,shank=6,holder=20x30")
    assert (t.number, t.shape, t.cutting_length, t.shank_diameter) == (2, "ball", 12.0, 6.0)
    assert t.diameter == pytest.approx(3.175)
    assert t.holder == ((20.0, 30.0),)
    assert parse_tool_spec("vbit:12.7:60").angle_deg == 60
    assert parse_tool_spec("bull:10:1").corner_radius == 1
    for bad in ("flat", "cone:6", "flat:abc", "flat:6,wobble=3", "bull:6:4"):
        with pytest.raises(ToolSpecError):
            parse_tool_spec(bad)


def test_tool_table_and_comments(tmp_path):
    p = tmp_path / "tools.json"
    p.write_text('{"tools": {"1": {"units": "imperial", "shape": "ballnose", "length": 0.5, "diameter": 0.25},'
                 ' "3": {"shape": "conical", "length": 5, "diameter": 10}}}')
    tab = load_tool_table(p)
    assert tab[1].shape == "ball" and tab[1].diameter == pytest.approx(6.35) and tab[1].cutting_length == pytest.approx(12.7)
    assert tab[3].shape == "vbit" and tab[3].angle_deg == pytest.approx(90.0)
    p.write_text('{"tools": {"1": {"shape": "spheroid", "diameter": 1}}}')
    with pytest.raises(ToolSpecError, match="tool 1.*spheroid"):
        load_tool_table(p)
    lines = ["( TOOL CHANGE: T1 - 10mm Flat End Mill )", "T1 M6", "(Tool: 1/4 in Carbide End Mill)",
             "T2 M6 (x)", "T3", "(1/8 in ball nose)", "M6"]
    assert tool_changes(lines) == [(1, 1), (3, 2), (6, 3)]
    got = tools_from_comments(lines)
    assert got[1].diameter == 10 and got[2].diameter == pytest.approx(6.35) and got[3].shape == "ball"


def test_stock_parse_and_errors():
    s = parse_stock("0,0,-10,100,50,0")
    assert s.volume == pytest.approx(50000)
    assert parse_stock("0 0 -1 1 1 0 in").xmax == pytest.approx(25.4)
    with pytest.raises(StockError):
        parse_stock("0,0,0,1,1")
    with pytest.raises(StockError, match="empty"):
        Stock(0, 0, 0, 10, 10, 0)


# ---------------------------------------------------------------- sweep


def test_envelope_flat_ramp_is_exact():
    X = np.array([0.0, 5.0, 10.0])
    Y = np.array([0.0])
    # ramp from z=0 at x=0 to z=-10 at x=10, R=1: under the disc the lowest z is reached at the
    # last t covering the cell: cell x=5 -> t=0.6 -> z=-6
    g, d, _ = segment_envelope(X, Y, (0, 0, 0), (10, 0, -10), 1.0, None)
    assert g[0].tolist() == pytest.approx([-1.0, -6.0, -10.0])
    # the same with a ball: minimum of z(t) + f(r(t)) found by golden section (cell x=5)
    ball = Tool("ball", 2, 5)
    gb, _, _ = segment_envelope(np.array([5.0]), Y, (0, 0, 0), (10, 0, -10), 1.0, ball.profile)
    s = np.linspace(0, 1, 200001)
    brute = np.min(np.where(np.abs(5 - 10 * s) <= 1, -10 * s + ball.profile(np.abs(5 - 10 * s)), np.inf))
    assert gb[0, 0] == pytest.approx(brute, abs=1e-6)


def test_arc_chords_full_circle_and_sagitta():
    pts = arc_chords((10, 0, 0), (10, 0, -1), (-10, 0, 0), 17, False, 0.01)
    r = np.hypot(pts[:, 0], pts[:, 1])
    assert np.allclose(r, 10)
    mid = (pts[1:, :2] + pts[:-1, :2]) / 2
    assert (10 - np.hypot(mid[:, 0], mid[:, 1])).max() <= 0.01 + 1e-12
    ang = np.unwrap(np.arctan2(pts[:, 1], pts[:, 0]))
    assert ang[-1] - ang[0] == pytest.approx(2 * math.pi)  # CCW full turn
    assert pts[-1].tolist() == [10, 0, -1]


# ---------------------------------------------------------------- accuracy


@pytest.mark.parametrize("x0,y", [(10.0, 10.0), (10.3, 10.137), (9.871, 9.9)])
def test_slot_volume_within_half_percent(x0, y):
    D, L, depth = 6.0, 50.0, 3.0
    res = simulate(slot_path(x0, y, L, depth), Tool("flat", D, 20), Stock(0, 0, -10, 80, 20.5, 0), frames=0)
    exact = depth * (D * L + math.pi * D * D / 4)
    assert res.removed_volume_mm3 == pytest.approx(exact, rel=0.005)
    assert res.heightmap.cell == pytest.approx(0.25, rel=0.01)  # the default: D / 24


def test_ball_groove_volume_and_convergence():
    D, L = 6.0, 50.0
    R = D / 2
    exact = L * math.pi * R * R / 2 + 2 / 3 * math.pi * R ** 3  # buried ball: half cylinder + hemisphere
    errs = []
    for cell in (0.5, 0.25, 0.125, 0.0625):
        res = simulate(slot_path(10.3, 10.137, L, R), Tool("ball", D, 20), Stock(0, 0, -10, 80, 20.5, 0),
                       cell_mm=cell, frames=0)
        errs.append(abs(res.removed_volume_mm3 / exact - 1))
    assert errs[1] < 0.005  # the default cell size (D/24 = 0.25)
    assert errs[-1] < errs[1] < errs[0]  # converges as the cell shrinks
    assert errs[-1] < 0.001


def test_shallow_ball_groove_volume():
    D, L, a = 6.0, 40.0, 1.0  # groove depth a < R: circular segment cross-section
    R = D / 2
    half = math.sqrt(R * R - (R - a) ** 2)
    seg = R * R * math.acos((R - a) / R) - (R - a) * half
    cap = math.pi * a * a * (3 * R - a) / 3  # spherical cap, the two rounded ends together
    res = simulate(slot_path(10.2, 10.1, L, a), Tool("ball", D, 20), Stock(0, 0, -5, 70, 20.5, 0), frames=0)
    assert res.removed_volume_mm3 == pytest.approx(seg * L + cap, rel=0.005)


def test_pocket_volume_from_gcode_within_half_percent():
    tp = read(pocket_gcode(x0=0.37, y0=0.21))
    res = simulate(tp, {1: Tool("flat", 6, 20)}, Stock(0, 0, -10, 41, 31, 0), frames=0)
    exact = 4.0 * (40 * 30 - (4 - math.pi) * 9)  # corners keep the tool radius
    assert res.removed_volume_mm3 == pytest.approx(exact, rel=0.005)
    assert res.collision_count == 0 and res.violations == []
    assert res.time_source == "motion_planner" and res.est_time_s > 0


def test_pocket_volume_converges():
    tp = read(pocket_gcode(x0=0.37, y0=0.21))
    exact = 4.0 * (40 * 30 - (4 - math.pi) * 9)
    errs = [abs(simulate(tp, Tool("flat", 6, 20), Stock(0, 0, -10, 41, 31, 0), cell_mm=c, frames=0)
                .removed_volume_mm3 / exact - 1) for c in (0.5, 0.125)]
    assert errs[1] < errs[0] or errs[1] < 2e-4


# ---------------------------------------------------------------- violations


def test_rapid_through_stock_detected_with_line():
    prog = "G21 G90\nT1 M6\nG0 Z5\nG0 X10 Y10\nG1 Z-2 F300\nG1 X30 F800\nG0 X50\nG0 Z5\n"
    res = simulate(read(prog), Tool("flat", 6, 20), Stock(0, 0, -10, 60, 20, 0), frames=0)
    rapid = [v for v in res.violations if v.code == "rapid_through_stock"]
    assert len(rapid) == 1 and rapid[0].line == 7 and rapid[0].severity == "error"
    assert rapid[0].depth_mm == pytest.approx(2.0, abs=0.01)
    assert 30 < rapid[0].x <= 53 and rapid[0].z == pytest.approx(-2)
    assert res.collision_count == 1


def test_shank_hit_and_flute_length_detected_with_line():
    prog = ("G21 G90\nT1 M6\nG0 Z5\nG0 X10 Y10\nG1 Z-4 F100\nG1 X20 F500\nG1 Z-7 F100\nG0 Z5\n"
            "G0 X26\nG1 Z-6 F100\nG0 Z5\n")
    tool = parse_tool_spec("1=flat:3,flute=5,shank=6,shank_len=30")
    res = simulate(read(prog), tool, Stock(0, 0, -10, 30, 20, 0), frames=0)
    codes = {(v.code, v.line) for v in res.violations}
    # line 7 goes 3 mm deeper in its own slot: within the flutes, but the 6 mm shank dips 2 mm
    # into the slot's walls; line 10 plunges 6 mm into fresh stock with 5 mm flutes
    assert codes == {("shank_collision", 7), ("shank_collision", 10), ("flute_length_exceeded", 10)}
    shank = next(v for v in res.violations if v.code == "shank_collision")
    assert shank.depth_mm == pytest.approx(2.0, abs=0.01)  # shank bottom at -7 + 5 = -2
    flute = next(v for v in res.violations if v.code == "flute_length_exceeded")
    assert flute.depth_mm == pytest.approx(1.0, abs=0.01)
    assert res.collision_count == 2


def test_holder_hit_detected():
    prog = "G21 G90\nG0 Z5\nG0 X10 Y10\nG1 Z-8 F100\nG0 Z5\n"
    tool = parse_tool_spec("flat:6,flute=5,shank_len=2,holder=30x20")  # holder bottom 7 mm above the tip
    res = simulate(read(prog), tool, Stock(0, 0, -10, 30, 20, 0), frames=0)
    hold = [v for v in res.violations if v.code == "holder_collision"]
    assert [v.line for v in hold] == [4] and hold[0].depth_mm == pytest.approx(1.0, abs=0.01)


def test_clean_program_has_no_collisions():
    tp = read(pocket_gcode())
    tool = parse_tool_spec("1=flat:6,flute=20,shank=6,holder=25x30")
    res = simulate(tp, tool, Stock(0, 0, -10, 40, 30, 0), max_plunge_mm_min=500, frames=0)
    assert res.collision_count == 0 and res.violations == []


def test_plunge_floor_and_outside_stock():
    prog = "G21 G90\nG0 Z5\nG0 X10 Y10\nG1 Z-6 F900\nG1 X70 F800\nG1 Y40\nG0 Z5\n"
    res = simulate(read(prog), Tool("flat", 6, 20), Stock(0, 0, -5, 40, 20, 0), floor_z=-5.5,
                   max_plunge_mm_min=300, frames=0)
    got = {v.code: v for v in res.violations}
    assert got["plunge_too_fast"].line == 4 and got["plunge_too_fast"].depth_mm == pytest.approx(600)
    assert got["below_floor"].severity == "error" and got["below_floor"].line == 4
    assert got["outside_stock"].line == 6  # line 5 starts over the stock, line 6 is all off it


def test_consecutive_violations_merge():
    prog = "G21 G90\nG0 Z-1\nG0 X10\nG0 X20\nG0 X30\nG1 X31 F100\nG0 X35\n"
    res = simulate(read(prog), Tool("flat", 4, 20), Stock(-5, -5, -5, 40, 5, 0), frames=0)
    rapid = [v for v in res.violations if v.code == "rapid_through_stock"]
    assert [(v.line, v.line_end, v.moves) for v in rapid] == [(2, 5, 4), (7, 7, 1)]
    assert res.collision_count == 5


def test_pocket_gouge_into_island():
    from shapely.geometry import Polygon

    region = Polygon([(0, 0), (40, 0), (40, 30), (0, 30)], [[(15, 10), (25, 10), (25, 20), (15, 20)]])
    tp = read(pocket_gcode())  # clears the island too
    res = simulate(tp, Tool("flat", 6, 20), Stock(0, 0, -10, 40, 30, 0), pocket=region, frames=0)
    g = [v for v in res.violations if v.code == "gouge"]
    assert g and all(v.severity == "error" for v in g)
    assert any(15 <= v.x <= 25 and 10 <= v.y <= 20 for v in g)
    assert res.collision_count == 0  # a gouge is not a body collision
    # the same pocket without the island: clean
    res2 = simulate(tp, Tool("flat", 6, 20), Stock(0, 0, -10, 40, 30, 0), pocket=Polygon(region.exterior), frames=0)
    assert [v for v in res2.violations if v.code == "gouge"] == []


# ---------------------------------------------------------------- control flow


def test_progress_cancel_and_timeout():
    tp = read(pocket_gcode())
    calls = []
    simulate(tp, Tool("flat", 6, 20), Stock(0, 0, -10, 40, 30, 0), frames=0,
             progress=lambda d, n: calls.append((d, n)), progress_every_s=0.0)
    n = len(tp.moves)
    assert calls[-1] == (n, n) and len(calls) > 10
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))
    with pytest.raises(SimCancelled) as ei:
        simulate(tp, Tool("flat", 6, 20), Stock(0, 0, -10, 40, 30, 0), frames=0,
                 progress=lambda d, n: d < 10, progress_every_s=0.0)
    assert ei.value.moves_done == 10
    ev = threading.Event()
    ev.set()
    with pytest.raises(SimCancelled):
        simulate(tp, Tool("flat", 6, 20), Stock(0, 0, -10, 40, 30, 0), frames=0, cancel=ev)
    with pytest.raises(SimTimeout, match="timeout of 0 s"):
        simulate(tp, Tool("flat", 6, 20), Stock(0, 0, -10, 40, 30, 0), frames=0, timeout_s=0.0)


def test_missing_tool_and_bad_input():
    tp = read("G21 G90\nT4 M6\nG0 X1\nG1 Z-1 F100\n")
    with pytest.raises(MissingToolError, match="T4"):
        simulate(tp, {1: Tool("flat", 6, 20)}, Stock(0, 0, -5, 10, 10, 0), allow_default_tool=False)
    res = simulate(tp, {1: Tool("flat", 6, 20)}, Stock(0, 0, -5, 10, 10, 0), frames=0)
    assert any(n["code"] == "default_tool" for n in res.notes)
    bad = Toolpath(moves_frame([dict(code="G1", x=float("nan"), y=0, z=0)]))
    with pytest.raises(InputError, match="row 0"):
        simulate(bad, Tool("flat", 6, 20), Stock(0, 0, -5, 10, 10, 0))
    with pytest.raises(StockError, match="no feed move"):
        simulate(read("G0 X1 Y1\n"), Tool("flat", 6, 20))
