"""Signed JSON webhooks (the retraining trigger), one POST per attempt with the stdlib.

The body is the payload serialised once with sorted keys, so the bytes (and the signature)
are identical on every retry and on both databases (Postgres JSONB reorders keys).
Headers: `X-Monitor-Signature: sha256=<hex HMAC of the body>`, `X-Monitor-Delivery` (the
outbox row's delivery id, stable across retries: receivers dedupe on it), `X-Monitor-Event`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from monitor.notify.channels import USER_AGENT, Outgoing, SendResult
from monitor.notify.http_post import post
from monitor.notify.signing import sign
from monitor.settings import RouteSettings, WebhookRoute


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


class WebhookSender:
    """POSTs one notification to a WebhookRoute; the route's `timeout` bounds the attempt."""

    def send(self, note: Outgoing, route: RouteSettings) -> SendResult:
        if not isinstance(route, WebhookRoute):
            return SendResult.failed(f"route {note.route!r} is not a webhook route")
        body = encode_payload(note.payload)
        headers = webhook_headers(
            body, route.secret.get_secret_value().encode(), note.delivery_id, note.event
        )
        return post(route.url, body, headers, route.timeout.total_seconds())
