"""Stores for the operator CLI tests: a migrated Postgres database (emptied before each
test) and SQLite in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from db_support import migrated_sqlite, truncate_all

from monitor.storage import make_engine


@pytest.fixture(scope="session")
def cli_pg_url(migrated_pg) -> str:
    return migrated_pg("cli")


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        url = request.getfixturevalue("cli_pg_url")
        engine = make_engine(url)
        truncate_all(engine)
        engine.dispose()
        yield url
        return
    yield migrated_sqlite(tmp_path / "cli.db")
