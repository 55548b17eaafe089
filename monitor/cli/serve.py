"""`monitor serve`: run the service's roles until SIGTERM/SIGINT.

consumer: Kafka ingestion (and the bucket sketches of what it stores). scheduler: the drift
runs of every monitor, then alerts and the notification outbox worker. api: the HTTP API
and the web dashboard (`monitor.app`: /api/v1, /, /healthz, /readyz, /metrics). all: the three in one process. Replicas of any role
can run side by side against one Postgres. consumer- and scheduler-only processes serve
/metrics, /healthz and /readyz on `api.metrics_port`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from monitor.cli._common import CONFIG, service_settings

if TYPE_CHECKING:
    from monitor.api.prometheus import IngestObserver
    from monitor.api.server import ServerThread
    from monitor.scheduler.service import SchedulerService
    from monitor.settings import Settings
    from monitor.storage.db import Engine
    from monitor.threads import ThreadBudget

ROLES = ("consumer", "scheduler", "api", "all")


@click.command("serve")
@CONFIG
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="all",
    show_default=True,
    help="consumer: Kafka ingestion only. scheduler: drift runs, alerts and notification "
    "delivery. api: the HTTP API and /metrics. all: the three.",
)
@click.pass_context
def serve(ctx: click.Context, config_path: str | None, role: str) -> None:
    """Run the monitoring service until SIGTERM or SIGINT.

    Waits for the database on start (logging each attempt, /readyz answering 503), then
    applies database migrations when database.auto_upgrade is set. The consumer
    role stores prediction and label events from Kafka; the scheduler role computes each
    monitor's due windows, fires alerts and delivers notifications. On SIGTERM/SIGINT the
    consumer finishes the batch in flight and commits what was stored, the scheduler
    finishes the run in progress, and the process exits 0.
    """
    from monitor.threads import configure

    budget = configure()  # before numpy/scikit-learn load their thread pools

    from monitor import logs

    settings = service_settings(config_path)
    if role in ("api", "all") or settings.api.metrics_port is not None:
        from monitor.access.auth import check_bind

        check_bind(settings.api)  # before anything starts: an open API only on loopback
    opts = ctx.obj or {}
    logs.configure(
        opts.get("log_format") or settings.logging.format,
        opts.get("log_level") or settings.logging.level,
    )
    log = logging.getLogger("monitor.serve")
    _serve(settings, role, budget, log)
    log.info("serve_stopped", extra={"role": role})


def _serve(settings: Settings, role: str, budget: ThreadBudget, log: logging.Logger) -> None:
    """Open the database, start the HTTP side, wait for the database, run the roles; on the
    way out (stop or error) stop the HTTP server and close the engine."""
    from monitor.ingest.outage import database_probe, wait_for_database
    from monitor.storage.db import make_engine, safe_url, upgrade

    url = settings.database.url.get_secret_value()
    engine = make_engine(url, pool_size=settings.database.pool_size)
    stop = threading.Event()
    _on_signals(stop, log)
    started: dict[str, Any] = {}  # role parts once built: "ingestor", "scheduler"
    observer = None
    if role in ("consumer", "all"):
        from monitor.api.prometheus import IngestObserver

        observer = IngestObserver()
    http = None
    try:
        # Health and metrics answer at once; /readyz says 503 until the database answers
        # and the role has started (a starting service waits for its database, logging
        # each attempt, instead of exiting).
        log.info(
            "serve_started",
            extra={
                "role": role,
                "cores": budget.cores,
                "workers": budget.workers,
                "native_threads": budget.native,
            },
        )
        http = _start_http(engine, settings, role, _readiness(role, started, settings), observer)
        if wait_for_database(database_probe(engine), stop, settings.ingest.retry_backoff_max_s):
            if settings.database.auto_upgrade:
                revision = upgrade(engine)
                log.info("database_ready", extra={"database": safe_url(url), "revision": revision})
            _run_roles(engine, settings, role, stop, started, observer, log)
    finally:
        stop.set()
        if http is not None:
            http.stop()
        engine.dispose()


def _run_roles(
    engine: Engine,
    settings: Settings,
    role: str,
    stop: threading.Event,
    started: dict[str, Any],
    observer: IngestObserver | None,
    log: logging.Logger,
) -> None:
    """Build the role's parts (into `started`, for readiness) and run until `stop`."""
    from monitor.heartbeat import Heartbeat
    from monitor.ingest.consumer import build_ingestor
    from monitor.ingest.errors import kafka_errors

    log.info("serve_started", extra={"role": role})
    beat = Heartbeat().beat
    scheduler = outbox = ingestor = None
    if observer is not None:
        from monitor.bucketing import BucketSketcher

        with kafka_errors(settings.kafka.bootstrap_servers):
            ingestor = build_ingestor(
                settings,
                engine,
                beat=beat,
                sketcher=BucketSketcher(engine, settings),
                metrics=observer.metrics,
                before_commit=observer.committed,
            )
        started["ingestor"] = ingestor
    if role in ("scheduler", "all"):
        from monitor.scheduler.service import SchedulerService

        scheduler = started["scheduler"] = SchedulerService(engine, settings)
    try:
        if scheduler is not None:
            from monitor.notify.delivery import OutboxWorker

            scheduler.start()
            outbox = OutboxWorker(engine, settings.alerting).start(stop)
        if ingestor is not None:
            with kafka_errors(settings.kafka.bootstrap_servers):
                ingestor.run(stop)
        else:
            while not stop.wait(5.0):
                beat()
    finally:
        stop.set()
        if scheduler is not None and outbox is not None:  # set once the scheduler has started
            scheduler.stop()
            outbox.join(timeout=10)


def _readiness(
    role: str, started: dict[str, Any], settings: Settings
) -> dict[str, Callable[[], bool]]:
    """The role's own /readyz checks; false until its part is built (see _run_roles)."""
    checks: dict[str, Callable[[], bool]] = {}
    if role in ("consumer", "all"):

        def consumer() -> bool:
            ingestor = started.get("ingestor")
            return ingestor is not None and bool(ingestor.owned_partitions())

        checks["consumer"] = consumer
    if role in ("scheduler", "all"):
        checks["scheduler"] = _ticking(lambda: started.get("scheduler"), settings)
    return checks


def _start_http(
    engine: Engine,
    settings: Settings,
    role: str,
    readiness: dict[str, Callable[[], bool]],
    observer: IngestObserver | None,
) -> ServerThread | None:
    """The API and dashboard (roles api/all) or the metrics/health port (consumer/scheduler),
    if any."""
    from monitor.api.server import ServerThread
    from monitor.app import create_app

    api = settings.api
    if role in ("api", "all"):
        app = create_app(engine, settings, readiness=readiness, ingest=observer)
        return ServerThread(app, api.host, api.port, name="api").start()
    if api.metrics_port is None:
        return None
    app = create_app(engine, settings, readiness=readiness, ingest=observer, api=False)
    return ServerThread(app, api.host, api.metrics_port, name="metrics").start()


def _ticking(
    get_scheduler: Callable[[], SchedulerService | None], settings: Settings
) -> Callable[[], bool]:
    """Ready while the scheduler has ticked recently (3 of its longest intervals, >= 1 min)."""
    from datetime import UTC, datetime, timedelta

    from monitor.api.prometheus import expected_interval

    slowest = max(
        [settings.scheduler.tick.total_seconds()]
        + [expected_interval(m, settings) for m in settings.monitors]
    )
    limit = timedelta(seconds=max(3 * slowest, 60))

    def check() -> bool:
        scheduler = get_scheduler()
        if scheduler is None:
            return False
        if not settings.monitors:
            return True
        last = scheduler.last_tick_at
        return last is not None and datetime.now(UTC) - last <= limit

    return check


def _on_signals(stop: threading.Event, log: logging.Logger) -> None:
    """SIGTERM/SIGINT ask the loop to stop; a second one exits at once (130)."""
    import os
    import signal

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            os._exit(130)
        log.info("shutdown_requested", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


COMMANDS = [serve]
