"""Browser sessions of the dashboard: a random id in an HttpOnly cookie, the scope server-side.

The token typed into the login form is checked once (`Tokens.scope_of`, constant time) and
never stored or put in a cookie: the cookie holds a random 256-bit session id; the database
(table `web_sessions`, monitor/storage/sessions.py) holds only that id's SHA-256 with the
token's scope, a per-session CSRF token and an expiry. So every API replica on the database
sees a sign-in, a sign-out on any replica ends the session everywhere, a restart keeps
everyone signed in, and a copy of the table holds no usable cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.access.auth import Scope
from monitor.storage import sessions as stored
from monitor.storage.db import Engine

COOKIE = "monitor_session"
LOGIN_COOKIE = "monitor_login"  # login-form CSRF (double submit), before any session exists
TTL_S = 8 * 3600.0
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    id: str
    scope: Scope | None  # None: the API has no tokens (open on loopback)
    csrf: str
    expires: datetime | None  # UTC; None: never (the open dashboard)


OPEN = Session(id="", scope=None, csrf="", expires=None)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).hexdigest()


class SessionStore:
    """Session id -> Session in the database, expiring and bounded."""

    def __init__(
        self, engine: Engine, ttl_s: float = TTL_S, max_sessions: int = MAX_SESSIONS
    ) -> None:
        self._engine = engine
        self._ttl = timedelta(seconds=ttl_s)
        self._max = max_sessions

    def create(self, scope: Scope) -> Session:
        now = datetime.now(UTC)
        session = Session(
            secrets.token_urlsafe(32), scope, secrets.token_urlsafe(32), now + self._ttl
        )
        stored.add_session(
            self._engine, id_hash=_hash(session.id), scope=scope, csrf=session.csrf, now=now,
            expires_at=now + self._ttl, max_sessions=self._max,
        )  # fmt: skip
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 200:
            return None
        row = stored.find_session(self._engine, _hash(session_id), datetime.now(UTC))
        if row is None or row["scope"] not in ("read", "admin"):
            return None
        return Session(session_id, row["scope"], row["csrf"], row["expires_at"])

    def drop(self, session_id: str | None) -> None:
        if session_id and len(session_id) <= 200:
            stored.drop_session(self._engine, _hash(session_id))

    def clear(self) -> None:
        stored.drop_all_sessions(self._engine)

    def __len__(self) -> int:
        return stored.count_sessions(self._engine, datetime.now(UTC))


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two (CSRF) tokens; False when either is missing."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())
