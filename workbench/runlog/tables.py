"""The run-log tables (SQLAlchemy Core), mirroring migration ``0001_runlog``.

``runs``: one row per CAM run (job, machine, material, tool, stepover 0..1, stepdown mm,
post, feed_xy mm/min, rpm, est_time_s predicted, act_time_s measured, notes).
``segments``: one row per move of a run, unique on (run_id, idx), ON DELETE CASCADE from runs;
``limit`` is the motion planner's bottleneck label (feed_cap|accel|jerk|none). ``t_s`` (the
move's planned time, s) is an addition to the original schema, used for time shares.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts_utc", sa.Integer, nullable=False),
    sa.Column("job_name", sa.Text),
    sa.Column("machine_id", sa.Text, index=True),
    sa.Column("material_id", sa.Text),
    sa.Column("tool_d", sa.Float),
    sa.Column("stepover", sa.Float),
    sa.Column("stepdown", sa.Float),
    sa.Column("post_id", sa.Text),
    sa.Column("feed_xy", sa.Float),
    sa.Column("rpm", sa.Integer),
    sa.Column("est_time_s", sa.Float),
    sa.Column("act_time_s", sa.Float),
    sa.Column("notes", sa.Text),
)

segments = sa.Table(
    "segments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("idx", sa.Integer),
    sa.Column("code", sa.Text),
    sa.Column("x", sa.Float),
    sa.Column("y", sa.Float),
    sa.Column("len_mm", sa.Float),
    sa.Column("limit", sa.Text),
    sa.Column("slowdown", sa.Float),
    sa.Column("trochoid", sa.Integer),
    sa.Column("radius_mm", sa.Float),
    sa.Column("feed_f", sa.Float),
    sa.Column("t_s", sa.Float),
    sa.UniqueConstraint("run_id", "idx", name="uq_segments_run_idx"),
)

RUN_COLUMNS: tuple[str, ...] = tuple(c.name for c in runs.columns if c.name != "id")
SEGMENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in segments.columns if c.name not in ("id", "run_id"))
