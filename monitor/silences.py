"""Silences: "don't notify about this monitor (or one of its rules) until T".

A silence only mutes notifications; alerts keep moving through their states, so that when the
silence ends while an alert still fires, the owed firing notice goes out (see lifecycle.step).
Whether a monitor/rule exists is the CLI's check (it has the config); storage takes names as
given, always as bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, insert, select

from monitor.errors import InputError
from monitor.storage.db import storage_errors
from monitor.storage.tables import silences


@dataclass(frozen=True)
class Silence:
    id: int
    monitor: str
    rule: str | None  # None: every rule of the monitor
    until: datetime
    reason: str | None
    created_at: datetime


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
    row = {"monitor": monitor, "rule": rule, "until": until, "reason": reason, "created_at": now}
    with storage_errors(engine, "add silence"), engine.begin() as conn:
        new_id = conn.execute(insert(silences).values(**row)).inserted_primary_key[0]
    return Silence(id=int(new_id), **row)


def list_silences(engine: Engine, active_at: datetime | None = None) -> list[Silence]:
    """Every stored silence (or only those still running at `active_at`), ending soonest first."""
    stmt = select(silences).order_by(silences.c.until, silences.c.id)
    if active_at is not None:
        stmt = stmt.where(silences.c.until > active_at)
    with storage_errors(engine, "list silences"), engine.connect() as conn:
        return [_silence(r) for r in conn.execute(stmt).mappings()]


def remove_silence(engine: Engine, silence_id: int) -> None:
    """Delete a silence; InputError when there is none with this id."""
    with storage_errors(engine, "remove silence"), engine.begin() as conn:
        gone = conn.execute(delete(silences).where(silences.c.id == silence_id)).rowcount
    if not gone:
        raise InputError(f"no silence with id {silence_id}")


def is_silenced(conn: Connection, monitor: str, rule: str, now: datetime) -> bool:
    """Is a monitor-wide or this rule's silence running at `now`?"""
    return active_silences(conn, monitor, now).covers(rule)


@dataclass(frozen=True)
class ActiveSilences:
    """The silences of one monitor running at one instant."""

    monitor_wide: bool
    rules: frozenset[str]

    def covers(self, rule: str) -> bool:
        return self.monitor_wide or rule in self.rules


def active_silences(conn: Connection, monitor: str, now: datetime) -> ActiveSilences:
    """The monitor's silences running at `now`: one query per run, however many alerts."""
    stmt = select(silences.c.rule).where(silences.c.monitor == monitor, silences.c.until > now)
    rules = list(conn.execute(stmt).scalars())
    return ActiveSilences(
        monitor_wide=any(r is None for r in rules),
        rules=frozenset(r for r in rules if r is not None),
    )


def _silence(r) -> Silence:  # type: ignore[no-untyped-def]
    return Silence(
        id=int(r["id"]),
        monitor=r["monitor"],
        rule=r["rule"],
        until=r["until"],
        reason=r["reason"],
        created_at=r["created_at"],
    )
