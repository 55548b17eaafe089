"""/api/v1/monitors: configured monitors with their latest state, runs, history, references."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from pydantic import AwareDatetime

from monitor.access.auth import require_admin, require_read
from monitor.api.deps import (
    BAD_INPUT,
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    engine_of,
    monitor_or_404,
    seconds,
    settings_of,
)
from monitor.api.queries import decode_cursor, encode_cursor
from monitor.api.schemas import (
    DeployedVersion,
    FeatureHistory,
    HistoryPoint,
    MonitorList,
    MonitorOut,
    ReferenceList,
    ReferenceVersion,
    RunBrief,
    RunNowIn,
    RunNowOut,
    RunPage,
    Schedule,
)
from monitor.deployments import Deployment, overrides
from monitor.settings import MonitorSettings
from monitor.storage import run_reads

router = APIRouter(prefix="/monitors", tags=["monitors"], responses=ERRORS)
Name = Annotated[str, Path(description="A monitor name from the config.", max_length=200)]
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)  # windows are aligned to the epoch
CLOCK_SKEW = timedelta(minutes=1)


def schedule_of(m: MonitorSettings) -> Schedule:
    w, s = m.window, m.schedule
    return Schedule(
        window_kind="events" if w.events is not None else w.kind,
        window_size_seconds=None if w.events is not None else seconds(w.size),
        window_step_seconds=None if w.events is not None else seconds(w.step or w.size),
        window_events=w.events,
        lateness_seconds=w.lateness.total_seconds(),
        interval_seconds=seconds(s.interval),
        cron=s.cron,
    )


def _monitor_out(
    m: MonitorSettings,
    last: dict[str, Any] | None,
    firing: dict[str, int],
    refs: dict[str, int],
    deployed: dict[str, Deployment],
) -> MonitorOut:
    dep = deployed.get(m.name)
    return MonitorOut(
        name=m.name,
        model=m.model,
        model_version=dep.version if dep else m.model_version,
        segment=dict(m.segment),
        reference_version=refs.get(m.name),
        schedule=schedule_of(m),
        rules=[r.name for r in m.rules],
        last_run=RunBrief(**last) if last else None,
        alerts_firing=firing.get(m.name, 0),
        deployment=DeployedVersion(
            id=dep.id,
            version=dep.version,
            deployed_at=dep.deployed_at,
            configured_version=m.model_version,
        )
        if dep
        else None,
    )


@router.get("", response_model=MonitorList, dependencies=[Depends(require_read)])
def list_monitors(request: Request) -> MonitorList:
    """Every configured monitor with its last finished run and its firing alerts."""
    engine, settings = engine_of(request), settings_of(request)
    names = [m.name for m in settings.monitors]
    last = run_reads.latest_runs(engine, names)
    firing = run_reads.firing_counts(engine)
    refs = run_reads.reference_versions(engine, names)
    deployed = overrides(engine, list(settings.monitors))
    return MonitorList(
        items=[_monitor_out(m, last.get(m.name), firing, refs, deployed) for m in settings.monitors]
    )


@router.get(
    "/{name}",
    response_model=MonitorOut,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def get_monitor(request: Request, name: Name) -> MonitorOut:
    engine, m = engine_of(request), monitor_or_404(settings_of(request), name)
    last = run_reads.latest_runs(engine, [m.name])
    refs = run_reads.reference_versions(engine, [m.name])
    firing, deployed = run_reads.firing_counts(engine), overrides(engine, [m])
    return _monitor_out(m, last.get(m.name), firing, refs, deployed)


@router.get(
    "/{name}/runs",
    response_model=RunPage,
    dependencies=[Depends(require_read)],
    responses={**NOT_FOUND, **BAD_INPUT},
)
def list_runs(
    request: Request,
    name: Name,
    since: Annotated[
        AwareDatetime | None, Query(description="Runs whose window ends at or after this.")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Runs whose window ends before this.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (at most 500).")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page.")
    ] = None,
) -> RunPage:
    """Finished runs of a monitor, newest window first, one keyset page at a time."""
    engine, m = engine_of(request), monitor_or_404(settings_of(request), name)
    limit = min(limit, settings_of(request).api.max_page_size)
    after = None
    if cursor is not None:
        end, last_id = decode_cursor(cursor, (datetime, int))
        after = (end, last_id)
    rows, more = run_reads.runs_page(
        engine, m.name, since=since, until=until, limit=limit, after=after
    )
    nxt = encode_cursor(rows[-1]["window_end"].isoformat(), rows[-1]["id"]) if more else None
    return RunPage(items=[RunBrief(**row) for row in rows], next_cursor=nxt)


@router.get(
    "/{name}/features/{feature:path}/history",
    response_model=FeatureHistory,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def feature_history(
    request: Request,
    name: Name,
    feature: Annotated[str, Path(description="Feature name (URL-encoded).", max_length=1000)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FeatureHistory:
    """One feature's drift statistic over the newest succeeded runs, with its threshold."""
    engine, m = engine_of(request), monitor_or_404(settings_of(request), name)
    points = (
        []
        if "\x00" in feature
        else run_reads.feature_history(engine, m.name, limit, feature=feature).get(feature, [])
    )
    if not points:
        raise HTTPException(status_code=404, detail="no results for this feature")
    return FeatureHistory(
        monitor=m.name,
        feature=feature,
        threshold=points[-1].threshold,
        points=[HistoryPoint(**asdict(p)) for p in points],
    )


@router.get(
    "/{name}/references",
    response_model=ReferenceList,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def list_references(request: Request, name: Name) -> ReferenceList:
    """Stored reference versions, newest first (runs use the newest)."""
    from monitor.reference import versions

    engine, m = engine_of(request), monitor_or_404(settings_of(request), name)
    return ReferenceList(
        monitor=m.name, items=[ReferenceVersion(**v) for v in versions(engine, m.name)]
    )


@router.post(
    "/{name}/references",
    response_model=ReferenceVersion,
    status_code=201,
    dependencies=[Depends(require_admin)],
    responses={**NOT_FOUND, **CONFLICT},
)
def refresh_reference(request: Request, name: Name) -> ReferenceVersion:
    """Re-read the configured reference source and store it as a new version."""
    from monitor.reference import materialise, versions

    engine, m = engine_of(request), monitor_or_404(settings_of(request), name)
    ref = materialise(engine, m)
    return ReferenceVersion(**next(v for v in versions(engine, m.name) if v["id"] == ref.id))


@router.post(
    "/{name}/runs",
    response_model=RunNowOut,
    dependencies=[Depends(require_admin)],
    responses={**NOT_FOUND, **BAD_INPUT},
)
def run_now(
    request: Request, name: Name, body: Annotated[RunNowIn | None, Body()] = None
) -> RunNowOut:
    """Compute every window of the monitor that is due at `at` (default now) and unclaimed.

    The same tick the scheduler runs: windows already claimed by any replica are not redone.
    """
    from monitor.scheduler.ticks import tick

    engine, settings = engine_of(request), settings_of(request)
    m = monitor_or_404(settings, name)
    now = datetime.now(UTC)
    at = (body.at if body is not None else None) or now
    if at > now + CLOCK_SKEW:
        raise HTTPException(status_code=400, detail="`at` is in the future")
    if at < EARLIEST:
        raise HTTPException(status_code=400, detail="`at` is before 1970-01-02")
    outcomes = tick(engine, settings, m, now=at.astimezone(UTC))
    ids = [o.run_id for o in outcomes]
    rows = run_reads.runs_by_id(engine, ids)
    return RunNowOut(monitor=m.name, at=at, runs=[RunBrief(**rows[i]) for i in ids if i in rows])
