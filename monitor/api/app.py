"""The FastAPI application: /api/v1 (read + admin), /healthz, /readyz, /metrics.

The service serves it together with the web dashboard: `monitor.app.create_app` adds the
dashboard's routes and the API docs page to this app (the API does not import the web).

Everything is read from the database on each request; the app keeps no copy of the truth.
Errors leave as one-line JSON (`{"detail": ...}`): our InputError -> 400, other MonitorErrors
(config, reference, drift) -> 409, storage down -> 503 with a generic message (the database
URL stays out of responses), anything unexpected -> 500 without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from monitor import __version__
from monitor.access.auth import Tokens, require_read
from monitor.access.throttle import FailureLimiter
from monitor.api import (
    routes_alerts,
    routes_calibrate,
    routes_channels,
    routes_dead_letters,
    routes_deployments,
    routes_estimates,
    routes_monitors,
    routes_runs,
    routes_versions,
)
from monitor.api.deps import ERRORS
from monitor.api.prometheus import IngestObserver, build_registry
from monitor.api.schemas import Health
from monitor.errors import InputError, MonitorError, StorageError
from monitor.settings import Settings
from monitor.storage.db import Engine
from monitor.storage.status import ping

log = logging.getLogger("monitor.api")

API_PREFIX = "/api/v1"
ReadinessChecks = Mapping[str, Callable[[], bool]]


def database_ready(engine: Engine) -> bool:
    try:
        ping(engine)
        return True
    except Exception:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness_database_unreachable", exc_info=False)
        return False


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    def _input(_: Request, exc: InputError) -> JSONResponse:
        return _problem(400, str(exc))

    @app.exception_handler(StorageError)
    def _storage(request: Request, exc: StorageError) -> JSONResponse:
        log.warning("api_storage_error", extra={"path": request.url.path, "error": str(exc)[:300]})
        return _problem(503, "the database is unavailable; try again later")

    @app.exception_handler(MonitorError)
    def _monitor(_: Request, exc: MonitorError) -> JSONResponse:
        return _problem(409, str(exc))


def _health_router(engine: Engine | None, readiness: ReadinessChecks) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """The process is alive (no dependency is checked)."""
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=Health,
        responses={503: {"model": Health, "description": "A check failed."}},
    )
    def readyz() -> Response:
        """Database reachable, plus this process's own checks (scheduler, consumer)."""
        checks = {"database": database_ready(engine)} if engine is not None else {}
        for name, check in readiness.items():
            try:
                checks[name] = bool(check())
            except Exception:
                checks[name] = False
        ready = all(checks.values())
        body = Health(status="ready" if ready else "not_ready", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    return router


def _metrics_router(registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get(
        "/metrics",
        dependencies=[Depends(require_read)],
        response_class=Response,
        responses={
            **{k: v for k, v in ERRORS.items() if k in (401, 429)},
            200: {"content": {CONTENT_TYPE_PLAIN_0_0_4.split(";")[0]: {}}},
        },
    )
    def metrics() -> Response:
        """Prometheus text exposition (read token when tokens are configured)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return router


def create_app(
    engine: Engine,
    settings: Settings,
    *,
    readiness: ReadinessChecks | None = None,
    ingest: IngestObserver | None = None,
    api: bool = True,
    auth_failures: FailureLimiter | None = None,
) -> FastAPI:
    """The API app (`monitor.app.create_app` adds the dashboard for `serve`). `api=False`:
    only health and metrics (the metrics port of consumer- and scheduler-only roles). `readiness`: named checks of the process.
    `auth_failures`: the throttle of failed tokens and logins (default limits if None)."""
    app = FastAPI(
        title="monitor",
        version=__version__,
        description="Drift and performance monitoring: monitors, runs, alerts, deliveries.",
        openapi_url=f"{API_PREFIX}/openapi.json" if api else None,
        docs_url=None,  # monitor.app adds monitor.web.docs (served from a package, no CDN)
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.tokens = Tokens.from_settings(settings.api)
    app.state.auth_failures = FailureLimiter() if auth_failures is None else auth_failures
    app.state.registry = build_registry(engine, settings, ingest)
    _install_error_handlers(app)

    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.include_router(_health_router(engine, {} if readiness is None else readiness))
    app.include_router(_metrics_router(app.state.registry))
    if api:
        for router in (
            routes_monitors.router,
            routes_runs.router,
            routes_alerts.alerts_router,
            routes_alerts.silences_router,
            routes_dead_letters.router,
            routes_channels.router,
            routes_versions.router,
            routes_deployments.router,
            routes_estimates.router,
            routes_calibrate.monitors_router,
            routes_calibrate.alerts_router,
        ):
            app.include_router(router, prefix=API_PREFIX)
    return app
