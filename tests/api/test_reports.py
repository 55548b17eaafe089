"""GET /runs/{id}/report: the stored file, sandboxed; links leading outside the directory refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from api_support import REPORT_HTML
from fastapi.testclient import TestClient
from sqlalchemy import update

from monitor.app import create_app
from monitor.storage.tables import drift_runs


def test_report_is_served_sandboxed(client, read, facts):
    r = client.get(f"/api/v1/runs/{facts.runs[1]}/report", headers=read)
    assert r.status_code == 200
    assert r.text == REPORT_HTML
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-security-policy"] == "sandbox allow-scripts"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/api/v1/runs/{facts.runs[0]}/report", headers=read).status_code == 404
    assert client.get("/api/v1/runs/999999/report", headers=read).status_code == 404


@pytest.fixture
def run_link(engine, facts):
    """Point run 1's stored link somewhere (restored afterwards)."""

    def set_link(url: str | None) -> int:
        with engine.begin() as conn:
            conn.execute(
                update(drift_runs).where(drift_runs.c.id == facts.runs[0]).values(report_url=url)
            )
        return facts.runs[0]

    yield set_link
    set_link(None)


def test_links_outside_the_reports_directory_are_refused(run_link, client, read, facts, tmp_path):
    reports = Path(facts.settings.reports.directory)
    outside = tmp_path / "secret.html"
    outside.write_text("secret")
    os.symlink(outside, reports / "link.html")
    inside = (reports / "link.html").resolve()
    assert inside == outside  # the symlink escapes
    for url in (
        "file:///etc/passwd",
        outside.as_uri(),
        (reports / "link.html").as_uri(),
        (reports / ".." / reports.name / ".." / "secret.html").as_uri(),
        f"file://evil.example{reports}/x.html",
        "https://reports.example/../../etc/passwd",
        reports.as_uri(),  # a directory
    ):
        run_id = run_link(url)
        r = client.get(f"/api/v1/runs/{run_id}/report", headers=read)
        assert r.status_code == 404, url
        assert "secret" not in r.text and "root:" not in r.text
        assert client.get(f"/api/v1/runs/{run_id}", headers=read).json()["report"] is None


def test_base_url_links_resolve_to_a_file_name_in_the_directory(
    run_link, engine, facts, read, tmp_path
):
    reports = Path(facts.settings.reports.directory)
    (reports / "a b.html").write_text("<p>ok</p>")
    settings = facts.settings.model_copy(
        update={
            "reports": facts.settings.reports.model_copy(
                update={"base_url": "https://reports.example/r/"}
            )
        }
    )
    with TestClient(create_app(engine, settings)) as c:
        run_id = run_link("https://reports.example/r/a%20b.html")
        assert c.get(f"/api/v1/runs/{run_id}/report", headers=read).text == "<p>ok</p>"
        for bad in (
            "https://reports.example/r/..%2Fsecret.html",
            "https://reports.example/r/%2E%2E",
            "https://reports.example/r/sub/a%20b.html",
            "https://other.example/r/a%20b.html",
        ):
            run_link(bad)
            assert c.get(f"/api/v1/runs/{run_id}/report", headers=read).status_code == 404, bad
