"""Cycle time against grblHAL's own planner (../shared/data/groundtruth, see its README.md).

Every record is read with the project's G-code reader (the original file; heart.ngc with its
LinuxCNC named parameters, which the reader substitutes), planned with the record's profile
(data/machines/router_small.json, router_4x8.json: the settings files plus 250 steps/mm and a
100-block buffer) and compared with the measured motion time: within 1 % (the replica is
usually within 0.05 %), and the planner block count must match exactly. ``pytest -s`` prints
the per-record error table.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from workbench.machine import load_machine, plan_motion

pytestmark = pytest.mark.shared

ORIGINALS = ("cds.gcode", "heart.ngc")


def _records(shared: Path) -> list[dict]:
    return json.loads((shared / "groundtruth" / "grblhal_times.json").read_text())["records"]


def program_path(shared: Path, rec: dict) -> Path:
    """The file to read for a record: the original in gcode/ when there is one, else fed/."""
    if rec["file"] in ORIGINALS:
        return shared / "gcode" / rec["file"]
    return shared / "groundtruth" / "fed" / rec["file"]


def test_every_record_within_one_percent(shared_data: Path):
    from workbench.gcode import read_file

    rows = []
    for rec in _records(shared_data):
        path = program_path(shared_data, rec)
        want_sha = rec["source_sha256"] or rec["sha256_fed"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == want_sha, path
        plan = plan_motion(read_file(path), load_machine(rec["profile"]))
        est, truth = plan.summary["cycle_time_s"], rec["motion_time_s"]
        rows.append((rec["file"], rec["profile"], truth, est, 100 * (est / truth - 1),
                     plan.summary["n_blocks"], rec["blocks"]))
    print("\nfile                     profile       measured s   estimated s   error %   blocks")
    for f, p, t, e, err, nb, gb in rows:
        print(f"{f:24s} {p:12s} {t:11.3f} {e:13.3f} {err:+9.4f}   {nb}/{gb}")
    worst = max(abs(r[4]) for r in rows)
    print(f"worst |error| {worst:.4f} %")
    for f, p, t, e, err, nb, gb in rows:
        assert abs(err) < 1.0, f"{f} on {p}: {err:+.3f} %"
        assert nb == gb, f"{f} on {p}: {nb} planner blocks, grblHAL executed {gb}"


def test_heart_original_equals_the_fed_bytes(shared_data: Path):
    from workbench.gcode import read_file

    prof = load_machine("router_4x8")
    a = plan_motion(read_file(shared_data / "gcode" / "heart.ngc"), prof)
    b = plan_motion(read_file(shared_data / "groundtruth" / "fed" / "heart.ngc"), prof)
    assert a.summary["n_blocks"] == b.summary["n_blocks"]
    assert a.summary["cycle_time_s"] == pytest.approx(b.summary["cycle_time_s"], rel=1e-12)


def test_profiles_match_the_groundtruth_settings(shared_data: Path):
    settings = json.loads((shared_data / "groundtruth" / "grblhal_times.json").read_text())["settings"]
    for pid, s in settings.items():
        p = load_machine(pid)
        assert p.max_rate_mm_min == (s["$110"], s["$111"], s["$112"])
        assert p.accel_mm_s2 == (s["$120"], s["$121"], s["$122"])
        assert (p.junction_deviation_mm, p.arc_tolerance_mm) == (s["$11"], s["$12"])
        assert p.steps_per_mm == (250.0, 250.0, 250.0) and p.lookahead == 100
