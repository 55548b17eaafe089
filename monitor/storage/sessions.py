"""Dashboard sessions in storage (table `web_sessions`): one row per sign-in, keyed by the
SHA-256 of the cookie's session id, so every API replica on the database sees it and a
sign-out on one replica ends it on all. Expired rows are swept on each sign-in; the table is
bounded (the oldest sign-ins make room).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from monitor.storage.db import storage_errors
from monitor.storage.tables import web_sessions

s = web_sessions.c


def add_session(
    engine: Engine,
    *,
    id_hash: str,
    scope: str,
    csrf: str,
    now: datetime,
    expires_at: datetime,
    max_sessions: int,
) -> None:
    with storage_errors(engine, "store session"), engine.begin() as conn:
        conn.execute(delete(web_sessions).where(s.expires_at <= now))
        conn.execute(
            insert(web_sessions).values(
                id_hash=id_hash, scope=scope, csrf=csrf, created_at=now, expires_at=expires_at
            )
        )
        oldest = select(s.id_hash).order_by(s.created_at.desc()).offset(max_sessions)
        conn.execute(delete(web_sessions).where(s.id_hash.in_(oldest.scalar_subquery())))


def find_session(engine: Engine, id_hash: str, now: datetime) -> dict[str, Any] | None:
    stmt = select(s.scope, s.csrf, s.expires_at).where(s.id_hash == id_hash, s.expires_at > now)
    with storage_errors(engine, "load session"), engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    return None if row is None else dict(row)


def drop_session(engine: Engine, id_hash: str) -> None:
    with storage_errors(engine, "drop session"), engine.begin() as conn:
        conn.execute(delete(web_sessions).where(s.id_hash == id_hash))


def count_sessions(engine: Engine, now: datetime) -> int:
    with storage_errors(engine, "count sessions"), engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(web_sessions).where(s.expires_at > now)
        ).scalar_one()


def drop_all_sessions(engine: Engine) -> None:
    """Everyone signs out (`SessionStore.clear`)."""
    with storage_errors(engine, "drop sessions"), engine.begin() as conn:
        conn.execute(delete(web_sessions))
