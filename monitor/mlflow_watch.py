"""The MLflow alias watcher (issue 16 item 5): an alias move is a deployment, once.

With `mlflow.watch_alias: true` the scheduler polls, every `mlflow.poll_interval`, each
registered model alias that a monitor's reference names (`models:/churn@champion`). When the
alias points at another version than the one last acted on, the model is deployed as
`monitor deploy` would (`deployments.deploy`: version = the MLflow version number,
reference = `models:/churn/<version>`, read with the monitor's own dataset/artifact options),
so the model's monitors switch to the new version and reference and the old version's drift
and performance alerts resolve as superseded.

Exactly once with several replicas: the poll, the check and the deployment run under a
per-model advisory lock (`storage.mlflow_refs.watch_lock`), and the version acted on is stored
(`mlflow_alias_watch`) after the deployment, so a replica that comes second finds it and
does nothing; a crash between the two repeats the deployment, which `deploy` answers with
the stored one (same version and reference). The first time an alias is seen, it is only
recorded, unless the monitor's current reference was read from another version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.deployments import DeployOutcome, deploy
from monitor.errors import MonitorError
from monitor.mlflow_reference import alias_version
from monitor.settings import Settings, parse_model_uri
from monitor.storage import mlflow_refs
from monitor.storage.db import Engine

log = logging.getLogger("monitor.mlflow")


@dataclass(frozen=True)
class Watched:
    model: str  # the monitored model (what deployments name)
    registered_model: str
    alias: str
    tracking_uri: str | None
    monitors: tuple[str, ...]


def watched(settings: Settings) -> list[Watched]:
    """The aliases the monitors' MLflow references name, one per (model, registered model,
    alias), in config order; empty unless `mlflow.watch_alias` is on."""
    if not settings.mlflow.watch_alias:
        return []
    found: dict[tuple[str, str, str], Watched] = {}
    for m in settings.monitors:
        ref = m.reference
        if ref is None or ref.mlflow is None:
            continue
        name, _, alias = parse_model_uri(ref.mlflow)
        if alias is None:
            continue
        key = (m.model, name, alias)
        old = found.get(key)
        names = (*old.monitors, m.name) if old else (m.name,)
        found[key] = Watched(m.model, name, alias, ref.tracking_uri, names)
    return list(found.values())


def watch_once(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> list[DeployOutcome]:
    """Poll every watched alias once; the deployments made (an alias that moved)."""
    made = []
    for w in watched(settings):
        try:
            outcome = check_alias(engine, settings, w, now)
        except MonitorError as exc:  # server down, alias gone: the others still go; next poll
            log.warning(
                "mlflow_watch_failed",
                extra={"model": w.model, "alias": w.alias, "error": str(exc)[:300]},
            )
            continue
        if outcome is not None:
            made.append(outcome)
    return made


def check_alias(
    engine: Engine, settings: Settings, w: Watched, now: datetime | None = None
) -> DeployOutcome | None:
    """Deploy the version `w`'s alias points at if it moved since it was last acted on."""
    where = f"mlflow alias models:/{w.registered_model}@{w.alias} (model {w.model})"
    with mlflow_refs.watch_lock(engine, w.model):  # polled under the lock: never a stale answer
        version = alias_version(w.tracking_uri, w.registered_model, w.alias, where)
        seen = mlflow_refs.watched_version(engine, w.model, w.registered_model, w.alias)
        if seen == version:
            return None
        now = now or datetime.now(UTC)
        if seen is None and _current(engine, w) in (None, version):
            mlflow_refs.set_watched(engine, w.model, w.registered_model, w.alias,
                                    version=version, deployment_id=None, now=now)  # fmt: skip
            return None
        outcome = deploy(
            engine,
            settings,
            model=w.model,
            version=version,
            reference=f"models:/{w.registered_model}/{version}",
            now=now,
        )
        mlflow_refs.set_watched(engine, w.model, w.registered_model, w.alias,
                                version=version, deployment_id=outcome.deployment.id, now=now)  # fmt: skip
    log.info(
        "mlflow_alias_moved",
        extra={"model": w.model, "from": seen, "version": version,
               "deployment": outcome.deployment.id, "new_deployment": outcome.created},
    )  # fmt: skip
    return outcome


def _current(engine: Engine, w: Watched) -> str | None:
    """The model version the watched monitors' newest references were read from (None: no
    reference yet, or not from this registered model)."""
    for name in w.monitors:
        lineage = mlflow_refs.newest_lineage(engine, name)
        if lineage is not None and lineage.registered_model == w.registered_model:
            return lineage.model_version
    return None
