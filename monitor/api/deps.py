"""Shared request helpers: the app's engine/settings, config lookups, error bodies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request

from monitor.api.schemas import Problem
from monitor.settings import MonitorSettings, Settings
from monitor.storage.db import Engine

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": Problem,
        "description": "The request cannot be used as given (e.g. a body that is not JSON).",
    },
    401: {"model": Problem, "description": "Missing or invalid bearer token."},
    403: {"model": Problem, "description": "The token lacks the admin scope."},
    429: {
        "model": Problem,
        "description": "Too many failed authentication attempts from this address.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        },
    },
    503: {"model": Problem, "description": "The database is unavailable."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "Not found."}}
BAD_INPUT: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The request cannot be used as given."}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Not possible in the current configuration or state."}
}


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def monitor_or_404(settings: Settings, name: str) -> MonitorSettings:
    for m in settings.monitors:
        if m.name == name:
            return m
    raise HTTPException(status_code=404, detail="no monitor with this name is configured")


def seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()
