"""COPY writes (Postgres): the same stored rows as the INSERT path, and the fallback to it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from monitor.event_columns import PredictionColumns
from monitor.events import Prediction
from monitor.storage import store_batch
from monitor.storage.bulk import CopyConflict, _copy_text, json_columns
from monitor.storage.tables import predictions
from monitor.storage.writes import write_batch

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
AWKWARD = ["tab\there", "new\nline", "back\\slash", "quote\"'", "ünï", "\\N", "a,b;c|d", "cr\r"]
PLAIN = ["plain", "quote'", "ünï", "a,b;c|d", "N", "sp ace"]


@pytest.fixture
def pg(storage_pg_engine: Engine) -> Iterator[Engine]:
    with storage_pg_engine.begin() as conn:
        conn.execute(text("TRUNCATE predictions, labels, dead_letters, feature_sketches"))
    yield storage_pg_engine


def events(model: str, n: int = 20, words: list[str] = AWKWARD) -> list[Prediction]:
    out = []
    for i in range(n):
        word = words[i % len(words)]
        out.append(
            Prediction(
                f"{word}-{i}",
                model,
                word if i % 3 else None,
                T0 + timedelta(seconds=i, microseconds=i),
                {"x": i * 0.5, "n": i, "s": word, "b": i % 2 == 0, "z": None, word: -1e300},
                [None, 1, 0.25, word][i % 4],
                [None, 0.5, {word: 0.25, "other": 1}][i % 3],
                None if i % 2 else {"region": word},
            )
        )
    return out


def stored(engine: Engine, model: str) -> list[tuple]:
    p = predictions.c
    stmt = select(
        p.event_id, p.ts, p.model_version, p.features, p.prediction, p.prediction_proba, p.segment
    ).where(p.model == model)
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(stmt))


def test_copy_stores_what_insert_stores(pg: Engine) -> None:
    by_copy = store_batch(pg, events("copy"), [], [], received_at=T0)
    by_insert = store_batch(pg, events("insert"), [], [], received_at=T0, copy=False)
    assert by_copy == by_insert and by_copy.predictions_inserted == 20
    assert stored(pg, "copy") == stored(pg, "insert")
    assert stored(pg, "copy") == sorted(stored_rows(events("copy")))  # escapes intact


def test_plain_batches_are_copied_as_one_text_and_store_the_same(pg: Engine) -> None:
    plain, awkward = events("plain", words=PLAIN), events("awkward")
    assert _copy_text(text_columns(plain), 20).count("\n") == 20
    assert _copy_text(text_columns(awkward), 20) == ""  # escaping needed: psycopg's write_row
    assert _copy_text([["a\\N", "b"], [None, "c"]], 2) == ""  # a backslash is never trusted
    store_batch(pg, plain, [], [], received_at=T0)
    store_batch(pg, events("by-insert", words=PLAIN), [], [], received_at=T0, copy=False)
    assert stored(pg, "plain") == stored(pg, "by-insert") == sorted(stored_rows(plain))


def text_columns(batch: list[Prediction]) -> list[list]:
    cols = PredictionColumns.of(batch)
    at = [str(T0)] * len(cols)
    return [
        cols.model,
        cols.event_id,
        list(map(str, cols.ts)),
        cols.model_version,
        at,
        *list(json_columns(cols)),
    ]


def test_copy_conflicts_on_a_stored_row_and_rolls_back(pg: Engine) -> None:
    batch = events("m")
    store_batch(pg, batch[:5], [], [])
    with pytest.raises(CopyConflict), pg.begin() as conn:
        write_batch(conn, batch, [], [], T0, copy=True)
    assert len(stored(pg, "m")) == 5  # the conflicting COPY left nothing behind


def test_redelivered_and_overlapping_batches_fall_back_to_insert(pg: Engine) -> None:
    batch = events("m")
    first = store_batch(pg, batch[:12], [], [])
    again = store_batch(pg, batch[:12], [], [])
    overlap = store_batch(pg, batch[8:], [], [])
    assert (first.predictions_inserted, first.duplicates) == (12, 0)
    assert (again.predictions_inserted, again.duplicates) == (0, 12)
    assert (overlap.predictions_inserted, overlap.duplicates) == (8, 4)
    assert stored(pg, "m") == sorted(stored_rows(batch))


def test_a_duplicate_inside_one_batch_keeps_the_first(pg: Engine) -> None:
    batch = events("m", 3)
    twin = Prediction(batch[0].event_id, "m", "other", batch[0].ts, {"x": 99})
    result = store_batch(pg, PredictionColumns.of([*batch, twin]), [], [])
    assert (result.predictions_inserted, result.duplicates) == (3, 1)
    assert stored(pg, "m") == sorted(stored_rows(batch))


def stored_rows(batch: list[Prediction]) -> list[tuple]:
    return [
        (
            p.event_id,
            p.ts,
            p.model_version,
            p.features,
            p.prediction,
            p.prediction_proba,
            p.segment,
        )
        for p in batch
    ]


def _old_copy_text(columns: list[list[Any]], n_rows: int) -> str:
    """`_copy_text` before its per-column check (whole-text separator counts)."""
    nulls = 0
    texts: list[Any] = []
    for col in columns:
        if None in col:
            nulls += col.count(None)
            col = ["\\N" if v is None else v for v in col]
        texts.append(col)
    text = "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"
    if (
        text.count("\\") == nulls
        and text.count("\t") == n_rows * (len(columns) - 1)
        and text.count("\n") == n_rows
        and "\r" not in text
    ):
        return text
    return ""


_cell = st.one_of(
    st.none(),
    st.sampled_from([*AWKWARD, *PLAIN, "", "a\\N", "\\", "\\\\N"]),
    st.text(alphabet="ab\t\n\r\\N ü", max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_copy_text_check_is_the_whole_text_check(n_cols: int, n_rows: int, data: Any) -> None:
    columns = [data.draw(st.lists(_cell, min_size=n_rows, max_size=n_rows)) for _ in range(n_cols)]
    assert _copy_text(columns, n_rows) == _old_copy_text(columns, n_rows)
    assert _copy_text(columns, n_rows + 1) == ""
