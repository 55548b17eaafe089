"""The channel contract: what a sender gets and what it answers (senders: `registry.py`).

A sender makes exactly one attempt and classifies it; it never sleeps or retries itself.
Retries, backoff, leases and the terminal state belong to the outbox (`delivery.py`), so a
restart or a second replica resumes them from the table alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

from monitor import __version__

USER_AGENT = f"driftwatch-monitor/{__version__}"
ERROR_BODY_CHARS = 200  # a receiver's error body is kept (escaped) up to this many characters

Outcome = Literal["delivered", "retry", "failed"]


@dataclass(frozen=True)
class Outgoing:
    """One attempt at one outbox row, as a sender sees it."""

    delivery_id: str  # stable across retries: receivers dedupe on it
    channel: str
    route: str
    event: str
    payload: Mapping[str, Any]
    attempt: int  # 1 for the first attempt
    thread_id: str | None = None  # external_id of the message a "resolved" one follows up


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    error: str | None = None  # one line, no secrets (stored in last_error and logged)
    retry_after: str | None = None  # the receiver's raw Retry-After header, if any
    external_id: str | None = None  # the channel's id of what was sent (Slack message ts)
    answer: Mapping[str, Any] | None = None  # what the target answered (run id, URL), stored

    @classmethod
    def delivered(
        cls, external_id: str | None = None, answer: Mapping[str, Any] | None = None
    ) -> SendResult:
        return cls("delivered", external_id=external_id, answer=answer)

    @classmethod
    def retry(cls, error: str, retry_after: str | None = None) -> SendResult:
        return cls("retry", error=error, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        return cls("failed", error=error)


class Sender(Protocol):
    """Delivers one notification once over one channel."""

    def send(self, note: Outgoing, route: Any) -> SendResult:
        """`route`: the route's settings (the model of its type in monitor.settings)."""
        ...


def one_line(text: str, limit: int = ERROR_BODY_CHARS) -> str:
    """Untrusted text (a receiver's body) as one printable line: control characters escaped."""
    out = []
    for ch in text[:limit]:
        if ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out) + ("..." if len(text) > limit else "")


def classify_http(
    status: int, body: bytes | str = b"", retry_after: str | None = None
) -> SendResult:
    """2xx delivered; 408, 429 and 5xx retried; any other status is terminal.

    A receiver answering 400/401/404/422 will answer the same to the same bytes, and a
    redirect is not followed (the signed body must not go to a host nobody configured).
    """
    if 200 <= status < 300:
        return SendResult.delivered()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    error = f"HTTP {status}" + (f": {one_line(text)}" if text.strip() else "")
    if status in (408, 429) or status >= 500:
        return SendResult.retry(error, retry_after if status in (429, 503) else None)
    if 300 <= status < 400:
        return SendResult.failed(error + " (redirects are not followed; configure the final URL)")
    return SendResult.failed(error)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or an HTTP date, relative to `now`; None when absent or invalid."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
