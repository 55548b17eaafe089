"""The consumer's small storage calls: the outage probe and the sketch-delta writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from monitor.errors import StorageError
from monitor.storage import make_engine
from monitor.storage.db import StorageUnavailable
from monitor.storage.ingest_store import ping, write_deltas, write_deltas_nested
from monitor.storage.sketch_store import DeltaRow
from monitor.storage.tables import feature_sketches, reference_datasets
from monitor.storage.writes import write_batch

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def _reference(engine: Engine) -> int:
    with engine.begin() as conn:
        return conn.execute(
            reference_datasets.insert()
            .values(monitor="m", version=1, source="t", row_count=1, spec={}, created_at=T0)
            .returning(reference_datasets.c.id)
        ).scalar_one()


def _rows(ref_id: int, n: int = 3) -> list[DeltaRow]:
    return [DeltaRow("m", ref_id, f"f{i}", T0, 10, b"sketch") for i in range(n)]


def _deltas(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(feature_sketches)).scalar_one()


def test_ping_answers_and_reports_an_unreachable_database(engine: Engine) -> None:
    ping(engine)
    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with pytest.raises(StorageUnavailable):
        ping(down)
    down.dispose()


def test_write_deltas(engine: Engine) -> None:
    ref_id = _reference(engine)
    assert write_deltas(engine, _rows(ref_id)) == 3
    assert _deltas(engine) == 3


def test_a_refused_nested_write_leaves_the_batch_transaction_usable(
    storage_pg_engine: Engine,
) -> None:
    engine = storage_pg_engine
    before = _deltas(engine)
    with engine.begin() as conn:
        with pytest.raises(StorageError):
            write_deltas_nested(engine, conn, _rows(-1))  # no such reference
        write_batch(conn, [], [], [], T0)  # the outer transaction goes on
    assert _deltas(engine) == before
