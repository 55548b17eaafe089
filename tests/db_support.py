"""Database helpers for test suites (import as `from db_support import truncate_all`).

Speed without changing what a test sees:
- `PgDatabases` creates the session's Postgres databases. A migrated one is a clone
  (`CREATE DATABASE ... TEMPLATE`) of one database migrated by the real `upgrade()` at its
  first use, instead of running Alembic again for every database; an empty one is plain
  (tests/storage/test_storage_migrations.py migrates those for real). All of them are dropped
  together, in parallel, at the end of the session: a DROP DATABASE waits for a checkpoint.
- `empty_tables` has TRUNCATE ... RESTART IDENTITY CASCADE's effect through DELETEs (a
  TRUNCATE of a dozen small tables and their partitions costs ~0.1-0.7 s; DELETEs of a few
  rows cost milliseconds).
- `migrated_sqlite` copies a SQLite file migrated once by the real `upgrade()`.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import psycopg

ALL_TABLES = (
    "performance_runs, notifications, silences, alert_events, alerts, drift_feature_results, "
    "drift_runs, feature_sketches, reference_datasets, dead_letters, labels, predictions"
)


def truncate_all(engine: Any) -> None:
    """Empty every table of a Postgres test database (between tests of one suite)."""
    empty_tables(engine, ALL_TABLES)


_PLANS: dict[tuple[str, str], str] = {}

_CLOSURE = """
WITH RECURSIVE closure(oid) AS (
    SELECT unnest(CAST(:names AS regclass[]))::oid
    UNION
    SELECT c.conrelid FROM pg_constraint c JOIN closure ON c.confrelid = closure.oid
    JOIN pg_class r ON r.oid = c.conrelid
    WHERE c.contype = 'f' AND NOT r.relispartition
)
SELECT r.oid::bigint, format('%I.%I', n.nspname, r.relname) FROM closure
JOIN pg_class r ON r.oid = closure.oid JOIN pg_namespace n ON n.oid = r.relnamespace
"""
_EDGES = """
SELECT DISTINCT c.conrelid::bigint, c.confrelid::bigint FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid = ANY(CAST(:oids AS oid[]))
  AND c.confrelid = ANY(CAST(:oids AS oid[]))
  AND c.conrelid <> c.confrelid
"""
_SEQUENCES = """
SELECT DISTINCT d.objid::bigint FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  AND s.relkind = 'S' AND d.deptype IN ('a', 'i') AND d.refobjid = ANY(CAST(:oids AS oid[]))
"""


def _plan(conn: Any, tables: str) -> str:
    """One DO block: DELETE the tables and every table referencing them (TRUNCATE CASCADE's
    closure), referencing ones first; then restart their owned sequences that were used."""
    from sqlalchemy import text

    names = [t.strip() for t in tables.split(",") if t.strip()]
    rows = conn.execute(text(_CLOSURE), {"names": names}).all()
    qualified = {oid: name for oid, name in rows}
    oids = list(qualified)
    deps: dict[int, set[int]] = {oid: set() for oid in oids}
    for child, parent in conn.execute(text(_EDGES), {"oids": oids}).all():
        deps[parent].add(child)  # the referencing table goes first
    try:
        order = list(TopologicalSorter(deps).static_order())
    except CycleError:  # a reference cycle: only TRUNCATE can empty it in one go
        return f"TRUNCATE {tables} RESTART IDENTITY CASCADE"
    seqs = [r[0] for r in conn.execute(text(_SEQUENCES), {"oids": oids}).all()]
    deletes = "".join(f"DELETE FROM {qualified[oid]};" for oid in order)
    restart = (
        "PERFORM setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s "
        f"WHERE s.seqrelid = ANY('{{{','.join(map(str, seqs))}}}'::oid[]) "
        "AND pg_sequence_last_value(s.seqrelid) IS NOT NULL;"
        if seqs
        else ""
    )
    return f"DO $$BEGIN {deletes} {restart} END$$"


def empty_tables(engine: Any, tables: str) -> None:
    """Same end state as `TRUNCATE <tables> RESTART IDENTITY CASCADE`, faster on small tables:
    the listed tables and all that reference them are emptied, their sequences restarted."""
    from sqlalchemy import text

    key = (engine.url.render_as_string(hide_password=False), tables)
    with engine.begin() as conn:
        if key not in _PLANS:
            _PLANS[key] = _plan(conn, tables)
        conn.execute(text(_PLANS[key]))


class PgDatabases:
    """The session's Postgres databases: created empty or as clones of one migrated template,
    all dropped together by `drop_all()`."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        parts = dict(p.split("=", 1) for p in conninfo.split())
        auth = parts["user"] + (f":{parts['password']}" if "password" in parts else "")
        self._base = f"postgresql+psycopg://{auth}@{parts['host']}:{parts['port']}/"
        self._made: list[str] = []
        self._template: str | None = None
        self._lock = threading.Lock()

    def url(self, name: str) -> str:
        return self._base + name

    def _execute(self, sql: str) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(sql)

    def create(self, prefix: str, *, migrated: bool) -> tuple[str, str]:
        """A new database (name, SQLAlchemy URL); migrated = a clone of the template."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with self._lock:  # a template accepts no other session while it is copied
            template = f' TEMPLATE "{self._migrated_template()}"' if migrated else ""
            self._made.append(name)
            self._execute(f'CREATE DATABASE "{name}"{template}')
        return name, self.url(name)

    def _migrated_template(self) -> str:
        """Created and migrated by the real `upgrade()` once per session."""
        if self._template is None:
            from monitor.storage import make_engine, upgrade

            name = f"monitor_template_{uuid.uuid4().hex[:10]}"
            self._made.append(name)
            self._execute(f'CREATE DATABASE "{name}"')
            engine = make_engine(self.url(name))
            try:
                upgrade(engine)
            finally:
                engine.dispose()  # no connection may stay open on a template
            self._template = name
        return self._template

    def drop_all(self) -> None:
        """DROP every database made here, in parallel (each waits for a checkpoint)."""
        with self._lock:
            names, self._made = self._made, []

        def drop(name: str) -> None:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        if names:
            with ThreadPoolExecutor(max_workers=min(16, len(names))) as pool:
                list(pool.map(drop, names))


_SQLITE_TEMPLATE: Path | None = None


def migrated_sqlite(path: Path) -> str:
    """Copy a SQLite store migrated once per process by the real `upgrade()` to `path`; its URL."""
    global _SQLITE_TEMPLATE
    if _SQLITE_TEMPLATE is None:
        from monitor.storage import make_engine, upgrade

        folder = Path(tempfile.mkdtemp(prefix="monitor-sqlite-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        with sqlite3.connect(template) as conn:  # everything in the main file, no -wal left
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        _SQLITE_TEMPLATE = template
    shutil.copyfile(_SQLITE_TEMPLATE, path)
    return f"sqlite:///{path}"
