"""The sequential rule's state in storage: each feature's CUSUM per (monitor, reference).

`sequential_monitors` has one row per monitor: the reference the sums belong to, the
windows applied since that reference's start and the end of the newest window applied.
Every run that applies a window locks that row first (`lock`: SELECT ... FOR UPDATE on
Postgres; SQLite serialises writers anyway) in the transaction that stores the run, its
alerts and their outbox rows, so replicas apply a monitor's windows one at a time, each once,
and only in window order. `sequential_features` holds one row per (monitor, reference,
feature): the sum, windows since the feature's (re)start, its warm-up (Welford n, mean, M2;
with learning, the windows learned after the warm-up too), the quiet windows in a row that
decide what is learned, and how often it restarted after an alert resolved. A new reference replaces the rows
(`save` deletes the other references' rows of the monitor). `sequential_windows` logs every
judged run: its window's scores and whether the window was applied (`log_window`,
`window_log`), so that what the sums are made of can be checked and replayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.jsonsafe import json_safe
from monitor.storage.db import storage_errors
from monitor.storage.tables_alarms import (
    sequential_features,
    sequential_monitors,
    sequential_windows,
)

m_ = sequential_monitors.c
f_ = sequential_features.c

__all__ = [
    "FeatureCusum",
    "LoggedWindow",
    "SequentialState",
    "load",
    "lock",
    "log_window",
    "restart",
    "save",
    "window_log",
]


@dataclass(frozen=True)
class FeatureCusum:
    """One feature's CUSUM: the sum, windows since its (re)start, its warm-up."""

    statistic: float = 0.0
    since: int = 0
    warm_n: int = 0
    warm_mean: float = 0.0
    warm_m2: float = 0.0
    restarts: int = 0
    restarted_at: datetime | None = None
    # learning (`CusumConfig.learn`): windows in a row that left the sum at 0; warm_n/mean/M2
    # then go on counting the windows learned after the warm-up (migration 0013_seq_learn)
    quiet: int = 0


@dataclass(frozen=True)
class SequentialState:
    """A monitor's stored sequential state (an empty one before its first window)."""

    monitor: str
    reference_id: int | None = None
    windows: int = 0
    last_window_end: datetime | None = None
    last_run_id: int | None = None
    features: dict[str, FeatureCusum] = field(default_factory=dict)
    config: str | None = None  # the CUSUM settings the sums were made with


def _features(conn: Connection, monitor: str, reference_id: int | None) -> dict[str, FeatureCusum]:
    if reference_id is None:
        return {}
    rows = conn.execute(
        select(sequential_features).where(f_.monitor == monitor, f_.reference_id == reference_id)
    ).all()
    return {
        r.feature: FeatureCusum(
            float(r.statistic),
            int(r.since),
            int(r.warm_n),
            float(r.warm_mean),
            float(r.warm_m2),
            int(r.restarts),
            r.restarted_at,
            int(r.quiet),
        )
        for r in rows
    }


def _state(conn: Connection, row: Any) -> SequentialState:
    return SequentialState(
        row.monitor,
        row.reference_id,
        int(row.windows),
        row.last_window_end,
        row.last_run_id,
        _features(conn, row.monitor, row.reference_id),
        row.config,
    )


def lock(conn: Connection, monitor: str, now: datetime) -> SequentialState:
    """The monitor's state, its row locked until the caller's transaction ends (created on
    first use; two replicas creating it at once: one inserts, both then lock the same row)."""
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        ins(sequential_monitors)
        .values(monitor=monitor, windows=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["monitor"])
    )
    row = conn.execute(
        select(sequential_monitors).where(m_.monitor == monitor).with_for_update()
    ).one()
    return _state(conn, row)


def save(conn: Connection, state: SequentialState, now: datetime) -> None:
    """Write the (locked) state back: the header row, and the features' rows of its
    reference (rows of any other reference of the monitor are deleted)."""
    conn.execute(
        update(sequential_monitors)
        .where(m_.monitor == state.monitor)
        .values(
            reference_id=state.reference_id,
            windows=state.windows,
            last_window_end=state.last_window_end,
            last_run_id=state.last_run_id,
            config=state.config,
            updated_at=now,
        )
    )
    conn.execute(delete(sequential_features).where(f_.monitor == state.monitor))
    if state.reference_id is None or not state.features:
        return
    rows = [
        {
            "monitor": state.monitor,
            "reference_id": state.reference_id,
            "feature": name,
            "statistic": c.statistic,
            "since": c.since,
            "warm_n": c.warm_n,
            "warm_mean": c.warm_mean,
            "warm_m2": c.warm_m2,
            "restarts": c.restarts,
            "restarted_at": c.restarted_at,
            "quiet": c.quiet,
        }
        for name, c in state.features.items()
    ]
    conn.execute(insert(sequential_features), rows)


def restart(
    conn: Connection,
    monitor: str,
    reference_id: int,
    features: Iterable[str] | None,
    now: datetime,
) -> int:
    """Restart features (None: all of them) at 0 after their alert resolved; their warm-up
    (and what was learned after it) is kept: it estimates the reference's offset, which did
    not change; the quiet count restarts (`CusumState.reset`). Rows restarted."""
    stmt = update(sequential_features).where(f_.monitor == monitor, f_.reference_id == reference_id)
    if features is not None:
        names = sorted(set(features))
        if not names:
            return 0
        stmt = stmt.where(f_.feature.in_(names))
    result = conn.execute(
        stmt.values(statistic=0.0, since=0, quiet=0, restarts=f_.restarts + 1, restarted_at=now)
    )
    return int(result.rowcount or 0)


def load(engine: Engine, monitor: str) -> SequentialState | None:
    """The monitor's stored state (read only), or None before its first window."""
    with storage_errors(engine, "load sequential state"), engine.connect() as conn:
        row = conn.execute(select(sequential_monitors).where(m_.monitor == monitor)).first()
        return None if row is None else _state(conn, row)


@dataclass(frozen=True)
class LoggedWindow:
    run_id: int
    reference_id: int
    window_end: datetime
    applied: bool
    scores: dict[str, float | None]


def log_window(
    conn: Connection,
    monitor: str,
    run_id: int,
    reference_id: int,
    window_end: datetime,
    applied: bool,
    scores: Mapping[str, float],
) -> None:
    """Record a judged run's scores (NaN/inf stored as null) and whether it was applied."""
    conn.execute(
        insert(sequential_windows).values(
            run_id=run_id, monitor=monitor, reference_id=reference_id, window_end=window_end,
            applied=applied, scores=json_safe(dict(scores)),
        )
    )  # fmt: skip


def window_log(engine: Engine, monitor: str) -> list[LoggedWindow]:
    """A monitor's judged runs in window order (then run order)."""
    w = sequential_windows.c
    stmt = select(sequential_windows).where(w.monitor == monitor).order_by(w.window_end, w.run_id)
    with storage_errors(engine, "read sequential windows"), engine.connect() as conn:
        return [
            LoggedWindow(r.run_id, r.reference_id, r.window_end, bool(r.applied), dict(r.scores))
            for r in conn.execute(stmt)
        ]
