"""Shared test fixtures.

``shared_data`` is ``../shared/data`` (or ``$WORKBENCH_SHARED_DATA``); tests that need it skip
with a clear message when it is absent, so the suite still runs on a bare checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.paths import DATA_DIR, REPO_ROOT, SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set WORKBENCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR
