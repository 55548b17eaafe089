"""The alarm tables of issue 14: operators' marks on alerts, each run's merged window
sketches (moving baselines), a reference's null thresholds and the sequential (CUSUM) state.
Split from `tables` by purpose; `tables` imports this module so `metadata` holds them."""

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
)

from monitor.storage.table_types import BigId, UTCDateTime, json_doc, metadata

# --- alert marks (issue 14 item 5, b14-calib) ---
alert_marks = Table(  # an operator's verdict on an alert: a false alarm or a true one (last wins)
    "alert_marks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("monitor", Text, nullable=False),  # the alert's, for per-monitor shares
    Column("rule", Text, nullable=False),
    Column("verdict", Text, nullable=False),  # false | true
    Column("note", Text),
    Column("by", Text),
    Column("marked_at", UTCDateTime, nullable=False),
    Index("ix_alert_marks_monitor_at", "monitor", "marked_at"),
    Index("ix_alert_marks_alert", "alert_id", "id"),
)

# --- baselines (issue 14 item 4, branch b14-baseline) ---
window_sketches = Table(  # a run's merged window sketches, packed: trailing/seasonal baselines
    "window_sketches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("monitor", Text, nullable=False),
    Column(
        "reference_id",
        BigInteger,
        ForeignKey("reference_datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("sketch", LargeBinary, nullable=False),  # storage.baselines.pack: every feature
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "reference_id", "window_start", "window_end", name="uq_window_sketches_window"
    ),
)

# --- null thresholds of a reference (issue 14, branch b14-auto) ---
reference_nulls = Table(  # one feature's null quantiles, calibrated once per reference version
    "reference_nulls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "reference_id",
        BigInteger,
        ForeignKey("reference_datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("feature", Text, nullable=False),
    Column("method", Text, nullable=False),  # the calibrated statistic (wasserstein_normed, ...)
    Column("null", json_doc(), nullable=False),  # FeatureNull as JSON (calibration.asdict)
    Column("seed", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("reference_id", "feature", "method", name="uq_reference_nulls_feature"),
)

# --- sequential detection state (issue 14 item 3, branch b14-seq) ---
sequential_monitors = Table(  # one row per monitor: the lock and the order of applied windows
    "sequential_monitors",
    metadata,
    Column("monitor", Text, primary_key=True),
    Column(
        "reference_id", BigInteger, ForeignKey("reference_datasets.id", ondelete="SET NULL")
    ),  # the reference the sums belong to (another one restarts everything)
    Column("windows", Integer, nullable=False),  # windows applied since that reference's start
    Column("last_window_end", UTCDateTime),  # newest window applied; older ones are not
    Column("last_run_id", BigInteger),
    Column("config", Text),  # the CUSUM settings the sums were made with (others restart)
    Column("updated_at", UTCDateTime, nullable=False),
)

sequential_features = Table(  # one feature's CUSUM for (monitor, reference)
    "sequential_features",
    metadata,
    Column("monitor", Text, nullable=False),
    Column(
        "reference_id",
        BigInteger,
        ForeignKey("reference_datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("feature", Text, nullable=False),
    Column("statistic", Float, nullable=False),  # the CUSUM sum S_t
    Column("since", Integer, nullable=False),  # windows applied since the feature's (re)start
    Column("warm_n", Integer, nullable=False),  # warm-up windows seen (Welford n, mean, M2)
    Column("warm_mean", Float, nullable=False),
    Column("warm_m2", Float, nullable=False),
    Column("restarts", Integer, nullable=False),  # restarts after a resolved alert
    Column("restarted_at", UTCDateTime),
    # windows in a row that left the sum at 0 (learning: 0013_seq_learn, branch b17-seq)
    Column("quiet", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("monitor", "reference_id", "feature", name="pk_sequential_features"),
)

sequential_windows = Table(  # each judged run's scores and whether its window was applied
    "sequential_windows",
    metadata,
    Column("run_id", BigInteger, ForeignKey("drift_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("monitor", Text, nullable=False),
    Column("reference_id", BigInteger, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("applied", Boolean, nullable=False),  # False: older than the newest applied window
    Column("scores", json_doc(), nullable=False),  # {feature: z or null}
    Index("ix_sequential_windows_monitor_end", "monitor", "window_end"),
)
