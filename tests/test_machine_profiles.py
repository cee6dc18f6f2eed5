"""Machine profiles: shipped JSON, validation errors, grbl $$ parsing, the machine CLI."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.errors import MachineProfileError
from workbench.machine import (CONTROLLERS, MachineProfile, from_grbl_settings, list_machines,
                               load_machine, profile_from_dict)

SHIPPED = ("GRBL_3018_Default", "Mach4_Router_4x8", "LinuxCNC_KneeMill", "router_small", "router_4x8")

DUMP = """\
$0=10
$1=25
$11=0.010
$12=0.002
$13=0
$100=250.000
$101=250.000
$102=400.000
$110=5000.000
$111=5000.000
$112=1000.000
$120=500.000
$121=500.000
$122=200.000
$130=300.000 (x max travel)
ok
"""


def test_shipped_profiles_load_and_cite_sources():
    assert set(SHIPPED) <= set(list_machines())
    for mid in SHIPPED:
        p = load_machine(mid)
        assert p.id == mid and p.controller in CONTROLLERS
        assert all(v > 0 for v in p.max_rate_mm_min + p.accel_mm_s2)
        assert p.sources, f"{mid} cites no source"
        assert profile_from_dict(json.loads(p.to_json())) == p


def test_profile_defaults():
    p = load_machine("router_small")
    assert p.feed_cap == 5000.0 and p.rapid == p.max_rate_mm_min and p.lookahead == 100
    assert load_machine("GRBL_3018_Default").lookahead == 16
    assert load_machine("Mach4_Router_4x8").lookahead is None


def test_from_grbl_settings_reads_the_planner_settings_only():
    p = from_grbl_settings(DUMP, id="mill")
    assert p.max_rate_mm_min == (5000.0, 5000.0, 1000.0)
    assert p.accel_mm_s2 == (500.0, 500.0, 200.0)
    assert p.steps_per_mm == (250.0, 250.0, 400.0)
    assert (p.junction_deviation_mm, p.arc_tolerance_mm) == (0.01, 0.002)
    assert p.controller == "grblHAL" and p.lookahead == 100
    assert from_grbl_settings(DUMP, controller="grbl").lookahead == 16


@pytest.mark.parametrize("text, match", [
    ("$110=5000\n$111 5000\n", "line 2"),
    ("$110=abc\n", "line 1"),
    ("$110=-5\n", r"line 1: \$110 must be positive"),
    ("$110=5000\n$111=5000\n", r"missing .*\$112"),
])
def test_from_grbl_settings_errors_name_the_line(text, match):
    with pytest.raises(MachineProfileError, match=match):
        from_grbl_settings(text)


def _write(tmp_path, **changes):
    d = load_machine("router_small").to_dict()
    for k, v in changes.items():
        if v is None:
            d.pop(k)
        else:
            d[k] = v
    p = tmp_path / "m.json"
    p.write_text(json.dumps(d))
    return p


@pytest.mark.parametrize("changes, match", [
    ({"accel_mm_s2": None}, "required field 'accel_mm_s2'"),
    ({"max_rate_mm_min": [5000, 0, 1000]}, "'max_rate_mm_min' axis y must be positive"),
    ({"accel_mm_s2": [1, 2]}, r"'accel_mm_s2' must be \[x, y, z\]"),
    ({"controller": "fanuc"}, "'controller' must be one of"),
    ({"junction_deviation_mm": -1}, "junction_deviation_mm"),
    ({"arc_tolerance_mm": 0}, "arc_tolerance_mm"),
    ({"planner_blocks": 0}, "planner_blocks"),
    ({"spindle_rpm": [100, 10]}, "spindle_rpm"),
    ({"bogus": 1}, "unknown field"),
])
def test_profile_validation_names_file_and_field(tmp_path, changes, match):
    p = _write(tmp_path, **changes)
    with pytest.raises(MachineProfileError, match=match) as exc:
        load_machine(p)
    assert str(p) in str(exc.value)


def test_bad_json_and_unknown_id(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text('{"id": "x",\n "controller": }')
    with pytest.raises(MachineProfileError, match="broken.json: line 2: invalid JSON"):
        load_machine(p)
    with pytest.raises(MachineProfileError, match="unknown machine 'nope'.*router_small"):
        load_machine("nope")


def test_machine_cli(tmp_path, capsys):
    assert main(["machine", "list"]) == 0
    out = capsys.readouterr().out
    assert all(m in out for m in SHIPPED)
    assert main(["machine", "show", "router_4x8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accel_mm_s2"] == [1000.0, 1000.0, 400.0]
    dump = tmp_path / "mill.settings.txt"
    dump.write_text(DUMP)
    out_json = tmp_path / "mill.json"
    assert main(["machine", "from-grbl", str(dump), "--id", "mill", "--out", str(out_json)]) == 0
    p = load_machine(out_json)
    assert isinstance(p, MachineProfile) and p.id == "mill" and p.steps_per_mm == (250.0, 250.0, 400.0)
    dump.write_text("$110=5000\nnonsense\n")
    assert main(["machine", "from-grbl", str(dump)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_a_real_dollar_dollar_paste_with_banner_and_text_settings_is_accepted() -> None:
    """What `$$` prints on a networked grblHAL: the banner, text settings ($300 hostname, $302 IP)
    and the numbers the planner needs; only the latter are read."""
    from workbench.machine import from_grbl_settings

    dump = ("Grbl 1.1h ['$' for help]\n$0=10\n$11=0.010\n$12=0.002\n$110=5000.000\n$111=5000.000\n"
            "$112=1000.000\n$120=500.000\n$121=500.000\n$122=200.000\n$300=grblHAL\n$302=192.168.5.1\nok\n")
    p = from_grbl_settings(dump, id="pasted")
    assert p.max_rate_mm_min == (5000.0, 5000.0, 1000.0) and p.accel_mm_s2 == (500.0, 500.0, 200.0)
    assert p.junction_deviation_mm == 0.01 and p.arc_tolerance_mm == 0.002
