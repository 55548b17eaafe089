"""The HTML report of one scheduled run: the window's raw rows against the reference's.

Rows are bounded before they leave the database: at most `reports.max_rows` of the window's
newest events and a seeded sample of the reference (the report states both), so a report of
a 10M-event window costs what one of 20k does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from monitor.drift.result import DriftReport
from monitor.reference import LABEL_COLUMN, event_filter, reference_frame
from monitor.settings import MonitorSettings, Settings
from monitor.storage import runs as run_store
from monitor.storage.event_frames import PREDICTION_FEATURE, TS_COLUMN, load_frame
from monitor.window import Window


def history_points(engine: Engine, monitor: str, limit: int) -> dict[str, list[Any]]:
    from monitor.reports import HistoryPoint

    return {
        feature: [
            HistoryPoint(
                window_end=p["window_end"],
                statistic=p["statistic"],
                threshold=p["threshold"],
                drifted=p["drifted"],
                method=p["method"],
                p_value=p["p_value"],
            )
            for p in points
        ]
        for feature, points in run_store.feature_history(engine, monitor, limit).items()
    }


def performance_html(
    engine: Engine, settings: Settings, monitor: MonitorSettings, window: Window
) -> str | None:
    """The performance section from the stored runs of windows ending by `window.end`
    (newest revision of each), or None when performance is off or nothing is stored yet.
    Performance is evaluated after a tick's drift runs, so a scheduled report shows the
    windows evaluated up to the previous tick."""
    if not monitor.performance_enabled:
        return None
    from monitor.performance import latest_runs
    from monitor.reference import latest
    from monitor.reports.performance_section import performance_section

    limit = settings.reports.history_runs
    runs = [r for r in latest_runs(engine, monitor.name, limit=limit) if r.window_end <= window.end]
    if not runs:
        return None
    ref = latest(engine, monitor.name)
    main = next((r.metric for r in monitor.rules if r.condition == "performance"), None)
    return performance_section(runs, ref.performance if ref else None, main_metric=main) or None


def window_report(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    window: Window,
    drift: DriftReport | None,
    run_id: int | None,
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
        history=history_points(engine, monitor.name, settings.reports.history_runs),
        max_rows=cap,
        column_kinds=dict(monitor.features) or None,
        performance_html=performance_html(engine, settings, monitor, window),
    )
    stamp = window.end.strftime("%Y%m%dT%H%M%SZ")
    name = f"{monitor.name}-{stamp}" + (f"-run{run_id}" if run_id is not None else "")
    return write_report(html, settings.reports.directory, name)
