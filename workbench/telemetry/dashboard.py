"""The telemetry dashboard's engine (``notebooks/telemetry_dashboard.ipynb`` only calls this).

:class:`Dashboard` builds ipywidgets: the session summary, commanded vs actual position per
joint with the tracking error, command/feedback rates, web latency percentiles, camera health
and the latest events, all read through :class:`TelemetryQuery`. :meth:`Dashboard.refresh`
redraws once; :meth:`Dashboard.start_live` refreshes every ``refresh_s`` in a daemon thread
(under Voila the kernel lives as long as the page, so the page updates while a recorder
writes). The summary carries machine-readable markers (``class="tm-rows" data-rows=N``) that
the browser test reads.
"""

from __future__ import annotations

import html
import io
import os
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .errors import TelemetryError  # noqa: E402
from .query import TelemetryQuery  # noqa: E402

AXIS_NAMES = {0: "X / joint 0", 1: "Y / joint 1", 2: "Z / joint 2"}


def running_under_voila() -> bool:
    """Whether the kernel serves a Voila page (Voila sets ``SERVER_SOFTWARE=voila/...``)."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila")


def query_string_param(name: str) -> str | None:
    """A parameter of Voila's query string (``$QUERY_STRING``), or ``None``."""
    from urllib.parse import parse_qs
    vals = parse_qs(os.environ.get("QUERY_STRING", "")).get(name)
    return vals[0] if vals else None


def html_table(rows: Sequence[dict[str, Any]], cols: Sequence[str] | None = None, cls: str = "") -> str:
    """Rows as an HTML table (values escaped)."""
    if not rows:
        return f'<p class="{cls}">(none)</p>'
    cols = list(cols or rows[0].keys())

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{fmt(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f'<table class="{cls}" border="1" style="border-collapse:collapse">' \
           f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_html(q: TelemetryQuery) -> str:
    """Session summary with the ``tm-rows`` marker (total rows in the database)."""
    s = q.get_session_summary()
    db = q.get_db_stats()
    rows = [{"metric": k, "value": v} for k, v in s.items()]
    rows += [{"metric": "db_file_bytes", "value": db["db_file_bytes"]},
             {"metric": "wal_file_bytes", "value": db["wal_file_bytes"]}]
    return (f'<h3>Session</h3><p>rows: <b class="tm-rows" data-rows="{db["total_rows"]}">'
            f'{db["total_rows"]}</b> &middot; updated <span class="tm-updated">'
            f'{time.strftime("%H:%M:%S")}</span></p>' + html_table(rows, cls="tm-summary"))


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def tracking_png(q: TelemetryQuery, joints: Sequence[int] = (0, 1, 2), delay_s: float = 0.0,
                 window_s: float | None = 30.0) -> tuple[bytes, dict[int, dict[str, Any]]]:
    """PNG of commanded vs actual and the tracking error per joint over the last ``window_s``
    seconds of feedback; also returns the per-joint statistics (without the samples)."""
    hi = q._scalar("SELECT MAX(ts) FROM dds_feedback")
    rng = (hi - window_s, hi) if (hi is not None and window_s) else None
    fig, axes = plt.subplots(len(joints), 2, figsize=(10, 2.2 * len(joints)), squeeze=False)
    stats: dict[int, dict[str, Any]] = {}
    for r, j in enumerate(joints):
        res = q.get_tracking_error(j, rng, delay_s=delay_s, frame=True)
        e = res.pop("errors")
        stats[j] = res
        t = e["ts"] - (e["ts"].iloc[0] if len(e) else 0.0)
        axes[r][0].plot(t, e["target"], label="commanded", lw=1)
        axes[r][0].plot(t, e["actual"], label="actual", lw=1)
        axes[r][0].set_ylabel(AXIS_NAMES.get(j, f"joint {j}"))
        axes[r][1].plot(t, e["error"], color="tab:red", lw=1)
        axes[r][1].set_ylabel("error")
        if r == 0:
            axes[r][0].legend(loc="upper right", fontsize=7)
            axes[r][0].set_title("commanded vs actual")
            axes[r][1].set_title(f"tracking error (delay {delay_s:g} s)")
    axes[-1][0].set_xlabel("s")
    axes[-1][1].set_xlabel("s")
    fig.tight_layout()
    return _png(fig), stats


def rates_png(q: TelemetryQuery, bin_s: float = 1.0, window_s: float = 60.0) -> bytes:
    """PNG of commands/s and feedback/s per ``bin_s`` over the last ``window_s`` seconds."""
    fig, ax = plt.subplots(figsize=(10, 2.5))
    for table, label in (("dds_commands", "commands/s"), ("dds_feedback", "feedback/s")):
        hi = q._scalar(f"SELECT MAX(ts) FROM {table}")
        if hi is None:
            continue
        rows = q._rows(f"SELECT CAST((ts - ?) / ? AS INTEGER) AS b, COUNT(*) AS n FROM {table} "
                       f"WHERE ts > ? GROUP BY b ORDER BY b", [hi - window_s, bin_s, hi - window_s])
        ax.plot([r["b"] * bin_s - window_s for r in rows], [r["n"] / bin_s for r in rows], label=label)
    ax.set_xlabel("s before the newest row")
    ax.set_ylabel("rate, 1/s")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


class Dashboard:
    """The live dashboard (see module docstring).

    Args:
        db_path: telemetry database; joints: joints to plot; delay_s: tracking delay;
        refresh_s: live refresh period.

    Raises:
        TelemetryDatabaseError: the database cannot be opened read-only.
    """

    def __init__(self, db_path: str | os.PathLike[str], joints: Sequence[int] = (0, 1, 2),
                 delay_s: float = 0.0, refresh_s: float = 2.0) -> None:
        import ipywidgets as w
        self.db_path = Path(db_path)
        self.q = TelemetryQuery(self.db_path)
        self.joints, self.delay_s, self.refresh_s = tuple(joints), float(delay_s), float(refresh_s)
        self.summary = w.HTML()
        self.tracking = w.Image(format="png")
        self.tracking_stats = w.HTML()
        self.rates = w.Image(format="png")
        self.latency = w.HTML()
        self.cameras = w.HTML()
        self.events = w.HTML()
        self.status = w.HTML()
        self.widget = w.VBox([
            self.summary, w.HTML("<h3>Commanded vs actual</h3>"), self.tracking, self.tracking_stats,
            w.HTML("<h3>Command / feedback rates</h3>"), self.rates,
            w.HTML("<h3>Web latency</h3>"), self.latency, w.HTML("<h3>Cameras</h3>"), self.cameras,
            w.HTML("<h3>Latest events</h3>"), self.events, self.status])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0

    def refresh(self) -> None:
        """Query everything once and update the widgets."""
        q = self.q
        self.summary.value = summary_html(q)
        png, stats = tracking_png(q, self.joints, self.delay_s)
        self.tracking.value = png
        self.tracking_stats.value = html_table(
            [{"joint": j, **{k: v for k, v in s.items() if k != "joint"}} for j, s in stats.items()],
            cls="tm-tracking")
        self.rates.value = rates_png(q)
        lat = q.get_web_latency_stats()
        by = lat.pop("by_endpoint")
        self.latency.value = html_table([{"endpoint": "(all)", **lat}] + [{"endpoint": k, **v} for k, v in by.items()],
                                        cls="tm-latency")
        cams = q.get_camera_health(limit=200)
        latest = {r["camera_id"]: r for r in cams}
        self.cameras.value = html_table(list(latest.values()), ["camera_id", "actual_fps", "target_fps",
                                                                "drop_count", "connected", "stalled"], cls="tm-cameras")
        self.events.value = html_table(list(reversed(q.get_events(limit=10))),
                                       ["ts", "level", "source", "event_type", "detail"], cls="tm-events")
        self.refreshes += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_s):
            try:
                self.refresh()
                self.status.value = ""
            except (TelemetryError, OSError, ValueError) as exc:  # keep the page alive
                self.status.value = f'<p style="color:red">refresh failed: {html.escape(str(exc))}</p>'

    def start_live(self) -> None:
        """Refresh every ``refresh_s`` seconds in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="telemetry-dashboard")
            self._thread.start()

    def stop_live(self) -> None:
        """Stop the refresh thread."""
        self._stop.set()
