"""Notify fixtures: outbox stores on SQLite (tmp_path) and Postgres, and HTTP receivers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from db_support import empty_tables, migrated_sqlite
from notify_support import Receiver
from sqlalchemy import Engine

from monitor.storage import make_engine


@pytest.fixture(scope="session")
def notify_pg_engine(migrated_pg: Callable[[str], str]) -> Iterator[Engine]:
    engine = make_engine(migrated_pg("notify"))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(notify_pg_engine: Engine) -> Engine:
    empty_tables(notify_pg_engine, "notifications, alerts")  # TRUNCATE ... CASCADE's end state
    return notify_pg_engine


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    engine = make_engine(migrated_sqlite(tmp_path / "outbox.db"))
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The outbox on each dialect."""
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Factory: receiver(script=[Reply(500), ...], default=Reply(200), delay_s=0)."""
    made: list[Receiver] = []

    def make(*args: Any, **kwargs: Any) -> Receiver:
        r = Receiver(*args, **kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()
