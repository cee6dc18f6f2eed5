"""notebooks/override_training.ipynb runs headless under papermill (demo log in the report folder)."""

from __future__ import annotations

import json

import nbformat
import pytest

from workbench.notebooks import run_notebook


@pytest.mark.notebook
@pytest.mark.slow
def test_override_training_notebook(tmp_path) -> None:
    run = run_notebook("override_training", {}, out_dir=tmp_path, html=False)
    model = json.loads((tmp_path / "models" / "overrides_Mach4_Router_4x8.json").read_text())
    assert model["meta"]["samples_by_rule"]["arc_tight_mm<=5.00"] >= 50
    assert 0.5 <= model["rules"]["arc_tight_mm<=5.00"] <= 1.0
    assert model["meta"]["calibration"]["n"] == 3
    nb = nbformat.read(str(run.notebook), as_version=4)
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "calibrated estimate (s)" in text and "feeds changed" in text
