"""What only the web dashboard reads: the drift heatmap, per-feature rows of several runs (the
compare page) and a run still in flight. Finished runs only, except `run_in_flight`; histories
come back oldest first, which is what a chart or a heatmap plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from monitor.storage.db import storage_errors
from monitor.storage.run_reads import FEATURE_RESULT, recent_runs
from monitor.storage.tables import drift_feature_results, drift_runs

r = drift_runs.c
f = drift_feature_results.c


@dataclass(frozen=True)
class Heatmap:
    """Feature x window: `cells[(feature, run_id)]` holds the stored per-feature result."""

    runs: list[dict[str, Any]]  # oldest first
    features: list[str]  # in the order the runs reported them
    cells: dict[tuple[str, int], dict[str, Any]]


def heatmap(engine: Engine, monitor: str, limit: int = 24) -> Heatmap:
    """The per-feature results of the monitor's succeeded runs among its newest `limit`."""
    runs = [x for x in recent_runs(engine, [monitor], limit)[monitor] if x["status"] == "succeeded"]
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    features: dict[str, None] = {}
    by_run = feature_rows(engine, [x["id"] for x in runs])
    for run_id in sorted(by_run):
        for row in by_run[run_id]:
            features.setdefault(row["feature"], None)
            cells[(row["feature"], run_id)] = row
    return Heatmap(runs, list(features), cells)


def feature_rows(engine: Engine, run_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per-feature results of several runs, by run id, each in the order it stored them."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in run_ids}
    if not run_ids:
        return out
    stmt = select(f.run_id, *FEATURE_RESULT).where(f.run_id.in_(run_ids)).order_by(f.run_id, f.id)
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
