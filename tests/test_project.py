"""Project-level contracts: environment.yml mirrors pyproject.toml, notebooks are stripped,
every notebook has a tagged parameters cell, the README keeps its two commands and CI runs the
second one."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _norm(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    assert m, spec
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject() -> None:
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    want = dict(_norm(s) for s in py["dependencies"] + py["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    got = {}
    for d in env["dependencies"]:
        if isinstance(d, str) and not d.startswith(("python=", "pip")):
            name, spec = _norm(d)
            got[name] = spec
    assert got == want, (
        f"only in pyproject: {sorted(set(want) - set(got))}; only in environment.yml: "
        f"{sorted(set(got) - set(want))}; differing: "
        f"{sorted(k for k in set(got) & set(want) if got[k] != want[k])}")
    assert "python=3.11" in env["dependencies"]
    assert py["requires-python"].startswith(">=3.11")


def test_lock_pins_every_dependency() -> None:
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements.lock").read_text().lower()
    pinned = {m.group(1).replace("_", "-") for m in re.finditer(r"^([a-z0-9_.\-]+)==", lock, re.M)}
    names = [_norm(s)[0] for s in py["dependencies"] + py["optional-dependencies"]["test"]
             + py["optional-dependencies"]["bench"]]
    missing = [n for n in names if n not in pinned]
    assert not missing, f"requirements.lock lacks pins for {missing}: re-run uv pip compile"


def test_notebooks_are_stripped_and_parameterized() -> None:
    books = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert books, "no notebooks"
    for nb_path in books:
        nb = json.loads(nb_path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        with_out = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
        assert not with_out, f"{nb_path.name}: code cells {with_out} have outputs; strip them"
        tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{nb_path.name}: needs exactly one cell tagged 'parameters'"


def test_readme_has_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    assert block, "README has no command block"
    cmds = [ln.split("#")[0].strip() for ln in block.group(1).splitlines() if ln.split("#")[0].strip()]
    assert len(cmds) == 2, f"README's first block must hold exactly two commands, has {cmds}"
    ci = (ROOT / ".ci" / "run").read_text()
    assert cmds[1] in ci, f"CI does not run the README's test command {cmds[1]!r}"
    assert cmds[0] != cmds[1]


def test_notebook_parameters_parse_for_papermill() -> None:
    """Every assignment in a parameters cell is visible to `papermill --help-notebook`
    (a comment with '=' or ';' silently hides a parameter from it)."""
    import nbformat
    from papermill.translators import PythonTranslator

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(nb_path), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", []))
        assigned = {m.group(1) for m in re.finditer(r"^(\w+)\s*(?::[^=]*)?=", cell.source, re.M)}
        seen = {p.name for p in PythonTranslator.inspect(cell)}
        assert assigned == seen, f"{nb_path.name}: papermill cannot parse {sorted(assigned - seen)}"


def test_pocket_lab_notebook_takes_every_job_parameter() -> None:
    """`workbench lab` passes every PocketJob field to the notebook through papermill: each must
    be a parameter there and reach the PocketJob the notebook builds (a missing one is
    dropped with only papermill's 'Passed unknown parameter' warning)."""
    import dataclasses

    import nbformat
    from papermill.translators import PythonTranslator

    from workbench.lab import PocketJob

    nb = nbformat.read(str(ROOT / "notebooks" / "pocket_lab.ipynb"), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", []))
    params = {p.name for p in PythonTranslator.inspect(cell)}
    fields = {f.name for f in dataclasses.fields(PocketJob)}
    assert fields - params == set(), f"pocket_lab.ipynb lacks parameters {sorted(fields - params)}"
    build = next(c.source for c in nb.cells if "lab.PocketJob(" in c.source)
    passed = set(re.findall(r"\b(\w+)=(?:list\()?\1\b", build))
    assert fields - passed == set(), f"pocket_lab.ipynb does not pass {sorted(fields - passed)} to PocketJob"
