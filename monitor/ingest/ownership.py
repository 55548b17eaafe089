"""Which partitions this consumer owns, and since when: decides which offsets it may commit.

Rebalances (librdkafka's default eager assignors, range and roundrobin): a batch's offsets are committed only for
partitions this member has owned continuously since the batch was polled. A partition that
moved away (or away and back) is not committed from older batches: its owner re-reads from the
last committed offset, and the idempotent store makes the overlap harmless.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka.structs import OffsetAndMetadata, TopicPartition

from monitor.ingest.batch import Batch

log = logging.getLogger("monitor.ingest.consumer")


class Ownership:
    """Which partitions this member owns, and since which assignment generation.

    The callbacks run inside the consumer's poll() (client.GroupConsumer); the lock is for
    readers on other threads (owned_partitions: the API and tests).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._since: dict[TopicPartition, int] = {}

    @property
    def generation(self) -> int:
        with self._lock:
            return self._generation

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Eager protocol: all partitions are revoked before every join; which ones we keep is
        # only known in on_partitions_assigned. Nothing uncommitted is lost by waiting: the
        # consumer thread commits only what was stored, for partitions it still owns.
        log.info("partitions_revoked", extra={"partitions": partition_names(revoked)})

    def on_partitions_assigned(self, assigned: Any) -> None:
        with self._lock:
            self._generation += 1
            kept = {tp: g for tp, g in self._since.items() if tp in assigned}
            for tp in assigned:
                kept.setdefault(tp, self._generation)
            self._since = kept
        log.info("partitions_assigned", extra={"partitions": partition_names(assigned)})

    def on_partitions_lost(self, lost: Any) -> None:
        with self._lock:
            self._generation += 1
            for tp in lost:
                self._since.pop(tp, None)
        log.warning("partitions_lost", extra={"partitions": partition_names(lost)})

    def released(self) -> None:
        """This member left the group on its own (unsubscribe): it owns nothing now."""
        with self._lock:
            self._generation += 1
            self._since = {}

    def owned(self) -> frozenset[TopicPartition]:
        with self._lock:
            return frozenset(self._since)

    def still_owned(
        self, offsets: dict[TopicPartition, tuple[OffsetAndMetadata, int]]
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        """Of (offset, generation) pairs, those whose partition was owned continuously since."""
        with self._lock:
            return {
                tp: om
                for tp, (om, generation) in offsets.items()
                if self._since.get(tp, generation + 1) <= generation
            }

    def committable(self, batch: Batch) -> dict[TopicPartition, OffsetAndMetadata]:
        """The batch's offsets for partitions owned continuously since it was polled."""
        with self._lock:
            return {
                tp: OffsetAndMetadata(offset, "", -1)
                for tp, offset in batch.offsets.items()
                if self._since.get(tp, batch.generation + 1) <= batch.generation
            }


def partition_names(tps: Any) -> str:
    return ",".join(sorted(f"{tp.topic}:{tp.partition}" for tp in tps))
