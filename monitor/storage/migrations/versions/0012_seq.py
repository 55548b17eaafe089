"""Sequential detection state: one row per monitor (lock, order) and one per feature's CUSUM.

`sequential_monitors` is locked by every run that applies a window (SELECT ... FOR UPDATE),
so concurrent replicas apply a monitor's windows one at a time and in window order;
`sequential_features` holds each feature's sum and warm-up for (monitor, reference);
`sequential_windows` logs each judged run's scores and whether its window was applied.

Revision ID: 0012_seq
Revises: 0011_nulls
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012_seq"
down_revision = "0011_nulls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sequential_monitors",
        sa.Column("monitor", sa.Text, primary_key=True),
        sa.Column(
            "reference_id",
            sa.BigInteger,
            sa.ForeignKey("reference_datasets.id", ondelete="SET NULL"),
        ),
        sa.Column("windows", sa.Integer, nullable=False),
        sa.Column("last_window_end", sa.DateTime(timezone=True)),
        sa.Column("last_run_id", sa.BigInteger),
        sa.Column("config", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sequential_features",
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column(
            "reference_id",
            sa.BigInteger,
            sa.ForeignKey("reference_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("feature", sa.Text, nullable=False),
        sa.Column("statistic", sa.Float, nullable=False),
        sa.Column("since", sa.Integer, nullable=False),
        sa.Column("warm_n", sa.Integer, nullable=False),
        sa.Column("warm_mean", sa.Float, nullable=False),
        sa.Column("warm_m2", sa.Float, nullable=False),
        sa.Column("restarts", sa.Integer, nullable=False),
        sa.Column("restarted_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint(
            "monitor", "reference_id", "feature", name="pk_sequential_features"
        ),
    )

    op.create_table(
        "sequential_windows",
        sa.Column(
            "run_id",
            sa.BigInteger,
            sa.ForeignKey("drift_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column("reference_id", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("scores", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    )
    op.create_index(
        "ix_sequential_windows_monitor_end", "sequential_windows", ["monitor", "window_end"]
    )


def downgrade() -> None:
    op.drop_index("ix_sequential_windows_monitor_end", table_name="sequential_windows")
    op.drop_table("sequential_windows")
    op.drop_table("sequential_features")
    op.drop_table("sequential_monitors")
