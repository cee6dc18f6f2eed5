"""Retention of the telemetry database: delete old rows in chunks, reclaim the space.

Rows older than ``days`` (``$TELEMETRY_RETENTION_DAYS``, default 7: telemetry plan, "Data
retention") are deleted ``chunk_rows`` at a time, one short transaction per chunk, so that
readers and the writer are never blocked for long. Freed pages go back to the file system
with ``PRAGMA incremental_vacuum`` (needs ``auto_vacuum=INCREMENTAL``, which
:func:`workbench.telemetry.schema.init_db` sets on new files) and the WAL is checkpointed and
truncated (``PRAGMA wal_checkpoint(TRUNCATE)``) so that it stays bounded
(https://www.sqlite.org/pragma.html#pragma_incremental_vacuum).
"""

from __future__ import annotations

import os
import sqlite3
import time

from .errors import TelemetryInputError
from .schema import TABLES

DEFAULT_RETENTION_DAYS: float = 7.0


def retention_days_from_env() -> float:
    """``$TELEMETRY_RETENTION_DAYS`` as a float (default 7).

    Raises:
        TelemetryInputError: the variable is set but not a number.
    """
    text = os.environ.get("TELEMETRY_RETENTION_DAYS")
    if text is None or not text.strip():
        return DEFAULT_RETENTION_DAYS
    try:
        return float(text)
    except ValueError:
        raise TelemetryInputError(
            f"TELEMETRY_RETENTION_DAYS must be a number of days, got {text!r}") from None


def apply_retention(conn: sqlite3.Connection, days: float, *, now: float | None = None,
                    chunk_rows: int = 5000) -> dict[str, int]:
    """Delete rows with ``ts < now - days * 86400`` from every telemetry table.

    Args:
        conn: a writable connection in autocommit mode (``isolation_level=None``).
        days: retention in days (> 0).
        now: epoch seconds (default ``time.time()``).
        chunk_rows: rows deleted per transaction.

    Returns:
        ``{table: rows deleted}``.
    """
    cutoff = (time.time() if now is None else now) - float(days) * 86400.0
    deleted: dict[str, int] = {}
    for table in TABLES:
        total = 0
        while True:
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                f"DELETE FROM {table} WHERE id IN "
                f"(SELECT id FROM {table} WHERE ts < ? ORDER BY ts LIMIT ?)", (cutoff, chunk_rows))
            conn.execute("COMMIT")
            total += max(cur.rowcount, 0)
            if cur.rowcount < chunk_rows:
                break
        deleted[table] = total
    if any(deleted.values()):
        # executescript steps the pragma to completion; execute() would free one page per call
        conn.executescript("PRAGMA incremental_vacuum;")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return deleted
