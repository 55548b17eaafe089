"""One JSON POST per delivery attempt (stdlib), classified for the outbox's retry policy.

Redirects are not followed (a signed body must never reach a host nobody configured): a 3xx
surfaces as an HTTPError and is classified as terminal. The URL is never part of an error
text (it may carry a token in its path).
"""

from __future__ import annotations

import http.client
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.error import HTTPError, URLError

from monitor.notify.channels import ERROR_BODY_CHARS, SendResult, classify_http


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> SendResult:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout_s) as resp:
            status = resp.status
            reply = resp.read(ERROR_BODY_CHARS + 1) if not 200 <= status < 300 else b""
            return classify_http(status, reply, resp.headers.get("Retry-After"))
    except HTTPError as exc:
        try:
            reply = exc.read(ERROR_BODY_CHARS + 1)
        except (OSError, http.client.HTTPException):
            reply = b""
        return classify_http(exc.code, reply, exc.headers.get("Retry-After"))
    except URLError as exc:  # refused, DNS, TLS
        return SendResult.retry(f"connection error: {exc.reason}")
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        return SendResult.retry(f"connection error: {type(exc).__name__}: {exc}")
