"""/api/v1/models/{model}/deployments: a model version went live (admin), and the history.

Posting records the deployment through `monitor.deployments.deploy`: the model's monitors
switch to the version and its reference, and the old version's drift and performance alerts
resolve as superseded. The same deployment posted again records nothing (200, `created`
false); a new one answers 201.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, Response

from monitor.access.auth import require_admin, require_read
from monitor.api.deps import BAD_INPUT, CONFLICT, ERRORS, NOT_FOUND, engine_of, settings_of
from monitor.api.schemas import NO_NUL
from monitor.api.schemas_versions import (
    DeploymentIn,
    DeploymentList,
    DeploymentOut,
    EpisodeAlertOut,
    EpisodeList,
    EpisodeOut,
    EpisodeRunOut,
    EpisodeTriggerOut,
)
from monitor.deployments import Deployment, deploy, monitors_of
from monitor.errors import UnknownModel
from monitor.storage.deployments import Episode, episodes, list_deployments

router = APIRouter(prefix="/models", tags=["models"], responses=ERRORS)
Model = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]


def _out(d: Deployment, created: bool) -> DeploymentOut:
    return DeploymentOut(**vars(d), created=created)


@router.post(
    "/{model}/deployments",
    response_model=DeploymentOut,
    status_code=201,
    dependencies=[Depends(require_admin)],
    responses={**NOT_FOUND, **BAD_INPUT, **CONFLICT},
)
def post_deployment(
    request: Request, response: Response, model: Model, body: Annotated[DeploymentIn, Body()]
) -> DeploymentOut:
    """Record that a version of the model went live with its training data (idempotent)."""
    try:
        outcome = deploy(
            engine_of(request),
            settings_of(request),
            model=model,
            version=body.version,
            reference=body.reference,
            trigger=body.trigger,
        )
    except UnknownModel as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    if not outcome.created:
        response.status_code = 200
    return _out(outcome.deployment, outcome.created)


@router.get(
    "/{model}/deployments",
    response_model=DeploymentList,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def get_deployments(request: Request, model: Model) -> DeploymentList:
    """The model's deployments, newest first."""
    try:
        monitors_of(settings_of(request), model)
    except UnknownModel as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    found = list_deployments(engine_of(request), model)
    return DeploymentList(items=[_out(d, True) for d in found])


def _episode(x: Episode) -> EpisodeOut:
    return EpisodeOut(
        deployment=_out(x.deployment, True),
        alert=EpisodeAlertOut(**vars(x.alert)) if x.alert else None,
        trigger=EpisodeTriggerOut(**vars(x.trigger)) if x.trigger else None,
        runs=[EpisodeRunOut(**vars(run)) for run in x.runs],
        before=[EpisodeRunOut(**vars(run)) for run in x.before],
    )


@router.get(
    "/{model}/episodes",
    response_model=EpisodeList,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def get_episodes(
    request: Request,
    model: Model,
    first: Annotated[int, Query(ge=1, le=50, description="Runs per monitor after it.")] = 3,
) -> EpisodeList:
    """Retraining episodes, newest first: per deployment that names its trigger, the alert
    that fired, the trigger's delivery with the target's answer (run id, URL), the deployment
    and the deployed version's first drift runs."""
    try:
        monitors_of(settings_of(request), model)
    except UnknownModel as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    found = episodes(engine_of(request), model, first=first)
    return EpisodeList(items=[_episode(x) for x in found])
