"""Storage: SQLAlchemy Core tables, Alembic migrations, batch writes, queries, retention.

Postgres (psycopg 3) in production, SQLite embedded; the same code and migrations on both.
"""

from monitor.storage.db import (
    StorageUnavailable,
    current_revision,
    head_revision,
    make_engine,
    safe_url,
    upgrade,
)
from monitor.storage.dead_letters import (
    count_dead_letters,
    dead_letter_counts,
)
from monitor.storage.dead_letters import newest_dead_letters as dead_letters
from monitor.storage.queries import (
    ModelSummary,
    count_labels,
    count_predictions,
    latest_predictions,
    model_summary,
)
from monitor.storage.retention import (
    delete_raw_events_before,
    ensure_partitions,
    maintain,
    retention_cutoff,
)
from monitor.storage.writes import StoreResult, store_batch

__all__ = [
    "ModelSummary",
    "StorageUnavailable",
    "StoreResult",
    "count_dead_letters",
    "count_labels",
    "count_predictions",
    "current_revision",
    "dead_letter_counts",
    "dead_letters",
    "delete_raw_events_before",
    "ensure_partitions",
    "head_revision",
    "latest_predictions",
    "maintain",
    "make_engine",
    "model_summary",
    "retention_cutoff",
    "safe_url",
    "store_batch",
    "upgrade",
]
