"""One HTTP exchange with a retraining target, telling "never sent" from "sent, no answer".

The difference matters for targets without idempotency (GitHub Actions, Kubeflow): a request
that never reached the server can be retried safely, one whose answer was lost may already
have started a run. Redirects are never followed; the URL is never part of an error text
(it may carry a token).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor.errors import NoAnswer, NotSent

if TYPE_CHECKING:  # imported when sending: loading the settings must stay cheap
    import http.client

MAX_ANSWER_BYTES = 256 * 1024


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _connection(url: str, timeout_s: float) -> tuple[http.client.HTTPConnection, str]:
    import http.client
    import ssl

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotSent("the URL is not http(s)")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if parts.scheme == "https":
        ctx = ssl.create_default_context()
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout_s, context=ctx
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    return conn, target


def exchange(request: HttpRequest, timeout_s: float) -> HttpAnswer:
    """Send once; raise NotSent before the first byte left, NoAnswer after."""
    import http.client
    import ssl

    conn, target = _connection(request.url, timeout_s)
    try:
        try:
            conn.connect()
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            raise NotSent(f"{type(exc).__name__}: {exc}") from None
        try:
            conn.request(request.method, target, body=request.body, headers=request.headers)
            resp = conn.getresponse()
            body = resp.read(MAX_ANSWER_BYTES)
        except TimeoutError as exc:  # socket.timeout is an alias
            raise NoAnswer(f"timed out waiting for the answer: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise NoAnswer(f"{type(exc).__name__}: {exc}") from None
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return HttpAnswer(resp.status, body, headers)
    finally:
        conn.close()
