"""Initial schema: raw events, dead letters, references, sketches, runs, alerts, outbox.

Self-contained (does not import monitor.storage.tables) so later edits to the tables module
cannot change what this revision does. On Postgres `predictions` is range-partitioned by ts
with a DEFAULT partition; daily partitions are created by `retention.ensure_partitions`.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _json_text() -> sa.types.TypeEngine:
    return sa.JSON()


def _id() -> sa.Column:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def _raw_events(pg: bool) -> None:
    op.create_table(
        "predictions",
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("model_version", sa.Text),
        sa.Column("received_at", _ts(), nullable=False),
        sa.Column("features", _json_text(), nullable=False),
        sa.Column("prediction", _json_text()),
        sa.Column("prediction_proba", _json_text()),
        sa.Column("segment", _json_text()),
        sa.PrimaryKeyConstraint("model", "ts", "event_id", name="pk_predictions"),
        **({"postgresql_partition_by": "RANGE (ts)"} if pg else {}),  # type: ignore[arg-type]  # dialect kwargs
    )
    if pg:
        op.execute("CREATE TABLE predictions_default PARTITION OF predictions DEFAULT")

    op.create_table(
        "labels",
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("label", _json_text(), nullable=False),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("model", "event_id", name="pk_labels"),
    )
    op.create_index("ix_labels_model_ts", "labels", ["model", "ts"])

    op.create_table(
        "dead_letters",
        _id(),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("kafka_partition", sa.Integer, nullable=False),
        sa.Column("kafka_offset", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.UniqueConstraint(
            "topic", "kafka_partition", "kafka_offset", name="uq_dead_letters_position"
        ),
    )
    op.create_index("ix_dead_letters_reason", "dead_letters", ["reason"])
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])


def _references() -> None:
    """Reference versions and the per-bucket sketches windows are merged from."""
    op.create_table(
        "reference_datasets",
        _id(),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("spec", _json(), nullable=False),
        sa.Column("sketch", sa.LargeBinary),
        sa.UniqueConstraint("monitor", "version", name="uq_reference_datasets_monitor_version"),
    )
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


def _runs() -> None:
    """Drift runs (after reference_datasets: they point at it) and their feature rows."""
    op.create_table(
        "drift_runs",
        _id(),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column("window_start", _ts(), nullable=False),
        sa.Column("window_end", _ts(), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reference_id", sa.BigInteger, sa.ForeignKey("reference_datasets.id")),
        sa.Column("reference_rows", sa.BigInteger),
        sa.Column("current_rows", sa.BigInteger),
        sa.Column("dataset_drift", sa.Boolean),
        sa.Column("drift_share", sa.Float),
        sa.Column("n_features", sa.Integer),
        sa.Column("n_drifted", sa.Integer),
        sa.Column("summary", _json()),
        sa.Column("report_url", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts()),
        sa.UniqueConstraint("monitor", "window_start", "window_end", name="uq_drift_runs_window"),
    )
    op.create_index("ix_drift_runs_monitor_end", "drift_runs", ["monitor", "window_end"])
    op.create_table(
        "drift_feature_results",
        _id(),
        sa.Column(
            "run_id",
            sa.BigInteger,
            sa.ForeignKey("drift_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("feature", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("statistic", sa.Float),
        sa.Column("p_value", sa.Float),
        sa.Column("threshold", sa.Float),
        sa.Column("drifted", sa.Boolean),
        sa.Column("stats", _json()),
        sa.UniqueConstraint("run_id", "feature", name="uq_drift_feature_results_feature"),
    )


def _alerts() -> None:
    """Alerts (after drift_runs: they point at it), their events and silences."""
    op.create_table(
        "alerts",
        _id(),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("consecutive", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "last_run_id", sa.BigInteger, sa.ForeignKey("drift_runs.id", ondelete="SET NULL")
        ),
        sa.Column("details", _json()),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("fired_at", _ts()),
        sa.Column("last_seen_at", _ts()),
        sa.Column("last_notified_at", _ts()),
        sa.Column("resolved_at", _ts()),
    )
    op.create_index(
        "uq_alerts_open_fingerprint",
        "alerts",
        ["fingerprint"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_alerts_monitor_state", "alerts", ["monitor", "state"])
    op.create_table(
        "alert_events",
        _id(),
        sa.Column(
            "alert_id",
            sa.BigInteger,
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("drift_runs.id", ondelete="SET NULL")),
        sa.Column("detail", _json()),
    )
    op.create_index("ix_alert_events_alert_at", "alert_events", ["alert_id", "at"])
    op.create_table(
        "silences",
        _id(),
        sa.Column("monitor", sa.Text, nullable=False),
        sa.Column("rule", sa.Text),
        sa.Column("until", _ts(), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_index("ix_silences_monitor_until", "silences", ["monitor", "until"])


def _outbox() -> None:
    """The notification outbox (after alerts: a delivery points at its alert)."""
    op.create_table(
        "notifications",
        _id(),
        sa.Column("delivery_id", sa.Text, nullable=False),
        sa.Column("alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="SET NULL")),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _ts(), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("delivered_at", _ts()),
        sa.UniqueConstraint("delivery_id", name="uq_notifications_delivery_id"),
    )
    op.create_index("ix_notifications_status_next", "notifications", ["status", "next_attempt_at"])


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    _raw_events(pg)
    _references()
    _runs()
    _alerts()
    _outbox()


def downgrade() -> None:
    for table in (
        "notifications",
        "silences",
        "alert_events",
        "alerts",
        "drift_feature_results",
        "drift_runs",
        "feature_sketches",
        "reference_datasets",
        "dead_letters",
        "labels",
        "predictions",  # drops its partitions too
    ):
        op.drop_table(table)
