"""A deployment's key: the model's deployment it follows (0 for the first), unique per model.

Two simultaneous posts of a deployment both read the same newest deployment; with
`(model, follows_id)` unique only one of them can be stored, the other finds the winner
(`monitor.deployments.deploy`). Existing rows get the id of the model's previous deployment.

Revision ID: 0007_deploy_key
Revises: 0006_estimate
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_deploy_key"
down_revision = "0006_estimate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deployments", sa.Column("follows_id", sa.BigInteger))
    op.execute(
        "UPDATE deployments SET follows_id = COALESCE((SELECT MAX(p.id) FROM deployments p"
        " WHERE p.model = deployments.model AND p.id < deployments.id), 0)"
    )
    op.create_index(
        "uq_deployments_model_follows", "deployments", ["model", "follows_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_deployments_model_follows", table_name="deployments")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("follows_id")
