"""notebooks/thermal_report.ipynb runs headless under papermill on the project's sample."""

from __future__ import annotations

import json
import zipfile

import pytest

from workbench.notebooks import run_notebook


@pytest.mark.notebook
@pytest.mark.slow
def test_thermal_report_notebook(tmp_path) -> None:
    run = run_notebook("thermal_report", {"job_name": "nb/../check", "bins": 30}, out_dir=tmp_path, html=False)
    assert run.notebook.is_file()
    md = tmp_path / "thermal_report_nb_._check.md"           # "nb/../check", sanitised
    text = md.read_text(encoding="utf-8")
    assert "## Heat partition" in text and "removed / pocket = " in text
    ratio = float(text.split("removed / pocket = ")[1].split(")")[0])
    assert ratio == pytest.approx(1.0, abs=0.02)
    zp = tmp_path / "thermal_report_nb_._check.zip"
    with zipfile.ZipFile(zp) as z:
        names = z.namelist()
        mj = [n for n in names if n.startswith("moves_")]
        assert len(mj) == 1 and isinstance(json.loads(z.read(mj[0])), list)
        assert any(n.endswith(".png") for n in names) and sum(n.endswith(".csv") for n in names) == 3
