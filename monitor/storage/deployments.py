"""Deployments in storage: which version of a model went live, with which reference.

One row per deployment, newest = highest id. A row keeps the reference source it came with,
the reference version materialised for each monitor of the model, the alerts it resolved as
superseded, and (when the caller passed the retraining trigger's delivery id) that outbox
delivery and its alert. `record_deployment` takes the caller's connection: the deployment and
the alert resolutions it causes are stored in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy import exc as sa_exc

from monitor.errors import DeploymentRaced
from monitor.storage.db import storage_errors
from monitor.storage.locks import advisory_lock
from monitor.storage.tables import (
    alerts,
    deployments,
    drift_runs,
    notifications,
    reference_datasets,
)

d, n, r = deployments.c, notifications.c, drift_runs.c
a, rd = alerts.c, reference_datasets.c


@dataclass(frozen=True)
class Deployment:
    """One stored deployment."""

    id: int
    model: str
    version: str
    reference: str
    trigger_delivery_id: str | None
    alert_id: int | None
    deployed_at: datetime
    reference_versions: dict[str, int]  # monitor -> version
    superseded: list[int]  # alert ids resolved by it

    def same_as(self, version: str, reference: str) -> bool:
        """Whether a new request would record this deployment again (idempotent posts: the
        same version with the same reference; the first post's trigger link is kept)."""
        return (self.version, self.reference) == (version, reference)


@dataclass(frozen=True)
class DeliveryLink:
    """An outbox delivery a deployment names as its trigger."""

    delivery_id: str
    alert_id: int | None
    event: str
    route: str


def _row(m: Any) -> Deployment:
    return Deployment(
        id=int(m["id"]),
        model=m["model"],
        version=m["version"],
        reference=m["reference"],
        trigger_delivery_id=m["trigger_delivery_id"],
        alert_id=m["alert_id"],
        deployed_at=m["deployed_at"],
        reference_versions=dict(m["reference_versions"] or {}),
        superseded=list(m["superseded"] or []),
    )


_LOCAL_LOCK = threading.Lock()  # SQLite: one process writes


@contextmanager
def deployment_lock(engine: Engine, model: str) -> Iterator[None]:
    """Deployments of one model one at a time: a session advisory lock on Postgres (across
    replicas), a process lock on SQLite. The unique deployment key backs it up."""
    with advisory_lock(engine, f"monitor.deploy:{model}", _LOCAL_LOCK, "lock deployments"):
        yield


def newest_deployment(conn: Connection, model: str) -> Deployment | None:
    """The model's newest deployment on the caller's connection, or None."""
    stmt = select(deployments).where(d.model == model).order_by(d.id.desc()).limit(1)
    m = conn.execute(stmt).mappings().first()
    return None if m is None else _row(m)


def latest_deployment(engine: Engine, model: str) -> Deployment | None:
    """The model's newest deployment, or None (what the monitors of the model run on)."""
    with storage_errors(engine, "load deployment"), engine.connect() as conn:
        return newest_deployment(conn, model)


def latest_deployments(engine: Engine, models: list[str]) -> dict[str, Deployment]:
    """The newest deployment of each of `models` that has one, by model."""
    if not models:
        return {}
    newest = select(func.max(d.id)).where(d.model.in_(models)).group_by(d.model)
    stmt = select(deployments).where(d.id.in_(newest))
    with storage_errors(engine, "load deployments"), engine.connect() as conn:
        return {m["model"]: _row(m) for m in conn.execute(stmt).mappings()}


def list_deployments(engine: Engine, model: str, limit: int = 100) -> list[Deployment]:
    """The model's deployments, newest first."""
    stmt = select(deployments).where(d.model == model).order_by(d.id.desc()).limit(limit)
    with storage_errors(engine, "list deployments"), engine.connect() as conn:
        return [_row(m) for m in conn.execute(stmt).mappings()]


def delivery_link(engine: Engine, delivery_id: str) -> DeliveryLink | None:
    """The outbox delivery with this id (its first row: one per route), or None."""
    stmt = (
        select(n.delivery_id, n.alert_id, n.event, n.route)
        .where(n.delivery_id == delivery_id)
        .order_by(n.id)
        .limit(1)
    )
    with storage_errors(engine, "load delivery"), engine.connect() as conn:
        m = conn.execute(stmt).mappings().first()
    if m is None:
        return None
    return DeliveryLink(m["delivery_id"], m["alert_id"], m["event"], m["route"])


def record_deployment(
    conn: Connection,
    *,
    model: str,
    version: str,
    reference: str,
    trigger: DeliveryLink | None,
    reference_versions: dict[str, int],
    superseded: list[int],
    deployed_at: datetime,
) -> Deployment:
    """Store one deployment on the caller's connection; the stored row.

    It follows the model's newest deployment the connection sees; DeploymentRaced (and the
    caller's transaction is lost) when a concurrent one following the same was stored first.
    """
    newest = newest_deployment(conn, model)
    values = {
        "model": model,
        "version": version,
        "reference": reference,
        "trigger_delivery_id": trigger.delivery_id if trigger else None,
        "alert_id": trigger.alert_id if trigger else None,
        "reference_versions": reference_versions,
        "superseded": superseded,
        "deployed_at": deployed_at,
    }
    stmt = insert(deployments).values(**values, follows_id=newest.id if newest else 0)
    try:
        new_id = conn.execute(stmt.returning(d.id)).scalar_one()
    except sa_exc.IntegrityError as exc:
        raise DeploymentRaced(
            f"another deployment of model {model!r} was stored meanwhile"
        ) from exc
    return _row({"id": new_id, **values})


def set_superseded(conn: Connection, deployment_id: int, alert_ids: list[int]) -> None:
    """The alerts a just-recorded deployment resolved as superseded."""
    conn.execute(update(deployments).where(d.id == deployment_id).values(superseded=alert_ids))


def run_windows(conn: Connection, run_ids: list[int]) -> dict[int, tuple[datetime, datetime]]:
    """[start, end) of each of the drift runs `run_ids` that exists, by id."""
    if not run_ids:
        return {}
    stmt = select(r.id, r.window_start, r.window_end).where(r.id.in_(run_ids))
    return {int(i): (s, e) for i, s, e in conn.execute(stmt)}


# --- retraining episodes (issue #16 item 3) ---


@dataclass(frozen=True)
class EpisodeAlert:
    """The alert whose retraining trigger led to a deployment."""

    id: int
    monitor: str
    rule: str
    subject: str
    severity: str
    state: str
    fired_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class EpisodeTrigger:
    """The trigger's delivery: its route, status and the target's answer (run id, URL)."""

    delivery_id: str
    route: str
    event: str
    status: str
    delivered_at: datetime | None
    answer: dict[str, Any] | None


@dataclass(frozen=True)
class EpisodeRun:
    """One of the deployed version's first finished drift runs (on its reference)."""

    id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    status: str
    dataset_drift: bool | None
    drift_share: float | None


_RUN_COLS = (
    r.id,
    r.monitor,
    r.window_start,
    r.window_end,
    r.status,
    r.dataset_drift,
    r.drift_share,
)


@dataclass(frozen=True)
class Episode:
    """alert fired -> trigger delivered -> deployment of a version -> its first runs."""

    deployment: Deployment
    alert: EpisodeAlert | None
    trigger: EpisodeTrigger | None
    runs: list[EpisodeRun]
    before: list[EpisodeRun] = field(default_factory=list)  # the old version's last runs


def episodes(engine: Engine, model: str, first: int = 3, limit: int = 20) -> list[Episode]:
    """The model's deployments that name a retraining trigger, newest first, each with its
    alert, its trigger delivery (the row that kept the target's answer, else the first) and
    the first `first` finished drift runs per monitor on the reference it materialised, and
    the last `first` finished runs of each monitor that ended before it went live."""
    stmt = (
        select(deployments)
        .where(d.model == model, d.trigger_delivery_id.is_not(None))
        .order_by(d.id.desc())
        .limit(limit)
    )
    with storage_errors(engine, "load episodes"), engine.connect() as conn:
        deps = [_row(m) for m in conn.execute(stmt).mappings()]
        found = _episode_alerts(conn, [x.alert_id for x in deps if x.alert_id is not None])
        triggers = _triggers(conn, [x.trigger_delivery_id for x in deps if x.trigger_delivery_id])
        return [
            Episode(
                deployment=x,
                alert=found.get(x.alert_id) if x.alert_id is not None else None,
                trigger=triggers.get(x.trigger_delivery_id or ""),
                runs=_first_runs(conn, x.reference_versions, first),
                before=_last_runs_before(conn, x, first),
            )
            for x in deps
        ]


def _episode_alerts(conn: Connection, ids: list[int]) -> dict[int, EpisodeAlert]:
    if not ids:
        return {}
    cols = (a.id, a.monitor, a.rule, a.subject, a.severity, a.state, a.fired_at, a.resolved_at)
    rows = conn.execute(select(*cols).where(a.id.in_(ids))).all()
    return {int(row[0]): EpisodeAlert(*row) for row in rows}


def _triggers(conn: Connection, delivery_ids: list[str]) -> dict[str, EpisodeTrigger]:
    if not delivery_ids:
        return {}
    cols = (n.delivery_id, n.route, n.event, n.status, n.delivered_at, n.answer)
    stmt = select(*cols).where(n.delivery_id.in_(delivery_ids)).order_by(n.id)
    out: dict[str, EpisodeTrigger] = {}
    for row in conn.execute(stmt).all():
        known = out.get(row[0])
        if known is None or (known.answer is None and row[5] is not None):
            out[row[0]] = EpisodeTrigger(*row)
    return out


def _first_runs(
    conn: Connection, reference_versions: dict[str, int], first: int
) -> list[EpisodeRun]:
    """The first finished drift runs of each monitor on the given reference versions."""
    runs: list[EpisodeRun] = []
    for monitor, version in sorted(reference_versions.items()):
        ref_ids = select(rd.id).where(rd.monitor == monitor, rd.version == version)
        stmt = (
            select(*_RUN_COLS)
            .where(r.monitor == monitor, r.reference_id.in_(ref_ids), r.status != "running")
            .order_by(r.window_start, r.id)
            .limit(first)
        )
        runs.extend(EpisodeRun(*row) for row in conn.execute(stmt).all())
    return runs


def _last_runs_before(conn: Connection, deployment: Deployment, last: int) -> list[EpisodeRun]:
    """Each monitor's last finished drift runs not on the deployment's reference whose window
    ended by the deployment, oldest first (the old version's, to compare with the new
    version's first ones)."""
    runs: list[EpisodeRun] = []
    for monitor, version in sorted(deployment.reference_versions.items()):
        ref_ids = select(rd.id).where(rd.monitor == monitor, rd.version == version)
        stmt = (
            select(*_RUN_COLS)
            .where(
                r.monitor == monitor,
                or_(r.reference_id.is_(None), r.reference_id.not_in(ref_ids)),
                r.window_end <= deployment.deployed_at,
                r.status != "running",
            )
            .order_by(r.window_start.desc(), r.id.desc())
            .limit(last)
        )
        runs.extend(reversed([EpisodeRun(*row) for row in conn.execute(stmt).all()]))
    return runs
