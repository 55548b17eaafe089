"""The API docs page (Swagger UI) served from this process: works offline and under the
dashboard's strict CSP.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline script; here
the files come from the installed `fastapi-offline` wheel (only its static Swagger UI dist
files are used), under URLs that carry the package version (cached for a year), and the
start-up code is a small same-origin script that reads the OpenAPI URL from a data attribute.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata, resources
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import HTMLResponse, Response

from monitor.web.html import e
from monitor.web.routes import IMMUTABLE, PAGE_HEADERS

PACKAGE = "fastapi_offline"
INIT_JS = """
window.addEventListener('load', function () {
  'use strict';
  var el = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: el.getAttribute('data-openapi'), dom_id: '#swagger-ui', layout: 'BaseLayout',
    deepLinking: true, showExtensions: true, showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
});
"""
ASSETS = {  # served name -> (file in the package or None for INIT_JS, media type)
    "swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui.css", "text/css; charset=utf-8"),
    "favicon.png": ("favicon.png", "image/png"),
    "init.js": (None, "text/javascript; charset=utf-8"),
}


@cache
def version() -> str:
    return metadata.version("fastapi-offline")


@cache
def asset(name: str) -> bytes:
    source, _ = ASSETS[name]
    if source is None:
        return INIT_JS.encode()
    return (resources.files(PACKAGE) / "static" / source).read_bytes()


def docs_router(prefix: str, title: str) -> APIRouter:
    """`{prefix}/docs` and its assets under `{prefix}/docs/assets/{version}/`."""
    router = APIRouter(include_in_schema=False)
    base = f"{prefix}/docs/assets/{version()}"

    @router.get(f"{prefix}/docs")
    def docs() -> HTMLResponse:
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · API docs</title>
<link rel="icon" type="image/png" href="{base}/favicon.png">
<link rel="stylesheet" href="{base}/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-openapi="{e(prefix)}/openapi.json"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/init.js"></script>
</body></html>
"""
        return HTMLResponse(page, headers=PAGE_HEADERS)

    @router.get(f"{prefix}/docs/assets/{{ver}}/{{name}}")
    def docs_asset(
        ver: Annotated[str, Path(max_length=40)], name: Annotated[str, Path(max_length=40)]
    ) -> Response:
        if ver != version() or name not in ASSETS:
            raise HTTPException(status_code=404, detail="unknown docs asset")
        return Response(asset(name), media_type=ASSETS[name][1], headers=IMMUTABLE)

    return router
