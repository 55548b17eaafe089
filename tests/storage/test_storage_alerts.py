"""storage.alerts on both dialects: episodes written and read back as typed rows, the one
list query (filters, keyset pages, acknowledgements), the detail, acknowledging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.lifecycle import Alert
from monitor.storage import alerts as store

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _open(conn, fp: str, monitor: str, severity: str = "warning", at: datetime = T0) -> int:
    write = store.AlertWrite(
        state="firing",
        severity=severity,
        consecutive=1,
        last_run_id=None,
        details={"summary": fp},
        fired_at=at,
        last_notified_at=at,
        last_seen_at=at,
    )
    return store.insert_alert(
        conn, fingerprint=fp, monitor=monitor, rule="r", subject=fp, created_at=at, write=write
    )


def test_episode_rows_round_trip(engine) -> None:
    with engine.begin() as conn:
        alert_id = _open(conn, "a", "m")
        store.add_alert_event(conn, alert_id, "firing", T0, None, {"from": "inactive"})
        [(fp, row)] = store.open_alerts(conn, "m").items()
    assert fp == "a" and isinstance(row, Alert)
    assert (row.state, row.consecutive, row.resolved_at) == ("firing", 1, None)
    assert row.lifecycle_state().status == "firing"

    closed = store.AlertWrite(
        state="resolved",
        severity="warning",
        consecutive=0,
        last_run_id=None,
        details={"summary": "gone"},
        fired_at=T0,
        last_notified_at=T0,
        resolved_at=T0 + timedelta(hours=1),
    )
    with engine.begin() as conn:
        store.update_alert(conn, alert_id, closed)
        assert store.open_alerts(conn, "m") == {}
    [alert] = store.list_alerts(engine).alerts
    assert alert.last_seen_at == T0  # left as is: the write did not set it
    assert [e.state for e in store.alert_history(engine, alert_id)] == ["firing"]


def test_one_list_query_filters_pages_and_acknowledgements(engine) -> None:
    with engine.begin() as conn:
        ids = [
            _open(conn, f"f{i}", "m" if i % 2 else "n", "critical" if i < 2 else "info")
            for i in range(5)
        ]
    assert [a.id for a in store.list_alerts(engine).alerts] == ids[::-1]
    assert [a.id for a in store.list_alerts(engine, monitor="n").alerts] == [ids[4], ids[2], ids[0]]
    assert [a.id for a in store.list_alerts(engine, severity="critical").alerts] == ids[1::-1]
    assert store.list_alerts(engine, state="resolved").alerts == []
    assert len(store.list_alerts(engine, state="open").alerts) == 5

    first = store.list_alerts(engine, limit=2)
    assert first.more and [a.id for a in first.alerts] == [ids[4], ids[3]]
    rest = store.list_alerts(engine, limit=3, before_id=first.alerts[-1].id)
    assert not rest.more and [a.id for a in rest.alerts] == [ids[2], ids[1], ids[0]]

    assert store.acknowledge(engine, ids[3], T0 + timedelta(minutes=5), "ann", "seen") == "firing"
    page = store.list_alerts(engine, limit=2)
    assert page.acknowledged == {ids[3]: T0 + timedelta(minutes=5)}


def test_detail_and_acknowledge(engine) -> None:
    assert store.alert_detail(engine, 99) is None
    assert store.acknowledge(engine, 99, T0, "ann", None) is None
    with engine.begin() as conn:
        alert_id = _open(conn, "a", "m")
    assert store.acknowledge(engine, alert_id, T0, "ann", "on it") == "firing"
    detail = store.alert_detail(engine, alert_id)
    assert detail is not None
    assert detail["acknowledged_at"] == T0 and detail["deliveries"] == []
    [event] = detail["history"]
    assert (event["state"], event["detail"]) == (
        "acknowledged",
        {"by": "ann", "comment": "on it", "state": "firing"},
    )
    assert list(detail)[-3:] == ["acknowledged_at", "history", "deliveries"]
