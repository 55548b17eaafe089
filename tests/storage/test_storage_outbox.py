"""storage.outbox on both dialects: rows written in the caller's transaction, claimed with a
lease, settled only by the claim holder; what routing asks (announced, last sent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.storage import outbox

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _row(delivery_id: str, event: str = "drift.detected", **kw) -> outbox.NewNotification:
    fields = {
        "alert_id": None,
        "channel": "webhook",
        "route": "hook",
        "payload": {"event": event},
        "status": "pending",
        "created_at": T0,
        "fingerprint": "fp",
        "severity": "warning",
    }
    return outbox.NewNotification(delivery_id=delivery_id, event=event, **{**fields, **kw})


def test_claim_record_and_counts(engine) -> None:
    with engine.begin() as conn:
        outbox.add_notification(conn, _row("a"))
        outbox.add_notification(conn, _row("b"))
        outbox.add_notification(conn, _row("s", status="suppressed", last_error="cooldown"))
    assert outbox.outbox_counts(engine) == {"pending": 2, "suppressed": 1}

    claimed = outbox.claim(engine, T0, 1, LEASE)
    assert [(c.delivery_id, c.attempts, c.payload) for c in claimed] == [
        ("a", 1, {"event": "drift.detected"})
    ]
    assert [c.delivery_id for c in outbox.claim(engine, T0, 5, LEASE)] == ["b"]
    assert outbox.claim(engine, T0, 5, LEASE) == []  # both leased

    [a] = claimed
    assert outbox.record(engine, a, status="delivered", delivered_at=T0, external_id="ts1")
    assert not outbox.record(engine, a, status="failed")  # settled: the claim is gone
    assert outbox.outbox_counts(engine) == {"pending": 1, "delivered": 1, "suppressed": 1}
    [again] = outbox.claim(engine, T0 + 2 * LEASE, 5, LEASE)  # b's lease ran out
    assert (again.delivery_id, again.attempts) == ("b", 2)


def test_what_routing_and_threads_read(engine) -> None:
    with engine.begin() as conn:
        outbox.add_notification(conn, _row("a", alert_id=None))
        assert not outbox.announced(conn, "hook", 1)
        assert outbox.last_sent(conn, "hook", "fp", T0 - LEASE) is not None
        last = outbox.last_sent(conn, "hook", "fp", T0 - LEASE)
        assert last is not None and (last.event, last.created_at) == ("drift.detected", T0)
        assert outbox.last_sent(conn, "hook", "fp", T0) is None  # strictly after `since`
    [a] = outbox.claim(engine, T0, 5, LEASE)
    outbox.record(engine, a, status="delivered", delivered_at=T0, external_id="ts1")
    with engine.begin() as conn:
        outbox.add_notification(conn, _row("r", event="drift.resolved", created_at=T0 + LEASE))
    [r] = outbox.claim(engine, T0 + LEASE, 5, LEASE)
    assert outbox.thread_id(engine, r) == "ts1"
    assert outbox.thread_id(engine, a) is None  # only a resolution follows a thread
