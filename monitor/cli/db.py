"""`monitor db upgrade|current|retention`: schema migrations and the retention job."""

from __future__ import annotations

import click

from monitor.cli._common import CONFIG, open_store


@click.group()
def db() -> None:
    """Database schema and maintenance."""


@db.command("upgrade")
@CONFIG
def upgrade_cmd(config_path: str | None) -> None:
    """Apply the Alembic migrations up to the newest revision (idempotent)."""
    from monitor.storage import safe_url, upgrade

    _, engine = open_store(config_path, auto_upgrade=False)
    revision = upgrade(engine)
    click.echo(f"database {safe_url(engine.url)} at revision {revision}")


@db.command("current")
@CONFIG
def current_cmd(config_path: str | None) -> None:
    """Print the database's revision and the newest one this version ships."""
    from monitor.storage import current_revision, head_revision, safe_url

    _, engine = open_store(config_path, auto_upgrade=False)
    current, head = current_revision(engine), head_revision()
    state = "up to date" if current == head else "needs `monitor db upgrade`"
    click.echo(f"database {safe_url(engine.url)} at revision {current} (head {head}): {state}")


@db.command("retention")
@CONFIG
def retention_cmd(config_path: str | None) -> None:
    """Delete raw events older than ingest.retention_days (and, on Postgres, create the
    upcoming daily partitions). Run it daily, e.g. from cron."""
    from monitor.storage import maintain

    settings, engine = open_store(config_path, auto_upgrade=False)
    removed = maintain(engine, settings.ingest.retention_days)
    click.echo(f"removed {removed} raw events older than {settings.ingest.retention_days} days")


COMMANDS = [db]
