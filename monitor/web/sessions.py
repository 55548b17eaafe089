"""Browser sessions of the dashboard: a random id in an HttpOnly cookie, the scope server-side.

The token typed into the login form is checked once (`Tokens.scope_of`, constant time) and
never stored or put in a cookie: the cookie holds a random 256-bit session id that maps, in
this process's memory, to the token's scope, a per-session CSRF token and an expiry. So a
restart logs everyone out (by design: nothing to leak from disk), and several API processes
behind one address would each need their own login (sticky sessions).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from monitor.api.auth import Scope

COOKIE = "monitor_session"
LOGIN_COOKIE = "monitor_login"  # login-form CSRF (double submit), before any session exists
TTL_S = 8 * 3600.0
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    id: str
    scope: Scope | None  # None: the API has no tokens (open on loopback)
    csrf: str
    expires: float  # time.monotonic() deadline


OPEN = Session(id="", scope=None, csrf="", expires=float("inf"))


class SessionStore:
    """Session id -> Session, bounded and expiring; safe across uvicorn's worker threads."""

    def __init__(self, ttl_s: float = TTL_S, max_sessions: int = MAX_SESSIONS) -> None:
        self._ttl = ttl_s
        self._max = max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, scope: Scope) -> Session:
        now = time.monotonic()
        session = Session(
            secrets.token_urlsafe(32), scope, secrets.token_urlsafe(32), now + self._ttl
        )
        with self._lock:
            self._sweep(now)
            if len(self._sessions) >= self._max:  # the oldest make room (dicts keep order)
                for old in list(self._sessions)[: len(self._sessions) - self._max + 1]:
                    del self._sessions[old]
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session.expires <= time.monotonic():
                del self._sessions[session_id]
                return None
            return session

    def drop(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(session_id, None)

    def _sweep(self, now: float) -> None:
        for sid in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[sid]

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two (CSRF) tokens; False when either is missing."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())
