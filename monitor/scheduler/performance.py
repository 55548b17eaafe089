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

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select

from monitor.alerts import apply_run
from monitor.performance import PerformanceResult, compute_window, latest_runs, store_window
from monitor.reference import latest
from monitor.rules import RuleHit, RunFacts, evaluate
from monitor.settings import MonitorSettings, Settings
from monitor.storage.db import storage_errors
from monitor.storage.tables import labels, performance_runs, predictions
from monitor.window import Window, WindowSpec, floor_to, latest_closed

log = logging.getLogger("monitor.performance")
MAX_WINDOWS_PER_TICK = 200


def _last_evaluated(engine: Engine, monitor: str) -> datetime | None:
    stmt = select(func.max(performance_runs.c.computed_at)).where(
        performance_runs.c.monitor == monitor
    )
    with storage_errors(engine, "find last performance run"), engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def _relabelled_span(
    engine: Engine, monitor: MonitorSettings, since: datetime, lo: datetime, hi: datetime
) -> tuple[datetime, datetime] | None:
    """Prediction-time span of predictions whose labels were stored after `since`."""
    p, lab = predictions.c, labels.c
    stmt = (
        select(func.min(p.ts), func.max(p.ts))
        .select_from(
            labels.join(predictions, and_(p.model == lab.model, p.event_id == lab.event_id))
        )
        .where(lab.model == monitor.model, lab.received_at > since, p.ts >= lo, p.ts < hi)
    )
    if monitor.model_version is not None:
        stmt = stmt.where(p.model_version == monitor.model_version)
    with storage_errors(engine, "find relabelled windows"), engine.connect() as conn:
        first, last = conn.execute(stmt).one()
    return None if first is None else (first, last)


def windows_to_evaluate(
    engine: Engine, monitor: MonitorSettings, spec: WindowSpec, now: datetime
) -> list[Window]:
    """The newest closed window once (its first evaluation), plus every window within the
    label horizon holding predictions whose labels were stored since the last evaluation.
    A tick with nothing new loads no window (ticks come every few seconds)."""
    newest = latest_closed(spec, now, monitor.window.lateness)
    horizon_start = newest.end - monitor.performance.label_horizon
    since = _last_evaluated(engine, monitor.name) or horizon_start
    wanted = set() if _evaluated(engine, monitor.name, newest) else {newest}
    span = _relabelled_span(engine, monitor, since, horizon_start, newest.end)
    if span is not None:
        end = floor_to(span[0], spec.stride) + spec.stride
        last_end = min(newest.end, floor_to(span[1], spec.stride) + spec.size)
        while end <= last_end and len(wanted) < MAX_WINDOWS_PER_TICK:
            if end >= horizon_start:
                wanted.add(Window(end - spec.size, end))
            end += spec.stride
    return sorted(wanted)


def _evaluated(engine: Engine, monitor: str, window: Window) -> bool:
    t = performance_runs.c
    stmt = select(t.id).where(
        t.monitor == monitor, t.window_start == window.start, t.window_end == window.end
    )
    with storage_errors(engine, "find performance run"), engine.connect() as conn:
        return conn.execute(stmt.limit(1)).first() is not None


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
    for window in windows_to_evaluate(engine, monitor, spec, now):
        result = compute_window(
            engine, monitor, window.start, window.end, now=now, min_rows=cfg.min_rows,
            segments=cfg.segments, task=cfg.task, pos_label=cfg.positive_class,
        )  # fmt: skip
        stored = store_window(engine, monitor.name, result, now)
        results.append(result)
        if stored.created:
            fresh[(window.start, window.end)] = (stored.id, result)
    _feed_rules(engine, settings, monitor, fresh, now)
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
    facts = RunFacts(
        monitor=monitor.name,
        model=monitor.model,
        model_version=monitor.model_version,
        run_id=None,
        window_start=window.start,
        window_end=window.end,
        status="succeeded",
        current_rows=result.predictions,
        reference_rows=ref.row_count if ref else 0,
        performance=metrics.scalars(),
        reference_performance=ref.performance if ref else None,
        labelled_rows=result.overall.evaluated,
        kind="performance",
    )
    hits = evaluate(monitor.rules, facts)
    if late:
        hits = [_late_hit(h, window) for h in hits]
    with storage_errors(engine, "store performance alerts"), engine.begin() as conn:
        changes = apply_run(
            conn, facts, hits, monitor.rules, settings.alerting, now, keep_unreported=True
        )
    for c in changes:
        log.info(
            "performance_alert",
            extra={"monitor": monitor.name, "rule": c.rule, "subject": c.subject, "state": c.after},
        )


def _late_hit(hit: RuleHit, window: Window) -> RuleHit:
    rule = hit.rule.model_copy(update={"for_runs": 1})
    summary = f"late labels for {window.start.isoformat()}: {hit.details.get('summary', '')}"
    return RuleHit(rule, window_subject(window), hit.condition, {**hit.details, "summary": summary})


__all__ = ["performance_tick", "window_subject", "windows_to_evaluate"]
