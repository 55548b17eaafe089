"""What the dashboard pages read, beyond the API's own queries (monitor.api.queries).

SQLAlchemy Core with bound parameters only; finished runs only (a "running" row is a claim,
not a result). Histories come back oldest first, which is what a chart or a heatmap plots.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from monitor.api import queries
from monitor.drift.sketch import Sketch, Spec
from monitor.storage.db import storage_errors
from monitor.storage.runs import FINISHED
from monitor.storage.tables import drift_feature_results, drift_runs

r = drift_runs.c
f = drift_feature_results.c
BRIEF = (r.id, r.monitor, r.window_start, r.window_end, r.status, r.dataset_drift, r.drift_share)


def recent_runs(
    engine: Engine, monitors: Iterable[str], limit: int = 30
) -> dict[str, list[dict[str, Any]]]:
    """The newest `limit` finished runs of each monitor, oldest first (sparklines, charts)."""
    names = list(monitors)
    if not names:
        return {}
    rank = func.row_number().over(
        partition_by=r.monitor, order_by=(r.window_end.desc(), r.id.desc())
    )
    inner = (
        select(*BRIEF, r.n_features, r.n_drifted, rank.label("rank"))
        .where(r.monitor.in_(names), r.status.in_(FINISHED))
        .subquery()
    )
    stmt = (
        select(*(c for c in inner.c if c.name != "rank"))
        .where(inner.c.rank <= limit)
        .order_by(inner.c.window_end, inner.c.id)
    )
    out: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    with storage_errors(engine, "load recent runs"), engine.connect() as conn:
        for row in conn.execute(stmt).mappings():
            out[row["monitor"]].append(dict(row))
    return out


@dataclass(frozen=True)
class Heatmap:
    """Feature x window: `cells[(feature, run_id)]` holds the stored per-feature result."""

    runs: list[dict[str, Any]]  # oldest first
    features: list[str]  # in the order the runs reported them
    cells: dict[tuple[str, int], dict[str, Any]]


def heatmap(engine: Engine, monitor: str, limit: int = 24) -> Heatmap:
    runs = [x for x in recent_runs(engine, [monitor], limit)[monitor] if x["status"] == "succeeded"]
    ids = [x["id"] for x in runs]
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    features: dict[str, None] = {}
    if ids:
        stmt = (
            select(f.run_id, f.feature, f.kind, f.method, f.statistic, f.p_value, f.threshold)
            .add_columns(f.drifted)
            .where(f.run_id.in_(ids))
            .order_by(f.run_id, f.id)
        )
        with storage_errors(engine, "load drift heatmap"), engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                features.setdefault(row["feature"], None)
                cells[(row["feature"], row["run_id"])] = dict(row)
    return Heatmap(runs, list(features), cells)


def monitor_alerts(engine: Engine, monitor: str, limit: int = 20) -> list[dict[str, Any]]:
    """The monitor's newest alerts, each with its state history and deliveries."""
    rows, _ = queries.alerts_page(
        engine, state=None, monitor=monitor, severity=None, limit=limit, cursor=None
    )
    out = []
    for row in rows:
        detail = queries.alert_detail(engine, row["id"])
        if detail is not None:
            out.append(detail)
    return out


def firing_alerts(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    rows, _ = queries.alerts_page(
        engine, state="firing", monitor=None, severity=None, limit=limit, cursor=None
    )
    return rows


def performance_history(engine: Engine, monitor: str, limit: int = 30) -> list[Any]:
    """The newest revision of each of the last `limit` windows, oldest first (StoredRun)."""
    from monitor.storage.performance_runs import latest_runs

    return list(reversed(latest_runs(engine, monitor, limit=limit)))


@dataclass(frozen=True)
class Distributions:
    """A run's reference and current sketches per feature, over the same specs."""

    specs: dict[str, Spec]
    reference: dict[str, Sketch]
    current: dict[str, Sketch]
    reference_performance: dict[str, float] | None


def run_distributions(engine: Engine, run: dict[str, Any]) -> Distributions | None:
    """The sketches a run compared: its reference version's, and its window's stored ones."""
    from monitor.reference import latest
    from monitor.storage.sketch_store import window_sketches

    if run.get("reference_id") is None or run.get("reference_version") is None:
        return None
    ref = latest(engine, run["monitor"], run["reference_version"])
    if ref is None or ref.id != run["reference_id"]:
        return None
    current = window_sketches(engine, ref.id, run["window_start"], run["window_end"])
    return Distributions(ref.specs, ref.sketches, current, ref.performance)


def reference_performance(engine: Engine, monitor: str) -> dict[str, float] | None:
    from monitor.reference import latest

    ref = latest(engine, monitor)
    return None if ref is None else ref.performance


def feature_rows(engine: Engine, run_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per-feature results of several runs (compare page)."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in run_ids}
    if not run_ids:
        return out
    stmt = (
        select(f.run_id, f.feature, f.kind, f.method, f.statistic, f.p_value, f.threshold)
        .add_columns(f.drifted)
        .where(f.run_id.in_(run_ids))
        .order_by(f.run_id, f.id)
    )
    with storage_errors(engine, "load feature results"), engine.connect() as conn:
        for row in conn.execute(stmt).mappings():
            out[row["run_id"]].append(dict(row))
    return out


def run_in_flight(engine: Engine, run_id: int) -> dict[str, Any] | None:
    """A claimed, not yet finished run (readers hide these; its page says it is running)."""
    stmt = select(r.id, r.monitor, r.window_start, r.window_end, r.started_at).where(
        r.id == run_id, r.status == "running"
    )
    with storage_errors(engine, "load run in flight"), engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    return None if row is None else dict(row)
