"""What the writer thread does with one batch: its rows and its sketch deltas, one transaction.

Deltas are built from the batch's columns while the batch's rows go to the database, and
written in the batch's transaction only when every prediction of the batch was inserted: a
redelivered or partly duplicate batch adds no delta (the run's coverage check rebuilds what
is missing). A delta that cannot be built or stored is logged and skipped; the events
themselves are stored.

With `delta_process`, the deltas are built in a worker process (`DeltaWorker`) from the
batch's raw messages, so that CPU work (~30% of the consumer's, see bench/RESULTS.md) runs
beside the consumer's polling and parsing instead of under the same GIL. The worker only
computes: every write stays in the batch's transaction on the writer thread.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from monitor.errors import MonitorError
from monitor.event_columns import parse_prediction_batch
from monitor.ingest.batch import Batch
from monitor.storage.db import Connection, Engine
from monitor.storage.sketch_store import DeltaRow
from monitor.storage.writes import StoreResult, store_batch

log = logging.getLogger("monitor.bucketing")

# Accepted messages passed these limits already; the worker re-parses them with none.
_NO_LIMIT = 1 << 62


def delta_job(plan: Any, raws: list[bytes]) -> list[DeltaRow] | str:
    """In the worker: parse accepted messages back into columns and build their deltas.
    A MonitorError comes back as its message (the writer logs it and stores no delta)."""
    from monitor.bucketing import plan_rows

    cols, rejected = parse_prediction_batch(raws, max_bytes=_NO_LIMIT)
    if rejected:  # cannot happen for accepted messages; never store deltas of other rows
        return f"{len(rejected)} accepted messages did not parse again"
    try:
        return plan_rows(plan, cols)
    except MonitorError as exc:
        return str(exc)


def _warm_up() -> None:
    import monitor.bucketing  # noqa: F401  (numpy, pandas, the drift sketches: once)


class DeltaWorker:
    """One spawned process that builds sketch deltas; restarted when it dies."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._executor().submit(_warm_up)  # start now: imports take seconds, not the 1st batch

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up
            )
        return self._pool

    def submit(self, plan: Any, raws: list[bytes]) -> Future[list[DeltaRow] | str] | None:
        """The job's future, or None when the worker cannot take it (build in-process)."""
        try:
            return self._executor().submit(delta_job, plan, raws)
        except (BrokenProcessPool, RuntimeError) as exc:
            self._broken(exc)
            return None

    def result(self, future: Future[list[DeltaRow] | str]) -> list[DeltaRow] | str | None:
        """The job's rows or error message; None when the worker died (build in-process)."""
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self._broken(exc)
            return None

    def _broken(self, exc: BaseException) -> None:
        log.warning("delta_worker_restarted", extra={"error": str(exc)[:300]})
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class BatchStore:
    """The store callable of the ingestion loop (`batch_store`); `close()` stops its worker."""

    def __init__(self, engine: Engine, sketcher: Any, worker: DeltaWorker | None) -> None:
        self._engine = engine
        self._sketcher = sketcher
        self._worker = worker

    def __call__(self, batch: Batch) -> StoreResult:
        predictions, sketcher = batch.predictions, self._sketcher
        if sketcher is None or not predictions:
            return store_batch(self._engine, predictions, batch.labels, batch.dead_letters)
        pending = self._submit(batch)
        rows = None if pending is not None else sketcher.prepare(predictions)

        def deltas(conn: Connection, result: StoreResult) -> None:
            if not 0 < len(predictions) == result.predictions_inserted:
                return
            built = rows if pending is None else self._collect(pending, batch)
            if built:
                sketcher.write(conn, built)

        if pending is None and not rows:
            return store_batch(self._engine, predictions, batch.labels, batch.dead_letters)
        return store_batch(self._engine, predictions, batch.labels, batch.dead_letters, also=deltas)

    def _submit(self, batch: Batch) -> Future[list[DeltaRow] | str] | None:
        if self._worker is None or batch.prediction_raws is None:
            return None
        plan = self._sketcher.plan()
        if not plan:
            return None
        return self._worker.submit(plan, batch.prediction_raws)

    def _collect(self, pending: Future[list[DeltaRow] | str], batch: Batch) -> list[DeltaRow]:
        assert self._worker is not None
        out = self._worker.result(pending)
        if out is None:  # the worker died: build them here
            return self._sketcher.prepare(batch.predictions) or []
        if isinstance(out, str):
            log.warning("sketch_deltas_skipped", extra={"error": out[:300]})
            return []
        return out

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()


def batch_store(
    engine: Engine, sketcher: Any = None, *, delta_process: bool = False
) -> Callable[[Batch], StoreResult]:
    """The store callable of the ingestion loop; `sketcher` is a BucketSketcher or None;
    `delta_process`: build the deltas in a worker process (call `close()` when done).

    Also moves every object alive now (the imported modules of numpy, pandas, SQLAlchemy,
    kafka-python: ~150k objects) out of the cyclic collector's reach (`gc.freeze`). Each
    batch makes tens of thousands of short-lived containers, which trigger full collections
    every few batches; without the freeze each of them re-scans the whole start-up heap
    (measured: 17 us of wall time per event in generation-2 collections with deltas on)."""
    gc.freeze()
    worker = DeltaWorker() if delta_process and sketcher is not None else None
    return BatchStore(engine, sketcher, worker)


__all__ = ["BatchStore", "DeltaWorker", "batch_store", "delta_job"]
