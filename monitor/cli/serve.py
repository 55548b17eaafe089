"""`monitor serve`: run the service (today: the Kafka consumer) until SIGTERM/SIGINT."""

from __future__ import annotations

import click

ROLES = ("consumer", "all")


@click.command("serve")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="MONITOR_CONFIG",
    show_envvar=True,
    help="Service config (YAML). Without it: built-in defaults.",
)
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="all",
    show_default=True,
    help="consumer: Kafka ingestion only. all: every role this version has, which "
    "today is the consumer alone (scheduler and API roles come in later versions).",
)
@click.pass_context
def serve(ctx: click.Context, config_path: str | None, role: str) -> None:
    """Run the monitoring service until SIGTERM or SIGINT.

    Applies database migrations on start when database.auto_upgrade is set, then consumes
    prediction and label events from Kafka into the database. On SIGTERM/SIGINT it finishes
    the batch in flight, commits what was stored and leaves the consumer group (exit 0).
    """
    import logging
    import threading

    from monitor import logs
    from monitor.heartbeat import Heartbeat
    from monitor.ingest.consumer import build_ingestor
    from monitor.ingest.errors import kafka_errors
    from monitor.settings import load_settings
    from monitor.storage.db import make_engine, safe_url, upgrade

    settings = load_settings(config_path)
    opts = ctx.obj or {}
    logs.configure(
        opts.get("log_format") or settings.logging.format,
        opts.get("log_level") or settings.logging.level,
    )
    log = logging.getLogger("monitor.serve")
    url = settings.database.url.get_secret_value()
    engine = make_engine(url, pool_size=settings.database.pool_size)
    try:
        if settings.database.auto_upgrade:
            revision = upgrade(engine)
            log.info("database_ready", extra={"database": safe_url(url), "revision": revision})
        stop = threading.Event()
        _on_signals(stop, log)
        log.info("serve_started", extra={"role": role})
        with kafka_errors(settings.kafka.bootstrap_servers):
            ingestor = build_ingestor(settings, engine, beat=Heartbeat().beat)
            ingestor.run(stop)
    finally:
        engine.dispose()
    log.info("serve_stopped", extra={"role": role})


def _on_signals(stop, log) -> None:  # type: ignore[no-untyped-def]
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
