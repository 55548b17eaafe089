"""Prometheus metrics: per-process ingestion counters and stored state read at scrape time.

Two kinds, and the difference matters for PromQL:
- Process metrics (`monitor_ingest_*`): what *this* consumer process did since it started
  (counters reset on restart). Sum them across replicas: `sum by (topic) (rate(...[5m]))`.
  They come from the consumer's `IngestMetrics` snapshot (read by a custom collector, so the
  ingestion code needs no Prometheus imports) plus two histograms fed through the ingestor's
  public hooks (`metrics=` and `before_commit=`, see `IngestObserver`).
- Stored-state metrics (`monitor_run_*`, `monitor_runs_total`, `monitor_alerts_firing`,
  `monitor_notifications`, `monitor_dead_letters`, ...): read from the database on each scrape
  by `StoredStateCollector`, so every replica reports the same numbers and a restart forgets
  nothing. Aggregate them with `max by (...)`, never `sum`.

Label sets are bounded: monitor names come from the config (stored rows of monitors no longer
configured are not reported), reasons from the fixed REASONS set, models outside the config
are reported as model="_other", and per-feature gauges exist only for monitors listed in
`api.feature_metrics`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Histogram,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from monitor import __version__
from monitor.api import queries
from monitor.errors import MonitorError
from monitor.events import REASONS
from monitor.ingest.counters import IngestMetrics
from monitor.settings import SEVERITIES, MonitorSettings, Settings
from monitor.storage.runs import FINISHED
from monitor.storage.tables import (
    alerts,
    dead_letters,
    drift_feature_results,
    drift_runs,
    notifications,
    performance_runs,
)

log = logging.getLogger("monitor.api.metrics")

RUN_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DELAY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)
RUN_STATUSES = ("succeeded", "insufficient_data", "failed", "skipped")
NOTIFY_STATUSES = ("pending", "delivered", "failed")
OTHER_MODEL = "_other"


# --- process metrics: ingestion -------------------------------------------------------------


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
            buckets = [(_le(b), float(c)) for b, c in zip(self.bounds, cumulative, strict=False)]
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


# --- stored state -------------------------------------------------------------------------


def expected_interval(monitor: MonitorSettings, settings: Settings) -> float:
    """Seconds between two runs of a healthy monitor (what "no run for 2x" compares with)."""
    sched = monitor.schedule
    if sched.cron is not None:  # the scheduler's trigger (service.trigger_for), without its imports
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(sched.cron, timezone=UTC)
        first = trigger.get_next_fire_time(None, datetime.now(UTC))
        second = trigger.get_next_fire_time(first, first + timedelta(microseconds=1))
        gap = (second - first).total_seconds() if first and second else 0.0
    else:
        gap = (sched.interval or settings.scheduler.tick).total_seconds()
    w = monitor.window
    if w.events is not None:
        return gap
    stride = (w.step or w.size or timedelta(0)).total_seconds()
    return max(stride, gap) + w.lateness.total_seconds()


class StoredStateCollector(Collector):
    """Reads the database on every scrape (a handful of grouped queries)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._names = [m.name for m in settings.monitors]
        self._feature_monitors = [n for n in settings.api.feature_metrics if n in self._names]
        self._intervals = {m.name: expected_interval(m, settings) for m in settings.monitors}

    def collect(self) -> Iterable[Metric]:
        began = time.perf_counter()
        up = GaugeMetricFamily("monitor_database_up", "1 when the last scrape read the database.")
        try:
            families = list(self._families())
        except (MonitorError, SQLAlchemyError) as exc:  # a scrape reports the outage, never a 500
            error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            log.warning("metrics_database_unavailable", extra={"error": error})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families
        yield GaugeMetricFamily(
            "monitor_state_scrape_duration_seconds",
            "Time spent reading stored state for this scrape.",
            value=time.perf_counter() - began,
        )

    def _families(self) -> Iterable[Metric]:
        engine, names = self._engine, self._names
        interval = GaugeMetricFamily(
            "monitor_run_expected_interval_seconds",
            "Seconds between two runs of a healthy monitor (from its window and schedule).",
            labels=["monitor"],
        )
        for name in names:
            interval.add_metric([name], self._intervals[name])
        yield interval
        yield from self._latest(engine, names)
        yield from self._runs(engine, names)
        yield from self._alerts(engine, names)
        yield from self._outbox(engine)
        yield from self._dead_letters(engine)
        yield from self._performance(engine, names)
        if self._feature_monitors:
            yield from self._features(engine, self._feature_monitors)

    def _latest(self, engine: Engine, names: list[str]) -> Iterable[Metric]:
        last = queries.latest_runs(engine, names)
        ok = queries.latest_runs(engine, names, ("succeeded",))
        status = GaugeMetricFamily(
            "monitor_run_last_status",
            "1 for the status of the monitor's newest finished run, 0 for the others.",
            labels=["monitor", "status"],
        )
        window_end = GaugeMetricFamily(
            "monitor_run_last_window_end_timestamp_seconds",
            "Window end of the newest finished run (Unix time).",
            labels=["monitor"],
        )
        finished = GaugeMetricFamily(
            "monitor_run_last_finished_timestamp_seconds",
            "When the newest finished run finished (Unix time).",
            labels=["monitor"],
        )
        for name, row in sorted(last.items()):
            for s in RUN_STATUSES:
                status.add_metric([name, s], 1.0 if row["status"] == s else 0.0)
            window_end.add_metric([name], row["window_end"].timestamp())
            if row["finished_at"] is not None:
                finished.add_metric([name], row["finished_at"].timestamp())
        yield from (status, window_end, finished)
        drift = GaugeMetricFamily(
            "monitor_dataset_drift",
            "1 when the newest succeeded run found dataset drift, else 0.",
            labels=["monitor"],
        )
        share = GaugeMetricFamily(
            "monitor_drift_share_ratio",
            "Share of features drifted in the newest succeeded run.",
            labels=["monitor"],
        )
        drifted = GaugeMetricFamily(
            "monitor_drifted_features",
            "Features drifted in the newest succeeded run.",
            labels=["monitor"],
        )
        for name, row in sorted(ok.items()):
            if row["dataset_drift"] is not None:
                drift.add_metric([name], 1.0 if row["dataset_drift"] else 0.0)
            if row["drift_share"] is not None:
                share.add_metric([name], row["drift_share"])
            if row["n_drifted"] is not None:
                drifted.add_metric([name], row["n_drifted"])
        yield from (drift, share, drifted)

    def _runs(self, engine: Engine, names: list[str]) -> Iterable[Metric]:
        r = drift_runs.c
        timed = r.duration_s.is_not(None)
        cols = [
            r.monitor,
            r.status,
            func.count(),
            func.coalesce(func.sum(r.duration_s), 0.0),
            func.sum(case((timed, 1), else_=0)),
            *(
                func.sum(case((and_(timed, r.duration_s <= b), 1), else_=0))
                for b in RUN_DURATION_BUCKETS
            ),
        ]
        stmt = (
            select(*cols)
            .where(r.monitor.in_(names), r.status.in_(FINISHED))
            .group_by(r.monitor, r.status)
        )
        with engine.connect() as conn:
            rows = conn.execute(stmt).all() if names else []
        total = CounterMetricFamily(
            "monitor_runs",
            "Finished runs per monitor and status (stored).",
            labels=["monitor", "status"],
        )
        counts = {(m, s): 0 for m in names for s in RUN_STATUSES}
        hist: dict[str, list[float]] = {m: [0.0] * (len(RUN_DURATION_BUCKETS) + 2) for m in names}
        for monitor, status, n, dur_sum, n_timed, *buckets in rows:
            counts[(monitor, status)] = int(n)
            acc = hist[monitor]
            acc[0] += float(dur_sum or 0.0)
            acc[1] += int(n_timed or 0)
            for i, b in enumerate(buckets):
                acc[2 + i] += int(b or 0)
        for (monitor, status), n in sorted(counts.items()):
            total.add_metric([monitor, status], n)
        yield total
        duration = HistogramMetricFamily(
            "monitor_run_duration_seconds",
            "Duration of finished runs (stored), per monitor.",
            labels=["monitor"],
        )
        for monitor in names:
            dur_sum, n_timed, *cum = hist[monitor]
            buckets = [(_le(b), c) for b, c in zip(RUN_DURATION_BUCKETS, cum, strict=True)]
            buckets.append(("+Inf", n_timed))
            duration.add_metric([monitor], buckets, dur_sum)
        yield duration

    def _alerts(self, engine: Engine, names: list[str]) -> Iterable[Metric]:
        a = alerts.c
        stmt = (
            select(a.monitor, a.severity, func.count())
            .where(a.state == "firing", a.monitor.in_(names))
            .group_by(a.monitor, a.severity)
        )
        with engine.connect() as conn:
            found = {(m, s): int(n) for m, s, n in conn.execute(stmt)} if names else {}
        firing = GaugeMetricFamily(
            "monitor_alerts_firing",
            "Alerts firing now, per monitor and severity (stored).",
            labels=["monitor", "severity"],
        )
        for m in names:
            for s in SEVERITIES:
                firing.add_metric([m, s], found.get((m, s), 0))
        yield firing

    def _outbox(self, engine: Engine) -> Iterable[Metric]:
        n = notifications.c
        stmt = select(n.channel, n.status, func.count(), func.sum(n.attempts)).group_by(
            n.channel, n.status
        )
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
        configured = {route.type for route in self._settings.alerting.routes.values()}
        channels = sorted(configured | {c for c, *_ in rows})
        counts = {(c, s): 0 for c in channels for s in NOTIFY_STATUSES}
        attempts: dict[str, int] = dict.fromkeys(channels, 0)
        for channel, status, count, tries in rows:
            counts[(channel, status)] = int(count)
            attempts[channel] += int(tries or 0)
        outbox = GaugeMetricFamily(
            "monitor_notifications",
            "Notifications in the outbox per channel and status (stored).",
            labels=["channel", "status"],
        )
        for (channel, status), count in sorted(counts.items()):
            outbox.add_metric([channel, status], count)
        yield outbox
        tries = CounterMetricFamily(
            "monitor_notification_attempts",
            "Delivery attempts made, per channel (stored).",
            labels=["channel"],
        )
        for channel, count in sorted(attempts.items()):
            tries.add_metric([channel], count)
        yield tries

    def _dead_letters(self, engine: Engine) -> Iterable[Metric]:
        d = dead_letters.c
        stmt = select(d.reason, func.count()).group_by(d.reason)
        with engine.connect() as conn:
            found = {reason: int(n) for reason, n in conn.execute(stmt)}
        gauge = GaugeMetricFamily(
            "monitor_dead_letters",
            "Dead letters stored, per reason (retention deletes old ones).",
            labels=["reason"],
        )
        for reason in sorted(REASONS):
            gauge.add_metric([reason], found.get(reason, 0))
        yield gauge

    def _performance(self, engine: Engine, names: list[str]) -> Iterable[Metric]:
        p = performance_runs.c
        rank = (
            func.row_number().over(
                partition_by=p.monitor, order_by=(p.window_end.desc(), p.revision.desc())
            )
        ).label("rank")
        inner = (
            select(p.monitor, p.metrics, rank)
            .where(p.monitor.in_(names), p.status == "succeeded")
            .subquery()
        )
        stmt = select(inner.c.monitor, inner.c.metrics).where(inner.c.rank == 1)
        with engine.connect() as conn:
            rows = conn.execute(stmt).all() if names else []
        gauge = GaugeMetricFamily(
            "monitor_performance_metric",
            "Newest performance metric of each monitor (overall, newest window and revision).",
            labels=["monitor", "metric"],
        )
        for monitor, doc in sorted(rows, key=lambda x: x[0]):
            values = (((doc or {}).get("overall") or {}).get("metrics")) or {}
            for metric, value in sorted(values.items()):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    gauge.add_metric([monitor, str(metric)], float(value))
        yield gauge

    def _features(self, engine: Engine, names: list[str]) -> Iterable[Metric]:
        ok = queries.latest_runs(engine, names, ("succeeded",))
        ids = [row["id"] for row in ok.values()]
        f = drift_feature_results.c
        stmt = select(f.run_id, f.feature, f.statistic, f.drifted).where(f.run_id.in_(ids))
        with engine.connect() as conn:
            rows = conn.execute(stmt).all() if ids else []
        monitor_of = {row["id"]: name for name, row in ok.items()}
        stat = GaugeMetricFamily(
            "monitor_feature_drift_statistic",
            "Per-feature drift statistic of the newest succeeded run (opted-in monitors).",
            labels=["monitor", "feature"],
        )
        flag = GaugeMetricFamily(
            "monitor_feature_drifted",
            "1 when the feature drifted in the newest succeeded run (opted-in monitors).",
            labels=["monitor", "feature"],
        )
        for run_id, feature, statistic, drifted in rows:
            labels = [monitor_of[run_id], feature]
            if statistic is not None:
                stat.add_metric(labels, statistic)
            if drifted is not None:
                flag.add_metric(labels, 1.0 if drifted else 0.0)
        yield from (stat, flag)


def _le(bound: float) -> str:
    return repr(float(bound))


class BuildInfoCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "monitor_build_info", "The running version (always 1).", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info


def build_registry(
    engine: Engine | None,
    settings: Settings,
    ingest: IngestObserver | None = None,
    *,
    process: bool = True,
) -> CollectorRegistry:
    """A registry of its own per app (tests run several apps in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BuildInfoCollector())
    if engine is not None:
        registry.register(StoredStateCollector(engine, settings))
    if ingest is not None:
        registry.register(IngestCollector(ingest, settings.known_models()))
    if process:
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
    return registry
