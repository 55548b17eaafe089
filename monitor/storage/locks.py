"""Session advisory locks: one holder at a time across replicas (Postgres), per process (SQLite).

Deployments (`deployments.deployment_lock`) and the MLflow alias watcher
(`mlflow_refs.watch_lock`) each serialise per model through `advisory_lock`. Each caller passes
its own process lock: the watcher deploys while it holds its lock, so one shared process lock
would deadlock on SQLite.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from monitor.storage.db import storage_errors


@contextmanager
def advisory_lock(engine: Engine, key: str, local: threading.Lock, action: str) -> Iterator[None]:
    """Hold `key` for the block: a session advisory lock on Postgres (released on exit, or
    when the connection closes), `local` elsewhere. `action` names the storage error."""
    if engine.dialect.name != "postgresql":
        with local:
            yield
        return
    params = {"k": key}
    with storage_errors(engine, action), engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), params)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), params)
            conn.commit()
