"""What the writer thread does with one batch: its rows and its sketch deltas, one transaction.

Deltas are built from the batch's columns before the transaction (CPU work, while the
consumer thread polls and parses the next batch) and written in the batch's transaction
only when every prediction of the batch was inserted: a redelivered or partly duplicate
batch adds no delta (the run's coverage check rebuilds what is missing). A delta that
cannot be built or stored is logged and skipped; the events themselves are stored.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from monitor.ingest.batch import Batch
from monitor.storage.db import Connection, Engine
from monitor.storage.writes import StoreResult, store_batch


def batch_store(engine: Engine, sketcher: Any = None) -> Callable[[Batch], StoreResult]:
    """The store callable of the ingestion loop; `sketcher` is a BucketSketcher or None.

    Also moves every object alive now (the imported modules of numpy, pandas, SQLAlchemy,
    kafka-python: ~150k objects) out of the cyclic collector's reach (`gc.freeze`). Each
    batch makes tens of thousands of short-lived containers, which trigger full collections
    every few batches; without the freeze each of them re-scans the whole start-up heap
    (measured: 17 us of wall time per event in generation-2 collections with deltas on)."""
    gc.freeze()

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
