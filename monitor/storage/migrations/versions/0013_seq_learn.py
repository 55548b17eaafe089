"""Sequential learning: each feature's count of quiet windows in a row.

With `alarm.sequential.learn` (the default), after the warm-up a feature's mean and sd of
its standardised score keep learning from each window that follows `LEARN_QUIET` windows
in a row whose sum stayed at 0 (`monitor.drift.sequential`). `quiet` holds that count;
the learned windows go on into warm_n / warm_mean / warm_m2. Existing rows start at 0
(server default); their CUSUM settings key changes with learning, so they restart anyway.

Revision ID: 0013_seq_learn
Revises: 0012_seq
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_seq_learn"
down_revision = "0012_seq"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sequential_features",
        sa.Column("quiet", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("sequential_features", "quiet")
