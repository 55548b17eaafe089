"""The API's reads: pages, latest rows per monitor, details (SQLAlchemy Core, bound parameters).

Readers show finished runs only (a "running" row is a claim, not a result). Pages are keyset
pages: newest first, and the cursor is the (sort key, id) of the last row returned, so a page
never repeats or skips a row when new runs arrive between requests.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, and_, func, insert, or_, select

from monitor.errors import InputError
from monitor.storage.db import storage_errors
from monitor.storage.runs import FINISHED
from monitor.storage.tables import (
    alert_events,
    alerts,
    drift_feature_results,
    drift_runs,
    notifications,
    performance_runs,
    reference_datasets,
)

r = drift_runs.c
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


# --- cursors -------------------------------------------------------------------------------


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> list[Any]:
    """The parts of a cursor we issued; InputError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = orjson.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError
        out = []
        for kind, part in zip(kinds, parts, strict=True):
            if kind is datetime:
                value = datetime.fromisoformat(part)
                if value.tzinfo is None:
                    raise ValueError
            elif kind is int and type(part) is int and 0 < part < 2**63:
                value = part
            else:
                raise ValueError
            out.append(value)
        return out
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InputError("invalid cursor (pass back the next_cursor of a previous page)") from None


# --- monitors and runs ---------------------------------------------------------------------


def latest_runs(
    engine: Engine, monitors: Iterable[str], statuses: tuple[str, ...] = FINISHED
) -> dict[str, dict[str, Any]]:
    """The newest run in `statuses` (default: any finished) of each named monitor."""
    names = list(monitors)
    if not names:
        return {}
    rank = (
        func.row_number().over(partition_by=r.monitor, order_by=(r.window_end.desc(), r.id.desc()))
    ).label("rank")
    inner = select(*RUN_BRIEF, rank).where(r.monitor.in_(names), r.status.in_(statuses)).subquery()
    stmt = select(*(c for c in inner.c if c.name != "rank")).where(inner.c.rank == 1)
    with storage_errors(engine, "load latest runs"), engine.connect() as conn:
        return {row["monitor"]: dict(row) for row in conn.execute(stmt).mappings()}


def firing_counts(engine: Engine) -> dict[str, int]:
    a = alerts.c
    stmt = select(a.monitor, func.count()).where(a.state == "firing").group_by(a.monitor)
    with storage_errors(engine, "count firing alerts"), engine.connect() as conn:
        return {m: int(n) for m, n in conn.execute(stmt)}


def reference_versions(engine: Engine, monitors: Iterable[str]) -> dict[str, int]:
    names = list(monitors)
    if not names:
        return {}
    d = reference_datasets.c
    stmt = select(d.monitor, func.max(d.version)).where(d.monitor.in_(names)).group_by(d.monitor)
    with storage_errors(engine, "load reference versions"), engine.connect() as conn:
        return {m: int(v) for m, v in conn.execute(stmt)}


def runs_page(
    engine: Engine,
    monitor: str,
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Finished runs whose window ends in [since, until), newest first, one page."""
    stmt = select(*RUN_BRIEF).where(r.monitor == monitor, r.status.in_(FINISHED))
    if since is not None:
        stmt = stmt.where(r.window_end >= since)
    if until is not None:
        stmt = stmt.where(r.window_end < until)
    if cursor is not None:
        end, run_id = decode_cursor(cursor, (datetime, int))
        stmt = stmt.where(or_(r.window_end < end, and_(r.window_end == end, r.id < run_id)))
    stmt = stmt.order_by(r.window_end.desc(), r.id.desc()).limit(limit + 1)
    with storage_errors(engine, "list runs"), engine.connect() as conn:
        rows = [dict(m) for m in conn.execute(stmt).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1]["window_end"].isoformat(), rows[-1]["id"]) if more else None
    return rows, nxt


def runs_by_id(engine: Engine, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    stmt = select(*RUN_BRIEF).where(r.id.in_(ids), r.status.in_(FINISHED))
    with storage_errors(engine, "load runs"), engine.connect() as conn:
        return {row["id"]: dict(row) for row in conn.execute(stmt).mappings()}


def run_detail(engine: Engine, run_id: int) -> dict[str, Any] | None:
    """One finished run, its per-feature rows, its reference version and performance."""
    f = drift_feature_results.c
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
        out["features"] = [
            dict(x)
            for x in conn.execute(
                select(
                    f.feature,
                    f.kind,
                    f.method,
                    f.statistic,
                    f.p_value,
                    f.threshold,
                    f.drifted,
                    f.stats,
                )
                .where(f.run_id == run_id)
                .order_by(f.id)
            ).mappings()
        ]
        p = performance_runs.c
        perf = (
            conn.execute(
                select(p.revision, p.status, p.predictions, p.labelled, p.computed_at, p.metrics)
                .where(
                    p.monitor == out["monitor"],
                    p.window_start == out["window_start"],
                    p.window_end == out["window_end"],
                )
                .order_by(p.revision.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        out["performance"] = dict(perf) if perf is not None else None
    summary = out.get("summary") or {}
    out["data_quality"] = summary.get("data_quality") if isinstance(summary, dict) else None
    return out


def report_url_of(engine: Engine, run_id: int) -> str | None:
    with storage_errors(engine, "load run"), engine.connect() as conn:
        return conn.execute(
            select(r.report_url).where(r.id == run_id, r.status.in_(FINISHED))
        ).scalar()


def feature_history(engine: Engine, monitor: str, feature: str, limit: int) -> list[dict[str, Any]]:
    """The feature's statistic in the monitor's newest `limit` succeeded runs, oldest first."""
    f = drift_feature_results.c
    stmt = (
        select(
            r.id.label("run_id"),
            r.window_start,
            r.window_end,
            f.method,
            f.statistic,
            f.p_value,
            f.threshold,
            f.drifted,
        )
        .join(drift_feature_results, f.run_id == r.id)
        .where(r.monitor == monitor, r.status == "succeeded", f.feature == feature)
        .order_by(r.window_end.desc(), r.id.desc())
        .limit(limit)
    )
    with storage_errors(engine, "load feature history"), engine.connect() as conn:
        rows = [dict(m) for m in conn.execute(stmt).mappings()]
    rows.reverse()
    return rows


# --- alerts --------------------------------------------------------------------------------


def _acked(conn: Any, ids: list[int]) -> dict[int, datetime]:
    """Newest acknowledgement per alert (alert_events rows with state 'acknowledged')."""
    if not ids:
        return {}
    e = alert_events.c
    stmt = (
        select(e.alert_id, func.max(e.at))
        .where(e.alert_id.in_(ids), e.state == "acknowledged")
        .group_by(e.alert_id)
    )
    return {int(a): at for a, at in conn.execute(stmt)}


def _with_ack(conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    acked = _acked(conn, [row["id"] for row in rows])
    for row in rows:
        row["acknowledged_at"] = acked.get(row["id"])
    return rows


def alerts_page(
    engine: Engine,
    *,
    state: str | None,
    monitor: str | None,
    severity: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Alerts newest first (by id). `state` "open" means pending or firing."""
    a = alerts.c
    stmt = select(alerts)
    if monitor is not None:
        stmt = stmt.where(a.monitor == monitor)
    if state == "open":
        stmt = stmt.where(a.resolved_at.is_(None))
    elif state is not None:
        stmt = stmt.where(a.state == state)
    if severity is not None:
        stmt = stmt.where(a.severity == severity)
    if cursor is not None:
        (last_id,) = decode_cursor(cursor, (int,))
        stmt = stmt.where(a.id < last_id)
    stmt = stmt.order_by(a.id.desc()).limit(limit + 1)
    with storage_errors(engine, "list alerts"), engine.connect() as conn:
        rows = [dict(m) for m in conn.execute(stmt).mappings()]
        more = len(rows) > limit
        rows = _with_ack(conn, rows[:limit])
    return rows, encode_cursor(rows[-1]["id"]) if more else None


def alert_detail(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    a, e, n = alerts.c, alert_events.c, notifications.c
    with storage_errors(engine, "load alert"), engine.connect() as conn:
        row = conn.execute(select(alerts).where(a.id == alert_id)).mappings().first()
        if row is None:
            return None
        (out,) = _with_ack(conn, [dict(row)])
        out["history"] = [
            dict(m)
            for m in conn.execute(
                select(e.id, e.state, e.at, e.run_id, e.detail)
                .where(e.alert_id == alert_id)
                .order_by(e.at, e.id)
            ).mappings()
        ]
        out["deliveries"] = [
            dict(m)
            for m in conn.execute(
                select(
                    n.delivery_id,
                    n.channel,
                    n.route,
                    n.event,
                    n.status,
                    n.attempts,
                    n.last_error,
                    n.created_at,
                    n.next_attempt_at,
                    n.delivered_at,
                    n.external_id,
                    n.answer,
                )
                .where(n.alert_id == alert_id)
                .order_by(n.created_at, n.id)
            ).mappings()
        ]
    return out


def acknowledge(
    engine: Engine, alert_id: int, now: datetime, by: str | None, comment: str | None
) -> str:
    """Record an acknowledgement as an alert_events row; returns the alert's state.

    InputError for a resolved alert (nothing left to acknowledge); LookupError when absent.
    """
    a = alerts.c
    with storage_errors(engine, "acknowledge alert"), engine.begin() as conn:
        state = conn.execute(select(a.state).where(a.id == alert_id)).scalar()
        if state is None:
            raise LookupError(alert_id)
        if state == "resolved":
            raise InputError(f"alert {alert_id} is resolved; there is nothing to acknowledge")
        conn.execute(
            insert(alert_events).values(
                alert_id=alert_id,
                state="acknowledged",
                at=now,
                run_id=None,
                detail={"by": by, "comment": comment, "state": state},
            )
        )
    return state
