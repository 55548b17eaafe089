"""Retraining targets: `notifications.answer` keeps what the target answered (run id, URL).

Revision ID: 0004_retrain
Revises: 0003_web
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_retrain"
down_revision = "0003_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("answer", sa.JSON().with_variant(JSONB(), "postgresql")))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("answer")
