"""Scheduler, alerting and performance: per-reference bucket sketches, run leases, outbox keys.

- `feature_sketches` is rebuilt (it held no data yet): append-only sketch *deltas* per
  (monitor, reference version, feature, time bucket). Ingestion appends one delta per batch in
  the batch's own transaction, so a redelivered batch (whose rows are skipped as duplicates)
  adds nothing, and concurrent consumers never contend on a row; the scheduler merges a
  window's deltas and compacts closed buckets into one row.
- `drift_runs` gains `heartbeat_at` (lease of a running run), `duration_s` and `kind`
  (drift | performance).
- `notifications` gains `fingerprint` and `severity` (route cooldowns, dashboards).
- `performance_runs`: metrics of one window, revised when late labels arrive.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _id() -> sa.Column:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def upgrade() -> None:
    op.drop_index("ix_feature_sketches_model_bucket", table_name="feature_sketches")
    op.drop_table("feature_sketches")
    op.create_table(
        "feature_sketches",
        _id(),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column(
            "reference_id",
            sa.BigInteger,
            sa.ForeignKey("reference_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("feature", sa.Text, nullable=False),
        sa.Column("bucket_start", _ts(), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("sketch", sa.LargeBinary, nullable=False),
        sa.Column("compacted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_index(
        "ix_feature_sketches_ref_bucket",
        "feature_sketches",
        ["reference_id", "bucket_start"],
    )
    with op.batch_alter_table("drift_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", _ts()))
        batch.add_column(sa.Column("duration_s", sa.Float))
        batch.add_column(sa.Column("kind", sa.Text, nullable=False, server_default="drift"))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("fingerprint", sa.Text))
        batch.add_column(sa.Column("severity", sa.Text))
        batch.add_column(sa.Column("external_id", sa.Text))
    op.create_index(
        "ix_notifications_route_fingerprint",
        "notifications",
        ["route", "fingerprint", "created_at"],
    )
    op.create_table(
        "performance_runs",
        _id(),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column("window_start", _ts(), nullable=False),
        sa.Column("window_end", _ts(), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("predictions", sa.BigInteger, nullable=False),
        sa.Column("labelled", sa.BigInteger, nullable=False),
        sa.Column("metrics", _json()),
        sa.Column("segments", _json()),
        sa.Column("computed_at", _ts(), nullable=False),
        sa.UniqueConstraint(
            "monitor", "window_start", "window_end", "revision", name="uq_performance_runs_rev"
        ),
    )
    op.create_index(
        "ix_performance_runs_monitor_end", "performance_runs", ["monitor", "window_end"]
    )


def downgrade() -> None:
    op.drop_index("ix_performance_runs_monitor_end", table_name="performance_runs")
    op.drop_table("performance_runs")
    op.drop_index("ix_notifications_route_fingerprint", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("external_id")
        batch.drop_column("severity")
        batch.drop_column("fingerprint")
    with op.batch_alter_table("drift_runs") as batch:
        batch.drop_column("kind")
        batch.drop_column("duration_s")
        batch.drop_column("heartbeat_at")
    op.drop_index("ix_feature_sketches_ref_bucket", table_name="feature_sketches")
    op.drop_table("feature_sketches")
    op.create_table(
        "feature_sketches",
        _id(),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("model_version", sa.Text, nullable=False, server_default=""),
        sa.Column("feature", sa.Text, nullable=False),
        sa.Column("bucket_start", _ts(), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("sketch", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.UniqueConstraint(
            "model", "model_version", "feature", "bucket_start", name="uq_feature_sketches_bucket"
        ),
    )
    op.create_index(
        "ix_feature_sketches_model_bucket", "feature_sketches", ["model", "bucket_start"]
    )
