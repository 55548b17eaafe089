"""What the rule `retraining_ineffective` and the episodes on the monitor page read (issue 16).

`retraining_context`: a monitor's view of its model's newest deployment (the deployment, the
alert and trigger delivery it names, the reference version it materialised for the monitor)
with the first finished drift windows on that reference and the first performance windows
after it went live. `performance_around`: a monitor's last performance windows before a
deployment and its first ones after. Types are the pure rule's (`monitor.rules.retraining`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select

from monitor.rules.retraining import EpisodeWindow, PerformanceWindow, RetrainingContext
from monitor.storage.db import storage_errors
from monitor.storage.deployments import latest_deployment
from monitor.storage.tables import drift_runs, performance_runs, reference_datasets

r, p, rd = drift_runs.c, performance_runs.c, reference_datasets.c


def retraining_context(
    engine: Engine, monitor: str, model: str, first: int
) -> tuple[RetrainingContext, int] | None:
    """The model's newest deployment for `monitor` and the reference version it materialised
    for it, with its first `first` succeeded drift windows on that reference and first
    performance windows after it; None without a deployment covering the monitor."""
    dep = latest_deployment(engine, model)
    if dep is None or monitor not in dep.reference_versions:
        return None
    version = int(dep.reference_versions[monitor])
    ref_ids = select(rd.id).where(rd.monitor == monitor, rd.version == version)
    stmt = (
        select(r.window_start, r.window_end, r.id, r.dataset_drift, r.drift_share)
        .where(
            r.monitor == monitor,
            r.reference_id.in_(ref_ids),
            r.status == "succeeded",
            r.dataset_drift.is_not(None),
        )
        .order_by(r.window_start, r.id)
        .limit(first)
    )
    with storage_errors(engine, "load retraining windows"), engine.connect() as conn:
        windows = tuple(EpisodeWindow(*row) for row in conn.execute(stmt).all())
    perf = performance_windows(engine, monitor, after=dep.deployed_at, limit=first)
    ctx = RetrainingContext(
        deployment_id=dep.id,
        version=dep.version,
        deployed_at=dep.deployed_at,
        alert_id=dep.alert_id,
        delivery_id=dep.trigger_delivery_id,
        windows=windows,
        performance=tuple(perf),
    )
    return ctx, version


def performance_windows(
    engine: Engine,
    monitor: str,
    *,
    after: datetime | None = None,
    before: datetime | None = None,
    limit: int = 3,
) -> list[PerformanceWindow]:
    """The newest revision of the monitor's succeeded performance windows, oldest first:
    the first `limit` starting at or after `after`, or the last `limit` ending by `before`."""
    newest = (
        select(p.window_start, p.window_end, func.max(p.revision).label("revision"))
        .where(p.monitor == monitor)
        .group_by(p.window_start, p.window_end)
        .subquery()
    )
    stmt = select(p.window_start, p.window_end, p.labelled, p.metrics).join(
        newest,
        and_(
            p.window_start == newest.c.window_start,
            p.window_end == newest.c.window_end,
            p.revision == newest.c.revision,
        ),
    )
    stmt = stmt.where(p.monitor == monitor, p.status == "succeeded")
    if (after is None) == (before is None):
        raise ValueError("performance_windows takes one of after and before")
    if after is not None:
        stmt = stmt.where(p.window_start >= after).order_by(p.window_start).limit(limit)
    elif before is not None:
        stmt = stmt.where(p.window_end <= before).order_by(p.window_start.desc()).limit(limit)
    with storage_errors(engine, "load performance windows"), engine.connect() as conn:
        rows = [_perf(row) for row in conn.execute(stmt).all()]
    return rows if after is not None else list(reversed(rows))


def _perf(row: Any) -> PerformanceWindow:
    metrics = ((row.metrics or {}).get("overall") or {}).get("metrics") or {}
    return PerformanceWindow(row.window_start, row.window_end, int(row.labelled), metrics)


def performance_around(
    engine: Engine, monitor: str, deployed_at: datetime, n: int
) -> tuple[list[PerformanceWindow], list[PerformanceWindow]]:
    """(the last `n` performance windows ended by the deployment, the first `n` after it)."""
    before = performance_windows(engine, monitor, before=deployed_at, limit=n)
    after = performance_windows(engine, monitor, after=deployed_at, limit=n)
    return before, after


__all__ = ["performance_around", "performance_windows", "retraining_context"]
