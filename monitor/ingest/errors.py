"""Kafka client failures as one-line MonitorErrors (the CLI prints them without a traceback)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from monitor.errors import KafkaUnavailable


@contextlib.contextmanager
def kafka_errors(servers: Sequence[str]) -> Iterator[None]:
    """Turn kafka-python errors raised in the block into a one-line KafkaUnavailable."""
    from kafka.errors import KafkaError

    try:
        yield
    except KafkaError as exc:
        where = ",".join(servers)
        raise KafkaUnavailable(f"Kafka at {where}: {type(exc).__name__}: {exc}"[:400]) from None
