"""Process metrics of the consumer (`monitor_ingest_*`): what *this* process did since it
started (counters reset on restart; sum them across replicas).

They come from the consumer's `IngestMetrics` snapshot (read by a custom collector, so the
ingestion code needs no Prometheus imports) plus two histograms fed through the ingestor's
public hooks (`metrics=` and `before_commit=`, see `IngestObserver`). Models outside the
config are reported as model="_other".
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
from prometheus_client import Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from monitor.events import REASONS
from monitor.ingest.counters import IngestMetrics

BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DELAY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)
OTHER_MODEL = "_other"


class _ObservedIngestMetrics(IngestMetrics):
    """IngestMetrics that also feeds a histogram: the consumer sets `last_batch_seconds` once
    per committed batch (poll -> offsets committed), so each batch is observed exactly once."""

    _batch_histogram: Histogram | None = None  # class default: nothing observed during __init__

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "last_batch_seconds" and self._batch_histogram is not None:
            self._batch_histogram.observe(value)


class BulkHistogram:
    """A labelled histogram that takes a whole batch of values at once (numpy bucketing).

    prometheus_client's Histogram observes one value per call (~1.5 us each); the consumer
    commits batches of thousands of events, so the event-delay histogram is filled per batch
    (~0.3 us per event) and exposed by `collect`.
    """

    def __init__(self, name: str, doc: str, label: str, buckets: tuple[float, ...]) -> None:
        self.name, self.doc, self.label = name, doc, label
        self.bounds = np.asarray(buckets, dtype=float)
        self._counts: dict[str, np.ndarray] = {}
        self._sums: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe_many(self, label: str, values: np.ndarray) -> None:
        if values.size == 0:
            return
        per_bucket = np.bincount(
            np.searchsorted(self.bounds, values, side="left"), minlength=self.bounds.size + 1
        )
        with self._lock:
            counts = self._counts.setdefault(label, np.zeros(self.bounds.size + 1, np.int64))
            counts += per_bucket
            self._sums[label] = self._sums.get(label, 0.0) + float(values.sum())

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.doc, labels=[self.label])
        with self._lock:
            snapshot = {k: (v.cumsum(), self._sums[k]) for k, v in self._counts.items()}
        for label, (cumulative, total) in sorted(snapshot.items()):
            buckets = [
                (floatToGoString(b), float(c))
                for b, c in zip(self.bounds, cumulative, strict=False)
            ]
            buckets.append(("+Inf", float(cumulative[-1])))
            family.add_metric([label], buckets, total)
        yield family


class IngestObserver:
    """What `serve` hands the ingestor (`metrics=`, `before_commit=`) and the collector reads."""

    def __init__(self) -> None:
        self.batch_seconds = Histogram(
            "monitor_ingest_batch_duration_seconds",
            "Time from polling a batch to committing its offsets (stored first).",
            buckets=BATCH_BUCKETS,
            registry=None,
        )
        self.event_delay = BulkHistogram(
            "monitor_ingest_event_delay_seconds",
            "Delay from an event's own timestamp to its batch being stored.",
            "kind",
            DELAY_BUCKETS,
        )
        self.metrics = _ObservedIngestMetrics()
        object.__setattr__(self.metrics, "_batch_histogram", self.batch_seconds)

    def committed(self, batch: Any) -> None:
        """`before_commit` hook: the batch is stored in the database (Kafka commit follows)."""
        now = time.time()
        for kind, events in (("prediction", batch.predictions), ("label", batch.labels)):
            delays = np.fromiter((now - e.ts.timestamp() for e in events), float, len(events))
            self.event_delay.observe_many(kind, np.maximum(delays, 0.0))

    def snapshot(self) -> IngestMetrics:
        return self.metrics.snapshot()


class IngestCollector(Collector):
    """Exposes the consumer's in-process counters (one process's view; sum across replicas)."""

    def __init__(self, observer: IngestObserver, known_models: frozenset[str]) -> None:
        self._observer = observer
        self._known = known_models

    def _model(self, model: str) -> str:
        return model if model in self._known else OTHER_MODEL

    def collect(self) -> Iterable[Metric]:
        m = self._observer.snapshot()
        consumed = CounterMetricFamily(
            "monitor_ingest_events_consumed",
            "Records of committed batches, per topic (this process).",
            labels=["topic"],
        )
        for topic, n in sorted(m.consumed.items()):
            consumed.add_metric([topic], n)
        yield consumed
        stored = CounterMetricFamily(
            "monitor_ingest_events_stored",
            "Events stored, per model and kind (this process; unconfigured models: _other).",
            labels=["model", "kind"],
        )
        for kind, counter in (("prediction", m.stored_predictions), ("label", m.stored_labels)):
            per: dict[str, int] = defaultdict(int)
            for model, n in counter.items():
                per[self._model(model)] += n
            for model, n in sorted(per.items()):
                stored.add_metric([model, kind], n)
        yield stored
        rejected = CounterMetricFamily(
            "monitor_ingest_events_rejected",
            "Messages dead-lettered, per reason (this process).",
            labels=["reason"],
        )
        for reason in sorted(REASONS):
            rejected.add_metric([reason], m.rejected.get(reason, 0))
        yield rejected
        for name, value, doc in (
            ("polled", m.polled, "Records returned by poll, before parsing and storing."),
            ("duplicates", m.duplicates, "Redelivered events the store already had."),
            ("batches", m.batches, "Batches stored and committed."),
            ("store_retries", m.store_retries, "Failed store attempts that were retried."),
            ("commit_failures", m.commit_failures, "Offset commits refused (records re-read)."),
        ):
            yield CounterMetricFamily(f"monitor_ingest_{name}", doc + " (this process)", value)
        lag = GaugeMetricFamily(
            "monitor_ingest_consumer_lag",
            "Records not yet stored (high-water mark minus the first unstored offset), "
            "summed over this consumer's partitions.",
            labels=["topic"],
        )
        per_topic: dict[str, int] = defaultdict(int)
        for key, n in m.lag.items():
            per_topic[key.rsplit(":", 1)[0]] += n
        for topic, n in sorted(per_topic.items()):
            lag.add_metric([topic], n)
        yield lag
        yield from self._observer.batch_seconds.collect()
        yield from self._observer.event_delay.collect()
