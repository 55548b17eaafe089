"""Retention deletes only raw events past the cutoff; Postgres drops whole day partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from monitor.events import DeadLetter, Label, Prediction
from monitor.storage import (
    count_labels,
    count_predictions,
    delete_raw_events_before,
    ensure_partitions,
    maintain,
    store_batch,
)
from monitor.storage.dead_letters import count_dead_letters
from monitor.storage.retention import partition_name

NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def _events(days_ago: list[float]) -> tuple[list[Prediction], list[Label], list[DeadLetter]]:
    preds, labs, deads = [], [], []
    for i, d in enumerate(days_ago):
        ts = NOW - timedelta(days=d)
        preds.append(Prediction(f"e{i}", "m", None, ts, {"x": float(i)}))
        labs.append(Label(f"e{i}", "m", 1, ts))
        deads.append(DeadLetter("predictions", 0, i, "invalid_json", "d", b"x", ts))
    return preds, labs, deads


def test_retention_deletes_only_old_rows(engine) -> None:
    days = [40, 31, 30.5, 29.9, 1, 0]
    store_batch(engine, *_events(days))
    removed = delete_raw_events_before(engine, NOW - timedelta(days=30))
    assert removed == 3 * 3
    assert count_predictions(engine) == count_labels(engine) == count_dead_letters(engine) == 3
    assert delete_raw_events_before(engine, NOW - timedelta(days=30)) == 0


def test_maintain_uses_retention_days(engine) -> None:
    store_batch(engine, *_events([10, 3, 0]))
    assert maintain(engine, retention_days=5, now=NOW) == 3
    assert count_predictions(engine) == 2


def _partitions(engine) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'predictions'::regclass"
                )
            ).scalars()
        )


def test_postgres_drops_whole_partitions_and_deletes_the_rest(storage_pg_engine) -> None:
    eng = storage_pg_engine
    with eng.begin() as conn:
        conn.execute(text("TRUNCATE predictions, labels, dead_letters"))
    start = NOW - timedelta(days=4)
    ensure_partitions(eng, now=start, days_ahead=5, days_behind=0)
    old_day = partition_name(start.date())
    assert old_day in _partitions(eng)
    # 4 days ago (own partition), 3.5 days ago (partition), 60 days ago (DEFAULT), today
    store_batch(eng, *_events([4, 4, 3.5, 60, 0]))
    removed = delete_raw_events_before(eng, NOW - timedelta(days=3))
    assert removed == 4 * 3
    assert old_day not in _partitions(eng)  # dropped, not deleted row by row
    assert count_predictions(eng) == 1


def test_postgres_new_partition_takes_its_rows_from_default(storage_pg_engine) -> None:
    eng = storage_pg_engine
    with eng.begin() as conn:
        conn.execute(text("TRUNCATE predictions"))
    far = NOW + timedelta(days=40)
    name = partition_name(far.date())
    store_batch(eng, [Prediction("future", "m", None, far, {})], [], [])
    assert name not in _partitions(eng)
    assert ensure_partitions(eng, now=far, days_ahead=0, days_behind=0) == [name]
    with eng.connect() as conn:
        where = conn.execute(
            text("SELECT tableoid::regclass::text FROM predictions WHERE event_id = 'future'")
        ).scalar_one()
    assert where == name
    assert count_predictions(eng) == 1
