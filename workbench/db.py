"""One SQLAlchemy engine factory for every store of the Workbench.

Every store (run log, simulation runs, ...) gets its connection from :func:`make_engine`, so
that the SQLite pragmas are set in one place and a shop can point everything at PostgreSQL
with one variable:

- ``url=None`` -> ``$WORKBENCH_DB_URL`` if set, else a SQLite file at
  ``$WORKBENCH_HOME/workbench.db`` (default ``<repo>/var/workbench.db``; the folder is created).
- A SQLite file gets WAL journaling, ``synchronous=NORMAL``, ``busy_timeout`` = 5000 ms and
  ``foreign_keys=ON`` on every connection (SQLite docs: https://www.sqlite.org/pragma.html;
  SQLAlchemy "Foreign Key Support" recipe for the connect event).

The telemetry recorder's hot write path may use the DB-API directly (DESIGN.md: measure first).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from .paths import REPO_ROOT

WORKBENCH_HOME: Path = Path(os.environ.get("WORKBENCH_HOME", REPO_ROOT / "var"))
SQLITE_BUSY_TIMEOUT_MS: int = 5000


def default_url() -> str:
    """``$WORKBENCH_DB_URL`` or the default SQLite file URL (see module docstring)."""
    url = os.environ.get("WORKBENCH_DB_URL")
    if url:
        return url
    return f"sqlite:///{WORKBENCH_HOME / 'workbench.db'}"


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of a SQLite file at ``path``."""
    return f"sqlite:///{Path(path)}"


def make_engine(url: str | os.PathLike[str] | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (a SQLAlchemy URL, a filesystem path, or None).

    A bare path (no ``://``) is taken as a SQLite file. For SQLite the parent folder is
    created and the pragmas above are set on each new connection.

    Returns:
        a :class:`sqlalchemy.engine.Engine`.
    """
    if url is None:
        url = default_url()
    url = str(url)
    if "://" not in url:
        url = sqlite_url(url)
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[1] if "///" in url else ""
        if db_path and db_path != ":memory:" and not db_path.startswith("file:"):
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            if db_path and db_path != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, **kwargs)
