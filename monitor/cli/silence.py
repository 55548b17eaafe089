"""`monitor silence add|list|remove`: mute a monitor's (or one rule's) notifications for a while."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from monitor.cli._common import CONFIG, open_store
from monitor.errors import ConfigError, InputError


def _check_target(settings: Any, monitor: str, rule: str | None) -> None:
    """ConfigError unless the monitor (and rule) are configured: a typo would silence nothing."""
    m = settings.monitor(monitor)
    if rule is not None and rule not in {r.name for r in m.rules}:
        names = ", ".join(r.name for r in m.rules) or "none"
        raise ConfigError(f"monitor {monitor!r} has no rule named {rule!r} (rules: {names})")


def _until(for_: str | None, until: str | None, now: datetime) -> datetime:
    from monitor.settings import parse_duration

    if (for_ is None) == (until is None):
        raise InputError("give either --for DURATION or --until TIME")
    if for_ is not None:
        try:
            return now + parse_duration(for_)
        except ValueError as exc:
            raise InputError(f"--for: {exc}") from None
    try:
        end = datetime.fromisoformat(until)  # type: ignore[arg-type]
    except ValueError:
        raise InputError(f"--until: expected an ISO 8601 time, got {until!r}") from None
    if end.tzinfo is None:
        raise InputError("--until needs a time zone (e.g. 2026-01-01T18:00:00Z)")
    return end.astimezone(UTC)


@click.group()
def silence() -> None:
    """Mute notifications of a monitor or one of its rules (alerts keep being tracked)."""


@silence.command("add")
@click.option("--monitor", "monitor", required=True, help="Monitor name.")
@click.option("--rule", default=None, help="Only this rule (default: every rule).")
@click.option("--for", "for_", default=None, help="How long, e.g. 30m, 2h, 1d.")
@click.option("--until", default=None, help="End time, ISO 8601 with zone.")
@click.option("--reason", default=None, help="Why (shown by `silence list`).")
@CONFIG
def add_cmd(
    monitor: str,
    rule: str | None,
    for_: str | None,
    until: str | None,
    reason: str | None,
    config_path: str | None,
) -> None:
    """Silence a monitor (or one rule) until a time."""
    from monitor.silences import add_silence

    now = datetime.now(UTC)
    end = _until(for_, until, now)
    settings, engine = open_store(config_path)
    _check_target(settings, monitor, rule)
    s = add_silence(engine, monitor, rule, end, reason, now=now)
    what = f"rule {rule!r} of monitor {monitor!r}" if rule else f"monitor {monitor!r}"
    click.echo(f"silence {s.id}: {what} until {s.until.isoformat()}")


@silence.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include silences that have ended.")
@CONFIG
def list_cmd(show_all: bool, config_path: str | None) -> None:
    """Silences still running (ending soonest first)."""
    from monitor.silences import list_silences

    _, engine = open_store(config_path)
    rows = list_silences(engine, active_at=None if show_all else datetime.now(UTC))
    if not rows:
        click.echo("no silences")
        return
    for s in rows:
        reason = f"  {_one_line(s.reason)}" if s.reason else ""
        click.echo(
            f"{s.id}\t{_one_line(s.monitor)}\t{_one_line(s.rule) if s.rule else '*'}"
            f"\tuntil {s.until.isoformat()}{reason}"
        )


@silence.command("remove")
@click.argument("silence_id", type=int)
@CONFIG
def remove_cmd(silence_id: int, config_path: str | None) -> None:
    """End a silence now (by its id from `silence list`)."""
    from monitor.silences import remove_silence

    _, engine = open_store(config_path)
    remove_silence(engine, silence_id)
    click.echo(f"removed silence {silence_id}")


def _one_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


COMMANDS = [silence]
