"""The service's one ASGI app: the HTTP API (`monitor.api`) with the built-in web dashboard
(`monitor.web`) at / and the API docs page, sharing the API's state (engine, settings, tokens,
the throttle of failed logins). `serve` and `demo` run this; the API package does not import
the web."""

from __future__ import annotations

from fastapi import FastAPI

from monitor.access.throttle import FailureLimiter
from monitor.api.app import API_PREFIX, ReadinessChecks
from monitor.api.app import create_app as create_api_app
from monitor.api.prometheus import IngestObserver
from monitor.settings import Settings
from monitor.storage.db import Engine
from monitor.web import router as web_router
from monitor.web.docs import docs_router


def create_app(
    engine: Engine,
    settings: Settings,
    *,
    readiness: ReadinessChecks | None = None,
    ingest: IngestObserver | None = None,
    api: bool = True,
    auth_failures: FailureLimiter | None = None,
) -> FastAPI:
    """The app for `serve`, `demo` (and tests). `api=False`: only health and metrics (the
    metrics port of consumer- and scheduler-only roles), no API and no dashboard."""
    app = create_api_app(
        engine,
        settings,
        readiness=readiness,
        ingest=ingest,
        api=api,
        auth_failures=auth_failures,
    )
    if api:
        app.include_router(web_router)  # the built-in dashboard at /
        app.include_router(docs_router(API_PREFIX, app.title))
    return app
