"""Engines, migrations and the translation of driver errors into our StorageError family.

Connection-level failures become `StorageUnavailable` (the consumer backs off and retries
without committing offsets); anything else the database refuses becomes `StorageError`.
Messages are one line and name the database by a URL with the password masked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy.exc as sa_exc
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from monitor.errors import StorageError, StorageUnavailable

# The handles other layers name in type hints (they never build SQL themselves).
__all__ = ["Connection", "Engine", "StorageUnavailable"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 5
_PACKAGE_DIR = Path(__file__).parent


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_loads(value: Any) -> Any:
    """SQLite's NUMERIC affinity turns a stored JSON scalar like '0.5' into a REAL."""
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


def safe_url(url: str | URL) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL may still hold a secret: show nothing of it
        return "<unparsable database URL>"


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for a sqlite:// or postgresql+psycopg:// URL, tuned for our workload."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise StorageError("database URL is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise StorageError(f"unsupported Postgres driver {parsed.drivername}: use psycopg")
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=pool_size,
            connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
            json_serializer=_json_dumps,
            json_deserializer=_json_loads,
        )
    raise StorageError(
        f"unsupported database {parsed.get_backend_name()}: use sqlite or postgresql"
    )


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        parent = Path(url.database).expanduser().resolve().parent
        if not parent.is_dir():
            raise StorageError(f"SQLite directory {parent} does not exist")
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    return engine


def translate(exc: BaseException, engine: Engine | None, action: str) -> StorageError:
    """Map a SQLAlchemy/driver error to StorageUnavailable or StorageError (one line)."""
    where = safe_url(engine.url) if engine is not None else "database"
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:300]
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError):
        return StorageUnavailable(f"{action}: {where} unavailable: {first}")
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return StorageUnavailable(f"{action}: {where} connection lost: {first}")
    return StorageError(f"{action}: {where} refused: {first}")


@contextlib.contextmanager
def storage_errors(engine: Engine | None, action: str) -> Iterator[None]:
    """Translate SQLAlchemy errors raised in the block; our own errors pass through."""
    try:
        yield
    except StorageError:
        raise
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc, engine, action) from exc


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config(str(_PACKAGE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(_PACKAGE_DIR / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> str | None:
    """Run the Alembic migrations to `revision`; on Postgres also create the upcoming daily
    partitions. Returns the revision the database is at afterwards."""
    from alembic import command

    from monitor.storage.retention import ensure_partitions

    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    with storage_errors(engine, "database upgrade"):
        command.upgrade(alembic_config(engine), revision)
        ensure_partitions(engine)
        return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with storage_errors(engine, "read revision"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(_PACKAGE_DIR / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()
