"""Webhook delivery through the outbox against a real local HTTP receiver (both dialects)."""

from __future__ import annotations

import random
import socket
from datetime import timedelta
from email.utils import format_datetime

import orjson
import pytest
from notify_support import T0, Reply, enqueue, firing_payload, row

from monitor.notify.delivery import deliver_due
from monitor.notify.signing import verify
from monitor.settings import AlertingSettings

SECRET = "s3cret-webhook-value"


def alerting(url: str, **delivery: object) -> AlertingSettings:
    return AlertingSettings.model_validate(
        {
            "routes": {
                "retrain": {"type": "webhook", "url": f"{url}/hooks/retrain", "secret": SECRET}
            },
            "delivery": delivery,
        }
    )


def test_body_bytes_and_headers_exact(engine, receiver) -> None:
    recv = receiver()
    payload = firing_payload()
    did = enqueue(engine, payload)

    stats = deliver_due(engine, alerting(recv.url), now=T0)

    assert (stats.claimed, stats.delivered, stats.failed) == (1, 1, 0)
    [req] = recv.requests
    assert req.method == "POST"
    assert req.path == "/hooks/retrain"
    assert req.body == orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    assert orjson.loads(req.body) == payload
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["X-Monitor-Delivery"] == did
    assert req.headers["X-Monitor-Event"] == "drift.detected"
    assert req.headers["User-Agent"].startswith("driftwatch-monitor/")
    assert verify(req.body, req.headers["X-Monitor-Signature"], SECRET.encode())
    assert not verify(req.body, req.headers["X-Monitor-Signature"], b"another secret")
    r = row(engine, did)
    assert (r["status"], r["attempts"], r["delivered_at"], r["last_error"]) == (
        "delivered",
        1,
        T0,
        None,
    )


def test_outage_delivers_late_exactly_once(engine, receiver) -> None:
    recv = receiver([Reply(500, b"down"), Reply(502, b"")])
    did = enqueue(engine, firing_payload())
    settings = alerting(recv.url, backoff_initial="1s", backoff_max="1m")
    rng = random.Random(1)

    s1 = deliver_due(engine, settings, now=T0, rng=rng)
    r1 = row(engine, did)
    assert (s1.retried, r1["status"], r1["attempts"], r1["last_error"]) == (
        1,
        "pending",
        1,
        "HTTP 500: down",
    )
    # exponential backoff with jitter: first retry within [initial/2, initial]
    assert T0 + timedelta(seconds=0.5) <= r1["next_attempt_at"] <= T0 + timedelta(seconds=1)
    assert deliver_due(engine, settings, now=T0 + timedelta(milliseconds=400)).claimed == 0

    t2 = r1["next_attempt_at"]
    s2 = deliver_due(engine, settings, now=t2, rng=rng)
    r2 = row(engine, did)
    assert (s2.retried, r2["attempts"], r2["last_error"]) == (1, 2, "HTTP 502")
    assert t2 + timedelta(seconds=1) <= r2["next_attempt_at"] <= t2 + timedelta(seconds=2)

    s3 = deliver_due(engine, settings, now=r2["next_attempt_at"])
    assert s3.delivered == 1
    assert deliver_due(engine, settings, now=T0 + timedelta(hours=1)).claimed == 0

    assert len(recv.requests) == 3
    assert {r.headers["X-Monitor-Delivery"] for r in recv.requests} == {did}
    assert len({r.body for r in recv.requests}) == 1
    assert len({r.headers["X-Monitor-Signature"] for r in recv.requests}) == 1
    assert row(engine, did)["status"] == "delivered"


@pytest.mark.parametrize(
    ("status", "retry_after", "expected_s"),
    [
        (429, "2", 2),
        (503, "7", 7),
        (429, format_datetime(T0 + timedelta(seconds=30), usegmt=True), 30),
        (429, "100000", 300),  # bounded by backoff_max
    ],
)
def test_retry_after_is_honoured(sqlite_engine, receiver, status, retry_after, expected_s) -> None:
    recv = receiver([Reply(status, b"slow down", {"Retry-After": retry_after})])
    did = enqueue(sqlite_engine, firing_payload())
    settings = alerting(recv.url, backoff_initial="1s", backoff_max="5m")

    stats = deliver_due(sqlite_engine, settings, now=T0)

    r = row(sqlite_engine, did)
    assert stats.retried == 1
    assert r["status"] == "pending"
    assert r["next_attempt_at"] == T0 + timedelta(seconds=expected_s)
    assert r["last_error"].startswith(f"HTTP {status}")


def test_retry_after_on_postgres(pg_engine, receiver) -> None:
    recv = receiver([Reply(429, b"", {"Retry-After": "2"})])
    did = enqueue(pg_engine, firing_payload())
    deliver_due(pg_engine, alerting(recv.url), now=T0)
    assert row(pg_engine, did)["next_attempt_at"] == T0 + timedelta(seconds=2)
    assert deliver_due(pg_engine, alerting(recv.url), now=T0 + timedelta(seconds=1.9)).claimed == 0
    assert deliver_due(pg_engine, alerting(recv.url), now=T0 + timedelta(seconds=2)).delivered == 1


def test_400_is_terminal_with_escaped_body(engine, receiver) -> None:
    recv = receiver(default=Reply(400, b"bad request\nX-Injected: yes\x1b[31m" + b"x" * 500))
    did = enqueue(engine, firing_payload())
    settings = alerting(recv.url)

    stats = deliver_due(engine, settings, now=T0)

    r = row(engine, did)
    assert (stats.failed, r["status"], r["attempts"]) == (1, "failed", 1)
    assert r["last_error"].startswith("HTTP 400: bad request\\nX-Injected: yes\\x1b[31mxxx")
    assert "\n" not in r["last_error"] and len(r["last_error"]) < 260
    assert deliver_due(engine, settings, now=T0 + timedelta(days=1)).claimed == 0
    assert len(recv.requests) == 1


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (201, "delivered"),
        (204, "delivered"),
        (408, "pending"),
        (500, "pending"),
        (502, "pending"),
        (503, "pending"),
        (302, "failed"),
        (401, "failed"),
        (404, "failed"),
        (410, "failed"),
        (422, "failed"),
    ],
)
def test_status_classification(sqlite_engine, receiver, status, state) -> None:
    headers = {"Location": "http://127.0.0.1:9/elsewhere"} if status == 302 else {}
    recv = receiver([Reply(status, b"", headers)])
    did = enqueue(sqlite_engine, firing_payload())
    deliver_due(sqlite_engine, alerting(recv.url), now=T0)
    assert row(sqlite_engine, did)["status"] == state
    assert len(recv.requests) == 1  # neither urllib nor we retried or followed within the pass


def test_connection_refused_is_retried(sqlite_engine) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    did = enqueue(sqlite_engine, firing_payload())
    stats = deliver_due(sqlite_engine, alerting(f"http://127.0.0.1:{port}"), now=T0)
    r = row(sqlite_engine, did)
    assert (stats.retried, r["status"]) == (1, "pending")
    assert r["last_error"].startswith("connection error:")
    assert "Connection refused" in r["last_error"]


def test_dropped_connection_is_retried(sqlite_engine, receiver) -> None:
    recv = receiver([Reply(drop=True)])
    did = enqueue(sqlite_engine, firing_payload())
    assert deliver_due(sqlite_engine, alerting(recv.url), now=T0).retried == 1
    assert row(sqlite_engine, did)["last_error"] == (
        "connection error: RemoteDisconnected: Remote end closed connection without response"
    )
    assert len(recv.requests) == 1


def test_max_attempts_then_failed(engine, receiver) -> None:
    recv = receiver(default=Reply(500, b""))
    did = enqueue(engine, firing_payload())
    settings = alerting(recv.url, max_attempts=3)
    now = T0
    states = []
    for _ in range(3):
        stats = deliver_due(engine, settings, now=now)
        states.append((stats.retried, stats.failed))
        now = max(now, row(engine, did)["next_attempt_at"])
    assert states == [(1, 0), (1, 0), (0, 1)]
    r = row(engine, did)
    assert (r["status"], r["attempts"]) == ("failed", 3)
    assert r["last_error"] == "gave up after 3 attempts (max_attempts): HTTP 500"
    assert deliver_due(engine, settings, now=now + timedelta(days=1)).claimed == 0
    assert len(recv.requests) == 3


def test_expired_row_fails_without_sending(engine, receiver) -> None:
    recv = receiver()
    did = enqueue(engine, firing_payload(), created_at=T0 - timedelta(hours=25))
    stats = deliver_due(engine, alerting(recv.url, max_age="24h"), now=T0)
    r = row(engine, did)
    assert (stats.failed, r["status"]) == (1, "failed")
    assert r["last_error"].startswith("expired: not delivered within max_age")
    assert recv.requests == []


def test_retry_beyond_max_age_fails_now(sqlite_engine, receiver) -> None:
    recv = receiver([Reply(503, b"", {"Retry-After": "120"})])
    did = enqueue(sqlite_engine, firing_payload())
    stats = deliver_due(sqlite_engine, alerting(recv.url, max_age="1m"), now=T0)
    r = row(sqlite_engine, did)
    assert (stats.failed, r["status"]) == (1, "failed")
    assert r["last_error"].startswith("gave up: the next attempt would be past max_age")


def test_removed_route_fails_terminally(engine, receiver) -> None:
    recv = receiver()
    did = enqueue(engine, firing_payload(), route="old-route")
    stats = deliver_due(engine, alerting(recv.url), now=T0)
    r = row(engine, did)
    assert (stats.failed, r["status"]) == (1, "failed")
    assert r["last_error"] == "route 'old-route' is not configured (removed from alerting.routes?)"
    assert recv.requests == []


def test_secret_never_in_errors_or_logs(sqlite_engine, receiver, caplog) -> None:
    recv = receiver([Reply(500, b"oops")], default=Reply(403, b"nope"))
    did = enqueue(sqlite_engine, firing_payload())
    settings = alerting(recv.url, max_attempts=5)
    with caplog.at_level("DEBUG"):
        deliver_due(sqlite_engine, settings, now=T0)
        deliver_due(sqlite_engine, settings, now=T0 + timedelta(minutes=10))
    assert row(sqlite_engine, did)["status"] == "failed"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("monitor")] == [
        "notification_retry",
        "notification_failed",
    ]
    text = caplog.text + repr([r.__dict__ for r in caplog.records]) + str(row(sqlite_engine, did))
    assert SECRET not in text
