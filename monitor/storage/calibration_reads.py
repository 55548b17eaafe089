"""What `monitor calibrate` reads of the stored history (issue 14 item 5): a monitor's
finished drift runs of a period with their per-feature results (the backtest replays them
through a proposed config), the typical window size, and the alerts fired per rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from monitor.storage.db import storage_errors
from monitor.storage.tables import alerts, drift_feature_results, drift_runs

r, f, a = drift_runs.c, drift_feature_results.c, alerts.c
JUDGED = ("succeeded", "insufficient_data")

__all__ = ["StoredWindow", "fired_per_rule", "stored_windows", "typical_window_rows"]


@dataclass(frozen=True)
class StoredWindow:
    run_id: int
    window_start: datetime
    window_end: datetime
    status: str
    current_rows: int
    reference_rows: int
    features: list[dict[str, Any]]  # feature, kind, method, statistic, p_value, threshold, stats


def stored_windows(engine: Engine, monitor: str, since: datetime) -> list[StoredWindow]:
    """Finished drift runs of `monitor` whose window ends at or after `since`, oldest first."""
    runs = (
        select(r.id, r.window_start, r.window_end, r.status, r.current_rows, r.reference_rows)
        .where(r.monitor == monitor, r.kind == "drift", r.status.in_(JUDGED))
        .where(r.window_end >= since)
        .order_by(r.window_end, r.id)
    )
    with storage_errors(engine, "load stored windows"), engine.connect() as conn:
        rows = [dict(x) for x in conn.execute(runs).mappings()]
        ids = [x["id"] for x in rows]
        feats: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for lo in range(0, len(ids), 500):
            stmt = (
                select(
                    f.run_id,
                    f.feature,
                    f.kind,
                    f.method,
                    f.statistic,
                    f.p_value,
                    f.threshold,
                    f.stats,
                )
                .where(f.run_id.in_(ids[lo : lo + 500]))
                .order_by(f.run_id, f.id)
            )
            for x in conn.execute(stmt).mappings():
                feats[x["run_id"]].append(dict(x))
    return [
        StoredWindow(
            x["id"],
            x["window_start"],
            x["window_end"],
            x["status"],
            int(x["current_rows"] or 0),
            int(x["reference_rows"] or 0),
            feats[x["id"]],
        )
        for x in rows
    ]


def typical_window_rows(engine: Engine, monitor: str, last: int = 100) -> int | None:
    """The median current row count of the monitor's `last` succeeded drift runs."""
    stmt = (
        select(r.current_rows)
        .where(r.monitor == monitor, r.kind == "drift", r.status == "succeeded")
        .where(r.current_rows.is_not(None))
        .order_by(r.window_end.desc())
        .limit(last)
    )
    with storage_errors(engine, "load window sizes"), engine.connect() as conn:
        sizes = sorted(int(x) for x in conn.execute(stmt).scalars())
    return sizes[len(sizes) // 2] if sizes else None


def fired_per_rule(engine: Engine, monitor: str, since: datetime) -> dict[str, int]:
    """Alerts of `monitor` that fired at or after `since`, per rule."""
    stmt = (
        select(a.rule, func.count())
        .where(a.monitor == monitor, a.fired_at.is_not(None), a.fired_at >= since)
        .group_by(a.rule)
    )
    with storage_errors(engine, "count fired alerts"), engine.connect() as conn:
        return {str(rule): int(n) for rule, n in conn.execute(stmt)}
