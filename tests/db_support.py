"""Database helpers for test suites (import as `from db_support import truncate_all`)."""

from __future__ import annotations

from typing import Any

ALL_TABLES = (
    "performance_runs, notifications, silences, alert_events, alerts, drift_feature_results, "
    "drift_runs, feature_sketches, reference_datasets, dead_letters, labels, predictions"
)


def truncate_all(engine: Any) -> None:
    """Empty every table of a Postgres test database (between tests of one suite)."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {ALL_TABLES} RESTART IDENTITY CASCADE"))
