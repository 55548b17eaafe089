"""The ingestion consumer's Kafka client: confluent-kafka (librdkafka), behind a small
kafka-python-shaped surface so the loop (consumer.py) reads the same.

Why librdkafka: fetching, decompression and CRC checks run in C threads, ~3x less CPU per
event than kafka-python's pure-Python client (bench/RESULTS.md, s23-kafka).
What the loop relies on, and how it is kept here:
- rebalance callbacks (ownership.py) run inside poll(), on the consumer thread;
- poll() returns as soon as records are there (librdkafka's consume() would wait for a full
  batch or the timeout), grouped per partition as records with `.offset` and `.value`;
- commits carry explicit offsets (nothing is auto-committed or auto-stored); their results
  arrive in `on_commit`, also inside poll();
- the high watermark comes from fetch responses (`cached=True`): a ListOffsets query is
  wrong on tansu, and costs a round trip anyway;
- librdkafka's logs and errors go to the "monitor.ingest.librdkafka" logger, repeats throttled
  (one line per facility and broker thread per 30 s: it logs every failed reconnect).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka import TopicPartition as CTP
from kafka.structs import OffsetAndMetadata, TopicPartition

from monitor.errors import ConfigError
from monitor.settings import KafkaSettings

log = logging.getLogger("monitor.ingest.consumer")
rdkafka_log = logging.getLogger("monitor.ingest.librdkafka")
LOG_REPEAT_EVERY_S = 30.0  # one line per (level, facility, broker thread) this often


class RepeatThrottle(logging.Filter):
    """librdkafka logs every failed reconnect (~20 lines/s against a broker that is down):
    keep the first line per (level, facility, broker thread), then one per `every_s`
    seconds saying how many similar lines were left out."""

    def __init__(self, every_s: float = LOG_REPEAT_EVERY_S) -> None:
        super().__init__()
        self.every_s = every_s
        self._seen: dict[tuple[Any, ...], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) != 3:  # not librdkafka's (facility, client, text) line
            return True
        fac, client, text = args
        key = (record.levelno, fac, str(text).split(" ", 1)[0])
        now = time.monotonic()
        with self._lock:
            last, skipped = self._seen.get(key, (float("-inf"), 0))
            if now - last < self.every_s:
                self._seen[key] = (last, skipped + 1)
                return False
            self._seen[key] = (now, 0)
        if skipped:
            record.args = (fac, client, f"{text} ({skipped} similar lines left out)")
        return True


rdkafka_log.addFilter(RepeatThrottle())

# Large fetches: fewer round trips per event. librdkafka prefetches into its own queue up to
# QUEUED_MAX_KBYTES (default 64 MB: +65 MB peak RSS, 403 MB in bench/ingest.py; the target
# is < 400): 16 MB holds ~25k events of 600 B, five polls ahead.
FETCH_MAX_BYTES = 16 << 20
MAX_PARTITION_FETCH_BYTES = 8 << 20
QUEUED_MAX_KBYTES = 16 << 10

# Our setting -> librdkafka's property (the settings keep kafka-python's names).
SETTING_KEYS = {
    "bootstrap_servers": "bootstrap.servers",
    "client_id": "client.id",
    "security_protocol": "security.protocol",
    "sasl_mechanism": "sasl.mechanism",
    "sasl_plain_username": "sasl.username",
    "sasl_plain_password": "sasl.password",
    "ssl_cafile": "ssl.ca.location",
    "ssl_certfile": "ssl.certificate.location",
    "ssl_keyfile": "ssl.key.location",
    "group_id": "group.id",
    "session_timeout_ms": "session.timeout.ms",
    "heartbeat_interval_ms": "heartbeat.interval.ms",
    "auto_offset_reset": "auto.offset.reset",
}
_SECRET_KEYS = frozenset({"sasl.password", "ssl.key.password"})


class Record:
    """One polled message, as the batch code reads it (kafka-python's ConsumerRecord fields)."""

    __slots__ = ("offset", "value")

    def __init__(self, offset: int, value: bytes | None) -> None:
        self.offset = offset
        self.value = value


def consumer_config(kafka: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    """librdkafka properties for a group member with manual commits, from settings (incl.
    SASL/TLS); `overrides` are librdkafka properties too."""
    values: dict[str, Any] = {
        "bootstrap_servers": ",".join(kafka.bootstrap_servers),
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
        "sasl_mechanism": kafka.sasl_mechanism,
        "sasl_plain_username": kafka.sasl_plain_username,
        "sasl_plain_password": (
            kafka.sasl_plain_password.get_secret_value() if kafka.sasl_plain_password else None
        ),
        "ssl_cafile": kafka.ssl_cafile,
        "ssl_certfile": kafka.ssl_certfile,
        "ssl_keyfile": kafka.ssl_keyfile,
        "group_id": kafka.group_id,
        "session_timeout_ms": kafka.session_timeout_ms,
        "heartbeat_interval_ms": kafka.heartbeat_interval_ms,
        "auto_offset_reset": kafka.auto_offset_reset,
    }
    conf = {SETTING_KEYS[k]: v for k, v in values.items() if v is not None}
    conf.update(
        {
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "fetch.max.bytes": FETCH_MAX_BYTES,
            "max.partition.fetch.bytes": MAX_PARTITION_FETCH_BYTES,
            "receive.message.max.bytes": FETCH_MAX_BYTES + 512,
            "queued.max.messages.kbytes": QUEUED_MAX_KBYTES,
        }
    )
    conf.update(overrides)
    return conf


def _setting_name(message: str, conf: Mapping[str, Any]) -> str:
    """Which of our settings (or which override) a librdkafka configuration error is about."""
    by_key = {v: k for k, v in SETTING_KEYS.items()}
    for key in sorted(conf, key=len, reverse=True):  # "ssl.key.location" before "ssl.key"
        if key in message:
            return f"kafka.{by_key[key]}" if key in by_key else f"consumer option {key!r}"
    return "kafka settings"


def open_consumer(conf: Mapping[str, Any]) -> Consumer:
    """A confluent Consumer; a bad setting fails here, naming it (never its secret value)."""
    full = {**conf, "logger": rdkafka_log, "error_cb": _log_error}
    try:
        return Consumer(full)
    except (KafkaException, ValueError, TypeError) as exc:
        message = str(exc.args[0].str() if isinstance(exc, KafkaException) else exc)
        for key in _SECRET_KEYS:
            secret = conf.get(key)
            if secret:
                message = message.replace(str(secret), "***")
        raise ConfigError(f"{_setting_name(message, conf)}: {message}"[:400]) from None


def _log_error(err: KafkaError) -> None:
    """librdkafka's error callback (broker down, auth failed...). It retries by itself and
    has logged the cause already (one line per failed attempt), so non-fatal ones are DEBUG."""
    level = logging.ERROR if err.fatal() else logging.DEBUG
    rdkafka_log.log(level, "kafka_error", extra={"error": f"{err.name()}: {err.str()}"[:300]})


class GroupConsumer:
    """A subscribed confluent Consumer with the methods the ingestion loop calls."""

    def __init__(self, conf: Mapping[str, Any]) -> None:
        self.on_commit: Callable[[BaseException], None] | None = None  # a failed commit
        self._consumer = open_consumer({**conf, "on_commit": self._committed})
        self._listener: Any = None
        self._assigned: set[TopicPartition] = set()
        self._paused: set[TopicPartition] = set()
        self._tps: dict[tuple[str, int], TopicPartition] = {}

    # --- group membership -------------------------------------------------------------
    def subscribe(self, topics: list[str], listener: Any) -> None:
        self._listener = listener
        self._consumer.subscribe(
            topics, on_assign=self._assign, on_revoke=self._revoke, on_lost=self._lost
        )

    def unsubscribe(self, settle_s: float = 0.5) -> None:
        """Leave the group now: the revocation is served here, so LeaveGroup goes out at once."""
        self._consumer.unsubscribe()
        self._consumer.poll(settle_s)  # serves the revoke; no fetches once unsubscribed
        self._forget(self._assigned)

    def close(self) -> None:
        self._consumer.close()  # revokes (callback), LeaveGroup; commits nothing
        self._forget(self._assigned)

    def _assign(self, consumer: Consumer, parts: list[CTP]) -> None:
        consumer.assign(parts)  # now, not after the callback: the listener sees it assigned
        tps = self._tp_set(parts)
        self._assigned = tps
        self._paused -= tps  # a new assignment fetches
        if self._listener is not None:
            self._listener.on_partitions_assigned(tps)

    def _revoke(self, _consumer: Consumer, parts: list[CTP]) -> None:
        tps = self._tp_set(parts)
        self._forget(tps)
        if self._listener is not None:
            self._listener.on_partitions_revoked(tps)

    def _lost(self, _consumer: Consumer, parts: list[CTP]) -> None:
        tps = self._tp_set(parts)
        self._forget(tps)
        if self._listener is not None:
            self._listener.on_partitions_lost(tps)

    def _forget(self, tps: Iterable[TopicPartition]) -> None:
        tps = set(tps)
        self._assigned = self._assigned - tps
        self._paused -= tps

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(self._assigned)

    # --- fetching ---------------------------------------------------------------------
    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        """What is there now, else wait up to `timeout_ms` for the first record; per partition."""
        consumer = self._consumer
        msgs = consumer.consume(max_records, 0)
        if not msgs:
            first = consumer.poll(timeout_ms / 1000)
            if first is None:
                return {}
            msgs = [first]
            if max_records > 1:
                msgs.extend(consumer.consume(max_records - 1, 0))
        return self._group(msgs)

    def _group(self, msgs: list[Any]) -> dict[TopicPartition, list[Record]]:
        """Records per partition, in order. Hot (once per event): a fetch hands over runs of
        one partition, so the partition is looked up only when the run changes."""
        out: dict[TopicPartition, list[Record]] = {}
        first: list[Record] = []
        append = first.append  # replaced at the first record
        topic, part = "", -1
        for m in msgs:
            err = m.error()
            if err is not None:
                self._message_error(err)
                continue
            p, t = m.partition(), m.topic()
            if p != part or t != topic:
                part, topic = p, t
                append = out.setdefault(self._tp((t, p)), []).append
            append(Record(m.offset(), m.value()))
        return out

    def _message_error(self, err: KafkaError) -> None:
        if err.fatal():
            raise KafkaException(err)
        if err.code() != KafkaError._PARTITION_EOF:
            log.warning("fetch_error", extra={"error": f"{err.name()}: {err.str()}"[:300]})

    def pause(self, *tps: TopicPartition) -> None:
        if tps:
            self._consumer.pause([CTP(tp.topic, tp.partition) for tp in tps])
            self._paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        if tps:
            self._consumer.resume([CTP(tp.topic, tp.partition) for tp in tps])
            self._paused.difference_update(tps)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Fetch `tp` from `offset` next (queued records of it are dropped).

        librdkafka refuses (_STATE) to seek a partition assigned but not fetching yet, e.g.
        one revoked and given back by a rebalance while its batch was in flight. Its fetch
        then starts from the group's committed offset, which is at or before any batch not
        yet stored (offsets are committed in order, after storing): nothing is skipped, so
        the seek is dropped. (Without a committed offset, auto_offset_reset decides.)"""
        try:
            self._consumer.seek(CTP(tp.topic, tp.partition, offset))
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._STATE or tp not in self._assigned:
                raise
            log.info("seek_skipped_not_fetching", extra={"partition": f"{tp.topic}:{tp.partition}"})

    def highwater(self, tp: TopicPartition) -> int | None:
        """The high watermark of the last fetch response for `tp` (None before any)."""
        try:
            _low, high = self._consumer.get_watermark_offsets(
                CTP(tp.topic, tp.partition), cached=True
            )
        except KafkaException:
            return None
        return high if high >= 0 else None

    # --- commits ----------------------------------------------------------------------
    def commit_async(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        self._consumer.commit(offsets=_ctps(offsets), asynchronous=True)

    def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        """Synchronous; raises KafkaException when the commit (or one partition's) failed."""
        for part in self._consumer.commit(offsets=_ctps(offsets), asynchronous=False) or []:
            if part.error is not None:
                raise KafkaException(part.error)

    def _committed(self, err: KafkaError | None, parts: list[CTP]) -> None:
        failed = err if err is not None else next((p.error for p in parts if p.error), None)
        if failed is not None and self.on_commit is not None:
            self.on_commit(KafkaException(failed))

    def _tp(self, key: tuple[str, int]) -> TopicPartition:
        tp = self._tps.get(key)
        if tp is None:
            tp = self._tps[key] = TopicPartition(*key)
        return tp

    def _tp_set(self, parts: list[CTP]) -> set[TopicPartition]:
        return {self._tp((p.topic, p.partition)) for p in parts}


def _ctps(offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> list[CTP]:
    return [CTP(tp.topic, tp.partition, om.offset) for tp, om in offsets.items()]
