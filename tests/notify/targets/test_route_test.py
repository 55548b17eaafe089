"""`monitor routes test NAME` and POST /api/v1/routes/{name}/test against a target stand-in."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient
from notify_support import T0, enqueue, firing_payload
from sqlalchemy import insert, update
from target_fakes import PASSWORD, USER, FakeAirflow

from monitor.api import create_app
from monitor.cli import main
from monitor.notify.delivery import deliver_due
from monitor.settings import parse_settings
from monitor.storage.tables import alerts, notifications

ADMIN = "admin-token-for-route-tests"
READ = "read-token-for-route-tests-0"


@pytest.fixture(autouse=True)
def airflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AF_USER", USER)
    monkeypatch.setenv("AF_PASSWORD", PASSWORD)


def config(url: str) -> dict[str, object]:
    auth = {"type": "basic", "username_env": "AF_USER", "password_env": "AF_PASSWORD"}
    return {
        "alerting": {
            "routes": {
                "retrain": {"type": "airflow2", "url": url, "dag_id": "retrain", "auth": auth}
            }
        },
        "api": {"admin_tokens": [ADMIN], "read_tokens": [READ]},
    }


def write(tmp_path: Path, url: str) -> str:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(config(url)))
    return str(path)


def test_cli_sends_one_test_trigger_and_prints_the_run(tmp_path, receiver, capsys) -> None:
    fake = FakeAirflow(2)
    recv = receiver(default=fake)

    code = main(["routes", "test", "retrain", "--config", write(tmp_path, recv.url)])

    out = capsys.readouterr().out
    assert code == 0
    [req] = recv.requests
    conf = req.json()["conf"]
    assert conf["event"] == "route.test" and conf["alert_id"] is None
    [run_id] = fake.runs
    assert run_id == req.json()["dag_run_id"]
    assert f"delivered; run id {run_id}; url {recv.url}/dags/retrain/grid" in out


def test_cli_refusal_is_one_line_and_exit_1(tmp_path, receiver, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AF_PASSWORD", "wrong-password")
    recv = receiver(default=FakeAirflow(2))

    code = main(["routes", "test", "retrain", "--config", write(tmp_path, recv.url)])

    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "not delivered: HTTP 401" in err
    assert "wrong-password" not in err


def test_cli_unknown_route_is_a_config_error(tmp_path, capsys) -> None:
    code = main(["routes", "test", "nope", "--config", write(tmp_path, "http://127.0.0.1:9")])

    assert code == 2
    assert (
        "no route named 'nope' in alerting.routes (configured: retrain)" in capsys.readouterr().err
    )


def test_api_route_test_is_admin_only_and_answers_the_run(sqlite_engine, receiver) -> None:
    fake = FakeAirflow(2)
    recv = receiver(default=fake)
    settings = parse_settings(config(recv.url))
    with TestClient(create_app(sqlite_engine, settings)) as client:
        url = "/api/v1/routes/retrain/test"
        assert client.post(url, headers={"Authorization": f"Bearer {READ}"}).status_code == 403
        assert recv.requests == []
        resp = client.post(url, headers={"Authorization": f"Bearer {ADMIN}"})
        missing = client.post(
            "/api/v1/routes/nope/test", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        listed = client.get("/api/v1/routes", headers={"Authorization": f"Bearer {READ}"})

    assert resp.status_code == 200
    body = resp.json()
    [run_id] = fake.runs
    assert (body["outcome"], body["external_id"], body["channel"]) == (
        "delivered",
        run_id,
        "airflow2",
    )
    assert body["answer"]["url"].startswith(f"{recv.url}/dags/retrain/grid?dag_run_id=")
    assert missing.status_code == 404
    assert listed.json() == [{"name": "retrain", "type": "airflow2"}]
    assert orjson.loads(recv.requests[0].body)["conf"]["event"] == "route.test"


def test_alert_detail_shows_the_targets_run(sqlite_engine, receiver, tmp_path, capsys) -> None:
    recv = receiver(default=FakeAirflow(2))
    settings = parse_settings(config(recv.url))
    with sqlite_engine.begin() as conn:
        alert_id = conn.execute(
            insert(alerts).values(
                fingerprint="fp-churn-share",
                monitor="churn-daily",
                rule="drift",
                subject="",
                state="firing",
                severity="warning",
                created_at=T0,
            )
        ).inserted_primary_key[0]
    did = enqueue(sqlite_engine, firing_payload(alert_id=alert_id), channel="airflow2")
    with sqlite_engine.begin() as conn:
        n = notifications.c  # the helper's rows carry no alert id
        conn.execute(update(notifications).where(n.delivery_id == did).values(alert_id=alert_id))
    assert deliver_due(sqlite_engine, settings.alerting, now=T0).delivered == 1

    with TestClient(create_app(sqlite_engine, settings)) as client:
        body = client.get(
            f"/api/v1/alerts/{alert_id}", headers={"Authorization": f"Bearer {READ}"}
        ).json()

    [delivery] = body["deliveries"]
    assert delivery["external_id"] == f"monitor__{did}"
    assert delivery["answer"]["url"] == f"{recv.url}/dags/retrain/grid?dag_run_id=monitor__{did}"

    cfg = config(recv.url) | {"database": {"url": sqlite_engine.url.render_as_string(False)}}
    path = tmp_path / "show.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["alerts", "show", str(alert_id), "--config", str(path)]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if "airflow2" in x]
    assert line and line[0].endswith(f"monitor__{did} {delivery['answer']['url']}")
