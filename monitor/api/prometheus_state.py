"""Stored-state metrics (`monitor_run_*`, `monitor_runs_total`, `monitor_alerts_firing`,
`monitor_notifications`, `monitor_dead_letters`, ...): read from the database on each scrape
(through `monitor.storage.gauges`), so every replica reports the same numbers and a restart
forgets nothing. Aggregate them with `max by (...)`, never `sum`.

Monitor names come from the config (stored rows of monitors no longer configured are not
reported), reasons from the fixed REASONS set, and per-feature gauges exist only for monitors
listed in `api.feature_metrics`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from monitor.errors import MonitorError
from monitor.events import REASONS
from monitor.settings import SEVERITIES, MonitorSettings, Settings
from monitor.storage import gauges
from monitor.storage import run_reads as queries
from monitor.storage.db import Engine
from monitor.storage.queries import dead_letter_counts

log = logging.getLogger("monitor.api.metrics")  # the name log queries know (module renamed)

RUN_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
RUN_STATUSES = ("succeeded", "insufficient_data", "failed", "skipped")
NOTIFY_STATUSES = ("pending", "delivered", "failed")


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
        except MonitorError as exc:  # a scrape reports the outage, never a 500
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
        yield from _latest(engine, names)
        yield from _runs(engine, names)
        yield from _alerts(engine, names)
        yield from _outbox(
            engine, {route.type for route in self._settings.alerting.routes.values()}
        )
        yield from _dead_letters(engine)
        yield from _performance(engine, names)
        if self._feature_monitors:
            yield from _features(engine, self._feature_monitors)


def _latest(engine: Engine, names: list[str]) -> Iterable[Metric]:
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


def _runs(engine: Engine, names: list[str]) -> Iterable[Metric]:
    tallies = gauges.run_tallies(engine, names, RUN_DURATION_BUCKETS)
    total = CounterMetricFamily(
        "monitor_runs",
        "Finished runs per monitor and status (stored).",
        labels=["monitor", "status"],
    )
    counts = {(m, s): 0 for m in names for s in RUN_STATUSES}
    hist: dict[str, list[float]] = {m: [0.0] * (len(RUN_DURATION_BUCKETS) + 2) for m in names}
    for t in tallies:
        counts[(t.monitor, t.status)] = t.count
        acc = hist[t.monitor]
        acc[0] += t.duration_sum
        acc[1] += t.timed
        for i, n in enumerate(t.at_most):
            acc[2 + i] += n
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
        buckets = [(floatToGoString(b), c) for b, c in zip(RUN_DURATION_BUCKETS, cum, strict=True)]
        buckets.append(("+Inf", n_timed))
        duration.add_metric([monitor], buckets, dur_sum)
    yield duration


def _alerts(engine: Engine, names: list[str]) -> Iterable[Metric]:
    found = gauges.firing_alerts(engine, names)
    firing = GaugeMetricFamily(
        "monitor_alerts_firing",
        "Alerts firing now, per monitor and severity (stored).",
        labels=["monitor", "severity"],
    )
    for m in names:
        for s in SEVERITIES:
            firing.add_metric([m, s], found.get((m, s), 0))
    yield firing


def _outbox(engine: Engine, configured: set[str]) -> Iterable[Metric]:
    tallies = gauges.outbox_tallies(engine)
    channels = sorted(configured | {t.channel for t in tallies})
    counts = {(c, s): 0 for c in channels for s in NOTIFY_STATUSES}
    attempts: dict[str, int] = dict.fromkeys(channels, 0)
    for t in tallies:
        counts[(t.channel, t.status)] = t.count
        attempts[t.channel] += t.attempts
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


def _dead_letters(engine: Engine) -> Iterable[Metric]:
    found = dead_letter_counts(engine)
    gauge = GaugeMetricFamily(
        "monitor_dead_letters",
        "Dead letters stored, per reason (retention deletes old ones).",
        labels=["reason"],
    )
    for reason in sorted(REASONS):
        gauge.add_metric([reason], found.get(reason, 0))
    yield gauge


def _performance(engine: Engine, names: list[str]) -> Iterable[Metric]:
    newest = gauges.newest_performance(engine, names)
    gauge = GaugeMetricFamily(
        "monitor_performance_metric",
        "Newest performance metric of each monitor (overall, newest window and revision).",
        labels=["monitor", "metric"],
    )
    for monitor, doc in sorted(newest.items()):
        values = ((doc.get("overall") or {}).get("metrics")) or {}
        for metric, value in sorted(values.items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                gauge.add_metric([monitor, str(metric)], float(value))
    yield gauge


def _features(engine: Engine, names: list[str]) -> Iterable[Metric]:
    ok = queries.latest_runs(engine, names, ("succeeded",))
    rows = gauges.feature_gauges(engine, [row["id"] for row in ok.values()])
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
    for row in rows:
        labels = [monitor_of[row.run_id], row.feature]
        if row.statistic is not None:
            stat.add_metric(labels, row.statistic)
        if row.drifted is not None:
            flag.add_metric(labels, 1.0 if row.drifted else 0.0)
    yield from (stat, flag)
