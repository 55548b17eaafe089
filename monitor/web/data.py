"""What the dashboard pages read beyond storage's run reads (monitor.storage.run_reads and
monitor.storage.dashboard): a monitor's alerts with their history, performance runs, and the
sketches a run compared. Histories come back oldest first, which is what a chart plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.drift.sketch import Sketch, Spec
from monitor.storage import alerts as alert_store
from monitor.storage.db import Engine


def monitor_alerts(engine: Engine, monitor: str, limit: int = 20) -> list[dict[str, Any]]:
    """The monitor's newest alerts, each with its state history and deliveries."""
    page = alert_store.list_alerts(engine, monitor=monitor, limit=limit)
    out = []
    for alert in page.alerts:
        detail = alert_store.alert_detail(engine, alert.id)
        if detail is not None:
            out.append(detail)
    return out


def firing_alerts(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    return alert_store.list_alerts(engine, state="firing", limit=limit).rows()


def performance_history(engine: Engine, monitor: str, limit: int = 30) -> list[Any]:
    """The newest revision of each of the last `limit` windows, oldest first (StoredRun)."""
    from monitor.storage.performance_runs import latest_runs

    return list(reversed(latest_runs(engine, monitor, limit=limit)))


def estimate_history(engine: Engine, monitor: str, limit: int = 30) -> list[Any]:
    """The last `limit` windows' stored estimates, oldest first (WindowEstimateRow)."""
    from monitor.storage.estimators import window_estimate_rows

    return list(reversed(window_estimate_rows(engine, monitor, limit=limit)))


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
