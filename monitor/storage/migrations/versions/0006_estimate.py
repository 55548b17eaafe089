"""Performance estimation: estimators fitted on a reference version, estimates per window.

- `reference_estimators`: one fitted estimator (JSON state, no pickles) per reference version
  and method, so scheduler replicas load it instead of refitting.
- `window_estimates`: a window's estimated metrics with their bands, one row per window and
  estimator (replaced when the window's prediction count changes).

Revision ID: 0006_estimate
Revises: 0004_retrain (the coordinator re-points it at 0005_deploy)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_estimate"
down_revision = "0005_deploy"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "reference_estimators",
        _id(),
        sa.Column(
            "reference_id",
            sa.BigInteger,
            sa.ForeignKey("reference_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference_id", "method", name="uq_reference_estimators_ref_method"),
    )
    op.create_table(
        "window_estimates",
        _id(),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "estimator_id",
            sa.BigInteger,
            sa.ForeignKey("reference_estimators.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("estimate", _json(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "monitor",
            "window_start",
            "window_end",
            "estimator_id",
            name="uq_window_estimates_window",
        ),
    )


def downgrade() -> None:
    op.drop_table("window_estimates")
    op.drop_table("reference_estimators")
