"""The HTML report of one scheduled run: the window's raw rows against the reference's.

Rows are bounded before they leave the database: at most `reports.max_rows` of the window's
newest events and a seeded sample of the reference (the report states both), so a report of
a 10M-event window costs what one of 20k does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.drift.result import DriftReport, FeatureResult
from monitor.errors import MonitorError
from monitor.reference import LABEL_COLUMN, event_filter, reference_frame
from monitor.settings import MonitorSettings, Settings
from monitor.storage.db import Engine
from monitor.storage.event_frames import PREDICTION_FEATURE, TS_COLUMN, load_frame
from monitor.storage.run_reads import feature_history
from monitor.window import Window

log = logging.getLogger("monitor.scheduler")


def history_points(
    engine: Engine,
    monitor: str,
    limit: int,
    window: Window,
    reported: Sequence[FeatureResult] = (),
) -> dict[str, list[Any]]:
    """The stored runs of windows ending before `window.end`, then the reported run itself
    (`reported`, flagged `current`): the chart ends with the run being reported, whether it
    is stored yet (scheduled runs write the report first) or recomputed (on demand)."""
    from monitor.reports import HistoryPoint

    keep = limit - 1 if reported else limit  # the reported run takes the last of `limit`
    stored = feature_history(engine, monitor, keep, before=window.end) if keep else {}
    out = {
        feature: [
            HistoryPoint(
                window_end=p.window_end,
                statistic=p.statistic,
                threshold=p.threshold,
                drifted=p.drifted,
                method=p.method,
                p_value=p.p_value,
            )
            for p in points
        ]
        for feature, points in stored.items()
    }
    for f in reported:
        out.setdefault(f.name, []).append(
            HistoryPoint(
                window_end=window.end,
                statistic=f.statistic,
                threshold=f.threshold,
                drifted=f.drifted,
                method=f.method,
                p_value=f.p_value,
                current=True,
            )
        )
    return out


def performance_html(
    engine: Engine, settings: Settings, monitor: MonitorSettings, window: Window
) -> str | None:
    """The performance section from the stored runs of windows ending by `window.end`
    (newest revision of each), or None when performance is off or nothing is stored yet.
    Performance is evaluated after a tick's drift runs, so a scheduled report shows the
    windows evaluated up to the previous tick."""
    if not monitor.performance_enabled:
        return None
    from monitor.reference import latest
    from monitor.reports.performance_section import performance_section
    from monitor.storage.performance_runs import latest_runs

    limit = settings.reports.history_runs
    runs = [r for r in latest_runs(engine, monitor.name, limit=limit) if r.window_end <= window.end]
    if not runs:
        return None
    ref = latest(engine, monitor.name)
    main = next((r.metric for r in monitor.rules if r.condition == "performance"), None)
    html = performance_section(runs, ref.performance if ref else None, main_metric=main)
    return (html + estimates_html(engine, settings, monitor, window)) or None


def estimates_html(
    engine: Engine, settings: Settings, monitor: MonitorSettings, window: Window
) -> str:
    """The estimated-performance section (estimate, band, realised, gap) from the stored
    window estimates of windows ending by `window.end`; "" without an estimator."""
    if monitor.performance.estimator == "none":
        return ""
    from monitor.reports.estimate_section import estimate_section
    from monitor.storage.estimators import window_estimate_rows

    limit = settings.reports.history_runs
    rows = [
        r
        for r in window_estimate_rows(engine, monitor.name, limit=limit)
        if r.window_end <= window.end
    ]
    est_rules = ("estimation_gap", "estimated_performance")
    main = next((r.metric for r in monitor.rules if r.condition in est_rules), None)
    return estimate_section(rows, main_metric=main)


def window_report(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    window: Window,
    drift: DriftReport | None,
    run_id: int | None,
    prediction: FeatureResult | None = None,
) -> Path:
    """Render and write the report; returns its path under `reports.directory`."""
    from monitor.reports import render_report, write_report

    cap = settings.reports.max_rows
    reference, source = reference_frame(engine, monitor)
    # a labelled training file's ground truth is no feature (events carry none)
    reference = reference.drop(columns=[LABEL_COLUMN], errors="ignore")
    current = load_frame(
        engine,
        event_filter(monitor),
        start=window.start,
        end=window.end,
        limit=cap,
        newest=True,
        columns=list(reference.columns.drop(PREDICTION_FEATURE, errors="ignore")),
    ).drop(columns=[TS_COLUMN])
    shared = [c for c in reference.columns if c in current.columns]
    meta = {
        "monitor": monitor.name,
        "model": monitor.model,
        "model version": monitor.model_version or "any",
        "window": f"{window.start.isoformat()} .. {window.end.isoformat()}",
        "reference": source,
        "run": str(run_id) if run_id is not None else "on demand",
    }
    if drift is not None and drift.current_rows > len(current):
        meta["current rows"] = (
            f"{drift.current_rows:,} in the window; the newest {len(current):,} loaded"
        )
    html = render_report(
        reference[shared],
        current[shared],
        title=f"Drift report: {monitor.name}",
        meta=meta,
        drift=drift,
        history=history_points(
            engine,
            monitor.name,
            settings.reports.history_runs,
            window,
            (*(drift.features if drift is not None else ()), *([prediction] if prediction else [])),
        ),
        max_rows=cap,
        column_kinds=dict(monitor.features) or None,
        performance_html=performance_html(engine, settings, monitor, window),
    )
    stamp = window.end.strftime("%Y%m%dT%H%M%SZ")
    name = f"{monitor.name}-{stamp}" + (f"-run{run_id}" if run_id is not None else "")
    return write_report(html, settings.reports.directory, name)


def try_window_report(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    window: Window,
    drift: DriftReport,
    prediction: FeatureResult | None,
    run_id: int,
) -> Path | None:
    """`window_report` for a scheduled run: a failure is logged, never fails the run."""
    try:
        return window_report(engine, settings, monitor, window, drift, run_id, prediction)
    except MonitorError as exc:
        log.warning("report_failed", extra={"monitor": monitor.name, "error": str(exc)[:300]})
        return None
