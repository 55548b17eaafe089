"""Outbox mechanics: leases, crash and restart, the worker thread, concurrent claimers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from notify_support import T0, Reply, enqueue, firing_payload, row

from monitor.notify.channels import Outgoing, SendResult
from monitor.notify.delivery import DeliveryStats, OutboxWorker, deliver_due
from monitor.notify.webhook import WebhookSender
from monitor.settings import AlertingSettings
from monitor.storage import make_engine
from monitor.storage.outbox import outbox_counts


def alerting(url: str, timeout: str = "10s", **delivery: object) -> AlertingSettings:
    return AlertingSettings.model_validate(
        {
            "routes": {
                "retrain": {
                    "type": "webhook",
                    "url": f"{url}/hook",
                    "secret": "k",
                    "timeout": timeout,
                }
            },
            "delivery": delivery,
        }
    )


class CrashAfterSend:
    """A real send, then the process 'dies' before the outcome is recorded."""

    def send(self, note: Outgoing, route) -> SendResult:  # type: ignore[no-untyped-def]
        WebhookSender().send(note, route)
        raise SystemExit("killed mid-delivery")


def test_crash_mid_send_resends_after_the_lease_with_the_same_id(engine, receiver) -> None:
    recv = receiver()
    did = enqueue(engine, firing_payload())
    settings = alerting(recv.url)

    with pytest.raises(SystemExit):
        deliver_due(engine, settings, now=T0, senders={"webhook": CrashAfterSend()})
    assert len(recv.requests) == 1
    r = row(engine, did)
    assert (r["status"], r["attempts"], r["next_attempt_at"]) == (
        "pending",
        1,
        T0 + timedelta(seconds=60),
    )

    # a restarted process: new engine (no state but the table), new worker
    restarted = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        worker = OutboxWorker(restarted, settings)
        assert worker.run_once(now=T0 + timedelta(seconds=59)).claimed == 0  # still leased
        assert worker.run_once(now=T0 + timedelta(seconds=60)).delivered == 1
    finally:
        restarted.dispose()
    assert [r.headers["X-Monitor-Delivery"] for r in recv.requests] == [did, did]
    assert recv.requests[0].body == recv.requests[1].body
    assert (row(engine, did)["status"], row(engine, did)["attempts"]) == ("delivered", 2)


def test_restart_resumes_pending_rows(engine, receiver) -> None:
    recv = receiver([Reply(500)] * 3)
    ids = [enqueue(engine, firing_payload(alert_id=i)) for i in range(3)]
    settings = alerting(recv.url)
    first = OutboxWorker(engine, settings)
    assert first.run_once(now=T0) == DeliveryStats(claimed=3, retried=3)
    assert outbox_counts(engine) == {"pending": 3}

    restarted = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        second = OutboxWorker(restarted, settings)
        assert second.run_once(now=T0 + timedelta(minutes=1)).delivered == 3
    finally:
        restarted.dispose()
    assert outbox_counts(engine) == {"delivered": 3}
    assert Counter(r.headers["X-Monitor-Delivery"] for r in recv.requests) == {i: 2 for i in ids}


def test_rows_that_would_outlive_the_lease_are_released(sqlite_engine, receiver) -> None:
    recv = receiver(delay_s=0.1)
    ids = [enqueue(sqlite_engine, firing_payload(alert_id=i)) for i in range(6)]
    settings = alerting(recv.url, timeout="0.25s")

    stats = deliver_due(sqlite_engine, settings, now=T0, lease=timedelta(seconds=0.6))

    assert stats.claimed == 6 and stats.delivered >= 1 and stats.released >= 1
    assert stats.delivered + stats.released == 6
    released = [row(sqlite_engine, i) for i in ids if row(sqlite_engine, i)["status"] == "pending"]
    assert len(released) == stats.released
    assert all(r["attempts"] == 0 and r["next_attempt_at"] == T0 for r in released)
    assert len(recv.requests) == stats.delivered
    assert deliver_due(sqlite_engine, settings, now=T0).delivered == stats.released


def test_worker_thread_polls_and_stops(sqlite_engine, receiver) -> None:
    recv = receiver()
    settings = alerting(recv.url, poll_interval="50ms")
    worker = OutboxWorker(sqlite_engine, settings)
    stop = threading.Event()
    thread = worker.start(stop)
    try:
        time.sleep(0.1)  # the worker is idle-polling before anything is queued
        did = enqueue(sqlite_engine, firing_payload(), created_at=datetime.now(UTC))
        deadline = time.monotonic() + 5
        while row(sqlite_engine, did)["status"] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert row(sqlite_engine, did)["status"] == "delivered"
    assert worker.totals.delivered == 1
    assert [r.headers["X-Monitor-Delivery"] for r in recv.requests] == [did]


def test_two_concurrent_claimers_never_send_a_row_twice(pg_engine, receiver) -> None:
    recv = receiver(delay_s=0.1)
    ids = [enqueue(pg_engine, firing_payload(alert_id=i)) for i in range(10)]
    settings = alerting(recv.url, batch_size=2)
    barrier = threading.Barrier(2)
    results: list[list[DeliveryStats]] = [[], []]

    def claimer(k: int) -> None:
        barrier.wait()
        while True:
            stats = deliver_due(pg_engine, settings, now=T0)
            if not stats.claimed:
                return
            results[k].append(stats)

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    received = Counter(r.headers["X-Monitor-Delivery"] for r in recv.requests)
    assert received == {i: 1 for i in ids}
    per_thread = [sum(s.delivered for s in rs) for rs in results]
    assert sum(per_thread) == 10 and min(per_thread) > 0  # both really worked in parallel
    assert outbox_counts(pg_engine) == {"delivered": 10}
