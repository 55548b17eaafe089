"""The ingestion loop: poll → parse → store the batch in one transaction → commit its offsets.

Delivery is at-least-once with idempotent writes: offsets are committed only after the
batch's database transaction has committed, so a crash anywhere re-reads (and harmlessly
re-stores) at most the uncommitted batches; nothing is lost and nothing is stored twice.

Pipelining: a writer thread stores batch N while this thread polls and parses the next
ones (at most `pipeline_depth` batches submitted and not yet committed). Offsets are
committed asynchronously as batches complete, and synchronously once on a clean stop.
While the writer waits on the database (slow, or down and retrying with backoff), this
thread pauses its partitions and keeps calling poll(), so the member stays in the group
(max_poll_interval_ms) and takes part in rebalances, without reading anything new.
Database down for longer than `leave_group_after_s`: the member abandons what it holds and
leaves the group, so members that can store take its partitions over; it probes the database
and rejoins when it answers (outage.py). Lag while paused: lag.py. Rebalances: ownership.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException
from kafka.structs import OffsetAndMetadata, TopicPartition

from monitor.ingest.batch import Batch, ParseRules, collect_records, parse_batch
from monitor.ingest.client import GroupConsumer, consumer_config
from monitor.ingest.counters import IngestMetrics
from monitor.ingest.lag import HighwaterReader, first_unstored, partition_lag
from monitor.ingest.outage import OutageClock, Probe, database_probe
from monitor.ingest.ownership import Ownership, partition_names
from monitor.ingest.writer import BatchWriter, StoreJob
from monitor.settings import KafkaSettings, Settings

log = logging.getLogger("monitor.ingest.consumer")

IDLE_POLL_EVERY_S = 1.0  # while waiting on the writer, poll (paused) at least this often
LAG_EVERY_S = 5.0
PROGRESS_LOG_EVERY_S = 30.0


def make_consumer(kafka: KafkaSettings, **overrides: Any) -> GroupConsumer:
    """A group consumer with manual commits, configured from settings (incl. SASL/TLS);
    `overrides` are librdkafka properties. A bad value raises ConfigError naming it."""
    return GroupConsumer(consumer_config(kafka, **overrides))


class Ingestor:
    """Runs the loop until `stop` is set; the caller owns the consumer's configuration."""

    def __init__(
        self,
        consumer: GroupConsumer,
        store: Callable[[Batch], Any],
        rules: ParseRules,
        *,
        backoff_max_s: float = 2.0,
        poll_timeout_ms: int = 500,
        max_records: int = 2000,
        shutdown_grace_s: float = 10.0,
        pipeline_depth: int = 3,
        metrics: IngestMetrics | None = None,
        before_commit: Callable[[Batch], None] | None = None,
        beat: Callable[[], None] | None = None,
        highwaters: HighwaterReader | None = None,
        probe: Probe | None = None,
        leave_group_after_s: float | None = None,
    ) -> None:
        self._consumer = consumer
        consumer.on_commit = self._commit_failed  # async commit results arrive in poll()
        self._rules = rules
        self._poll_ms = poll_timeout_ms
        self._max_records = max_records
        self._grace_s = shutdown_grace_s
        self.metrics = metrics or IngestMetrics()
        self._before_commit = before_commit  # test hook: runs after the DB commit, before Kafka's
        self._beat = beat
        self._highwaters = highwaters  # watermarks of paused partitions (see update_lag)
        # Database outage: after `leave_group_after_s` without storing, leave the group (the
        # other members take the partitions over); rejoin when `probe` passes again.
        self._outage = OutageClock(probe, leave_group_after_s, backoff_max_s)
        self._left = False
        self._topics = [rules.predictions_topic, rules.labels_topic]
        self._owner = Ownership()
        self._store = store
        self._writer = BatchWriter(
            self._parse_and_store, backoff_max_s, pipeline_depth, on_retry=self._count_retry
        )
        self._depth = pipeline_depth
        # newest offsets sent per partition, with the generation of the batch they came from
        self._committed: dict[TopicPartition, tuple[OffsetAndMetadata, int]] = {}
        self._inflight: deque[StoreJob] = deque()  # submitted, not yet committed; oldest first
        self._waiting: Batch | None = None  # parsed, waiting for room in the pipeline
        self._stalled_since: float | None = None  # waiting on the writer (partitions paused)
        self._polled_at: dict[int, float] = {}  # id(batch) -> monotonic poll time
        self._next: dict[TopicPartition, int] = {}  # position after the records we handed on
        self._last_lag = self._last_progress = time.monotonic()

    def run(self, stop: threading.Event) -> IngestMetrics:
        """Consume until `stop` is set, then finish (or abandon) the batches in flight and close."""
        self._consumer.subscribe(self._topics, listener=self._owner)
        log.info("consumer_started", extra={"topics": ",".join(self._topics)})
        try:
            while not stop.is_set():
                self._step(stop)
            while self._inflight and self._await(self._inflight[0], stop):
                self._complete(self._inflight.popleft())
            self._abandon()
            self._commit_final()
            self.update_lag()
        finally:
            for job in self._inflight:
                job.abandoned.set()
            self._writer.close()
            getattr(self._store, "close", lambda: None)()  # batch_store's worker process
            if self._highwaters is not None:
                self._highwaters.close()
            self._consumer.close()  # LeaveGroup: the partitions move at once
            self._log_progress("consumer_stopped")
        return self.metrics

    def _step(self, stop: threading.Event) -> None:
        if self._left:
            self._rejoin(stop)
            return
        if self._outage.too_long():  # also when the pipeline is not full (little traffic)
            self._abandon()
            self._leave_group()
            return
        records = self._consumer.poll(timeout_ms=self._poll_ms, max_records=self._max_records)
        self._tick()
        while self._inflight and self._inflight[0].done.is_set():
            self._complete(self._inflight.popleft())
        if not records:
            return
        with self.metrics.lock:
            self.metrics.polled += sum(len(recs) for recs in records.values())
        batch = collect_records(records, self._owner.generation)  # parsed by the writer
        self._polled_at[id(batch)] = time.monotonic()
        self._next.update(batch.offsets)
        self._waiting = batch
        while len(self._inflight) >= self._depth:
            if not self._await(self._inflight[0], stop):
                self._waiting = None
                self._abandon(batch)
                if self._outage.too_long():
                    self._leave_group()
                return
            self._complete(self._inflight.popleft())
        self._waiting = None
        if stop.is_set():  # shutting down: leave this batch for the next owner
            self._abandon(batch)
            return
        self._inflight.append(self._writer.submit(batch))

    def _await(self, job: StoreJob, stop: threading.Event) -> bool:
        """Wait for the writer; keep the membership alive. False: give up (shutdown grace
        over, or the database gone for longer than leave_group_after_s)."""
        deadline: float | None = None
        paused = False
        self._stalled_since = time.monotonic()
        try:
            while not job.done.wait(IDLE_POLL_EVERY_S):
                paused = self._idle_poll() or paused
                if stop.is_set():
                    deadline = deadline or time.monotonic() + self._grace_s
                    if time.monotonic() >= deadline:
                        return False
                elif self._outage.too_long():
                    return False
        finally:
            self._stalled_since = None
        if paused:
            self._consumer.resume(*self._consumer.paused())
        return True

    def _parse_and_store(self, batch: Batch) -> Any:
        """The writer's job: parse the batch (once; a retry finds it parsed), store it. The
        consumer thread only polls: under CPU contention the two threads share the work."""
        parse_batch(batch, self._rules)
        return self._store(batch)

    def _abandon(self, newest: Batch | None = None) -> None:
        """Give up every batch not yet committed: the writer skips them, and their partitions
        are sought back (newest first, so the oldest first offset wins)."""
        batches = [newest] if newest is not None else []
        for job in reversed(self._inflight):
            job.abandoned.set()
            batches.append(job.batch)
        self._inflight.clear()
        for batch in batches:
            self._rewind(batch)
        if batches:
            log.warning("batches_abandoned", extra={"events": sum(b.size for b in batches)})

    def _idle_poll(self) -> bool:
        """Poll with every partition paused; hand back anything a new assignment delivered."""
        assigned = self._consumer.assignment()
        if assigned:
            self._consumer.pause(*assigned)
        records = self._consumer.poll(timeout_ms=100, max_records=self._max_records)
        for tp, recs in records.items():  # a partition assigned during this poll: not paused yet
            if recs:
                self._consumer.seek(tp, recs[0].offset)
                self._consumer.pause(tp)
        self._tick()
        return True

    def _leave_group(self) -> None:
        """Hand the partitions to members that can store: LeaveGroup, keep nothing in flight
        (the caller abandoned it). Nothing uncommitted is lost: the next owner re-reads it."""
        down_s = self._outage.down_for()
        self._consumer.unsubscribe()  # sends LeaveGroup: the others rebalance at once
        self._owner.released()
        self._next.clear()
        self._left = True
        with self.metrics.lock:
            self.metrics.lag = {}
        log.warning("group_left_database_unavailable", extra={"seconds": round(down_s, 1)})

    def _rejoin(self, stop: threading.Event) -> None:
        """Out of the group: probe the database (with the store's backoff), then rejoin."""
        if self._outage.wait_back(stop, self._tick):  # False: stopping
            self._left = False
            self._consumer.subscribe(self._topics, listener=self._owner)
            log.info("group_rejoined", extra={"topics": ",".join(self._topics)})

    def _rewind(self, batch: Batch) -> None:
        """Forget a batch that will not be stored: seek its partitions back to its first records."""
        assigned = self._consumer.assignment()
        for tp, offset in batch.first_offsets.items():
            if tp in assigned:
                self._consumer.seek(tp, offset)
                self._next[tp] = offset
        self._polled_at.pop(id(batch), None)

    def _complete(self, job: StoreJob) -> None:
        """The writer is done with `job`: commit its offsets if it was stored, else raise."""
        batch = job.batch
        if job.error is not None:
            self._inflight.appendleft(job)
            self._abandon()
            raise job.error
        self._outage.stored()
        if self._before_commit is not None:
            self._before_commit(batch)
        offsets = self._owner.committable(batch)
        if offsets:  # async: the next batch need not wait for the round trip; run() ends sync
            self._committed.update({tp: (om, batch.generation) for tp, om in offsets.items()})
            self._consumer.commit_async(offsets)
        self._record(job, time.monotonic() - self._polled_at.pop(id(batch), time.monotonic()))

    def _commit_failed(self, exc: BaseException) -> None:
        """Stored but not committed: re-read after a restart or rebalance, stored once."""
        with self.metrics.lock:
            self.metrics.commit_failures += 1
        log.warning("commit_failed", extra={"error": f"{type(exc).__name__}: {exc}"[:300]})

    def _commit_final(self) -> None:
        """Synchronously commit the newest stored offsets of the partitions still owned, so a
        clean stop leaves nothing to re-read (async commits may still be in flight)."""
        offsets = self._owner.still_owned(self._committed)
        if offsets:
            try:
                self._consumer.commit(offsets)
            except KafkaException as exc:
                self._commit_failed(exc)

    def owned_partitions(self) -> frozenset[TopicPartition]:
        """Partitions this member owns now (safe to call from any thread)."""
        return self._owner.owned()

    def _record(self, job: StoreJob, seconds: float) -> None:
        batch, m = job.batch, self.metrics
        duplicates = getattr(job.result, "duplicates", 0)
        if duplicates:  # a redelivery (crash, rebalance, outage) the idempotent store absorbed
            log.info(
                "redelivered_deduplicated",
                extra={
                    "duplicates": duplicates,
                    "events": batch.size,
                    "partitions": partition_names(batch.first_offsets),
                },
            )
        with m.lock:
            m.duplicates += duplicates
            m.consumed.update(batch.consumed)
            m.rejected.update(batch.rejected)
            m.stored_predictions.update(Counter(batch.predictions.model))
            m.stored_labels.update(Counter(lb.model for lb in batch.labels))
            m.batches += 1
            m.last_batch_seconds = seconds
            m.last_batch_size = batch.size
        log.debug(
            "batch_stored",
            extra={
                "events": batch.size,
                "seconds": round(seconds, 4),
                "rejected": len(batch.dead_letters),
            },
        )

    def _count_retry(self, exc: BaseException, delay: float) -> None:
        """Writer thread: a store attempt failed and will be retried."""
        self._outage.failed(exc)
        with self.metrics.lock:
            self.metrics.store_retries += 1

    def _tick(self) -> None:
        """Periodic chores between polls: liveness beat, lag, a progress line."""
        if self._beat is not None:
            self._beat()
        now = time.monotonic()
        if now - self._last_lag >= LAG_EVERY_S:
            self._last_lag = now
            self.update_lag()
        if now - self._last_progress >= PROGRESS_LOG_EVERY_S:
            self._last_progress = now
            self._log_progress("ingest_progress")

    def update_lag(self) -> dict[str, int]:
        """Lag per partition = high watermark - the first offset not yet stored (lag.py).

        The watermarks of partitions paused for a while (waiting on the database) come from
        the probe consumer: this consumer does not fetch them, so its own are stale.
        """
        batches = [job.batch for job in self._inflight]
        if self._waiting is not None:
            batches.append(self._waiting)
        unstored = first_unstored(self._next, batches, self._consumer.assignment())
        since = self._stalled_since
        stalled = since is not None and time.monotonic() - since >= LAG_EVERY_S
        lag = partition_lag(self._consumer, unstored, self._highwaters if stalled else None)
        with self.metrics.lock:
            self.metrics.lag = lag
        return lag

    def _log_progress(self, event: str) -> None:
        log.info(event, extra=self.metrics.snapshot().totals())


def parse_rules(settings: Settings) -> ParseRules:
    known = None if settings.ingest.accept_unknown_models else settings.known_models()
    return ParseRules(
        predictions_topic=settings.kafka.predictions_topic,
        labels_topic=settings.kafka.labels_topic,
        max_bytes=settings.ingest.max_payload_bytes,
        dead_letter_raw_bytes=settings.ingest.dead_letter_raw_bytes,
        known_models=known,
    )


def build_ingestor(settings: Settings, engine: Any, **options: Any) -> Ingestor:
    """The service's ingestor: a consumer from settings storing into `engine`.

    `options` go to Ingestor (e.g. before_commit, beat, metrics, shutdown_grace_s), except
    `consumer_overrides` (to make_consumer), `sketcher` (a BucketSketcher: each batch's
    deltas are stored with it) and `delta_process` (default: `ingest.delta_process`; see ingest/store.py)."""
    from monitor.ingest.store import batch_store

    consumer = make_consumer(settings.kafka, **options.pop("consumer_overrides", {}))
    store = batch_store(
        engine,
        options.pop("sketcher", None),
        delta_process=options.pop("delta_process", settings.ingest.delta_process),
    )
    return Ingestor(
        consumer,
        store,
        parse_rules(settings),
        backoff_max_s=settings.ingest.retry_backoff_max_s,
        poll_timeout_ms=settings.kafka.poll_timeout_ms,
        max_records=settings.kafka.max_poll_records,
        highwaters=HighwaterReader(settings.kafka),
        probe=database_probe(engine),
        leave_group_after_s=settings.ingest.leave_group_after_s,
        **options,
    )
