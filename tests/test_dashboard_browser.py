"""The telemetry dashboard served by Voila, in real headless Chromium (Debian's, via Playwright).

A recorder keeps writing to a temporary database during the test; the page must show the
plots and the numbers and update them. Skips only when /usr/bin/chromium is absent and $CI is
not set (under CI a missing Chromium is a failure: the test command installs it).
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workbench.paths import REPO_ROOT
from workbench.telemetry import TelemetryCollector

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = REPO_ROOT / "notebooks" / "telemetry_dashboard.ipynb"
VOILA = Path(sys.executable).parent / "voila"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _recorder(db: Path, stop: threading.Event) -> None:
    c = TelemetryCollector(db, batch_size=20, flush_interval_s=0.2)
    c.start()
    k = 0
    try:
        while not stop.is_set():
            t = k * 0.02
            target = (10 * math.sin(t), 10 * math.cos(t), -1.0)
            c.log_command(k, 2, None, None, {"angles": list(target)})
            c.log_feedback(k, 1, [v + 0.05 for v in target], None)
            if k % 50 == 0:
                c.log_web_request("/api/status", "GET", None, 2.0 + k % 7, 200, True)
                c.log_camera_health("cam0", {"actual_fps": 29.0, "target_fps": 30.0, "connected": True})
                c.log_system_event("heartbeat", "system", f"tick {k}")
            k += 1
            time.sleep(0.02)
    finally:
        c.stop()


def test_dashboard_in_headless_chromium(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium); set CI=1 to make this fail")
    from playwright.sync_api import sync_playwright

    db = tmp_path / "live.db"
    stop = threading.Event()
    rec = threading.Thread(target=_recorder, args=(db, stop), daemon=True)
    rec.start()
    deadline = time.monotonic() + 10
    while not db.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    port = _free_port()
    env = {**os.environ, "TELEMETRY_DB": str(db), "MPLBACKEND": "Agg"}
    log = (tmp_path / "voila.log").open("w")
    proc = subprocess.Popen([str(VOILA), str(NOTEBOOK), "--no-browser", f"--port={port}",
                             "--Voila.ip=127.0.0.1", "--Voila.tornado_settings={'autoreload': False}"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(tmp_path))
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url, timeout=60_000)
            page.wait_for_selector(".tm-rows", timeout=90_000)
            first = int(page.get_attribute(".tm-rows", "data-rows") or 0)
            assert first > 0
            # plots: the tracking and rates images are real PNGs
            page.wait_for_function(
                "Array.from(document.querySelectorAll('img')).filter(i => i.naturalWidth > 100).length >= 2",
                timeout=30_000)
            text = page.inner_text("body")
            for needle in ("Commanded vs actual", "p95_ms", "cam0", "heartbeat", "mean_error_deg"):
                assert needle in text, needle
            # live: the row count grows while the recorder writes
            page.wait_for_function(
                f"Number(document.querySelector('.tm-rows').dataset.rows) > {first}", timeout=30_000)
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        stop.set()
        rec.join(10)
        log.close()
    assert proc.returncode is not None
