"""Alert marks: operators' verdicts on alerts (false alarm or true), newest per alert wins.

Each mark is also an `alert_events` row (state "marked"), so the alert's history keeps
every mark; `alert_marks` holds them by monitor for the measured false-alarm share.

Revision ID: 0008_marks
Revises: 0007_deploy_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_marks"
down_revision = "0007_deploy_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_marks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "alert_id",
            sa.BigInteger,
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("by", sa.Text),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alert_marks_monitor_at", "alert_marks", ["monitor", "marked_at"])
    op.create_index("ix_alert_marks_alert", "alert_marks", ["alert_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_alert_marks_alert", table_name="alert_marks")
    op.drop_index("ix_alert_marks_monitor_at", table_name="alert_marks")
    op.drop_table("alert_marks")
