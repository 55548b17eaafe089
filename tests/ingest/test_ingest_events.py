"""Events through the real consumer loop into Postgres: valid shapes, malformed ones, redelivery."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
from ingest_support import wait_until
from sqlalchemy import select

from monitor.storage.tables import labels, predictions


def _valid_events(model: str) -> tuple[list[bytes], list[bytes]]:
    base = {"model": model, "features": {"x": 1.5, "y": "a"}}
    preds = [
        {
            **base,
            "event_id": "e1",
            "model_version": "7",
            "timestamp": "2024-05-01T10:00:00Z",
            "prediction": 1,
            "prediction_proba": 0.8,
            "segment": {"country": "FR"},
        },
        {
            **base,
            "event_id": "e2",
            "timestamp": "2024-05-01T12:00:00+02:00",
            "prediction": "b",
            "prediction_proba": {"a": 0.2, "b": 0.8},
            "tags": {"team": "growth"},
        },
        {
            "event_id": "e3",
            "model": model,
            "timestamp": 1714557600000,
            "features": {"flag": True, "missing": None, "n": 3, "s": "x"},
        },
        {
            "event_id": "e4",
            "model": model,
            "model_version": None,
            "timestamp": "2024-05-01T10:00:00Z",
            "features": {},
        },
        {**base, "event_id": "e5", "timestamp": "2024-05-01T10:00:00Z", "unknown_extra": [1, 2]},
        {
            **base,
            "event_id": "e6",
            "timestamp": "2024-05-01T10:00:00.123456Z",
            "segment": {"a": "1"},
            "tags": {"a": "2", "b": "3"},
        },
    ]
    labs = [
        {"event_id": "e1", "model": model, "label": 1, "timestamp": "2024-05-08T10:00:00Z"},
        {"event_id": "e2", "model": model, "label": "b", "timestamp": 1715162400000},
        {"event_id": "e3", "model": model, "label": False, "timestamp": "2024-05-08T10:00:00Z"},
    ]
    return [orjson.dumps(p) for p in preds], [orjson.dumps(x) for x in labs]


def test_valid_events_of_every_shape_land_once_and_redelivery_stores_nothing_twice(kit):
    kit.create_topics(partitions=2)
    preds, labs = _valid_events(kit.model)
    kit.produce(preds)
    kit.produce(labs, topic=kit.topics[1])

    first = kit.ingestor()
    thread, stop, errors = kit.start(first)
    wait_until(lambda: kit.predictions() == 6 and kit.labels() == 3, what="6 predictions, 3 labels")
    wait_until(lambda: first.metrics.batches and sum(first.metrics.consumed.values()) == 9)
    stop.set()
    thread.join(30)
    assert not errors

    with kit.engine.connect() as conn:
        rows = {
            r.event_id: r
            for r in conn.execute(select(predictions).where(predictions.c.model == kit.model))
        }
        label_rows = {
            r.event_id: r.label
            for r in conn.execute(select(labels).where(labels.c.model == kit.model))
        }
    assert sorted(rows) == ["e1", "e2", "e3", "e4", "e5", "e6"]
    assert rows["e2"].ts == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)  # +02:00 normalised to UTC
    assert rows["e3"].ts == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)  # epoch ms
    assert rows["e6"].ts == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert rows["e2"].prediction_proba == {"a": 0.2, "b": 0.8}
    assert rows["e3"].features == {"flag": True, "missing": None, "n": 3, "s": "x"}
    assert rows["e6"].segment == {"a": "1", "b": "3"}  # segment wins over tags on a clash
    assert rows["e1"].model_version == "7" and rows["e4"].model_version is None
    assert label_rows == {"e1": 1, "e2": "b", "e3": False}
    assert kit.dead_letters() == []
    assert first.metrics.stored_predictions == Counter({kit.model: 6})

    # Redelivery: a second group re-reads every message; the store already has them all.
    second = kit.ingestor(group=f"g2-{kit.uid}")
    thread, stop, errors = kit.start(second)
    wait_until(lambda: sum(second.metrics.consumed.values()) == 9, what="re-read of 9 messages")
    stop.set()
    thread.join(30)
    assert not errors
    assert second.metrics.duplicates == 9
    assert kit.predictions() == 6 and kit.labels() == 3


def _event(model: str, event_id: str, **extra) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "model": model,
            "timestamp": "2024-05-01T10:00:00Z",
            "features": {"x": 1.0},
            **extra,
        }
    )


def test_malformed_events_go_to_dead_letters_with_the_right_reason(kit):
    kit.create_topics(partitions=1)
    m = kit.model
    huge = _event(m, "huge", features={f"f{i}": i for i in range(2000)})
    assert len(huge) > 8192
    messages = [  # offset: message, expected reason (None: valid)
        (_event(m, "ok-0"), None),
        (b'{"event_id": "x", "model": ', "invalid_json"),
        (_event(m, "ok-2"), None),
        (orjson.dumps({"model": m, "timestamp": 1, "features": {}}), "missing_field"),
        (_event(m, "wt", features=[1, 2]), "wrong_type"),
        (huge, "too_large"),
        (
            b'{"event_id": "nan", "model": "%s", "timestamp": 1, "features": {"x": NaN}}'
            % m.encode(),
            "non_finite_number",
        ),
        (
            b'{"event_id": "inf", "model": "%s", "timestamp": 1, "features": {}, '
            b'"prediction_proba": Infinity}' % m.encode(),
            "non_finite_number",
        ),
        (_event("no-such-model", "unknown"), "unknown_model"),
        (_event(m, "ok-9"), None),
        (b"", "invalid_json"),
        (b"\xff\xfe not utf-8", "invalid_utf8"),
        (_event(m, "ok-12", timestamp="2024-05-01T10:00:00"), "invalid_timestamp"),
        (_event(m, "ok-13"), None),
    ]
    kit.produce([v for v, _ in messages], partition=0)
    bad_labels = [
        (orjson.dumps({"event_id": "ok-0", "model": m, "label": 1, "timestamp": 1}), None),
        (orjson.dumps({"event_id": "ok-2", "model": m, "timestamp": 1}), "missing_field"),
        (
            orjson.dumps({"event_id": "ok-2", "model": m, "label": [1], "timestamp": 1}),
            "wrong_type",
        ),
    ]
    kit.produce([v for v, _ in bad_labels], topic=kit.topics[1], partition=0)

    ingestor = kit.ingestor(
        settings=kit.settings(max_payload_bytes=8192, dead_letter_raw_bytes=256)
    )
    thread, stop, errors = kit.start(ingestor)
    total = len(messages) + len(bad_labels)
    wait_until(lambda: sum(ingestor.metrics.consumed.values()) == total, what=f"{total} messages")
    stop.set()
    thread.join(30)
    assert not errors

    expected = {(0, off, reason) for off, (_, reason) in enumerate(messages) if reason}
    expected |= {(0, off, reason) for off, (_, reason) in enumerate(bad_labels) if reason}
    dead = kit.dead_letters()
    assert {(p, o, r) for p, o, r, _ in dead} == expected
    assert len(dead) == len(expected)
    raw_by_offset = {o: raw for p, o, r, raw in dead if r == "too_large"}
    assert raw_by_offset[5] == huge[:256]  # a bounded prefix, verbatim
    assert kit.predictions() == 4  # ok-0, ok-2, ok-9, ok-13
    assert kit.labels() == 1
    reasons = Counter(r for _, _, r in expected)
    assert ingestor.metrics.rejected == reasons


def test_lag_is_highwater_minus_the_first_offset_not_yet_stored(kit):
    kit.create_topics(partitions=1)
    kit.produce([_event(kit.model, f"e{i}") for i in range(200)], partition=0)
    seen: list[dict[str, int]] = []
    holder: dict = {}

    def before_commit(batch):  # runs on the consumer thread, right after the first DB commit
        if not seen:
            seen.append(holder["ingestor"].update_lag())

    settings = kit.settings()
    settings = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"max_poll_records": 10})}
    )
    ingestor = kit.ingestor(settings=settings, before_commit=before_commit)
    holder["ingestor"] = ingestor
    thread, stop, errors = kit.start(ingestor)
    wait_until(lambda: kit.predictions() == 200, what="200 predictions")
    stop.set()
    thread.join(30)
    assert not errors
    lag = seen[0][f"{kit.topics[0]}:0"]
    # highwater is 200; when the first batch (offsets 0-9) commits, offset 10 is the first
    # not yet stored, however many later batches the pipeline has polled already
    assert lag == 190
    assert ingestor.metrics.lag == {f"{kit.topics[0]}:0": 0}
