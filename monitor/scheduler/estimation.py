"""Estimated performance per window: apply the reference's stored estimator, feed the rules.

The estimator (`performance.estimator`) was fitted once when the reference was materialised
and stored with that version (`storage/estimators.py`); every replica loads the stored JSON
state, nothing is refitted here. Each window the performance tick evaluates is also
estimated from its stored predictions and probabilities (DLE: the window's event features),
labelled or not, and the estimate with its band is stored once per window and prediction
count. `estimated_performance` rules judge the newest window's new estimate once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from monitor.alerts import apply_run
from monitor.errors import EstimationError, InputError
from monitor.performance.estimation.fitting import estimate_window, needs_features
from monitor.performance.labelled import LabelledWindow
from monitor.reference import Reference, event_filter, latest
from monitor.rules import RuleHit, RunFacts, evaluate
from monitor.settings import MonitorSettings, Settings
from monitor.storage.db import Engine, storage_errors
from monitor.storage.estimators import (
    EstimatorRow,
    WindowEstimateRow,
    load_estimator,
    store_window_estimate,
    window_estimate_rows,
)
from monitor.storage.event_frames import load_frame
from monitor.window import Window

log = logging.getLogger("monitor.performance")
_TOLD: set[tuple[str, int]] = set()  # (monitor, reference id) already told of no estimator


def stored_estimator(
    engine: Engine, monitor: MonitorSettings, ref: Reference | None
) -> EstimatorRow | None:
    """The estimator stored with the newest reference version (None: none configured, or
    the reference could not fit one: see the `estimator_not_fitted` log at materialisation)."""
    method = monitor.performance.estimator
    if method == "none" or ref is None:
        return None
    row = load_estimator(engine, ref.id, method)
    if row is None and (monitor.name, ref.id) not in _TOLD:
        _TOLD.add((monitor.name, ref.id))  # once per process and reference version
        log.warning(
            "estimator_missing",
            extra={
                "monitor": monitor.name,
                "estimator": method,
                "reference_version": ref.version,
                "hint": "materialised before the estimator was configured, or it could not be "
                "fitted (estimator_not_fitted); `monitor reference refresh` fits it",
            },
        )
    return row


def estimate_windows(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    windows: list[tuple[Window, LabelledWindow]],
    now: datetime,
) -> list[WindowEstimateRow]:
    """Estimate and store each window; judge the rules on new estimates; return new rows."""
    ref = latest(engine, monitor.name)
    est = stored_estimator(engine, monitor, ref)
    if est is None:
        return []
    fresh = []
    for window, rows in windows:
        stored = _estimate_one(engine, monitor, est, window, rows, now)
        if stored is not None and stored.created:
            fresh.append(stored)
    if fresh and any(r.condition == "estimated_performance" for r in monitor.rules):
        _judge_newest(engine, settings, monitor, ref, est, fresh, now)
    return fresh


def _estimate_one(
    engine: Engine,
    monitor: MonitorSettings,
    est: EstimatorRow,
    window: Window,
    rows: LabelledWindow,
    now: datetime,
) -> WindowEstimateRow | None:
    features = needs_features(est.state)
    frame = None
    if features is not None:
        frame = load_frame(
            engine, event_filter(monitor), start=window.start, end=window.end, columns=features
        )
    try:
        estimate = estimate_window(est.state, rows, frame)
    except (EstimationError, InputError) as exc:
        log.warning(
            "estimate_failed",
            extra={"monitor": monitor.name, "window_start": window.start, "error": str(exc)},
        )
        return None
    if estimate is None:
        return None  # no row with what the estimator reads (probabilities, features)
    return store_window_estimate(
        engine, monitor.name, window.start, window.end,
        estimator_id=est.id, rows=estimate.rows, estimate=estimate.to_dict(), now=now,
    )  # fmt: skip


def _judge_newest(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    ref: Reference | None,
    est: EstimatorRow,
    fresh: list[WindowEstimateRow],
    now: datetime,
) -> None:
    """The rules on the newest new estimate, if no later window has an estimate already."""
    row = max(fresh, key=lambda r: (r.window_end, r.window_start))
    newest = window_estimate_rows(engine, monitor.name, limit=1)
    if newest and newest[0].window_end > row.window_end:
        return
    facts = RunFacts(
        monitor=monitor.name,
        model=monitor.model,
        model_version=monitor.model_version,
        run_id=None,
        window_start=row.window_start,
        window_end=row.window_end,
        status="succeeded",
        current_rows=row.rows,
        reference_rows=ref.row_count if ref else 0,
        reference_performance=ref.performance if ref else None,
        kind="performance",
        estimated=row.estimate.get("metrics") or {},
        estimator=est.method,
    )
    step_window_alerts(
        engine, settings, monitor, facts, evaluate(monitor.rules, facts), now,
        "estimated_performance_alert",
    )  # fmt: skip


def step_window_alerts(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    facts: RunFacts,
    hits: list[RuleHit],
    now: datetime,
    event: str,
) -> None:
    """Step the alerts of one performance window's hits in one transaction and log each
    change as `event` (realised and estimated performance alike: one subject per window, so
    open subjects without a hit keep their state)."""
    with storage_errors(engine, "store performance alerts"), engine.begin() as conn:
        changes = apply_run(
            conn, facts, hits, monitor.rules, settings.alerting, now, keep_unreported=True
        )
    for c in changes:
        log.info(
            event,
            extra={"monitor": monitor.name, "rule": c.rule, "subject": c.subject, "state": c.after},
        )


__all__ = ["estimate_windows", "step_window_alerts", "stored_estimator"]
