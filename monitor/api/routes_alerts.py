"""/api/v1/alerts and /api/v1/silences: alert state, history and deliveries; mute and ack.

An acknowledgement is an `alert_events` row with state "acknowledged" (who, comment): it
changes nothing in the alert's lifecycle, it records that a person has seen it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, Response

from monitor.access.auth import require_admin, require_read
from monitor.api import queries
from monitor.api.deps import (
    BAD_INPUT,
    CONFLICT,
    ERRORS,
    NOT_FOUND,
    engine_of,
    monitor_or_404,
    settings_of,
)
from monitor.api.schemas import (
    AckIn,
    AlertDetail,
    AlertEventOut,
    AlertOut,
    AlertPage,
    DeliveryOut,
    SilenceIn,
    SilenceList,
    SilenceOut,
)
from monitor.errors import InputError
from monitor.silences import add_silence, list_silences, remove_silence

alerts_router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERRORS)
silences_router = APIRouter(prefix="/silences", tags=["silences"], responses=ERRORS)
MONITOR_NAME = r"^[A-Za-z0-9_.:-]+$"  # what the config allows for monitor names
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@alerts_router.get(
    "", response_model=AlertPage, dependencies=[Depends(require_read)], responses=BAD_INPUT
)
def list_alerts(
    request: Request,
    state: Annotated[
        Literal["pending", "firing", "resolved", "open"] | None,
        Query(description='"open" = pending or firing.'),
    ] = None,
    monitor: Annotated[
        str | None, Query(max_length=200, pattern=MONITOR_NAME, description="A monitor name.")
    ] = None,
    severity: Annotated[Literal["info", "warning", "critical"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AlertPage:
    """Alerts, newest first, filtered by state, monitor and severity."""
    limit = min(limit, settings_of(request).api.max_page_size)
    rows, nxt = queries.alerts_page(
        engine_of(request),
        state=state,
        monitor=monitor,
        severity=severity,
        limit=limit,
        cursor=cursor,
    )
    return AlertPage(items=[AlertOut(**row) for row in rows], next_cursor=nxt)


@alerts_router.get(
    "/{alert_id}",
    response_model=AlertDetail,
    dependencies=[Depends(require_read)],
    responses=NOT_FOUND,
)
def get_alert(request: Request, alert_id: AlertId) -> AlertDetail:
    """One alert with its state history (oldest first) and every notification sent for it."""
    row = queries.alert_detail(engine_of(request), alert_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no alert with this id")
    history = [AlertEventOut(**e) for e in row.pop("history")]
    deliveries = [DeliveryOut(**d) for d in row.pop("deliveries")]
    return AlertDetail(**row, history=history, deliveries=deliveries)


@alerts_router.post(
    "/{alert_id}/ack",
    response_model=AlertDetail,
    dependencies=[Depends(require_admin)],
    responses={**NOT_FOUND, **CONFLICT},
)
def acknowledge(
    request: Request, alert_id: AlertId, body: Annotated[AckIn | None, Body()] = None
) -> AlertDetail:
    """Record that someone has seen an open alert (it keeps its state and notifications)."""
    engine = engine_of(request)
    body = body or AckIn()
    try:
        queries.acknowledge(engine, alert_id, datetime.now(UTC), body.by, body.comment)
    except LookupError:
        raise HTTPException(status_code=404, detail="no alert with this id") from None
    except InputError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return get_alert(request, alert_id)


@silences_router.get("", response_model=SilenceList, dependencies=[Depends(require_read)])
def silences(
    request: Request,
    active: Annotated[bool, Query(description="Only silences still running.")] = False,
) -> SilenceList:
    found = list_silences(engine_of(request), datetime.now(UTC) if active else None)
    return SilenceList(items=[SilenceOut(**vars(s)) for s in found])


@silences_router.post(
    "",
    response_model=SilenceOut,
    status_code=201,
    dependencies=[Depends(require_admin)],
    responses={**NOT_FOUND, **BAD_INPUT},
)
def create_silence(request: Request, body: Annotated[SilenceIn, Body()]) -> SilenceOut:
    """Mute notifications of a monitor (or one of its rules) until `until`."""
    m = monitor_or_404(settings_of(request), body.monitor)
    if body.rule is not None and body.rule not in {r.name for r in m.rules}:
        raise HTTPException(status_code=404, detail="the monitor has no rule with this name")
    s = add_silence(engine_of(request), m.name, body.rule, body.until, body.reason)
    return SilenceOut(**vars(s))


@silences_router.delete(
    "/{silence_id}",
    status_code=204,
    dependencies=[Depends(require_admin)],
    responses=NOT_FOUND,
)
def delete_silence(
    request: Request, silence_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> Response:
    try:
        remove_silence(engine_of(request), silence_id)
    except InputError:
        raise HTTPException(status_code=404, detail="no silence with this id") from None
    return Response(status_code=204)
