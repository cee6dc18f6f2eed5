"""``workbench logs write|caps|migrate`` and ``workbench learn train|show``."""

from __future__ import annotations

import argparse
import json

import pytest

from workbench.errors import WorkbenchError
from workbench.learn import cli as learn_cli
from workbench.runlog import cli as logs_cli


def run_cli(argv: list[str]) -> int:
    """Parse and run like ``workbench.cli.main`` (user errors -> exit code 2)."""
    parser = argparse.ArgumentParser(prog="workbench")
    sub = parser.add_subparsers(dest="command")
    logs_cli.register(sub)
    learn_cli.register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"error: {exc}")
        return 2


def test_logs_and_learn_commands(tmp_path, capsys) -> None:
    db = str(tmp_path / "wb.db")
    models = str(tmp_path / "models")
    segs = [{"idx": i, "code": "G2", "radius_mm": 2.0, "slowdown": 0.8, "limit": "jerk", "t_s": 0.1}
            for i in range(55)]
    body = {"run": {"machine_id": "GRBL_3018_Default", "material_id": "mdf", "tool_d": 3.175,
                    "stepover": 0.4, "stepdown": 1.0, "est_time_s": 10.0, "act_time_s": 12.0},
            "segments": segs}
    f = tmp_path / "run.json"
    f.write_text(json.dumps(body))
    assert run_cli(["logs", "write", str(f), "--db", db]) == 0
    assert json.loads(capsys.readouterr().out) == {"status": "ok", "run_id": 1}
    assert run_cli(["logs", "caps", "GRBL_3018_Default", "--db", db, "--json"]) == 0
    caps = json.loads(capsys.readouterr().out)
    assert caps["counts"]["jerk"] == 55 and caps["time_share"]["jerk"] == 1.0
    assert run_cli(["logs", "caps", "GRBL_3018_Default", "--db", db]) == 0
    assert "jerk" in capsys.readouterr().out
    assert run_cli(["learn", "show", "GRBL_3018_Default", "--models", models]) == 1
    capsys.readouterr()
    assert run_cli(["learn", "train", "GRBL_3018_Default", "--db", db, "--models", models]) == 0
    model = json.loads(capsys.readouterr().out)
    assert model["rules"] == {"arc_tight_mm<=5.00": pytest.approx(0.8)}
    assert model["meta"]["calibration"]["ratio"] == pytest.approx(1.2)
    assert run_cli(["learn", "show", "GRBL_3018_Default", "--models", models]) == 0
    assert json.loads(capsys.readouterr().out)["rules"] == model["rules"]
    assert run_cli(["logs", "migrate", "--db", db]) == 0
    assert "0001_runlog" in capsys.readouterr().out


def test_cli_user_errors(tmp_path, capsys) -> None:
    db = str(tmp_path / "wb.db")
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"run": {"machine_id": "M", "material_id": "mdf", "tool_d": "3mm",
                                     "stepover": 0.4, "stepdown": 1.0}}))
    assert run_cli(["logs", "write", str(f), "--db", db]) == 2
    assert "run.tool_d: expected a number" in capsys.readouterr().out
    f.write_text("{not json")
    assert run_cli(["logs", "write", str(f), "--db", db]) == 2
    assert "not JSON" in capsys.readouterr().out
    assert run_cli(["logs", "caps", "Nobody", "--db", db]) == 2
    assert "no runs logged for machine 'Nobody'" in capsys.readouterr().out
    assert run_cli(["learn", "train", "Nobody", "--db", db, "--models", str(tmp_path)]) == 2
