"""The same API and metrics on an embedded SQLite database (seeded by real scheduler ticks)."""

from __future__ import annotations

from api_support import READ_TOKEN, free_port, make_settings, seed, training
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import create_app
from monitor.storage import make_engine, upgrade


def test_api_and_metrics_on_sqlite(tmp_path, receivers):
    url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = make_engine(url)
    upgrade(engine)
    settings = make_settings(
        url,
        training(tmp_path / "ref.parquet"),
        tmp_path / "reports",
        slack_url=f"{receivers.base}/slack",
        webhook_url=f"http://127.0.0.1:{free_port()}/closed",
    )
    facts = seed(engine, settings)
    auth = {"Authorization": f"Bearer {READ_TOKEN}"}
    try:
        with TestClient(create_app(engine, settings)) as c:
            mon = c.get("/api/v1/monitors/mon", headers=auth).json()
            assert mon["last_run"]["id"] == facts.runs[-1] and mon["alerts_firing"] == 1
            first = c.get("/api/v1/monitors/mon/runs", params={"limit": 3}, headers=auth).json()
            rest = c.get(
                "/api/v1/monitors/mon/runs",
                params={"limit": 3, "cursor": first["next_cursor"]},
                headers=auth,
            ).json()
            assert [r["id"] for r in first["items"] + rest["items"]] == facts.runs[::-1]
            run = c.get(f"/api/v1/runs/{facts.runs[1]}", headers=auth).json()
            newest = c.get(f"/api/v1/runs/{facts.runs[2]}", headers=auth).json()  # last succeeded
            assert run["dataset_drift"] is True and len(run["features"]) == 4
            assert c.get(f"/api/v1/runs/{facts.runs[1]}/report", headers=auth).status_code == 200
            assert c.get("/api/v1/dead-letters", headers=auth).json()["total"] == 3
            assert [a["state"] for a in c.get("/api/v1/alerts", headers=auth).json()["items"]] == [
                "pending",
                "firing",
            ]
            text = c.get("/metrics", headers=auth).text
    finally:
        engine.dispose()
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert got[("monitor_database_up", ())] == 1
    assert got[("monitor_alerts_firing", (("monitor", "mon"), ("severity", "critical")))] == 1
    assert got[("monitor_runs_total", (("monitor", "mon"), ("status", "succeeded")))] == 3
    assert got[("monitor_run_duration_seconds_count", (("monitor", "mon"),))] == 4
    assert got[("monitor_drift_share_ratio", (("monitor", "mon"),))] == newest["drift_share"]
