"""Post-processors as data and the G-code writer (workbench.gcode.post / writer)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from workbench.errors import InputError, PostError
from workbench.gcode import list_posts, load_post, read, write, write_file
from workbench.gcode.post import Post
from workbench.toolpath import Toolpath, moves_frame
from workbench.units import MM_PER_IN

POSTS = ("grbl", "mach4", "linuxcnc", "pathpilot", "masso")
TOOL = {"number": 3, "diameter": 6.35, "description": "1/4in (flat) endmill"}
DATE = "2025-01-02"


# ---------------------------------------------------------------------------- fixtures
def _synthetic() -> Toolpath:
    """Lines, rapids, a dwell, arcs of every sweep (30 deg, 250 deg, full circle), helical
    arcs (a full turn and a quarter), a G18 semicircle and a G19 quarter helix."""
    rows: list[dict] = []
    c, r = (40.12345, 30.0), 20.0

    def on(angle: float) -> tuple[float, float]:
        return c[0] + r * math.cos(angle), c[1] + r * math.sin(angle)

    def arc(code: str, start: tuple[float, float], end: tuple[float, float], z: float, feed: float,
            kind: str = "cut") -> None:
        rows.append(dict(code=code, x=end[0], y=end[1], z=z, i=c[0] - start[0], j=c[1] - start[1],
                         feed=feed, kind=kind))

    rows.append(dict(code="G0", x=10.0, y=10.0, z=5.0, kind="rapid"))
    rows.append(dict(code="G1", x=10.0, y=10.0, z=-1.0, feed=300.0, kind="plunge"))
    a0 = -math.pi / 2
    p0 = on(a0)
    rows.append(dict(code="G1", x=p0[0], y=p0[1], z=-1.0, feed=1200.0, kind="cut"))
    a1 = a0 + math.radians(30)
    arc("G3", p0, on(a1), -1.0, 1200.0)                       # small CCW arc
    a2 = a1 - math.radians(250)
    arc("G2", on(a1), on(a2), -1.0, 1000.0)                    # > 180 degrees CW
    arc("G3", on(a2), on(a2), -1.0, 1000.0)                    # full circle
    arc("G3", on(a2), on(a2), -3.0, 800.0, "ramp")             # helical full turn
    a3 = a2 + math.pi / 2
    arc("G3", on(a2), on(a3), -3.5, 800.0, "ramp")             # helical quarter
    p3 = on(a3)
    rows.append(dict(code="G1", x=p3[0] + 5, y=p3[1], z=-3.5, feed=1200.0, kind="cut"))
    rows.append(dict(code="G4", x=p3[0] + 5, y=p3[1], z=-3.5, dwell_s=0.5, kind="dwell"))
    rows.append(dict(code="G2", x=p3[0] + 15, y=p3[1], z=-3.5, i=5.0, k=0.0, plane=18,
                     feed=600.0, kind="cut"))                  # G18 semicircle
    rows.append(dict(code="G3", x=p3[0] + 15, y=p3[1] + 3, z=-0.5, j=0.0, k=3.0, plane=19,
                     feed=600.0, kind="cut"))                  # G19 quarter
    rows.append(dict(code="G0", x=p3[0] + 15, y=p3[1] + 3, z=5.0, kind="rapid"))
    rows.append(dict(code="G0", x=0.0, y=0.0, z=5.0, kind="rapid"))
    return Toolpath(moves_frame(rows), start=(0.0, 0.0, 5.0))


@pytest.fixture(scope="module")
def tp() -> Toolpath:
    return _synthetic()


def _r_variant(name: str) -> Post:
    return load_post(name).with_overrides(
        {"arcs": {"format": "r", "full_circle": False, "max_sweep_deg": 180}})


def _code_lines(text: str, post: Post) -> list[str]:
    out = []
    for line in text.splitlines():
        if not line or line == post.delimiter or post.is_comment_line(line):
            continue
        out.append(re.sub(r"^N\d+\s*", "", line))
    return out


def _words(line: str) -> dict[str, str]:
    line = re.sub(r"\(.*?\)|;.*$", "", line)
    return {m.group(1): m.group(2) for m in re.finditer(r"([A-Z])(-?[\d.]+)", line)
            if m.group(1) not in ("G", "M")}


# ---------------------------------------------------------------------------- posts as data
def test_list_posts_are_the_five_shipped() -> None:
    assert set(POSTS) <= set(list_posts())


@pytest.mark.parametrize("name", POSTS)
def test_post_loads_with_its_sources(name: str) -> None:
    post = load_post(name)
    assert post.id == name
    assert post.sources and all(s["title"] for s in post.sources)
    assert load_post(name.upper()) is post                     # cached, case-insensitive


def test_post_settings_follow_the_controllers() -> None:
    grbl, mach4, lcnc, pp, masso = (load_post(n) for n in POSTS)
    assert [p.line_numbers.enabled for p in (grbl, mach4, lcnc, pp, masso)] == [False, False, False, True, False]
    assert grbl.dwell_unit == lcnc.dwell_unit == pp.dwell_unit == "s" and masso.dwell_unit == "ms"
    assert pp.delimiter == "%" and pp.units == "inch"
    assert grbl.arcs.tolerance_mm == 0.005 and grbl.max_line_length == 80


def test_unknown_post_lists_the_available_ones() -> None:
    with pytest.raises(PostError) as exc:
        load_post("fanuc")
    for name in POSTS:
        assert name in str(exc.value)


def test_post_json_missing_a_field_names_file_and_field(tmp_path) -> None:
    data = load_post("grbl").to_dict()
    del data["dwell"]["unit"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PostError, match=r"broken\.json: missing field 'dwell/unit'"):
        load_post(path)
    del data["arcs"]
    path.write_text(json.dumps(data))
    with pytest.raises(PostError, match=r"missing field 'arcs'"):
        load_post(str(path))


def test_post_json_bad_values_are_named(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{\n  \"id\": \"x\",\n}")
    with pytest.raises(PostError, match=r"bad\.json: not valid JSON: line 3"):
        load_post(path)
    with pytest.raises(PostError, match=r"field 'comments/style'"):
        load_post("grbl").with_overrides({"comments": {"style": "brace"}})
    with pytest.raises(PostError, match=r"arcs/full_circle"):       # R cannot draw full circles
        load_post("grbl").with_overrides({"arcs": {"format": "r"}})
    with pytest.raises(PostError, match=r"header\[\d+\]: unknown placeholder \{operator\}"):
        d = load_post("grbl").to_dict()
        d["header"].append("{operator}")
        Post.from_dict(d, source="custom.json")
    with pytest.raises(PostError, match="post file not found"):
        load_post(tmp_path / "nope.json")


# ---------------------------------------------------------------------------- program structure
@pytest.mark.parametrize("name", POSTS)
def test_header_and_footer_once_units_and_tool(tp: Toolpath, name: str) -> None:
    post = load_post(name)
    text = write(tp, post, tool=TOOL, date=DATE, coolant=True)
    lines = _code_lines(text, post)
    units = "G20" if post.units == "inch" else "G21"
    assert sum(units in l.split() for l in lines) == 1
    assert sum(("G20" if units == "G21" else "G21") in l.split() for l in lines) == 0
    end = [l for l in lines if l in ("M30", "M2")]
    assert len(end) == 1 and lines[-1] == end[0]
    assert sum(l == "G54" or "G54" in l.split() for l in lines) == 1
    assert sum("M8" in l.split() for l in lines) == 1 and sum("M9" in l.split() for l in lines) == 1
    assert text.count(f"({TOOL['description']})") == 0                 # parentheses stripped
    m6 = [l for l in lines if "M6" in l.split()]
    if name == "grbl":
        assert m6 == []                                                  # grbl 1.1 rejects M6
        assert not any(l.startswith("T") for l in lines)
    else:
        assert m6 == ["T3 M6"]
    assert (["G43 H3"] == [l for l in lines if l.startswith("G43")]) == (name in ("mach4", "linuxcnc", "pathpilot"))
    if post.delimiter:
        assert text.splitlines()[0] == text.splitlines()[-1] == "%" and text.count("%") == 2
    else:
        assert "%" not in text
    assert text.endswith("\n") and "\n\n" not in text
    assert max(len(l) for l in text.splitlines()) <= post.max_line_length


@pytest.mark.parametrize("name", POSTS)
def test_line_numbers_as_the_post_says(tp: Toolpath, name: str) -> None:
    post = load_post(name)
    for p in (post, post.with_overrides({"line_numbers": {"enabled": not post.line_numbers.enabled,
                                                          "start": 100, "step": 5}})):
        text = write(tp, p, tool=TOOL, date=DATE)
        code = [l for l in text.splitlines() if l != p.delimiter and not p.is_comment_line(l)]
        numbered = [l for l in code if re.match(r"N\d+ ", l)]
        if p.line_numbers.enabled:
            assert len(numbered) == len(code)
            ns = [int(re.match(r"N(\d+)", l).group(1)) for l in code]
            assert ns == list(range(p.line_numbers.start, p.line_numbers.start + p.line_numbers.step * len(ns),
                                    p.line_numbers.step))
        else:
            assert numbered == []


def test_line_numbers_wrap_past_max(tp: Toolpath) -> None:
    p = load_post("pathpilot").with_overrides({"line_numbers": {"start": 1, "step": 1, "max": 5}})
    ns = [int(l[1:].split()[0]) for l in write(tp, p, date=DATE).splitlines() if l.startswith("N")]
    assert max(ns) == 5 and ns[:7] == [1, 2, 3, 4, 5, 1, 2]


@pytest.mark.parametrize("name", POSTS)
def test_comments_in_the_post_syntax(tp: Toolpath, name: str) -> None:
    post = load_post(name)
    text = write(tp, post, tool=TOOL, date=DATE, program_name="bracket (rev B)",
                 header_comments={"stock": "MDF (18 mm)", "operator": "ana"})
    comments = [l for l in text.splitlines() if post.is_comment_line(l)]
    assert len(comments) >= 4
    if post.comment_style == "paren":
        for l in comments:
            assert l.startswith("(") and l.endswith(")") and l.count("(") == 1 and l.count(")") == 1
        assert "(bracket rev B)" in comments
    else:
        assert all(l.startswith("; ") and "(" not in l for l in comments)
        assert "; bracket rev B" in comments
    assert any("stock: MDF 18 mm" in l for l in comments)
    assert any("pass 2 z=" in l for l in comments)                      # depth pass comments
    quiet = write(tp, post, tool=TOOL, date=DATE, comments=False)
    assert not any(post.is_comment_line(l) for l in quiet.splitlines())
    assert "(" not in quiet and ";" not in quiet


def test_program_is_ascii(tp: Toolpath) -> None:
    text = write(tp, "grbl", program_name="Ø25 bore – naïve µm", date=DATE,
                 tool={"number": 1, "diameter": 3, "description": "⌀3 mm"})
    text.encode("ascii")
    assert "(25 bore naive m)" in text                   # accents folded, the rest dropped


def test_long_comment_is_cut_and_stays_closed(tp: Toolpath) -> None:
    post = load_post("grbl")
    text = write(tp, post, program_name="x" * 300, date=DATE)
    first = text.splitlines()[0]
    assert first.startswith("(xxx") and first.endswith(")") and len(first) <= post.comment_max_length


# ---------------------------------------------------------------------------- words
@pytest.mark.parametrize("name", POSTS)
def test_arcs_formatted_as_the_post_says(tp: Toolpath, name: str) -> None:
    post = load_post(name)
    for p in (post, _r_variant(name)):
        lines = _code_lines(write(tp, p, units="mm", date=DATE), p)
        arcs = []
        motion = None
        for l in lines:
            for g in re.findall(r"G(\d+)", l):
                if g in ("0", "1", "2", "3"):
                    motion = g
            if motion in ("2", "3") and _words(l).keys() & {"X", "Y", "Z"}:
                arcs.append(l)
        assert arcs
        for l in arcs:
            w = _words(l)
            if p.arcs.format == "ij":
                assert "R" not in w and len(w.keys() & {"I", "J", "K"}) == 2
            else:
                assert "R" in w and not w.keys() & {"I", "J", "K"} and float(w["R"]) > 0
        n_arc_rows = 7                                    # arcs of the synthetic toolpath
        if p.arcs.format == "ij" and p.arcs.full_circle:
            assert len(arcs) == n_arc_rows                # nothing split
        elif p.arcs.format == "ij":
            assert len(arcs) == n_arc_rows + 2            # two full circles in halves
        else:
            # R pieces <= 120 deg: 30 -> 1, 250 -> 3, 360 -> 3, helix 360 -> 3, 90 -> 1,
            # G18 180 -> 2, G19 90 -> 1
            assert len(arcs) == 14


@pytest.mark.parametrize("name", POSTS)
def test_inch_output_converts_lengths_and_feeds(tp: Toolpath, name: str) -> None:
    post = load_post(name)
    dec = post.decimals_for("inch")
    lines = _code_lines(write(tp, post, units="inch", tool=TOOL, date=DATE), post)
    assert sum("G20" in l.split() for l in lines) == 1 and not any("G21" in l.split() for l in lines)
    first = next(l for l in lines if "X" in _words(l) and float(_words(l)["X"]) != 0.0)
    assert _words(first)["X"] == f"{10 / MM_PER_IN:.{dec.coord}f}".rstrip("0")
    feeds = [float(_words(l)["F"]) for l in lines if "F" in _words(l)]
    assert feeds[:2] == [round(300 / MM_PER_IN, dec.feed), round(1200 / MM_PER_IN, dec.feed)]
    mm_lines = _code_lines(write(tp, post, units="mm", date=DATE), post)
    xs_mm = [float(_words(l)["X"]) for l in mm_lines if "X" in _words(l)]
    xs_in = [float(_words(l)["X"]) for l in lines if "X" in _words(l)]
    np.testing.assert_allclose(np.array(xs_in) * MM_PER_IN, xs_mm, atol=0.5 * 10.0 ** -dec.coord * MM_PER_IN + 1e-3)


@pytest.mark.parametrize("name", POSTS)
def test_modal_words_are_not_repeated(tp: Toolpath, name: str) -> None:
    post = load_post(name)
    lines = _code_lines(write(tp, post, units="mm", date=DATE), post)
    body = lines[lines.index(next(l for l in lines if l.startswith("G0 "))):]
    f_values = [_words(l)["F"] for l in body if "F" in _words(l)]
    assert all(a != b for a, b in zip(f_values, f_values[1:]))
    assert body[:2] == ["G0 Z5", "X0 Y0"]                # to the start: Z alone, then X/Y
    assert body[3] == "G1 Z-1 F300"                     # plunge: only Z changes
    assert body[4].startswith("X40.123") and "Z" not in _words(body[4])   # G1 and Z not repeated
    assert body[4].endswith(" F1200") and not body[4].startswith("G")
    assert not any(l.startswith("G0") and "F" in _words(l) for l in body)  # G0 never has F
    unmod = post.with_overrides({"modal": {"motion": False, "feed": False, "coordinates": False}})
    full = _code_lines(write(tp, unmod, units="mm", date=DATE), unmod)
    for l in full[full.index(next(l for l in full if l.startswith("G0 "))):]:
        if l.startswith(("G1 ", "G2 ", "G3 ")):
            assert "F" in _words(l) and "Z" in _words(l)


@pytest.mark.parametrize("name", POSTS)
def test_dwell_in_the_controller_unit(tp: Toolpath, name: str) -> None:
    post = load_post(name)
    dwell = [l for l in _code_lines(write(tp, post, date=DATE), post) if l.startswith("G4 ")]
    assert dwell == (["G4 P500"] if post.dwell_unit == "ms" else ["G4 P0.5"])


def test_spindle_and_work_offset_options(tp: Toolpath) -> None:
    lines = _code_lines(write(tp, "linuxcnc", spindle_rpm=12000.4, work_offset="G59.1", date=DATE),
                        load_post("linuxcnc"))
    assert "S12000 M3" in lines and "G59.1" in lines
    lines = _code_lines(write(tp, "grbl", spindle_rpm=None, date=DATE), load_post("grbl"))
    assert not any("M3" in l.split() for l in lines) and "M5" in lines


# ---------------------------------------------------------------------------- arc consistency
def _arc_radius_mismatch(text: str, post: Post) -> list[float]:
    """|r_start - r_end| (program units) of every I/J/K arc block, by a minimal modal parse."""
    pos = {"X": 0.0, "Y": 0.0, "Z": 0.0}
    plane, motion, out = "17", None, []
    axes = {"17": ("X", "Y", "I", "J"), "18": ("Z", "X", "K", "I"), "19": ("Y", "Z", "J", "K")}
    for l in _code_lines(text, post):
        for g in re.findall(r"G(\d+(?:\.\d+)?)", l):
            if g in ("17", "18", "19"):
                plane = g
            elif g in ("0", "1", "2", "3"):
                motion = g
        w = {k: float(v) for k, v in _words(l).items()}
        if not w.keys() & {"X", "Y", "Z"}:
            continue
        end = {a: w.get(a, pos[a]) for a in pos}
        if motion in ("2", "3"):
            a, b, oa, ob = axes[plane]
            ca, cb = pos[a] + w.get(oa, 0.0), pos[b] + w.get(ob, 0.0)
            out.append(abs(math.hypot(pos[a] - ca, pos[b] - cb) - math.hypot(end[a] - ca, end[b] - cb)))
        pos = end
    return out


@pytest.mark.parametrize("units", ["mm", "inch"])
def test_random_arcs_pass_the_controller_radius_check(units: str) -> None:
    """I/J are computed from the rounded start: every arc meets grbl's 0.005 mm check."""
    rng = np.random.default_rng(7)
    rows, pos = [], np.array([0.0, 0.0, 0.0])
    for _ in range(400):
        r = float(np.exp(rng.uniform(np.log(0.05), np.log(800.0))))
        phi = rng.uniform(0, 2 * np.pi)
        centre = pos[:2] - r * np.array([np.cos(phi), np.sin(phi)])
        sweep = rng.uniform(0.01, 2 * np.pi)
        code = "G3" if rng.random() < 0.5 else "G2"
        end_a = phi + (sweep if code == "G3" else -sweep)
        end = np.array([centre[0] + r * np.cos(end_a), centre[1] + r * np.sin(end_a),
                        pos[2] + rng.uniform(-1, 1)])
        rows.append(dict(code=code, x=end[0], y=end[1], z=end[2], i=centre[0] - pos[0],
                         j=centre[1] - pos[1], feed=1000.0))
        pos = end
    tp = Toolpath(moves_frame(rows), start=(0.0, 0.0, 0.0))
    for name in POSTS:
        post = load_post(name)
        text = write(tp, post, units=units, date=DATE, comments=False)
        mism = np.array(_arc_radius_mismatch(text, post))
        scale = MM_PER_IN if units == "inch" else 1.0
        assert len(mism) >= 400
        assert (mism * scale).max() <= post.arcs.tolerance_mm


def test_arc_shorter_than_resolution_becomes_a_line() -> None:
    rows = [dict(code="G0", x=0.0, y=0.0, z=0.0, kind="rapid"),
            dict(code="G3", x=100 * math.cos(2e-6), y=100 * math.sin(2e-6) + 0.0, z=0.0,
                 i=0.0, j=0.0, feed=500.0)]
    rows[1]["x"] -= 100.0
    rows[1]["i"], rows[1]["j"] = -100.0, 0.0
    # start (0,0), centre (-100, 0): a 2e-6 rad arc = 0.0002 mm, below 0.001 mm resolution
    tp = Toolpath(moves_frame(rows))
    lines = _code_lines(write(tp, "grbl", date=DATE, comments=False), load_post("grbl"))
    assert not any(re.match(r"G[23] ", l) for l in lines)
    assert lines[-3].startswith("G3") is False and "G1" in " ".join(lines)


@pytest.mark.parametrize("name", POSTS)
def test_half_circle_stays_an_arc(name: str) -> None:
    # a trochoid loop's return (a 2 mm half circle from plan_adaptive): rounded to the post's
    # decimals, the controller would have seen a sweep just over 180 deg, and the writer once
    # wrote it as the straight chord instead (1 mm off the arc, through stock, at link feed)
    start = (5.422910357812013, 198.03, -3.0)
    rows = [dict(code="G1", x=start[0], y=start[1], z=start[2], feed=1500.0),
            dict(code="G3", x=3.454144221661421, y=198.25654645785983, z=-3.0,
                 i=-0.984383068075882, j=0.11327322892449843, feed=6000.0)]
    tp = Toolpath(moves_frame(rows), start=start)
    text = write(tp, name, date=DATE, comments=False)
    back = read(text).moves
    arcs = back[back["code"] == "G3"]
    assert len(arcs) >= 1 and not (back["code"] == "G2").any()
    # every point of the arc as the controller reads it lies on the planned circle
    centre = np.array([start[0] - 0.984383068075882, start[1] + 0.11327322892449843])
    radius = math.hypot(0.984383068075882, 0.11327322892449843)
    ends = arcs[["x", "y"]].to_numpy()
    assert np.abs(np.hypot(*(ends - centre).T) - radius).max() < 2e-3
    # every piece passes the controller's radius check
    mism = _arc_radius_mismatch(text, load_post(name))
    assert mism and max(mism) <= load_post(name).arcs.tolerance_mm


# ---------------------------------------------------------------------------- bad input
def test_nan_coordinates_are_refused(tp: Toolpath) -> None:
    moves = tp.moves.copy()
    moves.loc[4, "y"] = np.nan
    with pytest.raises(InputError, match=r"row 4: end point is not finite"):
        write(Toolpath(moves, start=tp.start), "grbl")


def test_unknown_code_and_missing_feed_are_refused(tp: Toolpath) -> None:
    moves = tp.moves.copy()
    moves.loc[2, "code"] = "G5"
    with pytest.raises(InputError, match=r"row 2: unknown code 'G5'"):
        write(Toolpath(moves, start=tp.start), "mach4")
    moves = tp.moves.copy()
    moves.loc[3, "feed"] = np.nan
    with pytest.raises(InputError, match=r"row 3: G3 needs a positive finite feed"):
        write(Toolpath(moves, start=tp.start), "mach4")
    moves = tp.moves.copy()
    moves.loc[3, "j"] = np.nan
    with pytest.raises(InputError, match=r"row 3: G3 arc in G17 needs finite i and j"):
        write(Toolpath(moves, start=tp.start), "linuxcnc")
    moves = tp.moves.copy()
    moves.loc[3, "i"] += 1.0
    with pytest.raises(InputError, match=r"row 3: G3 arc start radius .* differ"):
        write(Toolpath(moves, start=tp.start), "linuxcnc")


def test_bad_arguments_are_refused(tp: Toolpath) -> None:
    with pytest.raises(InputError, match="units"):
        write(tp, "grbl", units="furlong")
    with pytest.raises(InputError, match=r"work offset 'G59.1' is not accepted by post grbl"):
        write(tp, "grbl", work_offset="G59.1")
    with pytest.raises(InputError, match="tool number"):
        write(tp, "grbl", tool={"number": "first"})
    with pytest.raises(InputError, match="spindle_rpm"):
        write(tp, "grbl", spindle_rpm=-1)
    with pytest.raises(PostError, match="plane G18"):
        write(tp, load_post("grbl").with_overrides({"arcs": {"planes": [17]}}))


def test_write_file_returns_the_path(tp: Toolpath, tmp_path) -> None:
    path = write_file(tp, "masso", tmp_path / "out" / "pocket.nc", date=DATE, tool=TOOL)
    assert path == tmp_path / "out" / "pocket.nc"
    assert path.read_text() == write(tp, "masso", date=DATE, tool=TOOL)


# ---------------------------------------------------------------------------- read-back invariant
def _centres(moves: pd.DataFrame, start: tuple[float, float, float]) -> np.ndarray:
    """Absolute arc centres (x, y, z; NaN where the plane has no such offset)."""
    ends = moves[["x", "y", "z"]].to_numpy(dtype=float)
    starts = np.vstack([np.asarray(start, dtype=float)[None, :], ends[:-1]])
    return starts + moves[["i", "j", "k"]].to_numpy(dtype=float)


def assert_reads_back(tp: Toolpath, post: Post, units: str, centre_factor: float = 1.0) -> int:
    """read(write(tp)) reproduces every motion of ``tp`` within the output precision.

    Arcs may come back split into pieces (max sweep, full circles, R form): each piece must
    have the original's code, plane, feed and centre, end on the original circle, and the
    last piece must end at the original end point. Returns the number of rows read back.
    """
    text = write(tp, post, units=units, tool=TOOL, date=DATE)
    got = read(text, start=tp.start, dwell_unit=post.dwell_unit).moves
    dec = post.decimals_for(units)
    scale = MM_PER_IN if units == "inch" else 1.0
    tol = 0.5 * 10.0 ** -dec.coord * scale + 1e-9                # half a unit, in mm
    # the program first goes to the start: Z alone, then X/Y (see test_first_motion_...)
    assert list(got["code"].iloc[:2]) == ["G0", "G0"]
    assert np.abs(got[["x", "y", "z"]].to_numpy(dtype=float)[:2] - np.asarray(tp.start)).max() <= tol
    got = got.iloc[2:].reset_index(drop=True)
    ftol = 0.5 * 10.0 ** -dec.feed * scale + 1e-9
    ctol = centre_factor * tol
    want_c = _centres(tp.moves, tp.start)
    got_c = _centres(got, tp.start)
    wx = tp.moves[["x", "y", "z"]].to_numpy(dtype=float)
    gx = got[["x", "y", "z"]].to_numpy(dtype=float)
    wcode, gcode = tp.moves["code"].to_numpy(), got["code"].to_numpy()
    wplane, gplane = tp.moves["plane"].to_numpy(), got["plane"].to_numpy()
    wfeed, gfeed = tp.moves["feed"].to_numpy(dtype=float), got["feed"].to_numpy(dtype=float)
    wdwell, gdwell = tp.moves["dwell_s"].to_numpy(dtype=float), got["dwell_s"].to_numpy(dtype=float)
    k = 0
    for r in range(len(wx)):
        end = wx[r]
        if wcode[r] in ("G0", "G1", "G4"):
            assert gcode[k] == wcode[r], f"row {r}"
            assert np.abs(gx[k] - end).max() <= tol, f"row {r}: {gx[k]} != {end}"
            if wcode[r] == "G1":
                assert abs(gfeed[k] - wfeed[r]) <= ftol, f"row {r}"
            if wcode[r] == "G4":
                assert gdwell[k] == pytest.approx(wdwell[r])      # read in the post's dwell unit
            k += 1
            continue
        plane = int(wplane[r])
        axes = {17: [0, 1], 18: [2, 0], 19: [1, 2]}[plane]
        centre = want_c[r][axes]
        radius = float(np.hypot(*(end[axes] - centre)))
        pieces = 0
        while True:
            assert gcode[k] == wcode[r] and int(gplane[k]) == plane, f"row {r} piece {pieces}"
            assert abs(gfeed[k] - wfeed[r]) <= ftol, f"row {r}"
            assert np.abs(got_c[k][axes] - centre).max() <= ctol, \
                f"row {r} piece {pieces}: centre {got_c[k][axes]} != {centre}"
            assert abs(np.hypot(*(gx[k][axes] - centre)) - radius) <= ctol + 2 * tol
            pieces += 1
            k += 1
            if np.abs(gx[k - 1] - end).max() <= tol:
                break
            assert pieces < 8, f"row {r}: read-back arc never reaches its end point"
    assert k == len(got), "extra rows read back"
    return len(got)


@pytest.mark.parametrize("units", ["mm", "inch"])
@pytest.mark.parametrize("name", POSTS)
def test_read_back_reproduces_the_toolpath(tp: Toolpath, name: str, units: str) -> None:
    post = load_post(name)
    n = assert_reads_back(tp, post, units)
    assert n == len(tp.moves) + (0 if post.arcs.full_circle else 2)


@pytest.mark.parametrize("units", ["mm", "inch"])
@pytest.mark.parametrize("name", ["grbl", "linuxcnc"])
def test_read_back_r_form(tp: Toolpath, name: str, units: str) -> None:
    # R pieces <= 120 deg: the controller's centre moves by < ~2x the rounding of the ends
    # (plus the rounding of R), so centres are checked to 4 half-units.
    n = assert_reads_back(tp, _r_variant(name), units, centre_factor=4.0)
    assert n == len(tp.moves) + 7


@pytest.mark.shared
def test_read_back_of_a_real_program(shared_data) -> None:
    """A CAM program with hundreds of arcs: read it, write it with each post, read it back."""
    src = read((shared_data / "gcode" / "botomata_bottom.nc").read_text(), strict=False)
    moves = src.moves
    # the writer writes nothing for a move that does not move (the reader keeps those rows)
    moves = moves[(moves["len_mm"] > 0) | (moves["code"] == "G4")].reset_index(drop=True)
    assert (moves["code"].isin(["G2", "G3"])).sum() > 50
    tp = Toolpath(moves, start=src.start)
    for name, units in (("grbl", "mm"), ("linuxcnc", "mm"), ("masso", "mm"), ("pathpilot", "inch")):
        assert_reads_back(tp, load_post(name), units)      # 3 and 4 decimals, split circles, inch



@pytest.mark.parametrize("name", POSTS)
def test_first_motion_raises_z_alone_then_moves_xy(tp: Toolpath, name: str) -> None:
    """Wherever the tool was left, the program first goes to the start height in Z only, then
    over in X/Y: never a three-axis rapid from an unknown position into the work."""
    post = load_post(name)
    lines = _code_lines(write(tp, post, tool=TOOL, date=DATE), post)
    motions = [l for l in lines if set(_words(l)) & set("XYZ") and "G43" not in l]
    z_only, xy = _words(motions[0]), _words(motions[1])
    assert motions[0].split()[0] == "G0", motions[0]
    assert set(z_only) & set("XYZ") == {"Z"}, motions[0]
    assert set(xy) & set("XYZ") == {"X", "Y"}, motions[1]
    scale = MM_PER_IN if post.units == "inch" else 1.0
    assert float(z_only["Z"]) * scale == pytest.approx(tp.start[2], abs=0.02)
    assert (float(xy["X"]) * scale, float(xy["Y"]) * scale) == pytest.approx(tp.start[:2], abs=0.02)
