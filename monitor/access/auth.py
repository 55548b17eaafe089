"""Bearer-token auth: a read set and an admin set, from the environment, compared in constant time.

Every presented token is hashed and compared (hmac.compare_digest) against the digest of
*every* configured token, with no early exit, so neither timing nor length tells which token
came close. Missing or unknown token: 401 with `WWW-Authenticate: Bearer`; a read token on an
admin route: 403; too many unknown tokens from one address: 429 (throttle.py). With no token configured at all the API is open, which is only allowed on
loopback (`check_bind`). Tokens are never logged or put into messages.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from monitor.access.throttle import client_address, limiter_of, too_many
from monitor.errors import ConfigError
from monitor.settings import ApiSettings

Scope = Literal["read", "admin"]
CHALLENGE = {"WWW-Authenticate": "Bearer"}
bearer = HTTPBearer(auto_error=False, description="A read or admin token (api.*_tokens).")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


@dataclass(frozen=True)
class Tokens:
    """Digests of the configured tokens (the plain values are not kept here)."""

    read: tuple[bytes, ...]
    admin: tuple[bytes, ...]

    @classmethod
    def from_settings(cls, api: ApiSettings) -> Tokens:
        return cls(
            read=tuple(_digest(t.get_secret_value()) for t in api.read_tokens),
            admin=tuple(_digest(t.get_secret_value()) for t in api.admin_tokens),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.read or self.admin)

    def scope_of(self, presented: str) -> Scope | None:
        """'admin', 'read' or None; compares against every token whatever matches first."""
        got = _digest(presented)
        is_admin = is_read = False
        for known in self.admin:
            is_admin |= hmac.compare_digest(got, known)
        for known in self.read:
            is_read |= hmac.compare_digest(got, known)
        if is_admin:
            return "admin"
        return "read" if is_read else None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers=CHALLENGE)


def authorize(request: Request, creds: HTTPAuthorizationCredentials | None, need: Scope) -> None:
    """Missing token: 401. Too many wrong tokens from this address lately: 429 (throttle.py),
    before the token is looked at. Wrong token: 401, counted."""
    tokens: Tokens = request.app.state.tokens
    if not tokens.enabled:
        return
    if creds is None or not creds.credentials:
        raise _unauthorized("missing bearer token")
    limiter, client = limiter_of(request), client_address(request)
    wait = limiter.retry_after(client)
    if wait is not None:
        raise too_many(wait)
    scope = tokens.scope_of(creds.credentials)
    if scope is None:
        limiter.failed(client)
        raise _unauthorized("invalid bearer token")
    if need == "admin" and scope != "admin":
        raise HTTPException(status_code=403, detail="this action needs an admin token")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(api: ApiSettings, host: str | None = None) -> None:
    """Refuse to serve an open API beyond loopback (one line, no secrets)."""
    host = api.host if host is None else host
    if not (api.read_tokens or api.admin_tokens) and not is_loopback(host):
        raise ConfigError(
            f"config error at api.host: refusing to bind {host} without tokens; set "
            "api.read_tokens / api.admin_tokens (e.g. ${MONITOR_READ_TOKEN}) or bind to 127.0.0.1"
        )


Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def require_read(request: Request, creds: Credentials) -> None:
    authorize(request, creds, "read")


def require_admin(request: Request, creds: Credentials) -> None:
    authorize(request, creds, "admin")
