"""The outbox worker: claims due notifications, sends them, records the outcome.

State lives only in the `notifications` table, so a restart (or another replica) resumes
where the last pass stopped. One pass:

1. Claim: one short transaction moves `next_attempt_at` of up to `batch_size` due pending
   rows forward by a lease and increments `attempts` (`FOR UPDATE SKIP LOCKED` on Postgres,
   so replicas claim disjoint rows; on SQLite the single UPDATE statement is atomic).
   No transaction is open during the HTTP call.
2. Send each row once (its sender classifies: delivered / retry / failed).
3. Record in another short transaction, fenced by the claimed `attempts` value: if the
   lease ran out and another worker re-claimed the row, the stale outcome is dropped.

A crash between 1 and 3 re-sends after the lease: delivery is at-least-once and receivers
dedupe by `X-Monitor-Delivery`. Retries back off exponentially with jitter (Retry-After
wins on 429/503, capped by `backoff_max`); after `max_attempts` or past `max_age` since
`created_at` a row ends `failed` with its `last_error`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.backoff import backoff_s
from monitor.errors import MonitorError
from monitor.notify.alertmanager import resend_firing
from monitor.notify.channels import Outgoing, Sender, SendResult, parse_retry_after
from monitor.notify.registry import default_senders
from monitor.settings import (
    AlertingSettings,
    DeliverySettings,
    RouteSettings,
)
from monitor.storage import outbox
from monitor.storage.db import Engine

log = logging.getLogger("monitor.notify.delivery")

DEFAULT_LEASE = timedelta(seconds=60)
LEASE_MARGIN = 0.8  # a row is sent only while this share of its lease is still ahead


@dataclass(frozen=True)
class DeliveryStats:
    """What one pass (or a worker's lifetime, by `+`) did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0  # failed attempts that will be retried
    failed: int = 0  # terminal failures (status='failed')
    released: int = 0  # claimed, not sent (the lease would run out first); due again now
    lost: int = 0  # outcome dropped: the lease ran out and another worker took the row

    def __add__(self, other: DeliveryStats) -> DeliveryStats:
        return DeliveryStats(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


def _clock(now: datetime | None) -> Callable[[], datetime]:
    if now is not None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        return lambda: now
    return lambda: datetime.now(UTC)


def _release(engine: Engine, rows: list[outbox.Claimed], now: datetime) -> int:
    """Hand unsent claimed rows back (due now, the unused attempt not counted)."""
    released = 0
    for row in rows:
        if outbox.record(engine, row, next_attempt_at=now, attempts=row.attempts - 1):
            released += 1
    return released


def _route_timeout_s(route: RouteSettings | None) -> float:
    """The route's `timeout` (a route type without one: 10 s, Slack's client timeout)."""
    timeout = getattr(route, "timeout", None)
    return timeout.total_seconds() if isinstance(timeout, timedelta) else 10.0


def _retry_delay(
    result: SendResult,
    attempts: int,
    now: datetime,
    cfg: DeliverySettings,
    rng: random.Random | None,
) -> timedelta:
    cap = cfg.backoff_max
    asked = parse_retry_after(result.retry_after, now)
    if asked is not None and asked > timedelta(0):
        return min(asked, cap)
    seconds = backoff_s(
        attempts - 1, cap.total_seconds(), base_s=cfg.backoff_initial.total_seconds(), rng=rng
    )
    return timedelta(seconds=seconds)


def _attempt(
    engine: Engine,
    row: outbox.Claimed,
    route: RouteSettings | None,
    senders: Mapping[str, Sender],
    now: datetime,
    cfg: DeliverySettings,
) -> SendResult:
    """Send once, or decide without sending that the row cannot be delivered."""
    if route is None:
        return SendResult.failed(
            f"route {row.route!r} is not configured (removed from alerting.routes?)"
        )
    if route.type != row.channel:
        return SendResult.failed(
            f"route {row.route!r} is a {route.type} route; the notification is for {row.channel!r}"
        )
    if now - row.created_at > cfg.max_age:
        return SendResult.failed(f"expired: not delivered within max_age ({cfg.max_age})")
    sender = senders.get(row.channel)
    if sender is None:
        return SendResult.failed(f"no sender for channel {row.channel!r}")
    note = Outgoing(
        delivery_id=row.delivery_id,
        channel=row.channel,
        route=row.route,
        event=row.event,
        payload=row.payload,
        attempt=row.attempts,
        thread_id=outbox.thread_id(engine, row),
    )
    try:
        return sender.send(note, route)
    except MonitorError:
        raise
    except Exception as exc:  # a sender bug must not kill the pass; bounded by the limits
        log.exception(
            "notification_sender_error",
            extra={"delivery_id": row.delivery_id, "channel": row.channel},
        )
        return SendResult.retry(f"sender error: {type(exc).__name__}")


def _log_fields(row: outbox.Claimed, **more: Any) -> dict[str, Any]:
    return {
        "delivery_id": row.delivery_id,
        "channel": row.channel,
        "route": row.route,
        "notify_event": row.event,
        "attempts": row.attempts,
        **more,
    }


def _settle(
    engine: Engine,
    row: outbox.Claimed,
    result: SendResult,
    now: datetime,
    cfg: DeliverySettings,
    rng: random.Random | None,
) -> str | None:
    """Store the outcome; the resulting state ('delivered' | 'retried' | 'failed'), or None
    when the claim was lost."""
    if result.outcome == "delivered":
        if not outbox.record(
            engine,
            row,
            status="delivered",
            delivered_at=now,
            external_id=result.external_id,
            answer=None if result.answer is None else dict(result.answer),
        ):
            return None
        log.info("notification_delivered", extra=_log_fields(row))
        return "delivered"
    error = (result.error or "unknown error")[:1000]
    if result.outcome == "retry":
        next_at = now + _retry_delay(result, row.attempts, now, cfg, rng)
        if row.attempts >= cfg.max_attempts:
            error = f"gave up after {row.attempts} attempts (max_attempts): {error}"
        elif next_at - row.created_at > cfg.max_age:
            error = f"gave up: the next attempt would be past max_age ({cfg.max_age}): {error}"
        else:
            if not outbox.record(engine, row, next_attempt_at=next_at, last_error=error):
                return None
            log.warning(
                "notification_retry",
                extra=_log_fields(
                    row, error=error, retry_in_s=round((next_at - now).total_seconds(), 3)
                ),
            )
            return "retried"
    if not outbox.record(engine, row, status="failed", last_error=error):
        return None
    log.error("notification_failed", extra=_log_fields(row, error=error))
    return "failed"


def deliver_due(
    engine: Engine,
    alerting: AlertingSettings,
    *,
    now: datetime | None = None,
    senders: Mapping[str, Sender] | None = None,
    lease: timedelta = DEFAULT_LEASE,
    rng: random.Random | None = None,
) -> DeliveryStats:
    """One pass over the due outbox rows. `now` pins the clock (tests, replays)."""
    clock = _clock(now)
    cfg = alerting.delivery
    senders = default_senders() if senders is None else senders
    # the lease covers at least two attempts of the slowest route, so the first claimed row
    # is always sent well inside it (and a shorter lease cannot livelock the outbox)
    slowest = max((_route_timeout_s(r) for r in alerting.routes.values()), default=10.0)
    lease = max(lease, timedelta(seconds=2 * slowest))
    resend_firing(engine, alerting, clock())  # Alertmanager forgets alerts not re-sent
    claimed = outbox.claim(engine, clock(), cfg.batch_size, lease)
    if not claimed:
        return DeliveryStats()
    counts = {"delivered": 0, "retried": 0, "failed": 0, "released": 0, "lost": 0}
    started = time.monotonic()
    budget = lease.total_seconds() * LEASE_MARGIN
    for i, row in enumerate(claimed):
        route = alerting.routes.get(row.route)
        if time.monotonic() - started + _route_timeout_s(route) > budget:
            counts["released"] += _release(engine, claimed[i:], clock())
            break
        result = _attempt(engine, row, route, senders, clock(), cfg)
        state = _settle(engine, row, result, clock(), cfg, rng)
        if state is None:
            log.warning("notification_lease_lost", extra=_log_fields(row))
            counts["lost"] += 1
        else:
            counts[state] += 1
    return DeliveryStats(claimed=len(claimed), **counts)


class OutboxWorker:
    """Runs `deliver_due` every `delivery.poll_interval` until stopped.

    A full batch is followed by another pass at once; a database outage backs off
    (exponentially, capped by `delivery.backoff_max`) instead of ending the thread.
    """

    def __init__(
        self,
        engine: Engine,
        alerting: AlertingSettings,
        *,
        senders: Mapping[str, Sender] | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.engine = engine
        self.alerting = alerting
        self.senders = default_senders() if senders is None else senders
        self.lease = lease
        self.totals = DeliveryStats()
        self._lock = threading.Lock()

    def run_once(self, now: datetime | None = None) -> DeliveryStats:
        stats = deliver_due(
            self.engine, self.alerting, now=now, senders=self.senders, lease=self.lease
        )
        with self._lock:
            self.totals = self.totals + stats
        return stats

    def run(self, stop: threading.Event) -> None:
        cfg = self.alerting.delivery
        errors = 0
        log.info("outbox_worker_started", extra={"routes": len(self.alerting.routes)})
        while not stop.is_set():
            try:
                stats = self.run_once()
                errors = 0
            except Exception as exc:  # the DB is down or a bug: log, back off, keep going
                errors += 1
                delay = backoff_s(
                    errors - 1,
                    cfg.backoff_max.total_seconds(),
                    base_s=max(cfg.poll_interval.total_seconds(), 0.1),
                )
                log.warning(
                    "outbox_pass_failed",
                    extra={
                        "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                        "retry_in_s": round(delay, 2),
                    },
                )
                stop.wait(delay)
                continue
            if stats.claimed >= cfg.batch_size and not stats.released:
                continue  # more may be due right now
            stop.wait(cfg.poll_interval.total_seconds())
        log.info("outbox_worker_stopped")

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run in a daemon thread (stopped by setting `stop`)."""
        thread = threading.Thread(target=self.run, args=(stop,), name="monitor-outbox", daemon=True)
        thread.start()
        return thread
