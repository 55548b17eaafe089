"""Shared CLI plumbing: the one --config option, opening a migrated store from settings, and
how commands print times, numbers, untrusted names and JSON documents.

Every command that reads the service config takes it the same way: `--config FILE` or the
MONITOR_CONFIG environment variable. A store command without either refuses to run rather
than create an empty `./monitor.db` and report on it.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.settings import Settings

ENV_VAR = "MONITOR_CONFIG"
NO_CONFIG = (
    f"no config: pass --config FILE or set {ENV_VAR} "
    "(the demo's is demo-data/monitor.yaml after `make demo`)"
)

CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar=ENV_VAR,
    show_envvar=True,
    help="Service config (YAML).",
)


def service_settings(config_path: str | None) -> Settings:
    """The service config from --config or MONITOR_CONFIG; ConfigError without either."""
    from monitor.settings import load_settings

    path = config_path or os.environ.get(ENV_VAR) or None
    if path is None:
        raise ConfigError(NO_CONFIG)
    return load_settings(path)


def open_store(config_path: str | None, *, auto_upgrade: bool = True) -> tuple[Settings, Any]:
    """(settings, engine), migrations applied when database.auto_upgrade is set (and
    `auto_upgrade` is left on)."""
    from monitor.storage import make_engine, upgrade

    settings = service_settings(config_path)
    engine = make_engine(settings.database.url.get_secret_value())
    if auto_upgrade and settings.database.auto_upgrade:
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


def num(value: Any, digits: int = 3) -> str:
    """A number with `digits` decimals, "-" for none."""
    return "-" if value is None else f"{value:.{digits}f}"


def safe(text: Any, limit: int = 60) -> str:
    """Names from events shown in a terminal: no control characters, bounded length."""
    s = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def echo_json(doc: Any) -> None:
    """`doc` as indented JSON on stdout (NaN/inf as null, naive times as UTC)."""
    import orjson

    from monitor.jsonsafe import json_safe

    sys.stdout.write(
        orjson.dumps(json_safe(doc), option=orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC).decode()
        + "\n"
    )
