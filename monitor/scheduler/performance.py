"""Performance windows: evaluate labelled windows, store revisions, feed performance rules.

Labels arrive late, so each tick evaluates the newest closed window plus every window (within
`performance.label_horizon`) holding predictions whose labels were stored since the last
evaluation; `store_window` keeps a new revision only when something changed. Performance
rules are fed with the newest window that has enough labels, once per new revision of it, so
an alert's "for N consecutive" counts evaluations with new information, not ticks. A new
revision of an older window (late labels) is judged once too, under its own subject: a drop
revealed late fires that window's alert at once, a later revision without it resolves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.performance import (
    DEFAULT_MIN_ROWS,
    MAX_SEGMENT_VALUES,
    PerformanceResult,
    TaskKind,
    evaluate_window,
)
from monitor.performance.labelled import LabelledWindow
from monitor.reference import latest
from monitor.rules import RuleHit, evaluate
from monitor.scheduler.estimation import estimate_windows, step_window_alerts, window_facts
from monitor.settings import MonitorSettings, Settings
from monitor.storage.db import Engine
from monitor.storage.labelled import load_window, relabelled_span
from monitor.storage.performance_runs import (
    last_evaluated,
    latest_runs,
    store_window,
    window_evaluated,
)
from monitor.window import Window, WindowSpec, floor_to, latest_closed

MAX_WINDOWS_PER_TICK = 200


def compute_window(
    engine: Engine,
    monitor: MonitorSettings,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    min_rows: int = DEFAULT_MIN_ROWS,
    segments: bool = True,
    task: TaskKind | None = None,
    pos_label: Any = None,
    max_segment_values: int = MAX_SEGMENT_VALUES,
) -> PerformanceResult:
    """Load the monitor's labelled window [start, end) and evaluate it."""
    window = load_monitor_window(engine, monitor, start, end)
    return evaluate_window(
        window,
        monitor=monitor.name,
        now=now,
        min_rows=min_rows,
        segments=segments,
        task=task,
        pos_label=pos_label,
        max_segment_values=max_segment_values,
    )


def load_monitor_window(
    engine: Engine, monitor: MonitorSettings, start: datetime, end: datetime
) -> LabelledWindow:
    """The monitor's predictions in [start, end), each with its label if one is stored."""
    return load_window(
        engine,
        monitor.model,
        start,
        end,
        model_version=monitor.model_version,
        segment=monitor.segment,
    )


def windows_to_evaluate(
    engine: Engine, monitor: MonitorSettings, spec: WindowSpec, now: datetime
) -> list[Window]:
    """The newest closed window once (its first evaluation), plus every window within the
    label horizon holding predictions whose labels were stored since the last evaluation.
    A tick with nothing new loads no window (ticks come every few seconds)."""
    newest = latest_closed(spec, now, monitor.window.lateness)
    horizon_start = newest.end - monitor.performance.label_horizon
    since = last_evaluated(engine, monitor.name) or horizon_start
    evaluated = window_evaluated(engine, monitor.name, newest.start, newest.end)
    wanted = set() if evaluated else {newest}
    span = relabelled_span(
        engine, monitor.model, monitor.model_version, since, horizon_start, newest.end
    )
    if span is not None:
        end = floor_to(span[0], spec.stride) + spec.stride
        last_end = min(newest.end, floor_to(span[1], spec.stride) + spec.size)
        while end <= last_end and len(wanted) < MAX_WINDOWS_PER_TICK:
            if end >= horizon_start:
                wanted.add(Window(end - spec.size, end))
            end += spec.stride
    return sorted(wanted)


def performance_tick(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    spec: WindowSpec,
    now: datetime,
) -> list[PerformanceResult]:
    """Evaluate and store due performance windows; feed the rules; return what was computed."""
    cfg = monitor.performance
    fresh: dict[tuple[datetime, datetime], tuple[int, PerformanceResult]] = {}
    results = []
    loaded: list[tuple[Window, LabelledWindow]] = []
    for window in windows_to_evaluate(engine, monitor, spec, now):
        rows = load_monitor_window(engine, monitor, window.start, window.end)
        result = evaluate_window(
            rows, monitor=monitor.name, now=now, min_rows=cfg.min_rows, segments=cfg.segments,
            task=cfg.task, pos_label=cfg.positive_class,
        )  # fmt: skip
        stored = store_window(engine, monitor.name, result, now)
        results.append(result)
        loaded.append((window, rows))
        if stored.created:
            fresh[(window.start, window.end)] = (stored.id, result)
    _feed_rules(engine, settings, monitor, fresh, now)
    if cfg.estimator != "none" and loaded:  # a tick with nothing new reads nothing
        estimate_windows(engine, settings, monitor, loaded, now)
    return results


def _feed_rules(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    fresh: dict[tuple[datetime, datetime], tuple[int, PerformanceResult]],
    now: datetime,
) -> None:
    """Judge each new revision once: the newest judged window feeds the rule's own alert;
    an older window revised by late labels raises (or resolves) that window's alert."""
    if not fresh or not any(r.condition == "performance" for r in monitor.rules):
        return
    judged = next((r for r in latest_runs(engine, monitor.name) if r.status == "succeeded"), None)
    if judged is None:
        return
    newest = (judged.window_start, judged.window_end)
    ref = latest(engine, monitor.name)
    for (start, end), (run_id, result) in sorted(fresh.items()):
        if result.status != "succeeded" or result.overall.metrics is None:
            continue
        if (start, end) == newest:
            if run_id == judged.id:
                _judge(engine, settings, monitor, ref, Window(start, end), result, now, late=False)
        elif start < newest[0]:
            _judge(engine, settings, monitor, ref, Window(start, end), result, now, late=True)


def window_subject(window: Window) -> str:
    """The alert subject of one late-revised window (its own alert, apart from the rule's)."""
    return f"window {window.start.isoformat()}/{window.end.isoformat()}"


def _judge(
    engine: Engine,
    settings: Settings,
    monitor: MonitorSettings,
    ref: Any,
    window: Window,
    result: PerformanceResult,
    now: datetime,
    *,
    late: bool,
) -> None:
    """Rules on one window's metrics, alerts stepped in one transaction. A late window's
    hits get its own subject and fire at once (there is no run of windows to wait for)."""
    metrics = result.overall.metrics
    if metrics is None:
        return
    facts = window_facts(
        monitor, ref, window, result.predictions,
        # undefined metrics left out: the rules read a missing and a None metric alike
        performance={k: v for k, v in metrics.scalars().items() if v is not None},
        labelled_rows=result.overall.evaluated,
    )  # fmt: skip
    hits = evaluate(monitor.rules, facts)
    if late:
        hits = [_late_hit(h, window) for h in hits]
    step_window_alerts(engine, settings, monitor, facts, hits, now, "performance_alert")


def _late_hit(hit: RuleHit, window: Window) -> RuleHit:
    rule = hit.rule.model_copy(update={"for_runs": 1})
    summary = f"late labels for {window.start.isoformat()}: {hit.details.get('summary', '')}"
    return RuleHit(rule, window_subject(window), hit.condition, {**hit.details, "summary": summary})


__all__ = ["compute_window", "performance_tick", "window_subject", "windows_to_evaluate"]
