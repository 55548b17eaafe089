"""The test-database helpers of db_support must leave what the slow paths they replace leave:
`empty_tables` what TRUNCATE ... RESTART IDENTITY CASCADE leaves, a template clone and a
SQLite copy what a real `upgrade()` leaves."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from db_support import ALL_TABLES, PgDatabases, empty_tables, migrated_sqlite, truncate_all
from sqlalchemy import Engine, inspect, text

from monitor.storage import current_revision, head_revision, make_engine
from monitor.storage.tables import metadata

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _seed(engine: Engine, tag: str) -> None:
    """An alert referenced by a deployment (ON DELETE SET NULL: TRUNCATE CASCADE empties
    deployments, a DELETE of alerts alone would not), a web session (outside the cascade) and
    every sequence moved on."""
    with engine.begin() as conn:
        alert = conn.execute(
            text(
                "INSERT INTO alerts (fingerprint, monitor, rule, subject, state, severity, "
                "created_at) VALUES ('f', 'm', 'r', 's', 'firing', 'page', :t) RETURNING id"
            ),
            {"t": T0},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO deployments (model, version, reference, alert_id, deployed_at) "
                "VALUES ('m', '1', 'ref.parquet', :a, :t)"
            ),
            {"a": alert, "t": T0},
        )
        conn.execute(
            text(
                "INSERT INTO web_sessions (id_hash, scope, csrf, created_at, expires_at) "
                "VALUES (:h, 'read', 'c', :t, :t)"
            ),
            {"h": tag, "t": T0},
        )
        conn.execute(text("SELECT nextval(oid) FROM pg_class WHERE relkind = 'S'"))


def _state(engine: Engine) -> dict[str, object]:
    """Row count of every table and the last value of every sequence (None: restarted)."""
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') "
                "AND relnamespace = 'public'::regnamespace AND NOT relispartition"
            )
        ).scalars()
        state: dict[str, object] = {
            t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables
        }
        for name, last in conn.execute(
            text("SELECT relname, pg_sequence_last_value(oid) FROM pg_class WHERE relkind = 'S'")
        ):
            state[name] = last
    return state


def _same_schema_as_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": lambda o, n, t, r, c: not n.startswith("predictions_")}
        )
        assert compare_metadata(ctx, metadata) == []


def test_empty_tables_leaves_what_truncate_restart_identity_cascade_leaves(
    pg_databases: PgDatabases,
) -> None:
    by_truncate = make_engine(pg_databases.create("monitor_helpers_a", migrated=True)[1])
    by_delete = make_engine(pg_databases.create("monitor_helpers_b", migrated=True)[1])
    try:
        for tables in (ALL_TABLES, "notifications, alerts"):
            for engine in (by_truncate, by_delete):
                _seed(engine, tag=tables)
            before = _state(by_delete)
            with by_truncate.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            empty_tables(by_delete, tables)
            after = _state(by_delete)
            assert after == _state(by_truncate)
            assert after["deployments"] == 0 and after["web_sessions"] == before["web_sessions"]
            assert after["alerts_id_seq"] is None and before["alerts_id_seq"] is not None
        truncate_all(by_delete)  # a second time on a known plan, with nothing to delete
        assert _state(by_delete)["alerts"] == 0
    finally:
        by_truncate.dispose()
        by_delete.dispose()


def test_a_template_clone_is_a_migrated_database(pg_databases: PgDatabases) -> None:
    engine = make_engine(pg_databases.create("monitor_helpers_clone", migrated=True)[1])
    try:
        _same_schema_as_head(engine)
        names = set(inspect(engine).get_table_names())
        assert sum(n.startswith("predictions_") for n in names) >= 1 + 9  # daily partitions
    finally:
        engine.dispose()


def test_a_sqlite_copy_is_a_migrated_store(tmp_path) -> None:
    engine = make_engine(migrated_sqlite(tmp_path / "copy.db"))
    try:
        _same_schema_as_head(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("SELECT count(*) FROM alerts").scalar_one() == 0
    finally:
        engine.dispose()
