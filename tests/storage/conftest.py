"""Storage fixtures: an `engine` parametrized over SQLite (tmp_path) and Postgres.

The Postgres tests use their own database (not the shared `pg_url` one) so they can empty the
tables between tests without touching other suites' data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from monitor.storage import make_engine, upgrade


def _create_database(pg_server: str, prefix: str) -> tuple[str, str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = dict(p.split("=", 1) for p in pg_server.split())
    auth = parts["user"] + (f":{parts['password']}" if "password" in parts else "")
    return name, f"postgresql+psycopg://{auth}@{parts['host']}:{parts['port']}/{name}"


def _drop_database(pg_server: str, name: str) -> None:
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_pg_url(pg_server: str) -> Iterator[str]:
    """An empty Postgres database for one test."""
    name, url = _create_database(pg_server, "monitor_storage_fresh")
    try:
        yield url
    finally:
        _drop_database(pg_server, name)


@pytest.fixture(scope="session")
def storage_pg_engine(pg_server: str) -> Iterator[Engine]:
    name, url = _create_database(pg_server, "monitor_storage")
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        _drop_database(pg_server, name)


_TABLES = (
    "notifications, silences, alert_events, alerts, drift_feature_results, drift_runs, "
    "feature_sketches, reference_datasets, dead_letters, labels, predictions"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A migrated, empty store of each dialect."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("storage_pg_engine")
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    yield eng
