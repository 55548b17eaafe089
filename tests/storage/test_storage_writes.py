"""store_batch on both dialects: round trips, idempotency, label replacement, rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import inspect, select, text

from monitor.errors import StorageError
from monitor.events import DeadLetter, Label, Prediction, parse_label, parse_prediction
from monitor.storage import (
    StorageUnavailable,
    count_labels,
    count_predictions,
    dead_letter_counts,
    dead_letters,
    latest_predictions,
    store_batch,
)
from monitor.storage.tables import labels, predictions

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def pred(event_id: str, model: str = "m", minutes: int = 0, **kw) -> Prediction:
    fields = {
        "model_version": None,
        "features": {"x": 1.0},
        "prediction": None,
        "prediction_proba": None,
        "segment": None,
    } | kw
    return Prediction(event_id, model, ts=T0 + timedelta(minutes=minutes), **fields)


def dead(offset: int, reason: str = "invalid_json", topic: str = "predictions") -> DeadLetter:
    return DeadLetter(topic, 0, offset, reason, f"detail {offset}", b"{bad", T0)


SHAPES = [
    b'{"event_id":"1","model":"m","timestamp":"2024-05-01T12:00:00Z","features":{}}',
    b'{"event_id":"2","model":"m","model_version":"v1","timestamp":1714564800123,'
    b'"features":{"n":1,"f":-2.5e-3,"s":"red","b":false,"z":null},"prediction":3,'
    b'"prediction_proba":0.25,"segment":{"country":"FR"}}',
    b'{"event_id":"3","model":"m","timestamp":"2024-05-01T14:00:00.5+02:00",'
    b'"features":{"big":1e300,"neg":-9223372036854775808},"prediction":"cat",'
    b'"prediction_proba":{"cat":0.75,"dog":0.25},"tags":{"t":"x"},"extra":[1,2]}',
    b'{"event_id":"4","model":"m","timestamp":"2024-05-01T12:00:00Z","features":{"x":1},'
    b'"prediction":1.5,"segment":{"a":"1"},"tags":{"a":"2","b":"3"}}',
]


def test_every_shape_round_trips(engine) -> None:
    parsed = [parse_prediction(raw, max_bytes=10_000) for raw in SHAPES]
    result = store_batch(engine, parsed, [], [])
    assert result.predictions_inserted == len(SHAPES) and result.duplicates == 0
    stored = {p.event_id: p for p in latest_predictions(engine, 100)}
    assert stored == {p.event_id: p for p in parsed}
    assert stored["4"].segment == {"a": "1", "b": "3"}  # segment wins over tags
    assert type(stored["2"].features["b"]) is bool and type(stored["2"].prediction) is int


@pytest.mark.parametrize("label", [True, 0, 2.5, "spam"])
def test_label_values_round_trip(engine, label) -> None:
    raw = orjson.dumps({"event_id": "e", "model": "m", "label": label, "timestamp": 0})
    store_batch(engine, [], [parse_label(raw, max_bytes=1000)], [])
    with engine.connect() as conn:
        stored = conn.execute(select(labels.c.label, labels.c.ts)).one()
    assert stored.label == label and type(stored.label) is type(label)
    assert stored.ts == datetime(1970, 1, 1, tzinfo=UTC)


def test_redelivered_batch_stores_nothing_twice(engine) -> None:
    batch = [pred(str(i), minutes=i) for i in range(50)]
    labs = [Label(str(i), "m", i % 2 == 0, T0) for i in range(10)]
    deads = [dead(i) for i in range(3)]
    first = store_batch(engine, batch, labs, deads)
    assert (first.predictions_inserted, first.labels_inserted, first.dead_letters_inserted) == (
        50,
        10,
        3,
    )
    again = store_batch(engine, batch, labs, deads)
    assert (again.predictions_inserted, again.labels_inserted, again.dead_letters_inserted) == (
        0,
        0,
        0,
    )
    assert again.duplicates == 63
    assert count_predictions(engine) == 50 and count_labels(engine) == 10
    assert dead_letter_counts(engine) == {"invalid_json": 3}


def test_duplicates_inside_one_batch_and_overlapping_batches(engine) -> None:
    result = store_batch(engine, [pred("a"), pred("a"), pred("b")], [], [dead(1), dead(1)])
    assert result.predictions_inserted == 2 and result.dead_letters_inserted == 1
    assert result.duplicates == 2
    result = store_batch(engine, [pred("b"), pred("c")], [], [dead(1), dead(2)])
    assert (result.predictions_inserted, result.dead_letters_inserted, result.duplicates) == (
        1,
        1,
        2,
    )
    assert count_predictions(engine) == 3


def test_same_event_id_in_two_models_is_two_events(engine) -> None:
    store_batch(engine, [pred("a", model="m1"), pred("a", model="m2")], [], [])
    assert count_predictions(engine, "m1") == 1 and count_predictions(engine, "m2") == 1


def test_newer_label_replaces_older_never_the_reverse(engine) -> None:
    store_batch(engine, [], [Label("e", "m", "old", T0)], [])
    r = store_batch(engine, [], [Label("e", "m", "newer", T0 + timedelta(hours=1))], [])
    assert r.labels_inserted == 1
    r = store_batch(engine, [], [Label("e", "m", "stale", T0 + timedelta(minutes=30))], [])
    assert r.labels_inserted == 0 and r.duplicates == 1
    # two labels for one prediction in one batch: the newest wins, whatever the order
    store_batch(
        engine,
        [],
        [Label("f", "m", "late", T0 + timedelta(hours=2)), Label("f", "m", "early", T0)],
        [],
    )
    with engine.connect() as conn:
        rows = dict(conn.execute(select(labels.c.event_id, labels.c.label)).all())
    assert rows == {"e": "newer", "f": "late"}


def test_label_before_prediction_joins_when_prediction_arrives(engine) -> None:
    store_batch(engine, [], [Label("e1", "m", 1, T0 + timedelta(days=2))], [])
    store_batch(engine, [pred("e1", prediction=0.9), pred("e2")], [], [])
    stmt = (
        select(predictions.c.event_id, predictions.c.prediction, labels.c.label)
        .join(
            labels,
            (labels.c.model == predictions.c.model) & (labels.c.event_id == predictions.c.event_id),
        )
        .order_by(predictions.c.event_id)
    )
    with engine.connect() as conn:
        assert conn.execute(stmt).all() == [("e1", 0.9, 1)]


def test_failing_batch_rolls_back_entirely(engine) -> None:
    broken = DeadLetter(None, 0, 99, "invalid_json", "x", b"", T0)  # type: ignore[arg-type]
    with pytest.raises(StorageError) as info:
        store_batch(engine, [pred("a"), pred("b")], [Label("a", "m", 1, T0)], [dead(1), broken])
    assert not isinstance(info.value, StorageUnavailable)
    assert "\n" not in str(info.value)
    assert count_predictions(engine) == 0 and count_labels(engine) == 0
    assert dead_letter_counts(engine) == {}


HOSTILE = [
    "'; DROP TABLE predictions; --",
    'a"b\\c',
    "名前 🚀",
    "line\nbreak\ttab",
    "%(m)s %s {x} :name $1",
]


def test_untrusted_names_are_stored_verbatim(engine) -> None:
    batch = [
        pred(
            name,
            model=name,
            features={name: name, "x": 1.0},
            prediction=name,
            prediction_proba={name: 1.0},
            segment={name: name},
        )
        for name in HOSTILE
    ]
    labs = [Label(name, name, name, T0) for name in HOSTILE]
    deads = [DeadLetter(name, 1, 7, "wrong_type", name, name.encode(), T0) for name in HOSTILE]
    result = store_batch(engine, batch, labs, deads)
    assert result.predictions_inserted == result.labels_inserted == len(HOSTILE)
    assert {p.event_id: p for p in latest_predictions(engine, 100)} == {
        p.event_id: p for p in batch
    }
    assert {d.topic: d.raw for d in dead_letters(engine, 100)} == {n: n.encode() for n in HOSTILE}
    for name in HOSTILE:
        assert count_predictions(engine, name) == 1 and count_labels(engine, name) == 1
    assert "predictions" in inspect(engine).get_table_names()


def test_unreachable_database_raises_storage_unavailable_without_password() -> None:
    import socket

    from monitor.storage import make_engine

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = make_engine(f"postgresql+psycopg://postgres:s3cr3t-pw@127.0.0.1:{port}/x")
    with pytest.raises(StorageUnavailable) as info:
        store_batch(eng, [pred("a")], [], [])
    assert "s3cr3t-pw" not in str(info.value) and "\n" not in str(info.value)
    assert "unavailable" in str(info.value)


def test_missing_sqlite_directory_is_a_storage_error(tmp_path) -> None:
    from monitor.storage import make_engine

    with pytest.raises(StorageError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'nope' / 'x.db'}")


def test_postgres_connection_killed_between_batches_recovers(storage_pg_engine) -> None:
    eng = storage_pg_engine
    with eng.begin() as conn:
        conn.execute(text("TRUNCATE predictions"))
    store_batch(eng, [pred("a")], [], [])
    with eng.connect() as conn:  # kill every other session on this database (the pool's)
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert store_batch(eng, [pred("b")], [], []).predictions_inserted == 1  # pre-ping reconnects
    assert count_predictions(eng) == 2
