"""Silences in storage: add, list, remove, and the ones running for a monitor at an instant.

Names are stored as given, always as bound parameters (whether a monitor or rule exists is
the caller's check: it has the config).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from monitor.lifecycle import ActiveSilences, Silence
from monitor.storage.db import storage_errors
from monitor.storage.tables import silences


def insert_silence(
    engine: Engine,
    monitor: str,
    rule: str | None,
    until: datetime,
    reason: str | None,
    now: datetime,
) -> Silence:
    """Store a silence as given (the caller validated `until`)."""
    stmt = insert(silences).values(
        monitor=monitor, rule=rule, until=until, reason=reason, created_at=now
    )
    with storage_errors(engine, "add silence"), engine.begin() as conn:
        new_id = _new_id(conn.execute(stmt).inserted_primary_key)
    return Silence(
        id=new_id, monitor=monitor, rule=rule, until=until, reason=reason, created_at=now
    )


def list_silences(engine: Engine, active_at: datetime | None = None) -> list[Silence]:
    """Every stored silence (or only those still running at `active_at`), ending soonest first."""
    stmt = select(silences).order_by(silences.c.until, silences.c.id)
    if active_at is not None:
        stmt = stmt.where(silences.c.until > active_at)
    with storage_errors(engine, "list silences"), engine.connect() as conn:
        return [_silence(r) for r in conn.execute(stmt).mappings()]


def delete_silence(engine: Engine, silence_id: int) -> bool:
    """Delete a silence; False when there is none with this id."""
    with storage_errors(engine, "remove silence"), engine.begin() as conn:
        gone = conn.execute(delete(silences).where(silences.c.id == silence_id)).rowcount
    return bool(gone)


def active_silences(conn: Connection, monitor: str, now: datetime) -> ActiveSilences:
    """The monitor's silences running at `now`: one query per run, however many alerts."""
    stmt = select(silences.c.rule).where(silences.c.monitor == monitor, silences.c.until > now)
    rules = list(conn.execute(stmt).scalars())
    return ActiveSilences(
        monitor_wide=any(r is None for r in rules),
        rules=frozenset(r for r in rules if r is not None),
    )


def _new_id(key: Any) -> int:
    """The id an INSERT generated (its inserted_primary_key)."""
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


def _silence(r: Any) -> Silence:
    return Silence(
        id=int(r["id"]),
        monitor=r["monitor"],
        rule=r["rule"],
        until=r["until"],
        reason=r["reason"],
        created_at=r["created_at"],
    )
