"""Deployments fed back: which model version went live, with which reference, and why.

`deployments`: the model, the version, the reference source (path or URI), the outbox
delivery that triggered the retraining and its alert (both optional), the reference version
materialised for each monitor of the model, and when it went live.

Revision ID: 0005_deploy
Revises: 0004_retrain
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_deploy"
down_revision = "0004_retrain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("trigger_delivery_id", sa.Text),
        sa.Column("alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="SET NULL")),
        sa.Column("reference_versions", sa.JSON().with_variant(JSONB(), "postgresql")),
        sa.Column("superseded", sa.JSON().with_variant(JSONB(), "postgresql")),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_deployments_model_id", "deployments", ["model", "id"])


def downgrade() -> None:
    op.drop_index("ix_deployments_model_id", table_name="deployments")
    op.drop_table("deployments")
