"""monitor.app: the API and the web dashboard composed into the one app `serve` runs; the API
package alone imports no web code."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient

from monitor.settings import parse_settings


def test_the_api_package_does_not_import_the_web() -> None:
    code = (
        "import sys, monitor.api.app, monitor.api.prometheus, monitor.access.auth; "
        "print(sorted(m for m in sys.modules if m.startswith('monitor.web') or m == 'monitor.app'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_consumer_process_exports_metrics_without_fastapi() -> None:
    code = "import sys, monitor.api.prometheus; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_composed_app_serves_the_dashboard_and_the_api_app_alone_does_not(tmp_path) -> None:
    from monitor.api import create_app as create_api_app
    from monitor.app import create_app
    from monitor.storage import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = make_engine(url)
    upgrade(engine)
    settings = parse_settings({"database": {"url": url}})
    try:
        with TestClient(create_app(engine, settings), follow_redirects=False) as c:
            assert c.get("/").status_code in (200, 303)
            assert c.get("/api/v1/docs").status_code == 200
            assert c.get("/api/v1/monitors").status_code == 200
        with TestClient(create_api_app(engine, settings), follow_redirects=False) as c:
            assert c.get("/").status_code == 404
            assert c.get("/api/v1/docs").status_code == 404
            assert c.get("/api/v1/monitors").status_code == 200
        with TestClient(create_app(engine, settings, api=False)) as c:
            assert c.get("/").status_code == 404
            assert c.get("/healthz").json() == {"status": "ok", "checks": {}}
    finally:
        engine.dispose()
