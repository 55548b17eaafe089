"""GET /api/v1/monitors/{name}/calibration and POST /api/v1/alerts/{id}/mark on real Postgres
(the scheduler's stored runs and alerts); responses validated against the OpenAPI schema."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jsonschema
import pytest
from api_support import ADMIN_TOKEN, READ_TOKEN
from fastapi.testclient import TestClient

from monitor.app import create_app
from monitor.storage.alert_marks import last_marks

API = "/api/v1"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture(scope="module")
def scratch_client(scratch) -> Iterator[tuple[TestClient, object]]:
    engine, facts = scratch
    with TestClient(create_app(engine, facts.settings)) as c:
        yield c, engine


def _schema_of(client: TestClient, path: str, method: str) -> dict:
    doc = client.get(f"{API}/openapi.json").json()
    ref = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    name = ref["$ref"].split("/")[-1]
    return {**doc["components"]["schemas"][name], "components": doc["components"]}


def _validate(client: TestClient, body: dict, path: str, method: str) -> None:
    jsonschema.validate(body, _schema_of(client, path, method))


def test_calibration_reports_budget_rules_features_and_delays(scratch_client):
    client, _ = scratch_client
    started = time.monotonic()
    r = client.get(f"{API}/monitors/mon/calibration", params={"windows": 300}, headers=READ)
    first = time.monotonic() - started
    assert r.status_code == 200, r.text
    body = r.json()
    _validate(client, body, "/api/v1/monitors/{name}/calibration", "get")
    assert (body["monitor"], body["windows"], body["window_rows"]) == ("mon", 300, 600)
    assert body["budget"]["per_30d"] == pytest.approx(1 / 3)  # the default 90 days
    rules = {x["name"]: x for x in body["rules"]}
    assert rules["dataset"]["per_30d"] == pytest.approx(30 * rules["dataset"]["per_day"])
    assert "not simulated" in rules["no-data"]["note"]
    assert body["expected"]["per_run"] == pytest.approx(rules["dataset"]["per_run"])
    assert {d["shift"] for d in body["delays"]} >= {"+0.1σ", "+0.25σ", "+0.5σ"}
    started = time.monotonic()
    again = client.get(f"{API}/monitors/mon/calibration", params={"windows": 300}, headers=READ)
    assert again.json()["key"] == body["key"]
    assert time.monotonic() - started < first  # cached per reference + config


def test_calibration_errors(scratch_client):
    client, _ = scratch_client
    url = f"{API}/monitors/mon/calibration"
    assert client.get(url).status_code == 401
    assert client.get(f"{API}/monitors/nope/calibration", headers=READ).status_code == 404
    big = client.get(url, params={"windows": 5000, "window_rows": 100_000}, headers=READ)
    assert big.status_code == 400 and "limited" in big.json()["detail"]
    assert client.get(url, params={"windows": 5}, headers=READ).status_code == 422


def test_mark_is_admin_only_and_the_last_mark_counts(scratch_client):
    client, engine = scratch_client
    alerts = client.get(f"{API}/alerts", params={"monitor": "mon"}, headers=READ).json()["items"]
    alert = alerts[0]["id"]
    url = f"{API}/alerts/{alert}/mark"
    assert client.post(url, json={"verdict": "false"}, headers=READ).status_code == 403
    assert client.post(url, json={"verdict": "maybe"}, headers=ADMIN).status_code == 422
    assert client.post(f"{API}/alerts/999999/mark", json={"verdict": "true"},
                       headers=ADMIN).status_code == 404  # fmt: skip
    before = client.get(f"{API}/monitors/mon/calibration", params={"windows": 300},
                        headers=READ).json()["measured"]  # fmt: skip
    r = client.post(url, json={"verdict": "false", "note": "a test", "by": "ops"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    _validate(client, r.json(), "/api/v1/alerts/{alert_id}/mark", "post")
    assert (r.json()["verdict"], r.json()["monitor"], r.json()["by"]) == ("false", "mon", "ops")
    after = client.get(f"{API}/monitors/mon/calibration", params={"windows": 300},
                       headers=READ).json()["measured"]  # fmt: skip
    was_false = last_marks(engine, [alert]).get(alert)
    assert after["marked"] >= 1 and after["false"] >= 1
    assert client.post(url, json={"verdict": "true"}, headers=ADMIN).status_code == 200
    assert last_marks(engine, [alert])[alert].verdict == "true"
    final = client.get(f"{API}/monitors/mon/calibration", params={"windows": 300},
                       headers=READ).json()["measured"]  # fmt: skip
    assert final["false"] == after["false"] - 1 and final["marked"] == after["marked"]
    assert was_false is not None and before["marked"] <= after["marked"]
    history = client.get(f"{API}/alerts/{alert}", headers=READ).json()["history"]
    marks = [h for h in history if h["state"] == "marked"]
    assert [m["detail"]["verdict"] for m in marks[-2:]] == ["false", "true"]
