"""Small reads for the service's state at a glance (`monitor status`, /readyz)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select, text

from monitor.storage.db import storage_errors
from monitor.storage.tables import alerts


def ping(engine: Engine) -> None:
    """One cheap round trip (`SELECT 1`); StorageError (StorageUnavailable) when it fails."""
    with storage_errors(engine, "database probe"), engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def open_alert_counts(engine: Engine) -> dict[str, dict[str, int]]:
    """monitor -> {state: n} over alerts not yet resolved ("firing", "pending")."""
    a = alerts.c
    stmt = (
        select(a.monitor, a.state, func.count())
        .where(a.resolved_at.is_(None))
        .group_by(a.monitor, a.state)
    )
    out: dict[str, dict[str, int]] = {}
    with storage_errors(engine, "count alerts"), engine.connect() as conn:
        for monitor, state, n in conn.execute(stmt):
            out.setdefault(monitor, {})[state] = int(n)
    return out
