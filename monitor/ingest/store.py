"""What the writer thread does with one batch: its rows and its sketch deltas, one transaction.

Deltas are built from the batch's columns while the batch's rows go to the database, and
written in the batch's transaction only when every prediction of the batch was inserted: a
redelivered or partly duplicate batch adds no delta (the run's coverage check rebuilds what
is missing). A delta that cannot be built or stored is logged and skipped; the events
themselves are stored.

With `delta_process`, the writer gathers each monitor's inputs (feature values coded as
arrays, bucket of each row: C-level passes) and a worker process (`DeltaWorker`) bins and
serialises them, so that CPU work (about a quarter of the consumer's, see bench/RESULTS.md)
runs beside the consumer's polling and parsing instead of under the same GIL, overlapped
with the batch's COPY. The worker only computes: every write stays in the batch's
transaction. Built in the writer thread (the default) the deltas cost less CPU in all (no
transfer); the worker pays only where a core is free for it.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, cast

from monitor.bucketing import DeltaInputs, coded_inputs, input_rows, plan_inputs
from monitor.errors import MonitorError
from monitor.ingest.batch import Batch
from monitor.storage.db import Connection, Engine
from monitor.storage.sketch_store import DeltaRow
from monitor.storage.writes import StoreResult, store_batch

log = logging.getLogger("monitor.bucketing")

Job = Future["list[DeltaRow] | str | None"]


def delta_job(inputs: list[DeltaInputs]) -> list[DeltaRow] | str | None:
    """In the worker: the delta rows of a batch's inputs. A MonitorError comes back as its
    message (the writer logs it and stores no delta); None: some values need the frame path
    (the writer builds that batch's deltas itself)."""
    out: list[DeltaRow] = []
    try:
        for one in inputs:
            rows = input_rows(one)
            if rows is None:
                return None
            out.extend(rows)
    except MonitorError as exc:
        return str(exc)
    return out


def _worker_start() -> None:
    """The worker's initializer: Ctrl-C (sent to the whole process group) is the parent's
    to handle; the worker stops when the parent closes it (or dies: its pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start
            )
        return self._pool

    def submit(self, inputs: list[DeltaInputs]) -> Job | None:
        """The job's future, or None when the worker cannot take it (build in-process)."""
        try:
            return self._executor().submit(delta_job, inputs)
        except (BrokenProcessPool, RuntimeError) as exc:
            self._broken(exc)
            return None

    def result(self, future: Job) -> list[DeltaRow] | str | None:
        """`delta_job`'s answer; None also when the worker died (build in-process)."""
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

    def _submit(self, batch: Batch) -> Job | None:
        """Gather the deltas' inputs here (C-level column passes) and hand the binning and
        serialising to the worker; None: build them in-process (no worker, no reference)."""
        if self._worker is None:
            return None
        plan = self._sketcher.plan()
        if not plan:
            return None
        try:
            inputs = [coded_inputs(one) for one in plan_inputs(plan, batch.predictions)]
        except MonitorError:
            return None  # prepare() logs it
        if any(one is None for one in inputs):
            return None  # some column needs the frame path: prepare() builds them here
        return self._worker.submit(cast(list[DeltaInputs], inputs))

    def _collect(self, pending: Job, batch: Batch) -> list[DeltaRow]:
        assert self._worker is not None
        out = self._worker.result(pending)
        if out is None:  # the worker died, or the frame path is needed: build them here
            return self._sketcher.prepare(batch.predictions) or []
        if isinstance(out, str):
            log.warning("sketch_deltas_skipped", extra={"error": out[:300]})
            return []
        return out

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()


YOUNG_GC_THRESHOLD = 20_000  # allocations between generation-0 collections (CPython: 700)


def batch_store(
    engine: Engine, sketcher: Any = None, *, delta_process: bool = False
) -> Callable[[Batch], StoreResult]:
    """The store callable of the ingestion loop; `sketcher` is a BucketSketcher or None;
    `delta_process`: build the deltas in a worker process (call `close()` when done).

    Also moves every object alive now (the imported modules of numpy, pandas, SQLAlchemy,
    kafka-python: ~150k objects) out of the cyclic collector's reach (`gc.freeze`). Each
    batch makes tens of thousands of short-lived containers, which trigger full collections
    every few batches; without the freeze each of them re-scans the whole start-up heap
    (measured: 17 us of wall time per event in generation-2 collections with deltas on).
    And collects the youngest generation every YOUNG_GC_THRESHOLD allocations instead of
    700: the batches in flight are ~100k containers that die by reference counting, and at
    700 many of them were traversed (and promoted, then re-traversed in generation 1) first:
    4-12 us of wall time per event in generations 0-1 (bench/RESULTS.md)."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(max(gc.get_threshold()[0], YOUNG_GC_THRESHOLD), older, oldest)
    worker = DeltaWorker() if delta_process and sketcher is not None else None
    return BatchStore(engine, sketcher, worker)


__all__ = ["BatchStore", "DeltaWorker", "batch_store", "delta_job"]
