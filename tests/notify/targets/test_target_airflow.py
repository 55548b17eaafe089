"""Airflow 2 and 3 DAG-run triggers through the real outbox against an Airflow stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notify_support import T0, Reply, enqueue, firing_payload, row
from target_fakes import PASSWORD, TOKEN, USER, FakeAirflow

from monitor.notify.delivery import deliver_due
from monitor.settings import AlertingSettings

CONF_KEYS = {
    "monitor",
    "model",
    "model_version",
    "window",
    "drifted_features",
    "report_url",
    "alert_id",
    "delivery_id",
    "event",
    "rule",
    "severity",
}


@pytest.fixture
def airflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AF_USER", USER)
    monkeypatch.setenv("AF_PASSWORD", PASSWORD)
    monkeypatch.setenv("AF_TOKEN", TOKEN)


def alerting(url: str, version: int, **delivery: object) -> AlertingSettings:
    auth = (
        {"type": "basic", "username_env": "AF_USER", "password_env": "AF_PASSWORD"}
        if version == 2
        else {"type": "bearer", "token_env": "AF_TOKEN"}
    )
    route = {"type": f"airflow{version}", "url": url, "dag_id": "retrain_churn", "auth": auth}
    return AlertingSettings.model_validate(
        {"routes": {"retrain": route}, "delivery": {"backoff_initial": "1s", **delivery}}
    )


@pytest.mark.parametrize("version", [2, 3])
def test_request_is_the_documented_dag_run_trigger(engine, receiver, airflow_env, version) -> None:
    fake = FakeAirflow(version)
    recv = receiver(default=fake)
    payload = firing_payload()
    did = enqueue(engine, payload, channel=f"airflow{version}")

    stats = deliver_due(engine, alerting(recv.url, version), now=T0)

    assert (stats.delivered, stats.failed, stats.retried) == (1, 0, 0)
    [req] = recv.requests
    api = "v1" if version == 2 else "v2"
    assert (req.method, req.path) == ("POST", f"/api/{api}/dags/retrain_churn/dagRuns")
    assert req.headers["Content-Type"] == "application/json"
    body = req.json()
    assert set(body) == ({"dag_run_id", "conf"} | ({"logical_date"} if version == 3 else set()))
    assert body["dag_run_id"] == f"monitor__{did}"
    conf = body["conf"]
    assert set(conf) == CONF_KEYS
    assert conf["delivery_id"] == did
    assert conf["alert_id"] == payload["alert_id"]
    assert conf["monitor"] == "churn-daily"
    assert conf["window"] == payload["window"]
    assert conf["drifted_features"] == ["age", "income", "plan"]
    assert conf["report_url"] == payload["report_url"]
    r = row(engine, did)
    assert r["status"] == "delivered"
    assert r["external_id"] == f"monitor__{did}"
    assert r["answer"]["run_id"] == f"monitor__{did}"
    suffix = f"grid?dag_run_id=monitor__{did}" if version == 2 else f"runs/monitor__{did}"
    assert r["answer"]["url"] == f"{recv.url}/dags/retrain_churn/{suffix}"


@pytest.mark.parametrize("version", [2, 3])
def test_lost_answer_retried_once_run_started_once(pg_engine, receiver, airflow_env, version):
    """The first answer is lost after Airflow created the run: the retry gets 409 (our
    dag_run_id exists), which is delivered; Airflow holds exactly one run."""
    fake = FakeAirflow(version, lose=1)
    recv = receiver(default=fake)
    did = enqueue(pg_engine, firing_payload(), channel=f"airflow{version}")
    settings = alerting(recv.url, version)

    s1 = deliver_due(pg_engine, settings, now=T0)
    assert (s1.retried, s1.delivered) == (1, 0)
    assert row(pg_engine, did)["last_error"].startswith("no answer")
    s2 = deliver_due(pg_engine, settings, now=T0 + timedelta(seconds=5))
    assert (s2.delivered, s2.failed) == (1, 0)

    assert list(fake.runs) == [f"monitor__{did}"]
    assert len(recv.requests) == 2
    assert recv.requests[0].json()["dag_run_id"] == recv.requests[1].json()["dag_run_id"]
    r = row(pg_engine, did)
    assert (r["status"], r["attempts"], r["answer"]["duplicate"]) == ("delivered", 2, True)


def test_conflict_on_logical_date_is_not_taken_for_ours(engine, receiver, airflow_env) -> None:
    body = b"{\"detail\": \"DAGRun with DAG ID: 'retrain_churn' and DAGRun logical date: 'x' already exists\"}"
    recv = receiver(default=Reply(409, body))
    did = enqueue(engine, firing_payload(), channel="airflow2")

    stats = deliver_due(engine, alerting(recv.url, 2), now=T0)

    assert stats.failed == 1
    assert row(engine, did)["last_error"].startswith("HTTP 409")


def test_unset_auth_variable_fails_naming_it_without_secrets(engine, receiver, monkeypatch):
    monkeypatch.setenv("AF_USER", USER)
    monkeypatch.delenv("AF_PASSWORD", raising=False)
    recv = receiver(default=FakeAirflow(2))
    did = enqueue(engine, firing_payload(), channel="airflow2")

    stats = deliver_due(engine, alerting(recv.url, 2), now=T0)

    assert stats.failed == 1 and recv.requests == []
    error = row(engine, did)["last_error"]
    assert "auth.password_env: environment variable AF_PASSWORD is not set" in error
    assert USER not in error


def test_wrong_token_is_terminal(engine, receiver, monkeypatch) -> None:
    monkeypatch.setenv("AF_TOKEN", "another-token-0123456789")
    recv = receiver(default=FakeAirflow(3))
    did = enqueue(engine, firing_payload(), channel="airflow3")

    assert deliver_due(engine, alerting(recv.url, 3), now=T0).failed == 1
    r = row(engine, did)
    assert r["last_error"].startswith("HTTP 401") and "another-token" not in r["last_error"]
