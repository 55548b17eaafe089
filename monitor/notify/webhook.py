"""Signed JSON webhooks (the retraining trigger), one POST per attempt with the stdlib.

The body is the payload serialised once with sorted keys, so the bytes (and the signature)
are identical on every retry and on both databases (Postgres JSONB reorders keys).
Headers: `X-Monitor-Signature: sha256=<hex HMAC of the body>`, `X-Monitor-Delivery` (the
outbox row's delivery id, stable across retries: receivers dedupe on it), `X-Monitor-Event`.
"""

from __future__ import annotations

import http.client
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.error import HTTPError, URLError

import orjson

from monitor.notify.channels import (
    ERROR_BODY_CHARS,
    USER_AGENT,
    Outgoing,
    SendResult,
    classify_http,
)
from monitor.notify.signing import sign
from monitor.settings import SlackRoute, WebhookRoute


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def webhook_headers(body: bytes, secret: bytes, delivery_id: str, event: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Monitor-Signature": sign(body, secret),
        "X-Monitor-Delivery": delivery_id,
        "X-Monitor-Event": event,
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx surfaces as an HTTPError and is classified as terminal


class WebhookSender:
    """POSTs one notification to a WebhookRoute; the route's `timeout` bounds the attempt."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect())

    def send(self, note: Outgoing, route: SlackRoute | WebhookRoute) -> SendResult:
        if not isinstance(route, WebhookRoute):
            return SendResult.failed(f"route {note.route!r} is not a webhook route")
        body = encode_payload(note.payload)
        headers = webhook_headers(
            body, route.secret.get_secret_value().encode(), note.delivery_id, note.event
        )
        request = urllib.request.Request(route.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=route.timeout.total_seconds()) as resp:
                status = resp.status
                reply = resp.read(ERROR_BODY_CHARS + 1) if not 200 <= status < 300 else b""
                return classify_http(status, reply, resp.headers.get("Retry-After"))
        except HTTPError as exc:
            try:
                reply = exc.read(ERROR_BODY_CHARS + 1)
            except (OSError, http.client.HTTPException):
                reply = b""
            return classify_http(exc.code, reply, exc.headers.get("Retry-After"))
        except URLError as exc:  # refused, DNS, TLS: the URL itself is never part of the text
            return SendResult.retry(f"connection error: {exc.reason}")
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            return SendResult.retry(f"connection error: {type(exc).__name__}: {exc}")
