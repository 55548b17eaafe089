"""COPY sends the messages' own timestamp strings only when Postgres reads them as the very
instant the parser did; any other form is formatted from the parsed datetime."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from monitor.event_columns import parse_prediction_batch
from monitor.storage import store_batch
from monitor.storage.bulk import ts_texts
from monitor.storage.tables import predictions

SAME = [
    "2024-05-01T12:00:00Z",
    "2024-05-01T12:00:00.1Z",
    "2024-05-01T12:00:00.123Z",
    "2024-05-01T12:00:00.12345Z",
    "2024-05-01T12:00:00.999999Z",
    "2024-05-01T12:00:00.5+00:00",
    "2024-12-31T23:59:59.999999Z",
]
OTHER = [
    "2024-05-01T12:00:00.1234567Z",  # Python truncates the 7th digit, Postgres rounds it
    "2024-05-01 12:00:00Z",
    "2024-05-01T12:00Z",
    "20240501T120000Z",
    "2024-05-01T12:00:00.5-00:00",
    "2024-05-01T14:00:00.25+02:00",  # not UTC: parsed one by one
]


def batch(stamps: list[str]) -> Any:
    raws = [
        orjson.dumps({"event_id": f"e{i}", "model": "m", "timestamp": t, "features": {"x": 1.0}})
        for i, t in enumerate(stamps)
    ]
    cols, rejected = parse_prediction_batch(raws, max_bytes=1 << 20)
    assert not rejected
    return cols


def test_the_messages_strings_are_sent_only_in_a_form_both_read_alike() -> None:
    assert ts_texts(batch(SAME)) == SAME
    for other in OTHER:
        cols = batch([*SAME, other])
        assert ts_texts(cols) == [str(t) for t in cols.ts]


@pytest.mark.parametrize("stamps", [SAME, [*SAME, *OTHER]], ids=["own strings", "formatted"])
def test_postgres_stores_the_parsed_instant(ingest_engine: Any, stamps: list[str]) -> None:
    cols = batch(stamps)
    model = f"ts-{uuid.uuid4().hex[:8]}"
    cols.model = [model] * len(cols)
    result = store_batch(ingest_engine, cols, [], [])
    assert result.predictions_inserted == len(stamps)
    p = predictions.c
    with ingest_engine.connect() as conn:
        rows = dict(conn.execute(select(p.event_id, p.ts).where(p.model == model)).all())
    assert [rows[e] for e in cols.event_id] == cols.ts
