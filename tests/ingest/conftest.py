"""Ingestion fixtures: a real broker (kafka_bootstrap) and a real Postgres database of our own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ingest_support import Kit, create_database, drop_database

from monitor.storage import make_engine, upgrade


@pytest.fixture(scope="session")
def ingest_db_url(pg_server: str) -> Iterator[str]:
    """Our own database (other suites may count rows in theirs): migrated once, dropped at end."""
    name, url = create_database(pg_server)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        drop_database(pg_server, name)


@pytest.fixture(scope="session")
def ingest_engine(ingest_db_url: str) -> Iterator[Any]:
    engine = make_engine(ingest_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def kit(kafka_bootstrap: str, ingest_db_url: str, ingest_engine: Any) -> Iterator[Kit]:
    k = Kit(kafka_bootstrap, ingest_db_url, ingest_engine)
    try:
        yield k
    finally:
        k.stop_all()
