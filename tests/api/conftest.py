"""API fixtures: a Postgres database seeded once by really running the scheduler, the app on
it (in-process TestClient) and, for Prometheus, the same app served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import ADMIN_TOKEN, READ_TOKEN, Seeded, free_port, make_settings, seed, training
from fastapi.testclient import TestClient

from monitor.app import create_app
from monitor.demo_receivers import Receivers
from monitor.storage import make_engine


@pytest.fixture(scope="session")
def receivers() -> Iterator[Receivers]:
    rec = Receivers(b"unused").start()
    yield rec
    rec.stop()


def _seeded(migrated_pg, tmp: Path, receivers: Receivers, name: str) -> tuple[Any, Seeded]:
    url = migrated_pg(name)
    settings = make_settings(
        url,
        training(tmp / "ref.parquet"),
        tmp / "reports",
        slack_url=f"{receivers.base}/slack",
        webhook_url=f"http://127.0.0.1:{free_port()}/closed",  # refused: retried, last_error
    )
    engine = make_engine(url)
    return engine, seed(engine, settings)


@pytest.fixture(scope="session")
def seeded(migrated_pg, tmp_path_factory, receivers) -> Iterator[tuple[Any, Seeded]]:
    """Read-mostly database shared by the targeted tests (writes there are additive)."""
    engine, facts = _seeded(migrated_pg, tmp_path_factory.mktemp("api"), receivers, "api")
    yield engine, facts
    engine.dispose()


@pytest.fixture(scope="session")
def engine(seeded) -> Any:
    return seeded[0]


@pytest.fixture(scope="session")
def facts(seeded) -> Seeded:
    return seeded[1]


@pytest.fixture(scope="session")
def client(engine, facts) -> Iterator[TestClient]:
    with TestClient(create_app(engine, facts.settings)) as c:
        yield c


@pytest.fixture(scope="session")
def read() -> dict[str, str]:
    return {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture(scope="session")
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="session")
def scratch(migrated_pg, tmp_path_factory, receivers) -> Iterator[tuple[Any, Seeded]]:
    """A second seeded database for tests that change what others read (schemathesis)."""
    engine, facts = _seeded(migrated_pg, tmp_path_factory.mktemp("api2"), receivers, "api2")
    yield engine, facts
    engine.dispose()
