"""Deployments fed back: a model version went live with its training data.

`deploy` records it (storage.deployments) and, for every configured monitor of the model:
materialises the new reference once (a new reference version, as `monitor reference
refresh` would, from the given CSV/Parquet file with the monitor's own column names) and
resolves the open drift and performance alerts of the old version with reason `superseded`
(a resolved notification goes out for those people were told about). The deployment, the
resolutions and their outbox rows are one transaction; the references are stored first
(a failed read of the training file records nothing).

At run time the newest deployment of a model wins over the configured `model_version` of
its monitors (`effective_monitor`); the reference used is, as always, the newest stored
version. Posting the same deployment again (the same version and reference as the model's
newest) records nothing and returns the stored one. Deployments of one model run one at a
time (`storage.deployments.deployment_lock`), and a unique key (the deployment each one
follows) stops a second row where that lock does not reach (DeploymentRaced: the loser
returns the winner when identical, else the API answers 409).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from monitor.alerts import SUPERSEDED_FAMILIES, AlertChange, supersede
from monitor.errors import DeploymentRaced, InputError, UnknownModel
from monitor.lifecycle import Alert
from monitor.reference import materialise, reference_frame
from monitor.rules import RunFacts, event_family
from monitor.settings import MonitorSettings, ReferenceSettings, Settings, parse_model_uri
from monitor.storage import alerts as alert_store
from monitor.storage import deployments as store
from monitor.storage.db import Connection, Engine, storage_errors
from monitor.storage.deployments import DeliveryLink, Deployment

__all__ = [
    "DeployOutcome",
    "Deployment",
    "deploy",
    "effective_monitor",
    "monitors_of",
    "overrides",
]


@dataclass(frozen=True)
class DeployOutcome:
    deployment: Deployment
    created: bool  # False: the same deployment was already the model's newest
    changes: tuple[AlertChange, ...] = ()


def monitors_of(settings: Settings, model: str) -> list[MonitorSettings]:
    """The configured monitors of a model; UnknownModel when there is none."""
    found = [m for m in settings.monitors if m.model == model]
    if not found:
        raise UnknownModel(f"no configured monitor watches model {model!r}")
    return found


def effective_monitor(engine: Engine, monitor: MonitorSettings) -> MonitorSettings:
    """The monitor as it runs now: the newest deployment's version wins over the config."""
    newest = store.latest_deployment(engine, monitor.model)
    if newest is None or newest.version == monitor.model_version:
        return monitor
    return monitor.model_copy(update={"model_version": newest.version})


def overrides(engine: Engine, monitors: list[MonitorSettings]) -> dict[str, Deployment]:
    """The deployment each monitor runs on where its version differs from the configured
    `model_version`, by monitor name (what the API and the pages show besides the config)."""
    newest = store.latest_deployments(engine, sorted({m.model for m in monitors}))
    return {
        m.name: dep
        for m in monitors
        if (dep := newest.get(m.model)) is not None and dep.version != m.model_version
    }


def deploy(
    engine: Engine,
    settings: Settings,
    *,
    model: str,
    version: str,
    reference: str,
    trigger: str | None = None,
    now: datetime | None = None,
) -> DeployOutcome:
    """Record that `version` of `model` went live with `reference` as its training data."""
    monitors = monitors_of(settings, model)
    version, reference = version.strip(), reference.strip()
    if not version or not reference:
        raise InputError("a deployment needs a version and a reference")
    link = _trigger(engine, trigger)
    with store.deployment_lock(engine, model):  # simultaneous posts: one after the other
        return _deploy_locked(engine, settings, monitors, model, version, reference, link, now)


def _deploy_locked(
    engine: Engine,
    settings: Settings,
    monitors: list[MonitorSettings],
    model: str,
    version: str,
    reference: str,
    link: DeliveryLink | None,
    now: datetime | None,
) -> DeployOutcome:
    """`deploy` under the model's deployment lock: references first, then one transaction."""
    newest = store.latest_deployment(engine, model)
    if newest is not None and newest.same_as(version, reference):
        return DeployOutcome(newest, created=False)
    now = now or datetime.now(UTC)
    old = {m.name: effective_monitor(engine, m) for m in monitors}
    frames = [(m, *reference_frame(engine, _with_reference(m, reference))) for m in monitors]
    versions = {
        m.name: materialise(engine, _with_reference(m, reference), frame=f, source=src, now=now).version
        for m, f, src in frames
    }  # fmt: skip
    try:
        with storage_errors(engine, "record deployment"), engine.begin() as conn:
            again = store.newest_deployment(conn, model)  # a concurrent identical post won
            if again is not None and again.same_as(version, reference):
                return DeployOutcome(again, created=False)
            deployment, changes = _record(conn, settings, old, model, version, reference,
                                          link, versions, now)  # fmt: skip
    except DeploymentRaced:  # a concurrent post was stored first (unique deployment key)
        again = store.latest_deployment(engine, model)
        if again is not None and again.same_as(version, reference):
            return DeployOutcome(again, created=False)
        raise
    superseded = [c.alert_id for c in changes]
    deployment = replace(deployment, superseded=superseded)
    return DeployOutcome(deployment, created=True, changes=tuple(changes))


def _record(
    conn: Connection,
    settings: Settings,
    old: dict[str, MonitorSettings],
    model: str,
    version: str,
    reference: str,
    link: DeliveryLink | None,
    versions: dict[str, int],
    now: datetime,
) -> tuple[Deployment, list[AlertChange]]:
    """Store the deployment and resolve the old version's alerts, on the caller's connection."""
    deployment = store.record_deployment(
        conn,
        model=model,
        version=version,
        reference=reference,
        trigger=link,
        reference_versions=versions,
        superseded=[],
        deployed_at=now,
    )
    by = {"deployment_id": deployment.id, "version": version}
    changes = _supersede_all(conn, settings, list(old.values()), by, now)
    store.set_superseded(conn, deployment.id, [c.alert_id for c in changes])
    return deployment, changes


def _trigger(engine: Engine, delivery_id: str | None) -> DeliveryLink | None:
    """The outbox delivery named as the deployment's cause; InputError when unknown."""
    if delivery_id is None:
        return None
    link = store.delivery_link(engine, delivery_id)
    if link is None:
        raise InputError(f"no outbox delivery with id {delivery_id!r}")
    return link


def _with_reference(monitor: MonitorSettings, path: str) -> MonitorSettings:
    """The monitor with its reference read from `path` (its own column names kept)."""
    old = monitor.reference
    source: dict[str, str | None] = {"path": path}
    if path.startswith("models:/"):  # an MLflow model version (issue 16): same dataset/artifact
        try:
            parse_model_uri(path)
        except ValueError as exc:
            raise InputError(f"reference: {exc}") from None
        source = {"mlflow": path, "tracking_uri": old.tracking_uri if old else None}
        if old is not None and old.mlflow is not None:
            source.update(dataset=old.dataset, artifact=old.artifact)
    new = ReferenceSettings(
        **source,
        prediction_column=old.prediction_column if old else "prediction",
        label_column=old.label_column if old else "label",
    )
    return monitor.model_copy(update={"reference": new})


def _supersede_all(
    conn: Connection,
    settings: Settings,
    monitors: list[MonitorSettings],
    by: dict[str, object],
    now: datetime,
) -> list[AlertChange]:
    """Resolve the open drift and performance alerts of every monitor as superseded."""
    changes: list[AlertChange] = []
    for m in monitors:
        rules = {r.name: r for r in m.rules}
        rows = [
            row
            for row in alert_store.open_alerts(conn, m.name).values()
            if row.rule in rules and event_family(rules[row.rule].condition) in SUPERSEDED_FAMILIES
        ]
        windows = store.run_windows(conn, [r.last_run_id for r in rows if r.last_run_id])
        for row in rows:
            facts = _facts(m, row, windows, now)
            changes.append(
                supersede(conn, row, rules[row.rule], facts, settings.alerting, now, by=by)
            )
    return changes


def _facts(
    monitor: MonitorSettings,
    row: Alert,
    windows: dict[int, tuple[datetime, datetime]],
    now: datetime,
) -> RunFacts:
    """What the resolved notification says: the old version and the alert's last window
    (its last run's; else from when it fired until now)."""
    window = windows.get(row.last_run_id) if row.last_run_id else None
    start, end = window or (row.fired_at or row.created_at, now)
    return RunFacts(
        monitor=monitor.name,
        model=monitor.model,
        model_version=monitor.model_version,
        run_id=row.last_run_id,
        window_start=start,
        window_end=end,
        status="succeeded",
    )
