"""Reads of finished drift runs, for the API, the dashboard, the CLI and reports.

Readers show finished runs only (a "running" row is a claim, not a result). Runs come back as
dicts of the API's `RunBrief` fields (the JSON shape is that dict); histories as typed rows.
Pages are keyset pages, newest first: `after` is the (window_end, id) of the last row of the
previous page, so a page never repeats or skips a row when new runs arrive between requests
(the API turns that pair into an opaque cursor).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select

from monitor.storage.db import storage_errors
from monitor.storage.runs import FINISHED
from monitor.storage.tables import (
    alerts,
    drift_feature_results,
    drift_runs,
    performance_runs,
    reference_datasets,
)

r = drift_runs.c
f = drift_feature_results.c
RUN_BRIEF = (
    r.id,
    r.monitor,
    r.window_start,
    r.window_end,
    r.status,
    r.dataset_drift,
    r.drift_share,
    r.n_features,
    r.n_drifted,
    r.current_rows,
    r.reference_rows,
    r.duration_s.label("duration_seconds"),
    r.finished_at,
    r.report_url,
    r.error,
)
FEATURE_RESULT = (f.feature, f.kind, f.method, f.statistic, f.p_value, f.threshold, f.drifted)


# --- runs ----------------------------------------------------------------------------------


def recent_runs(
    engine: Engine,
    monitors: Iterable[str],
    limit: int = 30,
    statuses: tuple[str, ...] = FINISHED,
) -> dict[str, list[dict[str, Any]]]:
    """The newest `limit` runs in `statuses` of each named monitor, oldest first (every named
    monitor is a key, with [] when it has none)."""
    names = list(monitors)
    if not names:
        return {}
    rank = func.row_number().over(
        partition_by=r.monitor, order_by=(r.window_end.desc(), r.id.desc())
    )
    inner = (
        select(*RUN_BRIEF, rank.label("rank"))
        .where(r.monitor.in_(names), r.status.in_(statuses))
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


def latest_runs(
    engine: Engine, monitors: Iterable[str], statuses: tuple[str, ...] = FINISHED
) -> dict[str, dict[str, Any]]:
    """The newest run in `statuses` (default: any finished) of each named monitor that has one."""
    recent = recent_runs(engine, monitors, 1, statuses)
    return {name: rows[-1] for name, rows in recent.items() if rows}


def runs_page(
    engine: Engine,
    monitor: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Finished runs whose window ends in [since, until), newest first, after the (window_end,
    id) `after`: at most `limit` rows, and whether more follow."""
    stmt = select(*RUN_BRIEF).where(r.monitor == monitor, r.status.in_(FINISHED))
    if since is not None:
        stmt = stmt.where(r.window_end >= since)
    if until is not None:
        stmt = stmt.where(r.window_end < until)
    if after is not None:
        end, run_id = after
        stmt = stmt.where(or_(r.window_end < end, and_(r.window_end == end, r.id < run_id)))
    stmt = stmt.order_by(r.window_end.desc(), r.id.desc()).limit(limit + 1)
    with storage_errors(engine, "list runs"), engine.connect() as conn:
        rows = [dict(m) for m in conn.execute(stmt).mappings()]
    return rows[:limit], len(rows) > limit


def runs_by_id(engine: Engine, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The finished ones among the runs `ids`, by id."""
    if not ids:
        return {}
    stmt = select(*RUN_BRIEF).where(r.id.in_(ids), r.status.in_(FINISHED))
    with storage_errors(engine, "load runs"), engine.connect() as conn:
        return {row["id"]: dict(row) for row in conn.execute(stmt).mappings()}


def run_detail(engine: Engine, run_id: int) -> dict[str, Any] | None:
    """One finished run, its per-feature rows, its reference version and performance."""
    d = reference_datasets.c
    with storage_errors(engine, "load run"), engine.connect() as conn:
        run = (
            conn.execute(
                select(*RUN_BRIEF, r.reference_id, r.started_at, r.summary, d.version)
                .select_from(drift_runs.outerjoin(reference_datasets, d.id == r.reference_id))
                .where(r.id == run_id, r.status.in_(FINISHED))
            )
            .mappings()
            .first()
        )
        if run is None:
            return None
        out = dict(run)
        out["reference_version"] = out.pop("version")
        stmt = select(*FEATURE_RESULT, f.stats).where(f.run_id == run_id).order_by(f.id)
        out["features"] = [dict(x) for x in conn.execute(stmt).mappings()]
        out["performance"] = _window_performance(conn, out)
    summary = out.get("summary") or {}
    out["data_quality"] = summary.get("data_quality") if isinstance(summary, dict) else None
    return out


def _window_performance(conn: Connection, run: dict[str, Any]) -> dict[str, Any] | None:
    """The newest performance revision of the run's window, if any."""
    p = performance_runs.c
    perf = (
        conn.execute(
            select(p.revision, p.status, p.predictions, p.labelled, p.computed_at, p.metrics)
            .where(
                p.monitor == run["monitor"],
                p.window_start == run["window_start"],
                p.window_end == run["window_end"],
            )
            .order_by(p.revision.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(perf) if perf is not None else None


def report_url_of(engine: Engine, run_id: int) -> str | None:
    """The stored report link of a finished run (None: no such run, or no report)."""
    with storage_errors(engine, "load run"), engine.connect() as conn:
        return conn.execute(
            select(r.report_url).where(r.id == run_id, r.status.in_(FINISHED))
        ).scalar()


# --- per-monitor counts --------------------------------------------------------------------


def firing_counts(engine: Engine) -> dict[str, int]:
    """Firing alerts per monitor (monitors without any are absent)."""
    a = alerts.c
    stmt = select(a.monitor, func.count()).where(a.state == "firing").group_by(a.monitor)
    with storage_errors(engine, "count firing alerts"), engine.connect() as conn:
        return {m: int(n) for m, n in conn.execute(stmt)}


def reference_versions(engine: Engine, monitors: Iterable[str]) -> dict[str, int]:
    """The newest stored reference version of each named monitor that has one."""
    names = list(monitors)
    if not names:
        return {}
    d = reference_datasets.c
    stmt = select(d.monitor, func.max(d.version)).where(d.monitor.in_(names)).group_by(d.monitor)
    with storage_errors(engine, "load reference versions"), engine.connect() as conn:
        return {m: int(v) for m, v in conn.execute(stmt)}


# --- feature history -----------------------------------------------------------------------


@dataclass(frozen=True)
class FeaturePoint:
    """One feature's stored result in one succeeded run."""

    run_id: int
    window_start: datetime
    window_end: datetime
    feature: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool | None


def feature_history(
    engine: Engine,
    monitor: str,
    limit: int,
    *,
    feature: str | None = None,
    before: datetime | None = None,
) -> dict[str, list[FeaturePoint]]:
    """Each feature's results in the monitor's newest `limit` succeeded runs, oldest first.

    With `feature`, only that feature, over the newest `limit` runs that hold a result for it;
    with `before`, only runs of windows ending before it (a report of an older window).
    """
    runs = select(r.id).where(r.monitor == monitor, r.status == "succeeded")
    if before is not None:
        runs = runs.where(r.window_end < before)
    if feature is not None:
        runs = runs.where(select(f.id).where(f.run_id == r.id, f.feature == feature).exists())
    newest = runs.order_by(r.window_end.desc(), r.id.desc()).limit(limit).subquery()
    stmt = (
        select(r.id.label("run_id"), r.window_start, r.window_end, f.feature, f.method)
        .add_columns(f.statistic, f.p_value, f.threshold, f.drifted)
        .join(drift_feature_results, f.run_id == r.id)
        .where(r.id.in_(select(newest.c.id)))
        .order_by(r.window_end, r.id, f.id)
    )
    if feature is not None:
        stmt = stmt.where(f.feature == feature)
    out: dict[str, list[FeaturePoint]] = {}
    with storage_errors(engine, "load feature history"), engine.connect() as conn:
        for row in conn.execute(stmt).mappings():
            out.setdefault(row["feature"], []).append(FeaturePoint(**row))
    return out
