"""/api/v1/routes: the configured notification routes, and a test send over one (admin).

The test goes through the route's sender once (not the outbox, nothing stored): its answer
is the response. A retraining route starts a real run whose conf/inputs say
event=route.test.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from monitor.access.auth import require_admin, require_read
from monitor.api.deps import ERRORS, NOT_FOUND, settings_of

router = APIRouter(prefix="/routes", tags=["routes"], responses=ERRORS)

RouteName = Annotated[str, Path(min_length=1, max_length=200)]


class RouteOut(BaseModel):
    name: str
    type: str


class RouteTestOut(BaseModel):
    route: str
    channel: str
    delivery_id: str
    outcome: str  # delivered | retry | failed
    error: str | None
    external_id: str | None  # the target's run id
    answer: dict[str, Any] | None  # run id, URL, HTTP status


@router.get("", response_model=list[RouteOut], dependencies=[Depends(require_read)])
def list_routes(request: Request) -> list[RouteOut]:
    routes = settings_of(request).alerting.routes
    return [RouteOut(name=n, type=r.type) for n, r in sorted(routes.items())]


@router.post(
    "/{name}/test",
    response_model=RouteTestOut,
    dependencies=[Depends(require_admin)],
    responses=NOT_FOUND,
)
async def test_route(request: Request, name: RouteName) -> RouteTestOut:
    """Send one test notification over the route (bounded by the route's timeout)."""
    from monitor.notify.probe import send_test

    alerting = settings_of(request).alerting
    if name not in alerting.routes:
        raise HTTPException(status_code=404, detail="no route with this name is configured")
    result = await run_in_threadpool(send_test, alerting, name)
    return RouteTestOut(**result.as_dict())
