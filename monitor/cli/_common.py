"""Shared CLI plumbing: the --config option and opening a migrated store from settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="MONITOR_CONFIG",
    show_envvar=True,
    help="Service config (YAML). Default: built-in defaults (sqlite:///monitor.db).",
)


def open_store(config_path: str | None) -> tuple[Any, Any]:
    """(settings, engine) with migrations applied when database.auto_upgrade is set."""
    from monitor.settings import load_settings
    from monitor.storage import make_engine, upgrade

    settings = load_settings(config_path)
    engine = make_engine(settings.database.url.get_secret_value())
    if settings.database.auto_upgrade:
        upgrade(engine)
    return settings, engine


def parse_when(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time with a zone (naive times are refused, not guessed)."""
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"expected an ISO 8601 time, got {value!r}", param_hint=option
        ) from None
    if ts.tzinfo is None:
        raise click.BadParameter("give a time zone (e.g. 2026-11-28T10:00:00Z)", param_hint=option)
    return ts.astimezone(UTC)


def fmt_ts(ts: datetime | None) -> str:
    return "-" if ts is None else ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
