"""notebooks/simulation.ipynb runs headless under papermill on the project's own sample."""

from __future__ import annotations

import json

import pytest

from workbench.paths import REPO_ROOT


@pytest.mark.notebook
@pytest.mark.slow
def test_simulation_notebook_runs(tmp_path, monkeypatch):
    import papermill as pm

    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'wb.db'}")
    src = REPO_ROOT / "notebooks" / "simulation.ipynb"
    nb = json.loads(src.read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "outputs not stripped"
    assert "parameters" in nb["cells"][1]["metadata"].get("tags", [])
    out = tmp_path / "simulation.out.ipynb"
    pm.execute_notebook(str(src), str(out), parameters={"out_root": str(tmp_path / "reports")},
                        cwd=str(tmp_path), kernel_name="python3", progress_bar=False)
    (run_dir,) = (tmp_path / "reports").iterdir()
    rep = json.loads((run_dir / "report.json").read_text())
    # the sample: a 40 x 30 mm pocket, 4 mm deep, 6 mm flat end mill: corners keep the radius
    assert rep["removed_volume_mm3"] == pytest.approx(4 * (1200 - (4 - 3.141592653589793) * 9), rel=0.005)
    assert rep["collision_count"] == 0 and rep["violations"] == []
    text = out.read_text()
    assert "removed volume" in text and "image/png" in text and "video/mp4" in text
