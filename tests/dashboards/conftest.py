"""Dashboard fixtures: one database seeded by a real end-to-end run (see dash_support), the
read-only Grafana role applied to it from dashboards/readonly_role.sql, and the generator."""

from __future__ import annotations

import importlib.util
import secrets
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from dash_support import Seeded, make_settings, seed, training
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from monitor.demo_receivers import Receivers
from monitor.storage import make_engine

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
ROLE = "monitor_grafana"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    """dashboards/generate.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("dashboards_generate", DASHBOARDS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.render()  # fills SQL_COLUMNS
    return module


@pytest.fixture(scope="session")
def seeded(migrated_pg, kafka_bootstrap, tmp_path_factory) -> Iterator[tuple[Engine, Seeded]]:
    receivers = Receivers(b"unused").start()
    url = migrated_pg("dash")
    tmp = tmp_path_factory.mktemp("dash")
    settings = make_settings(
        url,
        training(tmp / "ref.parquet"),
        kafka_bootstrap,
        slack_url=f"{receivers.base}/slack",
        webhook_url=f"http://127.0.0.1:{_closed_port()}/closed",  # refused: stays pending
    )
    engine = make_engine(url)
    try:
        yield engine, seed(engine, settings)
    finally:
        receivers.stop()
        engine.dispose()


@pytest.fixture(scope="session")
def grafana_engine(seeded) -> Iterator[Engine]:
    """An engine logged in as the read-only role, created by the shipped SQL file exactly as
    the README says (password as the `monitor.grafana_password` session setting)."""
    admin = seeded[0]
    url = make_url(admin.url.render_as_string(hide_password=False))
    password = secrets.token_urlsafe(16)
    conninfo = (
        f"host={url.host or '127.0.0.1'} port={url.port or 5432} dbname={url.database} "
        f"user={url.username}" + (f" password={url.password}" if url.password else "")
    )
    script = (DASHBOARDS / "readonly_role.sql").read_text()
    with psycopg.connect(
        conninfo, autocommit=True, options=f"-c monitor.grafana_password={password}"
    ) as conn:
        conn.execute(script)  # no parameters: psycopg sends it as one multi-statement query
    role_url = url.set(username=ROLE, password=password)
    engine = create_engine(role_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def window(seeded) -> tuple[Any, Any]:
    facts = seeded[1]
    return facts.start, facts.end
