"""The database side of the pipeline: one thread stores batches, retrying while the DB is down.

Why a thread: storing batch N overlaps with polling and parsing batch N+1 (psycopg releases
the GIL while Postgres works). The Kafka consumer (client.GroupConsumer) is driven by one
thread only (its rebalance callbacks run inside poll()), so this thread never touches it:
the consumer thread waits on the job and commits offsets itself.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.backoff import backoff_s
from monitor.errors import StorageError
from monitor.ingest.batch import Batch

log = logging.getLogger("monitor.ingest.writer")

PERMANENT_ATTEMPTS = 3  # a StorageError that is not "unavailable" is retried this many times


def is_transient(exc: BaseException) -> bool:
    """The database is unreachable (retry until it returns), as opposed to refusing the data."""
    from monitor.storage.db import StorageUnavailable

    return isinstance(exc, StorageUnavailable)


@dataclass
class StoreJob:
    batch: Batch
    done: threading.Event = field(default_factory=threading.Event)
    abandoned: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None  # set when storing failed for good (not retried further)
    attempts: int = 0
    seconds: float = 0.0  # time spent in the store call(s)

    @property
    def stored(self) -> bool:
        return self.done.is_set() and self.error is None and not self.abandoned.is_set()


class BatchWriter:
    """Stores submitted batches one at a time, in order; retries transient failures forever."""

    def __init__(
        self,
        store: Callable[[Batch], Any],
        backoff_max_s: float,
        depth: int = 1,
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> None:
        self._store = store
        self._backoff_max_s = backoff_max_s
        self._on_retry = on_retry
        self._jobs: queue.Queue[StoreJob | None] = queue.Queue(maxsize=max(depth, 1))
        self._thread = threading.Thread(target=self._run, name="monitor-batch-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: Batch) -> StoreJob:
        job = StoreJob(batch)
        self._jobs.put(job)
        return job

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread after the current job (an abandoned job stops at its next retry)."""
        try:
            self._jobs.put(None, timeout=timeout_s)
        except queue.Full:
            return  # still stuck on a job: the thread is a daemon and dies with the process
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._process(job)

    def _process(self, job: StoreJob) -> None:
        began = time.monotonic()
        try:
            while not job.abandoned.is_set():
                job.attempts += 1
                try:
                    job.result = self._store(job.batch)
                    return
                except StorageError as exc:
                    if not is_transient(exc) and job.attempts >= PERMANENT_ATTEMPTS:
                        job.error = exc
                        return
                    self._wait_retry(job, exc)
        except BaseException as exc:  # a bug: hand it to the consumer thread, do not die silently
            job.error = exc
        finally:
            job.seconds = time.monotonic() - began
            job.done.set()

    def _wait_retry(self, job: StoreJob, exc: StorageError) -> None:
        delay = backoff_s(job.attempts - 1, self._backoff_max_s)
        log.warning(
            "store_retry",
            extra={
                "attempt": job.attempts,
                "retry_in_s": round(delay, 2),
                "error": str(exc)[:300],
                "events": job.batch.size,
            },
        )
        if self._on_retry is not None:
            self._on_retry(exc, delay)
        job.abandoned.wait(delay)
