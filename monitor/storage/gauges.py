"""Stored state read at each Prometheus scrape (`monitor.api.prometheus`): a handful of
grouped queries, each returning typed rows. Database errors leave as StorageError."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, case, func, select

from monitor.storage.db import storage_errors
from monitor.storage.runs import FINISHED
from monitor.storage.tables import (
    alerts,
    drift_feature_results,
    drift_runs,
    notifications,
    performance_runs,
)


@dataclass(frozen=True, slots=True)
class RunTally:
    """Finished runs of one monitor in one status, with their stored durations."""

    monitor: str
    status: str
    count: int
    duration_sum: float  # seconds, over the runs with a duration
    timed: int  # runs with a duration
    at_most: tuple[int, ...]  # runs with duration <= each bound (in the bounds' order)


@dataclass(frozen=True, slots=True)
class OutboxTally:
    channel: str
    status: str
    count: int
    attempts: int


@dataclass(frozen=True, slots=True)
class FeatureGauge:
    run_id: int
    feature: str
    statistic: float | None
    drifted: bool | None


def run_tallies(engine: Engine, monitors: Sequence[str], bounds: Sequence[float]) -> list[RunTally]:
    """Per (monitor, finished status): count, duration sum and cumulative bucket counts."""
    if not monitors:
        return []
    r = drift_runs.c
    timed = r.duration_s.is_not(None)
    cols = [
        r.monitor,
        r.status,
        func.count(),
        func.coalesce(func.sum(r.duration_s), 0.0),
        func.sum(case((timed, 1), else_=0)),
        *(func.sum(case((and_(timed, r.duration_s <= b), 1), else_=0)) for b in bounds),
    ]
    stmt = (
        select(*cols)
        .where(r.monitor.in_(list(monitors)), r.status.in_(FINISHED))
        .group_by(r.monitor, r.status)
    )
    with storage_errors(engine, "count runs"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        RunTally(
            monitor=monitor,
            status=status,
            count=int(n),
            duration_sum=float(dur_sum or 0.0),
            timed=int(n_timed or 0),
            at_most=tuple(int(b or 0) for b in buckets),
        )
        for monitor, status, n, dur_sum, n_timed, *buckets in rows
    ]


def firing_alerts(engine: Engine, monitors: Sequence[str]) -> dict[tuple[str, str], int]:
    """(monitor, severity) -> alerts firing now."""
    if not monitors:
        return {}
    a = alerts.c
    stmt = (
        select(a.monitor, a.severity, func.count())
        .where(a.state == "firing", a.monitor.in_(list(monitors)))
        .group_by(a.monitor, a.severity)
    )
    with storage_errors(engine, "count firing alerts"), engine.connect() as conn:
        return {(m, s): int(n) for m, s, n in conn.execute(stmt)}


def outbox_tallies(engine: Engine) -> list[OutboxTally]:
    """Notifications per (channel, status) and the delivery attempts they took."""
    n = notifications.c
    stmt = select(n.channel, n.status, func.count(), func.sum(n.attempts)).group_by(
        n.channel, n.status
    )
    with storage_errors(engine, "count notifications"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        OutboxTally(channel=c, status=s, count=int(count), attempts=int(tries or 0))
        for c, s, count, tries in rows
    ]


def newest_performance(engine: Engine, monitors: Sequence[str]) -> dict[str, dict[str, Any]]:
    """monitor -> the stored metrics document of its newest succeeded performance run
    (newest window, then newest revision)."""
    if not monitors:
        return {}
    p = performance_runs.c
    rank = (
        func.row_number().over(
            partition_by=p.monitor, order_by=(p.window_end.desc(), p.revision.desc())
        )
    ).label("rank")
    inner = (
        select(p.monitor, p.metrics, rank)
        .where(p.monitor.in_(list(monitors)), p.status == "succeeded")
        .subquery()
    )
    stmt = select(inner.c.monitor, inner.c.metrics).where(inner.c.rank == 1)
    with storage_errors(engine, "load performance metrics"), engine.connect() as conn:
        return {monitor: doc or {} for monitor, doc in conn.execute(stmt)}


def feature_gauges(engine: Engine, run_ids: Sequence[int]) -> list[FeatureGauge]:
    """Per-feature statistic and drift flag of the given runs."""
    if not run_ids:
        return []
    f = drift_feature_results.c
    stmt = select(f.run_id, f.feature, f.statistic, f.drifted).where(f.run_id.in_(list(run_ids)))
    with storage_errors(engine, "load feature results"), engine.connect() as conn:
        return [
            FeatureGauge(run_id=i, feature=feature, statistic=stat, drifted=drifted)
            for i, feature, stat, drifted in conn.execute(stmt)
        ]
