"""In-process ingestion counters; the operate work exports them to Prometheus.

Written only by the consumer thread; `snapshot()` gives other threads a consistent copy.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class IngestMetrics:
    polled: int = 0  # records returned by poll (before parsing and storing)
    consumed: Counter[str] = field(
        default_factory=Counter
    )  # records of committed batches, per topic
    stored_predictions: Counter[str] = field(
        default_factory=Counter
    )  # per model, committed batches
    stored_labels: Counter[str] = field(default_factory=Counter)  # per model, committed batches
    rejected: Counter[str] = field(default_factory=Counter)  # dead letters, per reason
    duplicates: int = 0  # redelivered rows the store already had (idempotent writes at work)
    batches: int = 0  # batches stored and committed
    store_retries: int = 0  # failed store attempts that were retried (database down)
    commit_failures: int = 0  # offset commits refused (rebalance): those records are re-read
    last_batch_seconds: float = 0.0  # poll of the batch -> its offsets committed
    last_batch_size: int = 0
    lag: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> highwater - position
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def snapshot(self) -> IngestMetrics:
        with self._lock:
            out = copy.copy(self)
            for name in ("consumed", "stored_predictions", "stored_labels", "rejected"):
                setattr(out, name, Counter(getattr(self, name)))
            out.lag = dict(self.lag)
        out._lock = threading.Lock()
        return out

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def totals(self) -> dict[str, int]:
        """The fields of the consumer's progress log lines (call on a snapshot)."""
        return {
            "consumed": sum(self.consumed.values()),
            "stored_predictions": sum(self.stored_predictions.values()),
            "stored_labels": sum(self.stored_labels.values()),
            "rejected": sum(self.rejected.values()),
            "batches": self.batches,
            "duplicates": self.duplicates,
            "store_retries": self.store_retries,
            "lag": sum(self.lag.values()),
        }
