"""HTTP API (FastAPI) and Prometheus metrics of the service (`serve --role api|all`).

`create_app` here is the API alone; the app `serve` runs (API plus the web dashboard) is
`monitor.app.create_app`.

`create_app` is imported lazily: a consumer-only process uses `monitor.api.prometheus` without
loading FastAPI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from monitor.api.app import create_app

        return create_app
    raise AttributeError(name)
