"""Storage fixtures: an `engine` parametrized over SQLite (tmp_path) and Postgres.

The Postgres tests use their own database (not the shared `pg_url` one) so they can empty the
tables between tests without touching other suites' data.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from db_support import PgDatabases, empty_tables, migrated_sqlite
from sqlalchemy import Engine

from monitor.storage import make_engine


@pytest.fixture
def fresh_pg_url(pg_databases: PgDatabases) -> str:
    """An empty (never migrated) Postgres database for one test, dropped at session end."""
    return pg_databases.create("monitor_storage_fresh", migrated=False)[1]


@pytest.fixture(scope="session")
def storage_pg_engine(pg_databases: PgDatabases) -> Iterator[Engine]:
    engine = make_engine(pg_databases.create("monitor_storage", migrated=True)[1])
    yield engine
    engine.dispose()


_TABLES = (
    "notifications, silences, alert_events, alerts, drift_feature_results, drift_runs, "
    "feature_sketches, reference_datasets, dead_letters, labels, predictions"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A migrated, empty store of each dialect."""
    if request.param == "sqlite":
        eng = make_engine(migrated_sqlite(tmp_path / "store.db"))
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("storage_pg_engine")
    empty_tables(eng, _TABLES)  # TRUNCATE ... RESTART IDENTITY CASCADE's end state
    yield eng
