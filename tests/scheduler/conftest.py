"""Scheduler fixtures (the helpers live in scheduler_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from db_support import migrated_sqlite, truncate_all

from monitor.storage import make_engine


@pytest.fixture(scope="session")
def sched_pg_url(migrated_pg) -> str:
    return migrated_pg("sched")


@pytest.fixture
def pg_engine(sched_pg_url: str) -> Iterator[Any]:
    engine = make_engine(sched_pg_url)
    truncate_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    engine = make_engine(migrated_sqlite(tmp_path / "sched.db"))
    yield engine
    engine.dispose()
