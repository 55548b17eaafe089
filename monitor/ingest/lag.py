"""True high watermarks, also for partitions the group consumer is not fetching.

Why not ListOffsets (`end_offsets`): tansu answers it with the last batch's base offset,
not the log end, so lag from it is wrong (even negative). The high watermark in a Fetch
response is right on tansu and on Apache Kafka alike, but a consumer only knows it for
partitions it fetches, and the ingestor pauses its partitions while the database is down:
their watermark freezes exactly when lag matters. So a separate, group-less consumer fetches
(at most `PROBE_FETCH_BYTES` of) each partition from a given position and reads the watermark
off the response. It never joins the group and never commits. The probe stays on
kafka-python (read only while stalled, and shared with `monitor status`); the group consumer
itself is confluent-kafka (client.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from monitor.ingest.batch import Batch
from monitor.settings import KafkaSettings

log = logging.getLogger("monitor.ingest.consumer")

PROBE_FETCH_BYTES = 1024  # the records are thrown away: only the response's watermark counts


def probe_consumer(kafka: KafkaSettings, **overrides: Any) -> KafkaConsumer:
    """A consumer outside any group that fetches tiny responses quickly."""
    opts: dict[str, Any] = {
        **kafka.client_options(),
        "group_id": None,
        "enable_auto_commit": False,
        "max_partition_fetch_bytes": PROBE_FETCH_BYTES,
        "fetch_max_bytes": 64 * 1024,
        "fetch_max_wait_ms": 50,
    }
    opts.update(overrides)
    return KafkaConsumer(**opts)


def read_highwaters(
    consumer: KafkaConsumer, positions: Mapping[TopicPartition, int], timeout_s: float
) -> dict[TopicPartition, int]:
    """Fetch each partition from its position and return the fresh high watermarks.

    Partitions that did not answer within `timeout_s` are left out. The consumer's previous
    assignment is dropped first, so no stale watermark is returned.
    """
    tps = list(positions)
    if not tps:
        return {}
    consumer.unsubscribe()  # drop per-partition state, incl. old watermarks
    consumer.assign(tps)
    for tp, pos in positions.items():
        consumer.seek(tp, pos)
    deadline = time.monotonic() + timeout_s
    while any(consumer.highwater(tp) is None for tp in tps) and time.monotonic() < deadline:
        consumer.poll(timeout_ms=100)
    return {tp: high for tp in tps if (high := consumer.highwater(tp)) is not None}


class HighwaterReader:
    """`read_highwaters` on a lazily created probe consumer (closed with `close`)."""

    def __init__(self, kafka: KafkaSettings, timeout_s: float = 1.0) -> None:
        self._kafka = kafka
        self._timeout_s = timeout_s
        self._consumer: KafkaConsumer | None = None

    def __call__(self, positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        if self._consumer is None:
            self._consumer = probe_consumer(self._kafka)
        return read_highwaters(self._consumer, positions, self._timeout_s)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None


def first_unstored(
    next_offsets: Mapping[TopicPartition, int], unstored: Iterable[Batch], assigned: Any
) -> dict[TopicPartition, int]:
    """Per assigned partition with a known position, the first offset not yet stored: the
    oldest first offset among the batches not yet stored, else the position after the
    records handed on. Polled-but-unstored records count as lag: if the database is down,
    they are behind."""
    out = {tp: pos for tp, pos in next_offsets.items() if tp in assigned}
    for batch in unstored:
        for tp, first in batch.first_offsets.items():
            if tp in out:
                out[tp] = min(out[tp], first)
    return out


def partition_lag(
    consumer: Any,
    unstored: Mapping[TopicPartition, int],
    reader: HighwaterReader | None,
) -> dict[str, int]:
    """ "topic:partition" -> high watermark - first unstored offset. Watermarks come from the
    consumer's fetch responses (client.GroupConsumer.highwater); those of its paused partitions from `reader`, when given
    (a failed read keeps the consumer's last known value)."""
    highs = {tp: consumer.highwater(tp) for tp in unstored}
    stale = consumer.paused()
    paused = {tp: pos for tp, pos in unstored.items() if tp in stale}
    if paused and reader is not None:
        try:
            highs.update(reader(paused))
        except KafkaError as exc:  # the next tick retries
            log.warning("lag_read_failed", extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
    lag: dict[str, int] = {}
    for tp, pos in unstored.items():
        high = highs.get(tp)
        if high is not None:
            lag[f"{tp.topic}:{tp.partition}"] = max(high - pos, 0)
    return lag
