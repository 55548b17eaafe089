"""Table definitions (SQLAlchemy Core) shared by queries, writes and the migration check.

The schema is created by the Alembic migrations in `migrations/`, never by `create_all`
outside tests; `tests/storage/test_migrations.py` checks the two agree.

Raw events
- `predictions`: one row per (model, event_id, ts). On Postgres it is range-partitioned by
  `ts` into daily partitions plus a DEFAULT partition (see `retention.py`), so that retention
  drops whole days instead of deleting rows and window scans touch only the days they need.
  Postgres requires the partition column in every unique key, so the key is
  (model, event_id, ts) on both dialects. Idempotency is unaffected: a redelivered message has
  the same bytes, hence the same ts. What it gives up: a producer that reuses an event_id with
  a *different* timestamp stores two rows (they are two events as far as we can tell); a
  label then joins both. The key is ordered (model, ts, event_id) so the one index also
  serves window scans by (model, ts); label joins go window -> labels' own key.
  JSON columns of raw events are `json`, not `jsonb` (see `json_text`).
- `labels`: one row per (model, event_id); joinable to predictions whichever arrives first.
  A later label for the same prediction replaces the stored one only if its timestamp is
  newer (see `writes.py`).
- `dead_letters`: rejected messages, unique per Kafka (topic, partition, offset).
Derived and operational tables (filled by the scheduler, alerting and notification work):
reference_datasets, feature_sketches, drift_runs, drift_feature_results, alerts,
alert_events, silences, notifications.
Column types and the shared `metadata` live in `table_types`; the alarm tables (issue 14:
alert marks, window sketches, null thresholds, sequential state) in `tables_alarms`, which
this module imports so that `metadata` always holds every table.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from monitor.storage.table_types import BigId, UTCDateTime, json_doc, json_text, metadata

predictions = Table(
    "predictions",
    metadata,
    Column("model", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("model_version", Text),
    Column("received_at", UTCDateTime, nullable=False),
    Column("features", json_text(), nullable=False),
    Column("prediction", json_text()),
    Column("prediction_proba", json_text()),
    Column("segment", json_text()),
    PrimaryKeyConstraint("model", "ts", "event_id", name="pk_predictions"),
    postgresql_partition_by="RANGE (ts)",
)

labels = Table(
    "labels",
    metadata,
    Column("model", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("label", json_text(), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("model", "event_id", name="pk_labels"),
    Index("ix_labels_model_ts", "model", "ts"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("topic", Text, nullable=False),
    Column("kafka_partition", Integer, nullable=False),
    Column("kafka_offset", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("topic", "kafka_partition", "kafka_offset", name="uq_dead_letters_position"),
    Index("ix_dead_letters_reason", "reason"),
    Index("ix_dead_letters_received_at", "received_at"),
)

reference_datasets = Table(
    "reference_datasets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("monitor", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("source", Text, nullable=False),  # file path, time range or "first N events"
    Column("row_count", BigInteger, nullable=False),
    Column("spec", json_doc(), nullable=False),  # feature kinds, bin edges, categories
    Column("sketch", LargeBinary),  # serialised per-feature sketches
    UniqueConstraint("monitor", "version", name="uq_reference_datasets_monitor_version"),
)

feature_sketches = Table(
    "feature_sketches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("monitor", Text, nullable=False),
    Column(
        "reference_id",
        BigInteger,
        ForeignKey("reference_datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("feature", Text, nullable=False),
    Column("bucket_start", UTCDateTime, nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("sketch", LargeBinary, nullable=False),  # monitor.drift.sketch.to_bytes
    Column("compacted", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_feature_sketches_ref_bucket", "reference_id", "bucket_start"),
)

drift_runs = Table(
    "drift_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("monitor", Text, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    # running | succeeded | insufficient_data | failed; readers show only finished runs
    Column("status", Text, nullable=False),
    Column("reference_id", BigInteger, ForeignKey("reference_datasets.id")),
    Column("reference_rows", BigInteger),
    Column("current_rows", BigInteger),
    Column("dataset_drift", Boolean),
    Column("drift_share", Float),
    Column("n_features", Integer),
    Column("n_drifted", Integer),
    Column("summary", json_doc()),  # prediction drift, data quality, multivariate score
    Column("report_url", Text),
    Column("error", Text),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime),  # lease: a running run not beating is taken over
    Column("duration_s", Float),
    Column("kind", Text, nullable=False, server_default="drift"),
    UniqueConstraint("monitor", "window_start", "window_end", name="uq_drift_runs_window"),
    Index("ix_drift_runs_monitor_end", "monitor", "window_end"),
)

drift_feature_results = Table(
    "drift_feature_results",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", BigInteger, ForeignKey("drift_runs.id", ondelete="CASCADE"), nullable=False),
    Column("feature", Text, nullable=False),
    Column("kind", Text, nullable=False),  # numeric | categorical | prediction
    Column("method", Text, nullable=False),
    Column("statistic", Float),
    Column("p_value", Float),
    Column("threshold", Float),
    Column("drifted", Boolean),
    Column("stats", json_doc()),  # missing share, new categories, out-of-range share, ...
    UniqueConstraint("run_id", "feature", name="uq_drift_feature_results_feature"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("fingerprint", Text, nullable=False),  # hash of monitor + rule + subject
    Column("monitor", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("state", Text, nullable=False),  # pending | firing | resolved
    Column("severity", Text, nullable=False),
    Column("consecutive", Integer, nullable=False, server_default="0"),
    Column("last_run_id", BigInteger, ForeignKey("drift_runs.id", ondelete="SET NULL")),
    Column("details", json_doc()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime),
    Column("last_seen_at", UTCDateTime),
    Column("last_notified_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    # one open alert per fingerprint; resolved ones are history
    Index(
        "uq_alerts_open_fingerprint",
        "fingerprint",
        unique=True,
        postgresql_where=text("resolved_at IS NULL"),
        sqlite_where=text("resolved_at IS NULL"),
    ),
    Index("ix_alerts_monitor_state", "monitor", "state"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("state", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("run_id", BigInteger, ForeignKey("drift_runs.id", ondelete="SET NULL")),
    Column("detail", json_doc()),
    Index("ix_alert_events_alert_at", "alert_id", "at"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("monitor", Text, nullable=False),
    Column("rule", Text),  # NULL: every rule of the monitor
    Column("until", UTCDateTime, nullable=False),
    Column("reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_silences_monitor_until", "monitor", "until"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", Text, nullable=False),  # stable across retries (X-Monitor-Delivery)
    Column("alert_id", BigInteger, ForeignKey("alerts.id", ondelete="SET NULL")),
    Column("channel", Text, nullable=False),  # slack | webhook
    Column("route", Text, nullable=False),
    Column("event", Text, nullable=False),  # drift.detected | drift.resolved | ...
    Column("payload", json_doc(), nullable=False),
    Column("status", Text, nullable=False),  # pending | delivered | failed | suppressed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),  # or, for status suppressed, why it was not sent
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("fingerprint", Text),  # the alert's; route cooldowns look back by it
    Column("severity", Text),
    Column("external_id", Text),  # the channel's id of what was sent (e.g. Slack message ts)
    Column("answer", json_doc()),  # a retraining target's answer: run id, URL (0003_retrain)
    UniqueConstraint("delivery_id", name="uq_notifications_delivery_id"),
    Index("ix_notifications_status_next", "status", "next_attempt_at"),
    Index("ix_notifications_route_fingerprint", "route", "fingerprint", "created_at"),
)

performance_runs = Table(
    "performance_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("monitor", Text, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("revision", Integer, nullable=False),  # 1 = first computed; +1 per late-label revision
    Column("status", Text, nullable=False),  # succeeded | insufficient_labels
    Column("predictions", BigInteger, nullable=False),
    Column("labelled", BigInteger, nullable=False),
    Column("metrics", json_doc()),
    Column("segments", json_doc()),
    Column("computed_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "monitor", "window_start", "window_end", "revision", name="uq_performance_runs_rev"
    ),
    Index("ix_performance_runs_monitor_end", "monitor", "window_end"),
)

RAW_EVENT_TABLES = ("predictions", "labels", "dead_letters")

web_sessions = Table(  # dashboard sign-ins (monitor.web.sessions), shared by API replicas
    "web_sessions",
    metadata,
    Column("id_hash", Text, primary_key=True),  # SHA-256 hex of the cookie's session id
    Column("scope", Text, nullable=False),  # read | admin
    Column("csrf", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_web_sessions_expires_at", "expires_at"),
    Index("ix_web_sessions_created_at", "created_at"),
)

deployments = Table(  # model versions that went live (monitor.deployments), newest = highest id
    "deployments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("model", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("reference", Text, nullable=False),  # the training data's path or URI
    Column("trigger_delivery_id", Text),  # the outbox delivery (retraining trigger), if given
    Column("alert_id", BigInteger, ForeignKey("alerts.id", ondelete="SET NULL")),
    Column("reference_versions", json_doc()),  # {monitor: reference version materialised}
    Column("superseded", json_doc()),  # ids of the alerts resolved as superseded
    Column("deployed_at", UTCDateTime, nullable=False),
    Column("follows_id", BigInteger),  # the model's deployment it follows, 0 for the first
    Index("ix_deployments_model_id", "model", "id"),
    Index("uq_deployments_model_follows", "model", "follows_id", unique=True),
)

# --- performance estimation (issue 15) ---
reference_estimators = Table(  # an estimator fitted once on a labelled reference version
    "reference_estimators",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "reference_id",
        BigInteger,
        ForeignKey("reference_datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("method", Text, nullable=False),  # cbpe | ac | atc | dle
    Column("state", json_doc(), nullable=False),  # the estimator's JSON state (no pickles)
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("reference_id", "method", name="uq_reference_estimators_ref_method"),
)

window_estimates = Table(  # the estimated metrics (with bands) of one performance window
    "window_estimates",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("monitor", Text, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column(
        "estimator_id",
        BigInteger,
        ForeignKey("reference_estimators.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("rows", BigInteger, nullable=False),  # predictions the estimate was computed on
    Column("estimate", json_doc(), nullable=False),  # WindowEstimate.to_dict()
    Column("computed_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "monitor", "window_start", "window_end", "estimator_id", name="uq_window_estimates_window"
    ),
)

# --- MLflow references (issue 16 item 5, branch b16-mlflow) ---
reference_mlflow = Table(  # where an MLflow reference version came from (one per reference)
    "reference_mlflow",
    metadata,
    Column(
        "reference_id",
        BigInteger,
        ForeignKey("reference_datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("model_uri", Text, nullable=False),  # as configured: models:/churn@champion
    Column("registered_model", Text, nullable=False),
    Column("alias", Text),  # the alias resolved, when the URI names one
    Column("model_version", Text, nullable=False),  # the version it resolved to
    Column("run_id", Text, nullable=False),
    Column("dataset_name", Text),  # the logged dataset read (None: an artifact)
    Column("dataset_digest", Text),  # MLflow's digest, or sha256:... of an artifact's bytes
    Column("artifact_path", Text),
    Column("data_uri", Text, nullable=False),  # where the rows were read (no credentials)
)

mlflow_alias_watch = Table(  # the alias version the watcher last acted on, per model
    "mlflow_alias_watch",
    metadata,
    Column("model", Text, primary_key=True),  # the monitored model (deployments' model)
    Column("registered_model", Text, primary_key=True),
    Column("alias", Text, primary_key=True),
    Column("model_version", Text, nullable=False),
    Column("deployment_id", BigInteger),  # the deployment it caused (None: first sight)
    Column("updated_at", UTCDateTime, nullable=False),
)


# Registers the alarm tables on `metadata` (migration check, test schemas).
import monitor.storage.tables_alarms  # noqa: E402, F401
