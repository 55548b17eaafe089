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
from monitor.reference import event_filter, reference_frame
from monitor.settings import MonitorSettings, Settings
from monitor.storage import runs as run_store
from monitor.storage.event_frames import TS_COLUMN, load_frame
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
    current = load_frame(
        engine,
        event_filter(monitor),
        start=window.start,
        end=window.end,
        limit=cap,
        newest=True,
        columns=list(reference.columns.drop("__prediction__", errors="ignore")),
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
    )
    stamp = window.end.strftime("%Y%m%dT%H%M%SZ")
    name = f"{monitor.name}-{stamp}" + (f"-run{run_id}" if run_id is not None else "")
    return write_report(html, settings.reports.directory, name)
