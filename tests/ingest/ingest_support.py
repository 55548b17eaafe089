"""Ingestion test helpers: unique topic/group/model names per test, producing, running the
real consumer loop in a thread, and reading back what Postgres and Kafka hold."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition
from sqlalchemy import func, select

from monitor.ingest.consumer import Ingestor, build_ingestor
from monitor.ingest.topics import create_topics
from monitor.settings import Settings, parse_settings
from monitor.storage.tables import dead_letters, labels, predictions

SESSION = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


def create_database(pg_server: str) -> tuple[str, str]:
    """Create a fresh database; return (name, SQLAlchemy URL)."""
    name = f"monitor_ingest_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = dict(p.split("=", 1) for p in pg_server.split())
    auth = parts["user"] + (f":{parts['password']}" if "password" in parts else "")
    return name, f"postgresql+psycopg://{auth}@{parts['host']}:{parts['port']}/{name}"


def drop_database(pg_server: str, name: str) -> None:
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def events(model: str, start: int, n: int) -> list[bytes]:
    """Prediction events with ids e<start> .. e<start+n-1>."""
    return [
        orjson.dumps(
            {
                "event_id": f"e{i}",
                "model": model,
                "timestamp": 1714557600000 + i,
                "features": {"x": float(i)},
            }
        )
        for i in range(start, start + n)
    ]


def set_connections(pg_server: str, db: str, allow: bool) -> None:
    """Open or close one database to new connections (closing also ends the open ones):
    an outage of that database only, the shared server keeps running."""
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (db,),
            )


@dataclass
class Kit:
    bootstrap: str
    db_url: str
    engine: Any
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _running: list[tuple[threading.Thread, threading.Event]] = field(default_factory=list)

    @property
    def model(self) -> str:
        return f"m-{self.uid}"

    @property
    def topics(self) -> tuple[str, str]:
        return f"pred-{self.uid}", f"lab-{self.uid}"

    def settings(self, group: str | None = None, **ingest: Any) -> Settings:
        return parse_settings(
            {
                "kafka": {
                    "bootstrap_servers": [self.bootstrap],
                    "group_id": group or f"g-{self.uid}",
                    "predictions_topic": self.topics[0],
                    "labels_topic": self.topics[1],
                    "poll_timeout_ms": 200,
                    **SESSION,
                },
                "database": {"url": self.db_url},
                "ingest": {"retry_backoff_max_s": 1.0, **ingest},
                "monitors": [{"name": self.model, "model": self.model}],
            }
        )

    def create_topics(self, partitions: int) -> None:
        create_topics(self.settings().kafka, self.topics, partitions)

    def produce(
        self,
        values: list[bytes],
        topic: str | None = None,
        keys: list[bytes] | None = None,
        partition: int | None = None,
    ) -> None:
        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=5, max_request_size=8 << 20
        )
        try:
            for i, value in enumerate(values):
                key = keys[i] if keys else str(i).encode()
                producer.send(topic or self.topics[0], key=key, value=value, partition=partition)
            producer.flush()
        finally:
            producer.close()

    def ingestor(
        self,
        group: str | None = None,
        settings: Settings | None = None,
        engine: Any = None,
        **options: Any,
    ) -> Ingestor:
        return build_ingestor(settings or self.settings(group), engine or self.engine, **options)

    def start(
        self, ingestor: Ingestor
    ) -> tuple[threading.Thread, threading.Event, list[BaseException]]:
        stop, errors = threading.Event(), []

        def target() -> None:
            try:
                ingestor.run(stop)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._running.append((thread, stop))
        return thread, stop, errors

    def stop_all(self) -> None:
        for _thread, stop in self._running:
            stop.set()
        for thread, _ in self._running:
            thread.join(30)

    def count(self, table: Any = predictions, **where: Any) -> int:
        stmt = select(func.count()).select_from(table)
        for col, value in where.items():
            stmt = stmt.where(table.c[col] == value)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()

    def predictions(self) -> int:
        return self.count(predictions, model=self.model)

    def labels(self) -> int:
        return self.count(labels, model=self.model)

    def dead_letters(self) -> list[tuple[int, int, str, bytes]]:
        d = dead_letters.c
        stmt = (
            select(d.kafka_partition, d.kafka_offset, d.reason, d.raw)
            .where(d.topic.in_(self.topics))
            .order_by(d.kafka_partition, d.kafka_offset)
        )
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]

    def committed(
        self, group: str | None = None, partitions: int = 1, topic: str | None = None
    ) -> dict[int, int | None]:
        """Committed offsets of a group, read without joining it."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=group or f"g-{self.uid}",
            enable_auto_commit=False,
        )
        try:
            t = topic or self.topics[0]
            return {p: consumer.committed(TopicPartition(t, p)) for p in range(partitions)}
        finally:
            consumer.close()


def wait_until(cond: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)
