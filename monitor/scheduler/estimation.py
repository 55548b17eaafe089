"""Estimated performance per window: apply the reference's stored estimator, feed the rules.

The estimator (`performance.estimator`) was fitted once when the reference was materialised
and stored with that version (`storage/estimators.py`); every replica loads the stored JSON
state, nothing is refitted here. Each window the performance tick evaluates is also
estimated from its stored predictions and probabilities (DLE: the window's event features),
labelled or not, and the estimate with its band is stored once per window and prediction
count. `estimated_performance` rules judge the newest window's new estimate once;
`estimation_gap` rules judge the recent windows' realised values against their bands once per
tick in which an estimate or its realised values changed (late labels).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

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
    estimate_history,
    load_estimator,
    store_window_estimate,
    window_estimate_rows,
)
from monitor.storage.event_frames import TS_COLUMN, load_frame
from monitor.window import Window

log = logging.getLogger("monitor.performance")
GAP_HISTORY = 500  # stored window estimates read for estimation_gap (N <= 100 evaluable)
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
    fresh, changed = [], []
    for window, rows in windows:
        stored = _estimate_one(engine, monitor, est, window, rows, now)
        if stored is not None and stored.created:
            fresh.append(stored)
        if stored is not None and (stored.created or stored.relabelled):
            changed.append(stored)
    if fresh and any(r.condition == "estimated_performance" for r in monitor.rules):
        _judge_newest(engine, settings, monitor, ref, est, fresh, now)
    if changed and any(r.condition == "estimation_gap" for r in monitor.rules):
        judge_gap(engine, settings, monitor, ref, est, changed, now)
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
    frame = target = None
    if features is not None:
        frame = load_frame(
            engine, event_filter(monitor), start=window.start, end=window.end, columns=features
        )
        target = frame_labels(frame, rows)
    try:
        estimate = estimate_window(est.state, rows, frame, target)
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


def frame_labels(frame: Any, rows: LabelledWindow) -> list[Any] | None:
    """The window's labels aligned with its event frame, or None when they cannot be: both
    are read in (time, event id) order with the same filter, so they align row by row when
    the counts and the timestamps agree (a write between the two reads: no labels this tick)."""
    if TS_COLUMN not in frame.columns or len(frame) != rows.n or rows.n == 0:
        return None
    ts = pd.to_datetime(frame[TS_COLUMN], utc=True).to_numpy(dtype="datetime64[us]")
    if not np.array_equal(ts.astype(np.int64), rows.ts_us.astype(np.int64)):
        return None
    return [y if ok else None for y, ok in zip(rows.y_true.tolist(), rows.labelled, strict=True)]


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
    facts = window_facts(
        monitor, ref, _window(row), row.rows,
        estimated=row.estimate.get("metrics") or {}, estimator=est.method,
    )  # fmt: skip
    step_window_alerts(
        engine, settings, monitor, facts, evaluate(monitor.rules, facts), now,
        "estimated_performance_alert",
    )  # fmt: skip


def judge_gap(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    ref: Reference | None,
    est: EstimatorRow,
    changed: list[WindowEstimateRow],
    now: datetime,
) -> None:
    """`estimation_gap` rules over the stored estimates of this estimator's recent windows
    (oldest first), judged once per tick in which an estimate or its realised values changed."""
    history = estimate_history(engine, monitor.name, est.method, limit=GAP_HISTORY)
    docs = tuple(
        {**r.estimate, "window_start": r.window_start.isoformat(),
         "window_end": r.window_end.isoformat()}
        for r in history
    )  # fmt: skip
    row = max(changed, key=lambda r: (r.window_end, r.window_start))
    facts = window_facts(
        monitor, ref, _window(row), row.rows, estimator=est.method, estimate_history=docs
    )
    step_window_alerts(
        engine, settings, monitor, facts, evaluate(monitor.rules, facts), now,
        "estimation_gap_alert",
    )  # fmt: skip


def _window(row: WindowEstimateRow) -> Window:
    return Window(row.window_start, row.window_end)


def window_facts(
    monitor: MonitorSettings,
    ref: Reference | None,
    window: Window,
    rows: int,
    **extra: Any,
) -> RunFacts:
    """The rules' view of one performance window (realised or estimated): the same window
    fields for each, only what the rules look at (`performance`, `estimated`,
    `estimate_history`, ...) in `extra` differs."""
    return RunFacts(
        monitor=monitor.name,
        model=monitor.model,
        model_version=monitor.model_version,
        run_id=None,
        window_start=window.start,
        window_end=window.end,
        status="succeeded",
        current_rows=rows,
        reference_rows=ref.row_count if ref else 0,
        reference_performance=ref.performance if ref else None,
        kind="performance",
        **extra,
    )


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


__all__ = ["estimate_windows", "step_window_alerts", "stored_estimator", "window_facts"]
