"""Silences: "don't notify about this monitor (or one of its rules) until T".

A silence only mutes notifications; alerts keep moving through their states, so that when the
silence ends while an alert still fires, the owed firing notice goes out (see lifecycle.step).
Whether a monitor/rule exists is the CLI's check (it has the config); storage
(`monitor.storage.silences`) takes names as given, always as bound parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.errors import InputError
from monitor.lifecycle import ActiveSilences, Silence
from monitor.storage import silences as store
from monitor.storage.db import Connection, Engine
from monitor.storage.silences import active_silences, list_silences


def add_silence(
    engine: Engine,
    monitor: str,
    rule: str | None,
    until: datetime,
    reason: str | None = None,
    *,
    now: datetime | None = None,
) -> Silence:
    """Store a silence; InputError when `until` is naive or not in the future."""
    now = now or datetime.now(UTC)
    if until.tzinfo is None:
        raise InputError("silence end needs a time zone (e.g. 2026-01-01T00:00:00Z)")
    if until <= now:
        raise InputError(f"silence end {until.isoformat()} is not in the future")
    return store.insert_silence(engine, monitor, rule, until, reason, now)


def remove_silence(engine: Engine, silence_id: int) -> None:
    """Delete a silence; InputError when there is none with this id."""
    if not store.delete_silence(engine, silence_id):
        raise InputError(f"no silence with id {silence_id}")


def is_silenced(conn: Connection, monitor: str, rule: str, now: datetime) -> bool:
    """Is a monitor-wide or this rule's silence running at `now`?"""
    return active_silences(conn, monitor, now).covers(rule)


__all__ = [
    "ActiveSilences",
    "Silence",
    "active_silences",
    "add_silence",
    "is_silenced",
    "list_silences",
    "remove_silence",
]
