"""Alembic environment: migrations run on the engine passed by `monitor.storage.db.upgrade`
(online only; there is no offline SQL generation and no URL in alembic.ini)."""

from __future__ import annotations

from alembic import context

from monitor.storage.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - guarded by monitor.storage.db.upgrade
    raise RuntimeError("run migrations through monitor.storage.db.upgrade (monitor db upgrade)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # replicas starting at once: one migrates
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('monitor.migrate'))")
        context.run_migrations()
    connection.commit()
