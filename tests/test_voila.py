"""The pocket lab renders as a Voila page (the shop-floor view) without an error, and takes
its parameters from the query string."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from workbench.paths import REPO_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def voila_server(tmp_path: Path):
    port = _free_port()
    env = dict(os.environ, WORKBENCH_REPORTS_DIR=str(tmp_path / "reports"))
    voila = Path(sys.executable).with_name("voila")
    log = open(tmp_path / "voila.log", "w")
    proc = subprocess.Popen(
        [str(voila), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--VoilaConfiguration.file_allowlist=['.*']", str(REPO_ROOT / "notebooks" / "pocket_lab.ipynb")],
        cwd=str(REPO_ROOT / "notebooks"), env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url + "voila/static/", timeout=2)
            break
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / "voila.log").read_text())
            time.sleep(0.3)
    yield url, tmp_path
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.mark.browser
@pytest.mark.notebook
def test_pocket_lab_renders_in_voila(voila_server) -> None:
    url, tmp = voila_server
    r = requests.get(url + "?tool_d=8&stepover=0.3&posts=grbl,linuxcnc", timeout=240)
    assert r.status_code == 200, r.text[:2000]
    html = r.text
    # a cell that raised shows as an error output (ename/evalue) with its traceback
    for sign in ('"output_type": "error"', "Traceback (most recent call last)", '"ename"'):
        assert sign not in html, html[html.find(sign) - 2000: html.find(sign) + 2000]
    assert "Pocket lab" in html
    assert "cycle time" in html
    # the query string reached the kernel: one report with exactly the two posts asked for, 8 mm tool
    reports = list((tmp / "reports" / "pocket_lab").glob("*/summary.json"))
    assert len(reports) == 1, reports
    import json

    s = json.loads(reports[0].read_text())
    assert s["params"]["tool_d"] == 8.0 and s["params"]["stepover"] == 0.3
    assert sorted(s["files"]) == ["gcode_grbl", "gcode_linuxcnc", "moves"]
