"""storage.silences on both dialects: stored as given, listed ending soonest first, removed,
and the ones running for a monitor at an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.storage import silences as store

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_add_list_remove_and_active(engine) -> None:
    wide = store.insert_silence(engine, "m", None, T0 + 2 * HOUR, "deploy", T0)
    one = store.insert_silence(engine, "m", "drift", T0 + HOUR, None, T0)
    other = store.insert_silence(engine, "n", "drift", T0 + 3 * HOUR, None, T0)
    assert [s.id for s in store.list_silences(engine)] == [one.id, wide.id, other.id]
    assert [s.id for s in store.list_silences(engine, active_at=T0 + HOUR)] == [wide.id, other.id]
    assert wide.rule is None and wide.reason == "deploy" and wide.created_at == T0

    with engine.connect() as conn:
        now = store.active_silences(conn, "m", T0 + HOUR / 2)
        later = store.active_silences(conn, "m", T0 + HOUR)
        none = store.active_silences(conn, "x", T0)
    assert now.monitor_wide and now.rules == frozenset({"drift"})
    assert later.covers("anything") and later.rules == frozenset()
    assert not none.covers("drift")

    assert store.delete_silence(engine, wide.id) is True
    assert store.delete_silence(engine, wide.id) is False
