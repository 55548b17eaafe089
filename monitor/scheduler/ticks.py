"""One scheduler tick of a monitor: which windows are due now, then compute each.

Time windows: every closed window after the newest one already claimed, oldest first, up to
`schedule.max_catch_up` (a scheduler that was down backfills what it missed); older missed
windows are recorded as one visible "skipped" run, never dropped silently. Count windows:
the newest `window.events` events, run again only when new events arrived (the run key is
the rows' first and last timestamps).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from monitor.deployments import effective_monitor
from monitor.reference import event_filter
from monitor.scheduler.execute import RunOutcome, run_frame, run_window
from monitor.settings import MonitorSettings, Settings
from monitor.storage import runs as run_store
from monitor.storage.db import Engine
from monitor.storage.event_frames import load_frame
from monitor.window import WindowSpec, due_windows

log = logging.getLogger("monitor.scheduler")


def window_spec(monitor: MonitorSettings) -> WindowSpec:
    w = monitor.window
    assert w.size is not None
    return WindowSpec(w.kind, w.size, w.step if w.kind == "sliding" else None)


def tick(
    engine: Engine, settings: Settings, monitor: MonitorSettings, now: datetime | None = None
) -> list[RunOutcome]:
    """Compute every window of `monitor` that is due at `now` and not claimed by anyone."""
    monitor = effective_monitor(engine, monitor)  # the newest deployment's version wins
    now = now or datetime.now(UTC)
    if monitor.window.events is not None:
        frame = load_frame(engine, event_filter(monitor), limit=monitor.window.events, newest=True)
        if len(frame) < monitor.window.min_events:
            return []
        outcome = run_frame(engine, settings, monitor, frame, now=now)
        return [outcome] if outcome else []
    spec = window_spec(monitor)
    last_end = run_store.last_window_end(engine, monitor.name)
    due = due_windows(
        spec,
        last_end,
        now,
        max_catch_up=monitor.schedule.max_catch_up,
        lateness=monitor.window.lateness,
    )
    if due.skipped and due.skipped_range is not None:
        why = (
            f"{due.skipped} window(s) beyond schedule.max_catch_up="
            f"{monitor.schedule.max_catch_up} were not computed"
        )
        run_store.record_skipped(
            engine, monitor.name, due.skipped_range.start, due.skipped_range.end, now, why
        )
        log.warning("windows_skipped", extra={"monitor": monitor.name, "count": due.skipped})
    out = []
    for window in due.windows:
        outcome = run_window(engine, settings, monitor, window, now=now)
        if outcome is not None:
            out.append(outcome)
    if monitor.performance_enabled:
        from monitor.errors import MonitorError
        from monitor.scheduler.performance import performance_tick

        try:
            performance_tick(engine, settings, monitor, spec, now)
        except MonitorError as exc:  # drift results stand; the next tick retries
            log.warning(
                "performance_failed", extra={"monitor": monitor.name, "error": str(exc)[:300]}
            )
    return out
