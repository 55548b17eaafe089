"""The bare consumers bench/ingest.py compares the service with: poll + orjson, nothing else."""

from __future__ import annotations

import time
import uuid

import _ingest_probe as probe

SESSION = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


# The kafka-python anchor's fetch sizes: the service's before s23-kafka, fixed so that runs of
# main and of the branch (and earlier RESULTS sections) share the same anchor.
KP_FETCH_MAX_BYTES, KP_MAX_PARTITION_FETCH_BYTES = 64 << 20, 8 << 20


def confluent_fetch() -> dict[str, int]:
    """The confluent anchor's fetch and prefetch sizes: the service's since s23-kafka
    (client.py), fixed here so that runs of main's code use the same anchor."""
    fetch_max = 16 << 20
    return {
        "fetch.max.bytes": fetch_max,
        "max.partition.fetch.bytes": 8 << 20,
        "receive.message.max.bytes": fetch_max + 512,
        "queued.max.messages.kbytes": 16 << 10,
    }


def bare(bootstrap: str, topic: str, count: int) -> dict:
    """(a): poll + orjson.loads, nothing else."""
    import orjson
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=5000,
        fetch_max_bytes=KP_FETCH_MAX_BYTES,
        max_partition_fetch_bytes=KP_MAX_PARTITION_FETCH_BYTES,
        **SESSION,
    )
    seen, t0, cpu0, flt0 = 0, None, 0.0, 0
    while seen < count:
        for recs in consumer.poll(timeout_ms=1000).values():
            if t0 is None:
                t0, cpu0, flt0 = time.perf_counter(), probe.cpu_s(), probe.faults()
            for rec in recs:
                orjson.loads(rec.value)
            seen += len(recs)
    seconds, cpu = time.perf_counter() - t0, probe.cpu_s() - cpu0
    consumer.close()
    return {
        "events": seen,
        "seconds": seconds,
        "cpu_s": cpu,
        "rss_mb": probe.peak_rss_mb(),
        "faults": probe.faults() - flt0,
    }


def bare_confluent(bootstrap: str, topic: str, count: int) -> dict:
    """(c), when confluent-kafka is installed: (a) with the compiled client (librdkafka),
    with the service's fetch sizes."""
    import orjson
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            **confluent_fetch(),
            "group.id": f"bench-bare-c-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    consumer.subscribe([topic])
    seen, t0, cpu0, flt0 = 0, None, 0.0, 0
    while seen < count:
        msgs = [m for m in consumer.consume(5000, timeout=1.0) if not m.error()]
        if msgs and t0 is None:
            t0, cpu0, flt0 = time.perf_counter(), probe.cpu_s(), probe.faults()
        for m in msgs:
            orjson.loads(m.value())
        seen += len(msgs)
    seconds, cpu = time.perf_counter() - t0, probe.cpu_s() - cpu0
    consumer.close()
    return {
        "events": seen,
        "seconds": seconds,
        "cpu_s": cpu,
        "rss_mb": probe.peak_rss_mb(),
        "faults": probe.faults() - flt0,
    }


def has_confluent() -> bool:
    import importlib.util

    return importlib.util.find_spec("confluent_kafka") is not None
