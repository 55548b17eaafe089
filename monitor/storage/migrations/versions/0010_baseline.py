"""Window sketches: each run's merged window sketches, packed in one row, so a trailing or
seasonal baseline of N windows reads N rows instead of N x buckets x features.

Revision ID: 0010_baseline
Revises: 0009_mlflow
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_baseline"
down_revision = "0009_mlflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "window_sketches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column(
            "reference_id",
            sa.BigInteger,
            sa.ForeignKey("reference_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("sketch", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "reference_id", "window_start", "window_end", name="uq_window_sketches_window"
        ),
    )


def downgrade() -> None:
    op.drop_table("window_sketches")
