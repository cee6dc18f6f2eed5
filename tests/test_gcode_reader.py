"""Tests of workbench.gcode.reader: hand-computed cases per family, errors with their line,
the shared real-world programs, and the fast engine against the general (reference) one."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import GCodeError
from workbench.gcode.reader import read, read_file
from workbench.toolpath import MOVE_COLUMNS, validate_moves

PI = math.pi


def mv(text: str, **kw) -> pd.DataFrame:
    tp = read(text, **kw)
    validate_moves(tp.moves)
    return tp.moves


def xyz(df: pd.DataFrame) -> list[tuple[float, float, float]]:
    return [tuple(round(v, 9) + 0.0 for v in r) for r in df[["x", "y", "z"]].to_numpy()]


def both(text: str, **kw) -> pd.DataFrame:
    """Read with both engines; they must agree exactly; returns the table."""
    g = read(text, engine="general", **kw).moves
    a = read(text, **kw).moves
    pd.testing.assert_frame_equal(a, g, check_exact=True)
    return g


# --- lines, units, distance modes ------------------------------------------------------------

def test_lines_columns_and_kinds() -> None:
    df = both("G21 G90\nG0 X1 Y2 Z3\nG1 Z-1 F300\nG1 X5 Y2 Z-1\nG1 Z2\n")
    assert list(df.columns[: len(MOVE_COLUMNS)]) == list(MOVE_COLUMNS)
    assert list(df.columns[len(MOVE_COLUMNS):]) == ["spindle_rpm", "tool"]
    assert xyz(df) == [(1, 2, 3), (1, 2, -1), (5, 2, -1), (5, 2, 2)]
    assert df["kind"].tolist() == ["rapid", "plunge", "cut", "cut"]
    assert df["code"].tolist() == ["G0", "G1", "G1", "G1"]
    assert np.isnan(df["feed"][0]) and df["feed"][1:].tolist() == [300, 300, 300]
    assert df["len_mm"].tolist() == [pytest.approx(math.sqrt(14)), 4.0, 4.0, 3.0]
    assert df["line"].tolist() == [2, 3, 4, 5]
    assert df["rest_before"].tolist() == [True, False, False, False]


def test_inches_converted_to_mm() -> None:
    df = both("G20\nG1 X1 Y-0.5 F10\nG21 G1 X1\n")
    assert xyz(df) == [(25.4, -12.7, 0), (1, -12.7, 0)]
    assert df["feed"].tolist() == [254.0, 254.0]  # feed stays in mm/min after G21 (grbl)
    assert read("G20\nG1 X1 F10\nG21\n").meta["units_seen"] == ["inch", "mm"]
    assert xyz(mv("G1 X1 F1\n", units="inch")) == [(25.4, 0, 0)]


def test_incremental_and_start_position() -> None:
    df = both("G91 G0 X1 Y1\nX1\nG90 X0\nG91 Y-2 Z1\n", start=(10, 20, 30))
    assert read("G0 X1", start=(10, 20, 30)).start == (10.0, 20.0, 30.0)
    assert xyz(df) == [(11, 21, 30), (12, 21, 30), (0, 21, 30), (0, 19, 31)]


def test_g91_with_g90_1_absolute_arc_centre() -> None:
    df = both("G90.1 G91 G1 X10 F100\nG3 X-10 Y0 I5 J0\n")
    assert xyz(df) == [(10, 0, 0), (0, 0, 0)]
    arc = df.iloc[1]
    assert arc["i"] == -5.0 and arc["j"] == 0.0 and np.isnan(arc["k"])
    assert arc["radius_mm"] == 5.0
    assert arc["len_mm"] == pytest.approx(5 * PI)  # CCW from (10,0) over (5,5) to (0,0)


# --- arcs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, sweep", [("G2", PI / 2), ("G3", 3 * PI / 2)])
def test_arc_g17_direction(code: str, sweep: float) -> None:
    # from (0,0) to (5,5) around (5,0): clockwise is the short quarter (through (0.9,3.5))
    df = both(f"G1 F100\n{code} X5 Y5 I5 J0\n")
    r = df.iloc[0]
    assert (r["i"], r["j"], r["radius_mm"], r["plane"]) == (5.0, 0.0, 5.0, 17)
    assert np.isnan(r["k"])
    assert r["len_mm"] == pytest.approx(5 * sweep, rel=1e-12)
    assert r["kind"] == "cut" and r["feed"] == 100.0


@pytest.mark.parametrize("code, sweep", [("G2", 3 * PI / 2), ("G3", PI / 2)])
def test_arc_g18_direction(code: str, sweep: float) -> None:
    # grbl G18 plane axes are (Z, X): start-centre (0,-5), end-centre (5,0): atan2 = +90 deg
    df = both(f"G18 G1 F100\n{code} X5 Z5 I5 K0\n")
    r = df.iloc[0]
    assert (r["i"], r["k"], r["radius_mm"], r["plane"]) == (5.0, 0.0, 5.0, 18)
    assert np.isnan(r["j"])
    assert xyz(df) == [(5, 0, 5)]
    assert r["len_mm"] == pytest.approx(5 * sweep, rel=1e-12)


@pytest.mark.parametrize("code, sweep", [("G2", PI / 2), ("G3", 3 * PI / 2)])
def test_arc_g19_direction(code: str, sweep: float) -> None:
    # G19 axes (Y, Z): start-centre (-5,0), end-centre (0,5): cross = -25 -> -90 deg
    df = both(f"G19 G1 F100\n{code} Y5 Z5 J5 K0\n")
    r = df.iloc[0]
    assert (r["j"], r["k"], r["plane"]) == (5.0, 0.0, 19)
    assert np.isnan(r["i"])
    assert r["len_mm"] == pytest.approx(5 * sweep, rel=1e-12)


def test_r_form_positive_and_negative() -> None:
    # chord (0,0)-(6,0), R 5: centre (3,-4) for G2 R5 (minor arc), (3,4) for R-5 (major arc)
    minor = 2 * math.asin(3 / 5)
    df = both("G1 F100\nG2 X6 Y0 R5\nG0 X0 Y0\nG2 X6 Y0 R-5\nG0 X0 Y0\nG3 X6 Y0 R5\n")
    a, b, c = df.iloc[0], df.iloc[2], df.iloc[4]
    assert (a["i"], a["j"], a["radius_mm"]) == (3.0, -4.0, 5.0)
    assert a["len_mm"] == pytest.approx(5 * minor)
    assert (b["i"], b["j"], b["radius_mm"]) == (3.0, 4.0, 5.0)
    assert b["len_mm"] == pytest.approx(5 * (2 * PI - minor))
    assert (c["i"], c["j"]) == (3.0, 4.0)  # G3 with R5: minor arc on the other side
    assert c["len_mm"] == pytest.approx(5 * minor)


def test_full_circle_and_helix() -> None:
    df = both("G1 F100\nG2 X0 Y0 I5 J0\nG3 I-5 J0 X0 Y0 Z-3\n")
    assert df["len_mm"][0] == pytest.approx(10 * PI)
    assert xyz(df) == [(0, 0, 0), (0, 0, -3)]
    assert df["len_mm"][1] == pytest.approx(math.sqrt((10 * PI) ** 2 + 9))


# --- feed modes, dwell, spindle, rest -------------------------------------------------------

def test_inverse_time_feed() -> None:
    df = both("G93 G1 X10 F2\nG1 X10 Y5 F6\nG94 G1 X0 F100\n")
    assert df["feed"].tolist() == [20.0, 30.0, 100.0]  # F * len (1/min * mm)
    with pytest.raises(GCodeError) as e:
        read("G93 G1 X10 F2\nG1 X20\n")
    assert e.value.line == 2
    with pytest.raises(GCodeError) as e:  # leaving G93 makes the feed undefined (grbl)
        read("G1 X1 F100\nG93 G1 X2 F1\nG94 G1 X3\n")
    assert e.value.line == 3


def test_dwell_spindle_tool_and_rest_before() -> None:
    text = ("T2 M6\nS1000 M3\nG0 X1\nS1000\nG0 X2\nS2000\nG0 X3\nG4 P2.5\nG0 X4\nM8\nG0 X5\n"
            "M8\nG0 X6\nM5\nG1 X7 F10\nS3000\nG1 X8\nM30\n")
    df = both(text)
    assert df["code"].tolist() == ["G0", "G0", "G0", "G4", "G0", "G0", "G0", "G1", "G1"]
    assert df["rest_before"].tolist() == [True, False, True, True, True, True, False, True, False]
    dw = df.iloc[3]
    assert (dw["dwell_s"], dw["kind"], dw["len_mm"], dw["x"]) == (2.5, "dwell", 0.0, 3.0)
    assert df["spindle_rpm"].tolist() == [1000, 1000, 2000, 2000, 2000, 2000, 2000, 0, 0]
    assert set(df["tool"]) == {2}
    meta = read(text).meta
    assert meta["tools"] == [2] and meta["spindle_speeds"] == [1000.0, 2000.0, 3000.0]
    assert meta["feed_range"] == [10.0, 10.0]


def test_tool_change_and_offset_writes_rest() -> None:
    df = mv("G0 X1\nT3 M6\nG0 X2\nG10 L2 P1 X0\nG0 X3\nG92 X3\nG0 X4\nG0 X5\n")
    assert df["rest_before"].tolist() == [True, True, True, True, False]
    assert df["tool"].tolist() == [0, 3, 3, 3, 3]


# --- canned cycles ----------------------------------------------------------------------------

def test_g81_g98_and_g99() -> None:
    pre = "G0 X0 Y0 Z10\nG1 F100\n"
    df = mv(pre + "G98 G81 X5 Y5 Z-2 R1\nX10\nG80\n")
    assert xyz(df)[1:] == [(5, 5, 10), (5, 5, 1), (5, 5, -2), (5, 5, 10),
                           (10, 5, 10), (10, 5, 1), (10, 5, -2), (10, 5, 10)]
    assert df["code"].tolist()[1:] == ["G0", "G0", "G1", "G0"] * 2
    assert df["kind"].tolist()[3] == "plunge" and df["feed"].tolist()[3] == 100.0
    df = mv(pre + "G99 G81 X5 Y5 Z-2 R1\nX10\n")
    assert xyz(df)[1:] == [(5, 5, 10), (5, 5, 1), (5, 5, -2), (5, 5, 1),
                           (10, 5, 1), (10, 5, -2), (10, 5, 1)]


def test_g82_dwell_and_start_below_r() -> None:
    df = mv("G1 Z-1 F50\nG82 X2 Y0 Z-3 R2 P0.5\n")
    assert df["code"].tolist() == ["G1", "G0", "G0", "G1", "G4", "G0"]
    assert xyz(df) == [(0, 0, -1), (0, 0, 2), (2, 0, 2), (2, 0, -3), (2, 0, -3), (2, 0, 2)]
    assert df["dwell_s"][4] == 0.5 and df["rest_before"][5]


def test_g83_peck_and_g73_chip_break() -> None:
    d = 0.254
    df = mv("G0 Z5\nG1 F100\nG83 X0 Y0 Z-2 R1 Q1\n")
    assert [r[2] for r in xyz(df)[1:]] == [5, 1, 0, 1, d, -1, 1, -1 + d, -2, 5]
    assert df["code"].tolist()[1:] == ["G0", "G0", "G1", "G0", "G0", "G1", "G0", "G0", "G1", "G0"]
    df = mv("G0 Z5\nG1 F100\nG99 G73 X0 Y0 Z-2 R1 Q1\n")
    assert [r[2] for r in xyz(df)[1:]] == [5, 1, 0, d, -1, -1 + d, -2, 1]


def test_canned_cycle_incremental_repeats() -> None:
    df = mv("G0 Z5\nG1 F100\nG91 G81 X10 Y0 Z-3 R-2 L3\n")
    exp = []
    for x in (10, 20, 30):
        exp += [(x, 0, 5), (x, 0, 3), (x, 0, 0), (x, 0, 5)]
    assert xyz(df)[1:] == exp


# --- offsets ----------------------------------------------------------------------------------

def test_work_offsets_g10_l2_l20() -> None:
    df = both("G55 G0 X1 Y1\nG54 X1 Y1\n", work_offsets={"G55": (100, 200, 0), 1: (5, 0, 0)})
    assert xyz(df) == [(101, 201, 0), (6, 1, 0)]
    df = mv("G10 L2 P2 X10 Y20 Z0\nG55 G0 X1 Y1\nG54 G0 X5 Y5\nG10 L20 P1 X0 Y0\nG0 X1 Y0\n")
    assert xyz(df) == [(11, 21, 0), (5, 5, 0), (6, 5, 0)]
    # P0 = the current system; values in inches under G20
    df = mv("G55\nG20 G10 L2 P0 X1\nG0 X0\n")
    assert xyz(df) == [(25.4, 0, 0)]


def test_g92_and_g92_1() -> None:
    df = mv("G0 X10\nG92 X0\nG0 X5\nG92.1\nG0 X5\n")
    assert xyz(df) == [(10, 0, 0), (15, 0, 0), (5, 0, 0)]


def test_g53_machine_coordinates_this_block_only() -> None:
    df = mv("G53 G0 X1\nG0 X1\nG91 G53 G1 X2 F10\n", work_offsets={"G54": (100, 0, 0)})
    assert xyz(df) == [(1, 0, 0), (101, 0, 0), (2, 0, 0)]
    with pytest.raises(GCodeError) as e:
        read("G1 F1\nG53 G2 X1 I1\n")
    assert e.value.line == 2


def test_g28_g30_stored_positions() -> None:
    df = mv("G0 X10 Y10 Z5\nG28 Z8\nG28\n")
    assert xyz(df) == [(10, 10, 5), (10, 10, 8), (10, 10, 0), (0, 0, 0)]
    df = mv("#5181=3\n#5182=4\n#5183=5\nG30\nG0 X1 Y1 Z1\nG28.1\nG0 X9\nG28\n")
    assert xyz(df) == [(3, 4, 5), (1, 1, 1), (9, 1, 1), (1, 1, 1)]


def test_tool_length_offset() -> None:
    df = mv("G43 H1 G0 Z0\nG49 G0 Z0\nT2 M6 G43\nG0 Z0\n", tool_lengths={1: 12.5, 2: 3})
    assert [r[2] for r in xyz(df)] == [12.5, 0, 3]
    assert xyz(mv("G43 H7 G0 Z1\n")) == [(0, 0, 1)]  # unknown tool: length 0


# --- parameters and expressions --------------------------------------------------------------

@pytest.mark.parametrize("expr, value", [
    ("[1+2*3]", 7), ("[2*3**2]", 18), ("[10-2-3]", 5), ("[2**3**2]", 64), ("[-7 MOD 3]", 2),
    ("[7 MOD 3]", 1), ("[SIN[30]]", 0.5), ("[ATAN[1]/[1]]", 45), ("SQRT[16]", 4),
    ("[ABS[-2]]", 2), ("[FIX[-1.5]]", -2), ("[FUP[1.2]]", 2), ("[ROUND[2.5]]", 3),
    ("[ROUND[-2.5]]", -3), ("[1 EQ 1.00001]", 1), ("[2 GT 1 AND 0]", 0),
    ("[1 LT 2 OR 0]", 1), ("[1 XOR 1]", 0), ("[ACOS[0]]", 90), ("[EXP[0]+LN[1]]", 1),
    ("[COS[60]*2]", 1), ("[TAN[45]]", 1), ("[ASIN[1]]", 90), ("[3 GE 3] ", 1),
    ("[3 LE 2]", 0), ("[3 NE 3]", 0), ("-[2]", -2), ("[8/2/2]", 2),
])
def test_expressions(expr: str, value: float) -> None:
    df = mv(f"G0 X{expr}\n")
    assert df["x"][0] == pytest.approx(value, abs=1e-12)


def test_parameters_numbered_named_and_end_of_line_semantics() -> None:
    text = ("#1=2\n#<a>=[#1*3]\n#<_g>=1\nG0 X[#<a>+1] Y#<_g> Z[EXISTS[#<a>]+EXISTS[#<b>]]\n"
            "#1=5 #2=#1\nG0 X#2 Y#[1] Z0\n#3=1\nG0 Z##3\n")
    df = mv(text)
    assert xyz(df) == [(7, 1, 1), (2, 5, 0), (2, 5, 5)]  # #2 got the old #1
    assert xyz(mv("G20 G0 X1\nG0 Y[#<_x>*2]\n")) == [(25.4, 0, 0), (25.4, 50.8, 0)]
    assert xyz(mv("G0 X3\nG0 Y#5420\n")) == [(3, 0, 0), (3, 3, 0)]


# --- errors (each with its line) -------------------------------------------------------------

@pytest.mark.parametrize("text, line, fragment", [
    ("G0 X1\nG17.1\n", 2, "unsupported G-code"),
    ("G0 X1\nM98\n", 2, "unsupported M-code"),
    ("G0 X1\nG0 E5\n", 2, "unsupported word"),
    ("G0 X1\nG0 G1 X2 F1\n", 2, "motion modal group"),
    ("G17 G18\n", 1, "plane modal group"),
    ("M3 M5\n", 1, "spindle modal group"),
    ("G0 X1 X2\n", 1, "repeated"),
    ("G1 F10\nG2 X10 Y0 I4 J0\n", 2, "radius differs"),
    ("G1 F10\nG2 X0 Y0 R5\n", 2, "start == end"),
    ("G1 F10\nG2 X20 Y0 R5\n", 2, "smaller than half the chord"),
    ("G0 X1\nG1 X2\n", 2, "undefined feed rate"),
    ("G1 X2 F0\n", 1, "undefined feed rate"),
    ("G80\nX1\n", 2, "G80"),
    ("G0 X1\nG0 X[1/0]\n", 2, "division by zero"),
    ("#1=[2 MOD 0]\n", 1, "division by zero"),
    ("G0 X[SQRT[-1]]\n", 1, "domain"),
    ("G0 X[EXP[1000]]\n", 1, "domain"),
    ("G0 X#<nope>\n", 1, "not defined"),
    ("G0 X1 (open\n", 1, "unclosed comment"),
    ("G0 X1 ) Y2\n", 1, "not a G-code word"),
    ("G0 X\n", 1, "no value"),
    ("G0 X1.2.3\n", 1, "not a G-code word"),
    ("G4\n", 1, "P word"),
    ("G0 X1 I2\n", 1, "not used"),
    ("G1 F1\nG2 X1\n", 2, "offset word"),
    ("G1 F1\nG2 Z1 I1\n", 2, "axis word"),
    ("G0 X1\nG1 F1\nG81 X1 Y1 R1\n", 3, "Z word"),
    ("G1 F1\nG83 X1 Y1 Z-1 R1\n", 2, "Q word"),
    ("G10 L1 P1 Z1\n", 1, "G10 L2"),
])
def test_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(GCodeError) as e:
        read(text, path="prog.nc")
    assert e.value.line == line
    assert fragment in str(e.value)
    assert "prog.nc" in str(e.value) and f"line {line}" in str(e.value)


def test_binary_junk_and_undecodable_bytes(tmp_path: Path) -> None:
    p = tmp_path / "junk.nc"
    p.write_bytes(b"G0 X1\nG0 Y1\n\x00\x01\x02garbage\n")
    with pytest.raises(GCodeError) as e:
        read_file(p)
    assert e.value.line == 3 and "binary" in str(e.value)
    p.write_bytes(b"G0 X1\n(caf\xe9)\n")
    with pytest.raises(GCodeError) as e:
        read_file(p)
    assert e.value.line == 2
    with pytest.raises(GCodeError):
        read_file(tmp_path / "missing.nc")


# --- comments, block delete, % ---------------------------------------------------------------

def test_comments_block_delete_and_percent() -> None:
    text = "%\n(header) G21\nG0 X1 ; go (there\n/G0 X99\nG0 Y2 (a) Z3 (b)\n%\nG0 X50\n"
    tp = read(text)
    assert xyz(tp.moves) == [(1, 0, 0), (1, 2, 3)]
    assert any("after the closing '%'" in w for w in tp.meta["warnings"])
    assert xyz(mv("/G0 X99\n", block_delete=False)) == [(99, 0, 0)]


def test_nested_comments_strict_and_allow() -> None:
    text = "G0 X1\n( at (1.68, 6.43), 3.37 )\nG0 Y2\n"
    with pytest.raises(GCodeError) as e:
        read(text)
    assert e.value.line == 2
    df = both(text, nested_comments="allow")
    assert xyz(df) == [(1, 0, 0), (1, 2, 0)]
    assert xyz(mv(text, strict=False)) == [(1, 0, 0), (1, 2, 0)]


def test_program_end_resets_modes_and_warns() -> None:
    tp = read("G91 G1 X1 F10\nM3 S100\nM30\nG0 X1\n")
    assert xyz(tp.moves) == [(1, 0, 0), (1, 0, 0)]  # G90 after M30
    assert tp.moves["spindle_rpm"].tolist() == [0.0, 0.0]
    assert tp.moves["rest_before"].tolist() == [True, True]
    assert "continues after M2/M30" in tp.meta["warnings"][0]


# --- fast engine == general engine ------------------------------------------------------------

def test_fast_engine_matches_general_on_a_mixed_program() -> None:
    text = ("%\n" if False else "") + (
        "G21 G17 G90 G94 G54\nT1 M6\nS12000 M3\nG4 P1\nM8\nG0 X1 Y1 Z5 ; rapid\n"
        "G1 Z-1 F300\nG2 X5 Y5 I4 J0\nG3 X1 Y1 R4\nG2 X1 Y1 I2 J0 Z-2\nG2 X3 Y3 R-2\n"
        "G18 G2 X3 Z-4 I0 K-1\nG19 G3 Y5 Z-4 J1 K0\nG17\nG91 G1 X1\nY1\nX-.5 Y+.25\n"
        "G90 G20 X0.1 Y0.2\nG21 G0 Z5\nM9\nS15000\nG1 X0 F200\nM5\nG0 X0 Y0\nG80\nM30\n")
    fast = read(text)
    assert fast.meta["engine"] == "fast"
    gen = read(text, engine="general")
    pd.testing.assert_frame_equal(fast.moves, gen.moves, check_exact=True)
    assert {k: v for k, v in fast.meta.items() if k != "engine"} == \
        {k: v for k, v in gen.meta.items() if k != "engine"}


@pytest.mark.parametrize("text", ["#1=2\nG0 X#1\n", "G0 X1\nG10 L2 P1 X0\n",
                                  "G1 F1\nG81 X0 Y0 Z-1 R1\n"])
def test_fast_engine_refuses_what_it_cannot_read(text: str) -> None:
    assert read(text).meta["engine"] == "general"
    with pytest.raises(GCodeError, match="fast engine"):
        read(text, engine="fast")


def test_fast_engine_errors_come_from_general() -> None:
    with pytest.raises(GCodeError) as e:
        read("G0 X1\nG1 X2\n", engine="fast")
    assert e.value.line == 2


# --- shared real-world programs --------------------------------------------------------------

def _programs(shared: Path) -> list[Path]:
    return sorted((shared / "gcode").iterdir()) + sorted((shared / "groundtruth" / "fed").iterdir())


def test_every_shared_program_reads_and_engines_agree(shared_data: Path) -> None:
    for f in _programs(shared_data):
        kw = {"nested_comments": "allow"} if f.name.startswith("LesPaul") else {}
        gen = read_file(f, engine="general", **kw)
        auto = read_file(f, **kw)
        validate_moves(auto.moves)
        assert len(auto.moves) > 0, f.name
        pd.testing.assert_frame_equal(auto.moves, gen.moves, check_exact=True, obj=f.name)
        assert auto.meta["line_count"] == len(f.read_bytes().decode().splitlines())
        assert np.isfinite(auto.moves["len_mm"]).all()
        assert auto.moves["rest_before"].iloc[0]


def test_lespaul_strict_fails_at_line_33(shared_data: Path) -> None:
    f = shared_data / "gcode" / "LesPaul_Body_Complete.nc"
    with pytest.raises(GCodeError) as e:
        read_file(f)
    assert e.value.line == 33
    tp = read_file(f, nested_comments="allow")
    assert tp.meta["engine"] == "fast"
    assert tp.meta["units_seen"] == ["inch", "mm"]
    first_arc = tp.moves[tp.moves["code"] == "G2"].iloc[0]
    # line 38: G2 X1.6835 Y6.4328 I0.0985 J0 Z-0.2200 F31.0 (a full helical circle, inches)
    assert first_arc["line"] == 38
    assert first_arc["radius_mm"] == pytest.approx(0.0985 * 25.4)
    assert first_arc["feed"] == pytest.approx(31.0 * 25.4)
    assert first_arc["len_mm"] == pytest.approx(math.hypot(2 * PI * 0.0985, 0.47) * 25.4)


def test_botomata_uses_g10_l2_and_g55(shared_data: Path) -> None:
    f = shared_data / "gcode" / "botomata_bottom.nc"
    tp = read_file(f)
    assert tp.meta["engine"] == "general"
    lines = f.read_text().splitlines()
    assert lines[1944].startswith("G10 L2 P2 X0.0000 Y-101.6000")
    after = tp.moves[tp.moves["line"] > 1946].iloc[0]
    n = int(after["line"])
    words = dict((w[0], float(w[1:])) for w in lines[n - 1].split("(")[0].split() if w[0] in "XY")
    if "Y" in words:
        assert after["y"] == pytest.approx(words["Y"] - 101.6)
    before = tp.moves[tp.moves["line"] < 1945]
    assert before["y"].max() < 50  # first part ran at the G55 offset 0


def test_heart_parameters_equal_ground_truth_copy(shared_data: Path) -> None:
    a = read_file(shared_data / "gcode" / "heart.ngc")
    b = read_file(shared_data / "groundtruth" / "fed" / "heart.ngc")
    assert a.meta["engine"] == "general" and b.meta["engine"] == "fast"
    pd.testing.assert_frame_equal(a.moves.drop(columns="line"), b.moves.drop(columns="line"),
                                  check_exact=True)


@pytest.mark.parametrize("nested", ["error", "allow"])
@pytest.mark.parametrize("text", [
    "G0 X1 (a;b) Y2\n", "G0 X1 ; (a\nG0 Y2\n", "G0 X1 (a) ; b )\nG0 Y3\n",
    "G0 X1 ((a) b) Y2\n", "G0 X1 (a (b) Y2\n", "G0 X1 (a) Y2 (b) Z3 ; c (d) e\n",
    "(only comment)\nG0 X1\n", "G0 X1 (a) )\n", "G0 X1 (a\nG0 Y2\n", "g0 x1 y-.5\n",
    "G0 X1 (a (b (c) d) e) Y2\n",
])
def test_comment_forms_fast_equals_general(text: str, nested: str) -> None:
    try:
        gen = read(text, engine="general", nested_comments=nested).moves
    except GCodeError as exc:
        with pytest.raises(GCodeError) as e:
            read(text, nested_comments=nested)
        assert e.value.line == exc.line
        return
    pd.testing.assert_frame_equal(read(text, nested_comments=nested).moves, gen, check_exact=True)


# --- fast engine front end: numbers, comments, line structure ---------------------------------

def fast_equals_general(text: str, **kw) -> None:
    """The fast engine takes the program and agrees with the general engine, meta included."""
    fast = read(text, engine="fast", **kw)
    gen = read(text, engine="general", **kw)
    pd.testing.assert_frame_equal(fast.moves, gen.moves, check_exact=True)
    assert {k: v for k, v in fast.meta.items() if k != "engine"} == \
        {k: v for k, v in gen.meta.items() if k != "engine"}


def test_fast_number_grammar_is_the_general_one() -> None:
    import itertools
    import re

    from workbench.gcode._tokens import lex_line

    texts = ["".join(p) for n in range(1, 5) for p in itertools.product("09.+-", repeat=n)]
    texts += ["".join(p) for p in itertools.product("1357.-", repeat=3)]
    accepted, rejected = [], []
    for s in texts:  # the general engine's lexer decides what a number is
        try:
            lex_line(f"X{s}", 1, lambda key: 0.0)
            accepted.append(s)
        except GCodeError:
            rejected.append(s)
    # every number the general engine rejects is rejected (by it) in auto mode too
    for s in rejected:
        with pytest.raises(GCodeError) as e:
            read(f"G0 X{s}\n")
        assert e.value.line == 1, s
    # the plain numbers are read by the fast engine, to the same doubles
    plain = [s for s in accepted if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", s)]
    assert len(plain) > 100
    fast_equals_general("".join(f"G0 X{s}\n" for s in plain))
    # the others (repeated signs) still read the same in auto mode
    other = [s for s in accepted if s not in plain]
    assert other
    text = "".join(f"G0 X{s}\n" for s in other)
    pd.testing.assert_frame_equal(read(text).moves, read(text, engine="general").moves,
                                  check_exact=True)


def test_fast_numbers_are_correctly_rounded() -> None:
    # more digits than a double holds, integers past 2**53 (9007199254740993 lies halfway
    # between two doubles: ties go to even), the smallest normal and largest finite mantissas
    nums = ["0.1000000000000000055511151231257827", "0.10000000000000000555111512312578270211815834045410156250001",
            "123456789012345678901234567890.5", "9007199254740993", "9007199254740993.000000000001",
            "0.000000000000000000000000000001", "2.2250738585072011", "1.7976931348623157",
            "0.30000000000000004", "000000000000000000012.50000000000000000000"]
    text = "".join(f"G0 X{v} Y-{v}\n" for v in nums)
    tp = read(text, engine="fast")
    assert tp.moves["x"].tolist() == [float(v) for v in nums]
    assert tp.moves["y"].tolist() == [-float(v) for v in nums]
    fast_equals_general(text)


@pytest.mark.parametrize("nested", ["error", "allow"])
def test_fast_comments_on_many_lines(nested: str) -> None:
    text = ("(header)\n; setup\n(a;b)\tg21 g90 ; mm\n( x ) ( y ) G0 x1 (z) y2 ; w (v\n"
            "G1 X2 F100 (a) (b)\n\n  \r\n(c)\n(d)\nG1 Y3 (e ; f) Z-1\r\n;(g\ng2 x4 y1 i1 j-1 ; t\n")
    fast_equals_general(text, nested_comments=nested)
    assert len(read(text, nested_comments=nested).moves) == 4


@pytest.mark.parametrize("text", [
    "G0 X1 (a (b (c (d) c) b) a) Y2\n",  # deeper than the fast engine's three levels
    "G0 X1 (a ((b)) ((c) (d)) e) Y2\n",
])
def test_deep_nested_comments_read_by_general(text: str) -> None:
    tp = read(text, nested_comments="allow")
    pd.testing.assert_frame_equal(
        tp.moves, read(text, nested_comments="allow", engine="general").moves, check_exact=True)
    assert xyz(tp.moves) == [(1, 2, 0)]


@pytest.mark.parametrize("text,line", [
    ("G0 X1\n5 X2\n", 2),  # a number that follows no letter
    ("G0 X1\nX\n", 2),  # a letter without a number
    ("G0 X1 Y\n", 1),
    ("G0 X1\nG0 XY2\n", 2),
    ("G0 X1.2.3\n", 1),
    ("G0 X1-2\n", 1),
    ("G0 X1\nG0 X2 X3\n", 2),  # repeated word
    ("G0 X1\nG0 G1 X3 F1\n", 2),  # modal group conflict
    ("G0 X1\nM3 M5\n", 2),
    ("G0 X1\nG0 X1" + "0" * 400 + "\n", 2),  # beyond the double range
])
def test_fast_front_end_errors_come_from_general(text: str, line: int) -> None:
    with pytest.raises(GCodeError) as e:
        read(text, engine="general")
    assert e.value.line == line
    for engine in ("auto", "fast"):
        with pytest.raises(GCodeError) as e:
            read(text, engine=engine)
        assert e.value.line == line


def test_fast_whitespace_inside_numbers_and_lowercase() -> None:
    text = "g0 x 1 . 5 y-\t.25\nG1 z - 2 f 1 0 0\n"
    fast_equals_general(text)
    assert xyz(read(text).moves) == [(1.5, -0.25, 0), (1.5, -0.25, -2)]


def test_fast_program_end_warnings_tools_and_dwell_rows() -> None:
    text = ("T1 M6\nS1000 M3\nG91 G1 X1 F100\nG4 P0.5\nX1\nT2\nG1 Y1\nM6\nG1 Y1\nM30\n"
            "G0 X1\nM2\n\n(c)\nG0 X3\nT5\nM30\n")
    fast_equals_general(text)
    tp = read(text)
    assert tp.meta["engine"] == "fast"
    assert [w.split(":")[0] for w in tp.meta["warnings"]] == ["line 11", "line 15"]
    assert tp.moves["tool"].tolist() == [1, 1, 1, 1, 2, 2, 2]
    assert xyz(tp.moves)[:4] == [(1, 0, 0), (1, 0, 0), (2, 0, 0), (2, 1, 0)]
