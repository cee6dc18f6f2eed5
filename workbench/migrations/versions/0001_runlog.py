"""CAM run log: runs and segments (the original Module M.4 schema, plus segments.t_s).

Revision ID: 0001_runlog
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_runlog"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts_utc", sa.Integer, nullable=False),
        sa.Column("job_name", sa.Text),
        sa.Column("machine_id", sa.Text),
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
    op.create_index("ix_runs_machine_id", "runs", ["machine_id"])
    op.create_table(
        "segments",
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


def downgrade() -> None:
    op.drop_table("segments")
    op.drop_index("ix_runs_machine_id", table_name="runs")
    op.drop_table("runs")
