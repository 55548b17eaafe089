"""MLflow references in storage (issue 16 item 5): lineage of a reference version, alias state.

`reference_mlflow` holds, per reference version read from MLflow, the model version, run and
dataset digest it came from (`monitor reference show` and the API list it beside the
version). `mlflow_alias_watch` holds the alias version the watcher last acted on for a model,
read and written under `watch_lock` so an alias move deploys once across replicas.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from monitor.storage.db import storage_errors
from monitor.storage.locks import advisory_lock
from monitor.storage.tables import mlflow_alias_watch, reference_datasets, reference_mlflow

m_ = reference_mlflow.c
w_ = mlflow_alias_watch.c


@dataclass(frozen=True)
class Lineage:
    """Where an MLflow reference version came from."""

    model_uri: str
    registered_model: str
    alias: str | None
    model_version: str
    run_id: str
    dataset_name: str | None
    dataset_digest: str | None
    artifact_path: str | None
    data_uri: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = tuple(Lineage.__dataclass_fields__)


def store_lineage(engine: Engine, reference_id: int, lineage: Lineage) -> None:
    """Record the MLflow lineage of a stored reference version."""
    with storage_errors(engine, "store mlflow lineage"), engine.begin() as conn:
        conn.execute(insert(reference_mlflow).values(reference_id=reference_id, **asdict(lineage)))


def lineages(engine: Engine, reference_ids: list[int]) -> dict[int, Lineage]:
    """The lineage of each of `reference_ids` that was read from MLflow, by reference id."""
    if not reference_ids:
        return {}
    stmt = select(reference_mlflow).where(m_.reference_id.in_(reference_ids))
    with storage_errors(engine, "load mlflow lineage"), engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return {int(r["reference_id"]): Lineage(**{k: r[k] for k in _FIELDS}) for r in rows}


def newest_lineage(engine: Engine, monitor: str) -> Lineage | None:
    """The lineage of the monitor's newest reference version (None: not from MLflow)."""
    r = reference_datasets.c
    newest = select(func.max(r.id)).where(r.monitor == monitor).scalar_subquery()
    stmt = select(reference_mlflow).where(m_.reference_id == newest)
    with storage_errors(engine, "load mlflow lineage"), engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    return None if row is None else Lineage(**{k: row[k] for k in _FIELDS})


_LOCAL_LOCK = threading.Lock()  # SQLite: one process


@contextmanager
def watch_lock(engine: Engine, model: str) -> Iterator[None]:
    """The alias watcher of one model one at a time: a session advisory lock on Postgres
    (across replicas), a process lock on SQLite. Not the deployment lock (deploy takes that)."""
    with advisory_lock(engine, f"monitor.mlflow-watch:{model}", _LOCAL_LOCK, "lock mlflow watch"):
        yield


def watched_version(engine: Engine, model: str, registered_model: str, alias: str) -> str | None:
    """The alias version the watcher last acted on for `model`, or None (never seen)."""
    stmt = select(w_.model_version).where(
        w_.model == model, w_.registered_model == registered_model, w_.alias == alias
    )
    with storage_errors(engine, "load mlflow watch"), engine.connect() as conn:
        return conn.execute(stmt).scalar_one_or_none()


def set_watched(
    engine: Engine,
    model: str,
    registered_model: str,
    alias: str,
    *,
    version: str,
    deployment_id: int | None,
    now: datetime,
) -> None:
    """Record the alias version acted on (replacing the previous one)."""
    key = {"model": model, "registered_model": registered_model, "alias": alias}
    with storage_errors(engine, "store mlflow watch"), engine.begin() as conn:
        conn.execute(
            delete(mlflow_alias_watch).where(
                w_.model == model, w_.registered_model == registered_model, w_.alias == alias
            )
        )
        conn.execute(
            insert(mlflow_alias_watch).values(
                **key, model_version=version, deployment_id=deployment_id, updated_at=now
            )
        )
