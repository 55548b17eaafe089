"""The scheduler role: one APScheduler job per monitor, plus sketch compaction.

APScheduler 3 (BackgroundScheduler, UTC): interval or cron trigger per monitor, coalescing
(a backlog of ticks runs once), `max_instances=1` (a slow run never overlaps itself) and a
misfire grace. Ticks are idempotent across replicas because runs are claimed in the database
(see `monitor.storage.runs`); APScheduler only decides *when* to look.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.errors import MonitorError
from monitor.reference import latest
from monitor.scheduler.ticks import tick
from monitor.settings import MonitorSettings, Settings
from monitor.storage import sketch_store
from monitor.storage.db import Engine

log = logging.getLogger("monitor.scheduler")


def trigger_for(monitor: MonitorSettings, settings: Settings) -> CronTrigger | IntervalTrigger:
    sched = monitor.schedule
    if sched.cron is not None:
        return CronTrigger.from_crontab(sched.cron, timezone=UTC)
    interval = sched.interval or settings.scheduler.tick
    return IntervalTrigger(seconds=interval.total_seconds(), timezone=UTC)


class SchedulerService:
    """Owns the BackgroundScheduler; `start()` returns at once, `stop()` waits for runs."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        from apscheduler.executors.pool import ThreadPoolExecutor

        from monitor.threads import budget

        # monitors run side by side on at most one job thread per core (APScheduler's
        # default is 10 threads, each free to start its own column and native threads)
        pool = ThreadPoolExecutor(max_workers=budget().workers)
        self._sched = BackgroundScheduler(timezone=UTC, executors={"default": pool})
        self.last_tick_at: datetime | None = None

    def start(self) -> None:
        now = datetime.now(UTC)
        for m in self._settings.monitors:
            self._sched.add_job(
                self._tick,
                trigger_for(m, self._settings),
                args=[m],
                id=f"monitor:{m.name}",
                name=f"drift {m.name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(m.schedule.misfire_grace.total_seconds()) or 1,
                next_run_time=now,  # catch up at once after a restart
            )
        self._sched.add_job(
            self._compact,
            IntervalTrigger(minutes=10, timezone=UTC),
            id="maintenance:compact",
            coalesce=True,
            max_instances=1,
        )
        self._sched.add_job(
            self._retention,
            IntervalTrigger(hours=1, timezone=UTC),
            id="maintenance:retention",
            coalesce=True,
            max_instances=1,
            next_run_time=now,
        )
        self._watch_mlflow(now)
        self._sched.start()
        log.info("scheduler_started", extra={"monitors": len(self._settings.monitors)})

    def _watch_mlflow(self, now: datetime) -> None:
        """issue 16: poll the MLflow aliases the references name (`mlflow.watch_alias`)."""
        from monitor.mlflow_watch import watched

        if watched(self._settings):
            self._sched.add_job(
                self._mlflow_tick,
                IntervalTrigger(
                    seconds=self._settings.mlflow.poll_interval.total_seconds(), timezone=UTC
                ),
                id="mlflow:aliases",
                coalesce=True,
                max_instances=1,
                next_run_time=now,
            )

    def _mlflow_tick(self) -> None:
        from monitor.mlflow_watch import watch_once

        try:
            watch_once(self._engine, self._settings)
        except MonitorError as exc:  # server down, unknown alias: the next poll retries
            log.warning("mlflow_watch_failed", extra={"error": str(exc)[:300]})
        except Exception:
            log.exception("mlflow_watch_crashed")

    def stop(self) -> None:
        self._sched.shutdown(wait=True)
        log.info("scheduler_stopped")

    def _tick(self, monitor: MonitorSettings) -> None:
        self.last_tick_at = datetime.now(UTC)
        try:
            tick(self._engine, self._settings, monitor)
        except MonitorError as exc:  # storage down etc.: the next tick retries
            log.warning("tick_failed", extra={"monitor": monitor.name, "error": str(exc)[:300]})
        except Exception:
            log.exception("tick_crashed", extra={"monitor": monitor.name})

    def _retention(self) -> None:
        """Daily partitions ahead of time; raw events past `ingest.retention_days` removed."""
        from monitor.storage.retention import maintain

        try:
            removed = maintain(self._engine, self._settings.ingest.retention_days)
            if removed:
                log.info("retention_removed", extra={"events": removed})
        except MonitorError as exc:
            log.warning("retention_failed", extra={"error": str(exc)[:300]})

    def _compact(self) -> None:
        before = datetime.now(UTC) - timedelta(hours=1)
        for m in self._settings.monitors:
            try:
                ref = latest(self._engine, m.name)
                if ref is not None:
                    sketch_store.compact(self._engine, ref.id, before - m.window.lateness)
            except MonitorError as exc:
                log.warning("compact_failed", extra={"monitor": m.name, "error": str(exc)[:300]})
