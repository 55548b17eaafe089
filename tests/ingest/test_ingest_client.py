"""The confluent-kafka client of the ingestion consumer (monitor/ingest/client.py): settings
mapped to librdkafka, bad values named at start, librdkafka's logs in our logger without
secrets, and polls that return what is there instead of waiting for a full batch."""

from __future__ import annotations

import logging
import time

import pytest
from ingest_support import Kit, wait_until

from monitor.errors import ConfigError
from monitor.ingest.broker import free_port
from monitor.ingest.client import GroupConsumer, RepeatThrottle, consumer_config
from monitor.ingest.consumer import make_consumer
from monitor.settings import KafkaSettings

SECRET = "hunter2-s3cret"


def _sasl_ssl(**extra: object) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=["a:9093", "b:9093"],
        client_id="svc",
        group_id="grp",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="alice",
        sasl_plain_password=SECRET,
        **extra,  # type: ignore[arg-type]
    )


def test_settings_keep_their_names_and_map_to_librdkafka_properties() -> None:
    kafka = _sasl_ssl(ssl_cafile="/ca.pem", ssl_certfile="/c.pem", ssl_keyfile="/k.pem")
    conf = consumer_config(kafka, **{"fetch.wait.max.ms": 50})
    assert {
        k: conf[k] for k in conf if not k.startswith(("fetch.", "max.", "receive.", "queued."))
    } == {
        "bootstrap.servers": "a:9093,b:9093",
        "client.id": "svc",
        "group.id": "grp",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": SECRET,
        "ssl.ca.location": "/ca.pem",
        "ssl.certificate.location": "/c.pem",
        "ssl.key.location": "/k.pem",
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 3_000,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,  # offsets are committed after the DB transaction only
        "enable.auto.offset.store": False,
    }
    assert conf["fetch.wait.max.ms"] == 50  # overrides are librdkafka properties
    plain = consumer_config(KafkaSettings())
    assert not any(k.startswith(("sasl.", "ssl.")) for k in plain)


def test_a_bad_setting_fails_at_start_naming_the_setting_and_not_the_secret() -> None:
    kafka = _sasl_ssl(ssl_cafile="/nonexistent/ca.pem")
    with pytest.raises(ConfigError, match=r"^kafka\.ssl_cafile: .*ssl\.ca\.location") as err:
        make_consumer(kafka)
    assert SECRET not in str(err.value)
    with pytest.raises(ConfigError, match=r"consumer option 'fetch\.wait\.max\.ms'"):
        make_consumer(KafkaSettings(), **{"fetch.wait.max.ms": "soon"})


def test_librdkafka_logs_go_to_our_logger_without_secrets(caplog) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=[f"127.0.0.1:{free_port()}"],  # nobody listens: connect errors
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_plain_username="alice",
        sasl_plain_password=SECRET,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    caplog.set_level(logging.DEBUG, logger="monitor.ingest.librdkafka")
    consumer = make_consumer(kafka)
    try:
        consumer.subscribe(["t"], None)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not caplog.records:
            consumer.poll(100, 10)
    finally:
        consumer.close()
    ours = [r for r in caplog.records if r.name == "monitor.ingest.librdkafka"]
    assert ours, "no librdkafka log line reached monitor.ingest.librdkafka"
    assert any("127.0.0.1" in r.getMessage() for r in ours)
    assert not any(SECRET in r.getMessage() or SECRET in str(r.__dict__) for r in ours)


def test_a_poll_returns_the_records_there_without_waiting_for_a_full_batch(kit: Kit) -> None:
    kit.create_topics(1)
    kit.produce([b"a", b"b"])
    consumer = GroupConsumer(consumer_config(kit.settings().kafka))
    try:
        consumer.subscribe([kit.topics[0]], None)
        got: list[bytes | None] = []

        def polled_both() -> bool:
            got.extend(r.value for rs in consumer.poll(200, 2000).values() for r in rs)
            return len(got) >= 2

        wait_until(polled_both, what="the first two records")
        kit.produce([b"c"])
        began = time.monotonic()
        records = consumer.poll(10_000, 2000)
        took = time.monotonic() - began
    finally:
        consumer.close()
    assert got == [b"a", b"b"]
    assert [(r.offset, r.value) for rs in records.values() for r in rs] == [(2, b"c")]
    assert took < 3.0, f"poll waited {took:.1f} s for a batch of 2000"


class _SeekOnAssign:
    """A listener that seeks each partition as soon as it is assigned (before any fetch):
    what a rewind does to a partition a rebalance took away and gave back."""

    def __init__(self, consumer: GroupConsumer) -> None:
        self.consumer, self.assigned = consumer, 0

    def on_partitions_assigned(self, tps: set) -> None:
        for tp in tps:
            self.consumer.seek(tp, 2)
        self.assigned += 1

    def on_partitions_revoked(self, tps: set) -> None:
        pass

    def on_partitions_lost(self, tps: set) -> None:
        pass


def test_a_seek_before_the_first_fetch_leaves_the_committed_position(kit: Kit) -> None:
    kit.create_topics(1)
    kit.produce([b"a", b"b", b"c", b"d"])
    consumer = GroupConsumer(consumer_config(kit.settings().kafka))
    listener = _SeekOnAssign(consumer)
    try:
        consumer.subscribe([kit.topics[0]], listener)
        got: list[int] = []

        def polled_all() -> bool:
            got.extend(r.offset for rs in consumer.poll(200, 2000).values() for r in rs)
            return len(got) >= 4

        wait_until(polled_all, what="every record")
    finally:
        consumer.close()
    assert listener.assigned == 1
    assert got == [0, 1, 2, 3]  # from the committed position (none: earliest), nothing skipped


def test_a_broker_that_is_down_logs_one_line_per_throttle_period_not_one_per_retry(
    caplog,
) -> None:
    """librdkafka logs each failed reconnect (~20 lines/s measured); we keep one per 30 s."""
    kafka = KafkaSettings(
        bootstrap_servers=[f"127.0.0.1:{free_port()}"],  # nobody listens
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    caplog.set_level(logging.INFO, logger="monitor.ingest.librdkafka")
    consumer = make_consumer(kafka)
    try:
        consumer.subscribe(["t"], None)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            consumer.poll(100, 100)
    finally:
        consumer.close()
    failed = [r for r in caplog.records if "Connection refused" in r.getMessage()]
    assert len(failed) == 1, [r.getMessage() for r in failed]


def test_the_throttle_says_how_many_similar_lines_it_left_out() -> None:
    throttle = RepeatThrottle(every_s=0.2)

    def line(text: str) -> logging.LogRecord:
        args = ("FAIL", "monitor#consumer-1", text)
        return logging.LogRecord("x", logging.ERROR, __file__, 1, "%s [%s] %s", args, None)

    kept = [throttle.filter(line("[thrd:a]: refused")) for _ in range(5)]
    assert kept == [True, False, False, False, False]
    assert throttle.filter(line("[thrd:b]: refused"))  # another broker thread: its own line
    time.sleep(0.25)
    again = line("[thrd:a]: refused")
    assert throttle.filter(again)
    assert again.getMessage().endswith("(4 similar lines left out)")
