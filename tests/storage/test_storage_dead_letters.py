"""storage.dead_letters on both dialects: listing, counts, and a replay's reads and writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.events import DeadLetter
from monitor.storage import store_batch
from monitor.storage.dead_letters import (
    NewReason,
    count_dead_letters,
    dead_letter_counts,
    dead_letter_counts_since,
    list_dead_letters,
    missing_ids,
    newest_dead_letters,
    next_chunk,
    replay_transaction,
    settle_replayed,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _seed(engine, *reasons: str) -> None:
    letters = [
        DeadLetter(
            "predictions",
            0,
            i,
            reason,
            f"detail {i}",
            b"{bad" + bytes([i]),
            T0 + timedelta(minutes=i),
        )
        for i, reason in enumerate(reasons)
    ]
    store_batch(engine, [], [], letters)


def test_listing_and_counts(engine) -> None:
    _seed(engine, "invalid_json", "unknown_model", "invalid_json")

    rows = list_dead_letters(engine)
    assert [(r.id, r.offset, r.reason) for r in rows] == [
        (3, 2, "invalid_json"),
        (2, 1, "unknown_model"),
        (1, 0, "invalid_json"),
    ]
    assert rows[0].raw == b"{bad\x02" and rows[0].received_at == T0 + timedelta(minutes=2)
    assert [r.id for r in list_dead_letters(engine, "unknown_model")] == [2]
    assert [r.id for r in list_dead_letters(engine, limit=1)] == [3]
    assert [d.offset for d in newest_dead_letters(engine, 2)] == [2, 1]
    assert count_dead_letters(engine) == 3
    assert dead_letter_counts(engine) == {"invalid_json": 2, "unknown_model": 1}
    assert dead_letter_counts_since(engine, T0 + timedelta(minutes=1)) == {
        "invalid_json": 1,
        "unknown_model": 1,
    }
    assert missing_ids(engine, [3, 9, 1, 7]) == [9, 7]


def test_replay_chunk_reads_and_settles(engine) -> None:
    _seed(engine, "invalid_json", "unknown_model", "invalid_json", "too_large")

    with replay_transaction(engine) as conn:
        first = next_chunk(conn, 0, None, None, 2, lock=True)
        rest = next_chunk(conn, first[-1].id, None, None, 2, lock=True)
        only = next_chunk(conn, 0, "invalid_json", [3, 4], 10, lock=False)
        settle_replayed(conn, [1, 2], [NewReason(3, "invalid_timestamp", "no zone")])

    assert [r.id for r in first] == [1, 2] and [r.id for r in rest] == [3, 4]
    assert [r.id for r in only] == [3]
    left = {r.id: (r.reason, r.detail) for r in list_dead_letters(engine)}
    assert left == {3: ("invalid_timestamp", "no zone"), 4: ("too_large", "detail 3")}
