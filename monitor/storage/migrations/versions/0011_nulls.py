"""Null thresholds of a reference version: per feature and statistic, calibrated once.

`reference_nulls`: one row per (reference version, feature, method) holding the feature's
null quantiles (`monitor.drift.calibration.FeatureNull` as JSON). Written once when the
reference is materialised (or on first use for older references); the unique key lets the
first of several replicas win.

Revision ID: 0011_nulls
Revises: 0010_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011_nulls"
down_revision = "0010_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_nulls",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "reference_id",
            sa.BigInteger,
            sa.ForeignKey("reference_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("feature", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("null", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference_id", "feature", "method", name="uq_reference_nulls_feature"),
    )


def downgrade() -> None:
    op.drop_table("reference_nulls")
