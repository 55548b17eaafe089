"""What the writer thread does with one batch: its rows and its sketch deltas, one transaction.

Deltas are built from the batch's columns before the transaction (CPU work, while the
consumer thread polls and parses the next batch) and written in the batch's transaction
only when every prediction of the batch was inserted: a redelivered or partly duplicate
batch adds no delta (the run's coverage check rebuilds what is missing). A delta that
cannot be built or stored is logged and skipped; the events themselves are stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from monitor.ingest.batch import Batch
from monitor.storage.writes import StoreResult, store_batch


def batch_store(engine: Engine, sketcher: Any = None) -> Callable[[Batch], StoreResult]:
    """The store callable of the ingestion loop; `sketcher` is a BucketSketcher or None."""

    def store(batch: Batch) -> StoreResult:
        predictions = batch.predictions
        rows = sketcher.prepare(predictions) if sketcher is not None else None

        def deltas(conn: Connection, result: StoreResult) -> None:
            if rows and 0 < len(predictions) == result.predictions_inserted:
                sketcher.write(conn, rows)

        return store_batch(
            engine, predictions, batch.labels, batch.dead_letters, also=deltas if rows else None
        )

    return store


__all__ = ["batch_store"]
