"""Dashboard fixtures: a SQLite store seeded once by really running the scheduler (web_support),
the API app on it, served by uvicorn on a free port (the browser tests) and in-process
(TestClient, the HTTP tests); and a Postgres store holding a run of every status
(status_support), served the same way (the every-page walk)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from status_support import LONG, StatusStore, seed_statuses, status_monitors
from web_support import Seeded, make_settings, seed, training

from monitor.api.server import ServerThread
from monitor.app import create_app
from monitor.demo_receivers import Receivers
from monitor.storage import make_engine, upgrade


@dataclass(frozen=True)
class Site:
    url: str
    engine: Any
    app: Any
    facts: Seeded
    read_token: str
    admin_token: str
    slack: Receivers


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("web")
    slack = Receivers(b"unused").start()
    read, admin = "read-" + secrets.token_hex(16), "admin-" + secrets.token_hex(16)
    url = f"sqlite:///{tmp / 'web.db'}"
    settings = make_settings(
        url,
        training(tmp / "ref.parquet"),
        tmp / "reports",
        slack_url=f"{slack.base}/slack",
        read_token=read,
        admin_token=admin,
    )
    engine = make_engine(url)
    upgrade(engine)
    facts = seed(engine, settings)
    app = create_app(engine, settings)
    server = ServerThread(app, "127.0.0.1", 0, name="web").start()
    try:
        yield Site(server.url, engine, app, facts, read, admin, slack)
    finally:
        server.stop()
        slack.stop()
        engine.dispose()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    """A fresh in-process client (own cookie jar) that never follows redirects."""
    with TestClient(site.app, follow_redirects=False) as c:
        yield c


@dataclass(frozen=True)
class StatusSite:
    url: str
    engine: Any
    app: Any
    store: StatusStore
    read_token: str


@pytest.fixture(scope="session")
def status_site(tmp_path_factory, migrated_pg) -> Iterator[StatusSite]:
    tmp = tmp_path_factory.mktemp("web-pg")
    slack = Receivers(b"unused").start()
    read, admin = "read-" + secrets.token_hex(16), "admin-" + secrets.token_hex(16)
    url = migrated_pg("web")
    ref = training(tmp / "ref.parquet")
    more = status_monitors(ref, training(tmp / "long.parquet", extra=LONG), tmp / "missing.csv")
    settings = make_settings(
        url, ref, tmp / "reports", slack_url=f"{slack.base}/slack", read_token=read,
        admin_token=admin, more=more,
    )  # fmt: skip
    engine = make_engine(url)
    store = seed_statuses(engine, settings)
    app = create_app(engine, settings)
    server = ServerThread(app, "127.0.0.1", 0, name="web-pg").start()
    try:
        yield StatusSite(server.url, engine, app, store, read)
    finally:
        server.stop()
        slack.stop()
        engine.dispose()
