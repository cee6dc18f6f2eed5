"""Where the Workbench finds its reference data and writes its reports.

- ``DATA_DIR``: reference data shipped with the project (``data/machines``, ``data/posts``,
  ``data/materials``, ``data/samples``). Override with ``WORKBENCH_DATA_DIR``.
- ``REPORTS_DIR``: generated output, never committed. Override with ``WORKBENCH_REPORTS_DIR``.
- ``SHARED_DATA``: the shared real-world files (``../shared/data`` beside the checkout), used by
  tests and benchmarks only. Override with ``WORKBENCH_SHARED_DATA``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = Path(os.environ.get("WORKBENCH_DATA_DIR", REPO_ROOT / "data"))
REPORTS_DIR: Path = Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPO_ROOT / "reports"))
SHARED_DATA: Path = Path(os.environ.get("WORKBENCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
