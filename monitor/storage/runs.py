"""Drift runs in storage: claim a (monitor, window) once across replicas, finish it, read it.

Exactly once: a run is claimed by inserting its row with status "running" under the unique
key (monitor, window_start, window_end) with ON CONFLICT DO NOTHING; whoever inserted it
computes it. A claim whose process died stops beating; after `lease` another replica takes it
over with a conditional UPDATE (only one UPDATE can match). Results, alerts and outbox rows
are written with the status change in one transaction, so readers (who show finished runs
only) never see half a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.drift.result import FeatureResult, json_safe
from monitor.storage.db import storage_errors
from monitor.storage.tables import drift_feature_results, drift_runs

r = drift_runs.c
FINISHED = ("succeeded", "insufficient_data", "failed", "skipped")


def claim(
    engine: Engine,
    monitor: str,
    start: datetime,
    end: datetime,
    now: datetime,
    lease: timedelta,
    *,
    retry_failed: bool = False,
) -> int | None:
    """The run id if this process now owns the (monitor, window), else None."""
    values = {
        "monitor": monitor,
        "window_start": start,
        "window_end": end,
        "status": "running",
        "started_at": now,
        "heartbeat_at": now,
        "kind": "drift",
    }
    with storage_errors(engine, "claim run"), engine.begin() as conn:
        ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stmt = (
            ins(drift_runs)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["monitor", "window_start", "window_end"])
            .returning(r.id)
        )
        run_id = conn.execute(stmt).scalar()
        if run_id is not None:
            return int(run_id)
        stale = and_(r.status == "running", r.heartbeat_at < now - lease)
        takeable = or_(stale, r.status == "failed") if retry_failed else stale
        taken = conn.execute(
            update(drift_runs)
            .where(r.monitor == monitor, r.window_start == start, r.window_end == end, takeable)
            .values(status="running", started_at=now, heartbeat_at=now, error=None)
            .returning(r.id)
        ).scalar()
        return None if taken is None else int(taken)


def beat(engine: Engine, run_id: int, now: datetime) -> None:
    with storage_errors(engine, "run heartbeat"), engine.begin() as conn:
        conn.execute(update(drift_runs).where(r.id == run_id).values(heartbeat_at=now))


def finish(
    conn: Connection,
    run_id: int,
    *,
    status: str,
    now: datetime,
    duration_s: float,
    reference_id: int | None = None,
    reference_rows: int | None = None,
    current_rows: int | None = None,
    dataset_drift: bool | None = None,
    drift_share: float | None = None,
    features: Sequence[FeatureResult] = (),
    prediction: FeatureResult | None = None,
    summary: dict[str, Any] | None = None,
    report_url: str | None = None,
    error: str | None = None,
) -> None:
    """Write a run's outcome and its per-feature rows in the caller's transaction."""
    conn.execute(
        update(drift_runs)
        .where(r.id == run_id)
        .values(
            status=status,
            reference_id=reference_id,
            reference_rows=reference_rows,
            current_rows=current_rows,
            dataset_drift=dataset_drift,
            drift_share=json_safe(drift_share),
            n_features=len(features) if features else None,
            n_drifted=sum(f.drifted for f in features) if features else None,
            summary=json_safe(summary) if summary is not None else None,
            report_url=report_url,
            error=error,
            finished_at=now,
            heartbeat_at=now,
            duration_s=duration_s,
        )
    )
    rows = [_feature_row(run_id, f, f.kind) for f in features]
    if prediction is not None:
        rows.append(_feature_row(run_id, prediction, "prediction"))
    if rows:
        conn.execute(insert(drift_feature_results), rows)


def _feature_row(run_id: int, f: FeatureResult, kind: str) -> dict[str, Any]:
    d = f.to_dict()
    return {
        "run_id": run_id,
        "feature": f.name,
        "kind": kind,
        "method": f.method,
        "statistic": d["statistic"],
        "p_value": d["p_value"],
        "threshold": d["threshold"],
        "drifted": bool(f.drifted),
        "stats": {
            "stats": d["stats"],
            "quality": d["quality"],
            "missing_share_reference": d["missing_share_reference"],
            "missing_share_current": d["missing_share_current"],
        },
    }


def record_skipped(
    engine: Engine, monitor: str, start: datetime, end: datetime, now: datetime, why: str
) -> None:
    """A visible row for windows beyond the catch-up cap: never skipped silently."""
    with storage_errors(engine, "record skipped windows"), engine.begin() as conn:
        ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(
            ins(drift_runs)
            .values(
                monitor=monitor,
                window_start=start,
                window_end=end,
                status="skipped",
                started_at=now,
                finished_at=now,
                error=why,
                kind="drift",
            )
            .on_conflict_do_nothing(index_elements=["monitor", "window_start", "window_end"])
        )


def last_window_end(engine: Engine, monitor: str) -> datetime | None:
    """End of the newest window already claimed or finished (runs in flight count too)."""
    with storage_errors(engine, "find last run"), engine.connect() as conn:
        return conn.execute(select(func.max(r.window_end)).where(r.monitor == monitor)).scalar_one()


def list_runs(
    engine: Engine,
    monitor: str | None = None,
    *,
    limit: int = 20,
    include_running: bool = False,
) -> list[dict[str, Any]]:
    stmt = select(
        r.id,
        r.monitor,
        r.window_start,
        r.window_end,
        r.status,
        r.current_rows,
        r.reference_rows,
        r.dataset_drift,
        r.drift_share,
        r.n_features,
        r.n_drifted,
        r.duration_s,
        r.report_url,
        r.error,
        r.finished_at,
    )
    if monitor is not None:
        stmt = stmt.where(r.monitor == monitor)
    if not include_running:
        stmt = stmt.where(r.status.in_(FINISHED))
    stmt = stmt.order_by(r.window_end.desc(), r.id.desc()).limit(limit)
    with storage_errors(engine, "list runs"), engine.connect() as conn:
        return [dict(m) for m in conn.execute(stmt).mappings()]


def get_run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    """One finished run with its per-feature rows (None when absent or still running)."""
    f = drift_feature_results.c
    with storage_errors(engine, "load run"), engine.connect() as conn:
        run = (
            conn.execute(select(drift_runs).where(r.id == run_id, r.status.in_(FINISHED)))
            .mappings()
            .first()
        )
        if run is None:
            return None
        feats = conn.execute(
            select(
                f.feature, f.kind, f.method, f.statistic, f.p_value, f.threshold, f.drifted, f.stats
            )
            .where(f.run_id == run_id)
            .order_by(f.id)
        ).mappings()
        out = dict(run)
        out["features"] = [dict(x) for x in feats]
        return out
