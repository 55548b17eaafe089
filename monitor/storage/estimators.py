"""Fitted performance estimators and the windows' estimates, in storage.

`reference_estimators`: an estimator's JSON state (numbers and lists, never pickles), fitted
once on a labelled reference version, so every scheduler replica loads it instead of
refitting. `window_estimates`: a window's estimated metrics and bands (`WindowEstimate`'s
JSON), one row per window and estimator. A recomputation replaces it when the document
changed: late predictions (a new estimate: `created`) or late labels (the same estimate with
the realised values beside it: `relabelled`); an unchanged one stores nothing. Two writers
at once: the unique keys let one win and the other returns its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy.exc as sa_exc
from sqlalchemy import Engine, insert, select, update

from monitor.jsonsafe import json_safe
from monitor.storage.db import storage_errors
from monitor.storage.tables import reference_estimators, window_estimates

e = reference_estimators.c
w = window_estimates.c


@dataclass(frozen=True)
class EstimatorRow:
    """One fitted estimator of a reference version."""

    id: int
    reference_id: int
    method: str
    state: dict[str, Any]
    created_at: datetime
    created: bool = False  # stored by this call (False: it was there already)


@dataclass(frozen=True)
class WindowEstimateRow:
    """The stored estimate of one window by one estimator."""

    id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    estimator_id: int
    rows: int
    estimate: dict[str, Any]
    computed_at: datetime
    created: bool = False  # a new estimate: inserted, or replaced on a new prediction count
    relabelled: bool = False  # only the realised values beside the estimate were updated


def _estimator(row: Any, created: bool = False) -> EstimatorRow:
    return EstimatorRow(row.id, row.reference_id, row.method, row.state, row.created_at, created)


def _estimate(row: Any, created: bool = False, relabelled: bool = False) -> WindowEstimateRow:
    return WindowEstimateRow(
        row.id, row.monitor, row.window_start, row.window_end, row.estimator_id, row.rows,
        row.estimate, row.computed_at, created, relabelled,
    )  # fmt: skip


def load_estimator(engine: Engine, reference_id: int, method: str) -> EstimatorRow | None:
    """The estimator `method` fitted on reference version `reference_id`, or None."""
    stmt = select(reference_estimators).where(e.reference_id == reference_id, e.method == method)
    with storage_errors(engine, "load estimator"), engine.connect() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else _estimator(row)


def store_estimator(
    engine: Engine, reference_id: int, method: str, state: dict[str, Any], now: datetime
) -> EstimatorRow:
    """Store a fitted state once per (reference version, method); a second call (or a
    concurrent replica) gets the row already stored."""
    found = load_estimator(engine, reference_id, method)
    if found is not None:
        return found
    values = {
        "reference_id": reference_id,
        "method": method,
        "state": json_safe(state),
        "created_at": now,
    }
    with storage_errors(engine, "store estimator"):
        try:
            with engine.begin() as conn:
                row = conn.execute(
                    insert(reference_estimators).values(**values).returning(reference_estimators)
                ).one()
            return _estimator(row, created=True)
        except sa_exc.IntegrityError:
            again = load_estimator(engine, reference_id, method)
            if again is None:
                raise
            return again


def _window_row(conn: Any, monitor: str, start: datetime, end: datetime, estimator_id: int) -> Any:
    return conn.execute(
        select(window_estimates).where(
            w.monitor == monitor,
            w.window_start == start,
            w.window_end == end,
            w.estimator_id == estimator_id,
        )
    ).first()


def store_window_estimate(
    engine: Engine,
    monitor: str,
    start: datetime,
    end: datetime,
    *,
    estimator_id: int,
    rows: int,
    estimate: dict[str, Any],
    now: datetime,
) -> WindowEstimateRow:
    """Store the window's estimate unless the same document is stored (module doc)."""
    doc = json_safe(estimate)
    with storage_errors(engine, "store window estimate"):
        try:
            with engine.begin() as conn:
                prev = _window_row(conn, monitor, start, end, estimator_id)
                if prev is not None and prev.estimate == doc:
                    return _estimate(prev)
                values = {"rows": rows, "estimate": doc, "computed_at": now}
                if prev is not None:
                    conn.execute(update(window_estimates).where(w.id == prev.id).values(**values))
                else:
                    conn.execute(
                        insert(window_estimates).values(
                            monitor=monitor,
                            window_start=start,
                            window_end=end,
                            estimator_id=estimator_id,
                            **values,
                        )
                    )
                new = prev is None or prev.rows != rows
                row = _window_row(conn, monitor, start, end, estimator_id)
                return _estimate(row, created=new, relabelled=not new)
        except sa_exc.IntegrityError:
            with engine.connect() as conn:  # a concurrent writer stored it
                row = _window_row(conn, monitor, start, end, estimator_id)
            if row is None:
                raise
            return _estimate(row)


def window_estimate_rows(
    engine: Engine, monitor: str, *, limit: int = 50
) -> list[WindowEstimateRow]:
    """The monitor's stored window estimates, newest window first (at most `limit`)."""
    stmt = (
        select(window_estimates)
        .where(w.monitor == monitor)
        .order_by(w.window_end.desc(), w.window_start.desc(), w.id.desc())
        .limit(limit)
    )
    with storage_errors(engine, "read window estimates"), engine.connect() as conn:
        return [_estimate(r) for r in conn.execute(stmt).all()]


def estimate_history(
    engine: Engine, monitor: str, method: str, *, limit: int = 500
) -> list[WindowEstimateRow]:
    """The monitor's stored estimates by `method` of its newest `limit` windows, oldest
    first, one per window (the newest estimator's, when a reference refresh estimated a
    window twice). Each row's document holds the estimate, its band and, once labelled, the
    realised value: the per-window gap (realised − estimate) is derived from it
    (`performance.estimation.gap`), so no table of its own is needed."""
    newest: dict[tuple[datetime, datetime], WindowEstimateRow] = {}
    for r in window_estimate_rows(engine, monitor, limit=limit * 2):
        if str(r.estimate.get("method", "")) == method:
            newest.setdefault((r.window_start, r.window_end), r)  # id desc: newest first
    rows = sorted(newest.values(), key=lambda r: (r.window_end, r.window_start))
    return rows[-limit:]


__all__ = [
    "EstimatorRow",
    "WindowEstimateRow",
    "estimate_history",
    "load_estimator",
    "store_estimator",
    "store_window_estimate",
    "window_estimate_rows",
]
