"""Argo Workflows, Kubeflow Pipelines and Prefect triggers against local stand-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notify_support import T0, enqueue, firing_payload, row
from target_fakes import TOKEN, FakeArgo, FakeKubeflow, FakePrefect

from monitor.notify.delivery import deliver_due
from monitor.settings import AlertingSettings

PARAMS = {"delivery_id", "alert_id", "monitor", "window_start", "window_end"}
PARAMS |= {"drifted_features", "report_url"}
DEPLOYMENT = "5f0c3c7e-1d2a-4b7a-9a51-2b8e0f6f4c11"


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGET_TOKEN", TOKEN)


def alerting(route: dict[str, object]) -> AlertingSettings:
    route = {"auth": {"type": "bearer", "token_env": "TARGET_TOKEN"}, **route}
    return AlertingSettings.model_validate(
        {"routes": {"retrain": route}, "delivery": {"backoff_initial": "1s"}}
    )


def argo(url: str) -> AlertingSettings:
    return alerting(
        {"type": "argo_workflows", "url": url, "namespace": "ml", "template": "retrain-churn"}
    )


def test_argo_submit_from_template_request(engine, receiver) -> None:
    fake = FakeArgo({"retrain-churn": PARAMS})
    recv = receiver(default=fake)
    payload = firing_payload()
    did = enqueue(engine, payload, channel="argo_workflows")

    assert deliver_due(engine, argo(recv.url), now=T0).delivered == 1

    [req] = recv.requests
    assert (req.method, req.path) == ("POST", "/api/v1/workflows/ml/submit")
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    body = req.json()
    assert body["namespace"] == "ml"
    assert (body["resourceKind"], body["resourceName"]) == ("WorkflowTemplate", "retrain-churn")
    opts = body["submitOptions"]
    assert opts["name"] == f"retrain-{did}"
    assert opts["labels"] == f"driftwatch.io/delivery-id={did}"
    assert f"delivery_id={did}" in opts["parameters"]
    assert "drifted_features=age,income,plan" in opts["parameters"]
    assert f"report_url={payload['report_url']}" in opts["parameters"]
    r = row(engine, did)
    assert (r["status"], r["external_id"]) == ("delivered", f"retrain-{did}")
    assert r["answer"]["url"] == f"{recv.url}/workflows/ml/retrain-{did}"


def test_argo_lost_answer_retry_gets_already_exists(pg_engine, receiver) -> None:
    fake = FakeArgo({"retrain-churn": PARAMS}, lose=1)
    recv = receiver(default=fake)
    did = enqueue(pg_engine, firing_payload(), channel="argo_workflows")
    settings = argo(recv.url)

    assert deliver_due(pg_engine, settings, now=T0).retried == 1
    assert deliver_due(pg_engine, settings, now=T0 + timedelta(seconds=5)).delivered == 1

    assert list(fake.runs) == [f"retrain-{did}"]
    assert [r.json()["submitOptions"]["name"] for r in recv.requests] == [f"retrain-{did}"] * 2
    assert row(pg_engine, did)["answer"]["duplicate"] is True


def test_argo_unknown_template_is_terminal(engine, receiver) -> None:
    recv = receiver(default=FakeArgo({"other": PARAMS}))
    did = enqueue(engine, firing_payload(), channel="argo_workflows")

    assert deliver_due(engine, argo(recv.url), now=T0).failed == 1
    assert "not found" in row(engine, did)["last_error"]


def kfp(url: str) -> AlertingSettings:
    route = {
        "type": "kubeflow_pipelines",
        "url": url,
        "pipeline_id": "p-churn",
        "pipeline_version_id": "v-7",
        "experiment_id": "e-1",
    }
    return alerting(route)


def test_kubeflow_create_run_request(engine, receiver) -> None:
    fake = FakeKubeflow()
    recv = receiver(default=fake)
    did = enqueue(engine, firing_payload(), channel="kubeflow_pipelines")

    assert deliver_due(engine, kfp(recv.url), now=T0).delivered == 1

    [req] = recv.requests
    assert (req.method, req.path) == ("POST", "/apis/v2beta1/runs")
    body = req.json()
    assert body["display_name"] == f"retrain-{did}"
    assert body["pipeline_version_reference"] == {
        "pipeline_id": "p-churn",
        "pipeline_version_id": "v-7",
    }
    assert body["experiment_id"] == "e-1"
    params = body["runtime_config"]["parameters"]
    assert set(params) == PARAMS
    assert params["delivery_id"] == did and params["drifted_features"] == ["age", "income", "plan"]
    r = row(engine, did)
    assert (r["external_id"], r["answer"]["url"]) == ("run-1", f"{recv.url}/#/runs/details/run-1")


def test_kubeflow_lost_answer_is_not_retried(pg_engine, receiver) -> None:
    fake = FakeKubeflow(lose=1)
    recv = receiver(default=fake)
    did = enqueue(pg_engine, firing_payload(), channel="kubeflow_pipelines")

    assert deliver_due(pg_engine, kfp(recv.url), now=T0).failed == 1
    assert deliver_due(pg_engine, kfp(recv.url), now=T0 + timedelta(minutes=5)).claimed == 0
    assert len(fake.runs) == 1
    assert "not retried" in row(pg_engine, did)["last_error"]


def prefect(url: str) -> AlertingSettings:
    return alerting(
        {
            "type": "prefect",
            "url": f"{url}/api",
            "deployment_id": DEPLOYMENT,
            "ui_url": "http://prefect.example:4200",
        }
    )


def test_prefect_create_flow_run_request(engine, receiver) -> None:
    fake = FakePrefect()
    recv = receiver(default=fake)
    did = enqueue(engine, firing_payload(), channel="prefect")

    assert deliver_due(engine, prefect(recv.url), now=T0).delivered == 1

    [req] = recv.requests
    assert (req.method, req.path) == ("POST", f"/api/deployments/{DEPLOYMENT}/create_flow_run")
    body = req.json()
    assert body["idempotency_key"] == did
    assert set(body["parameters"]) == PARAMS and body["parameters"]["alert_id"] == 7
    flow_run = next(iter(fake.runs.values()))["id"]
    r = row(engine, did)
    assert r["external_id"] == flow_run
    assert r["answer"]["url"] == f"http://prefect.example:4200/runs/flow-run/{flow_run}"


def test_prefect_retry_returns_the_same_flow_run(pg_engine, receiver) -> None:
    fake = FakePrefect(lose=1)
    recv = receiver(default=fake)
    did = enqueue(pg_engine, firing_payload(), channel="prefect")
    settings = prefect(recv.url)

    assert deliver_due(pg_engine, settings, now=T0).retried == 1
    assert deliver_due(pg_engine, settings, now=T0 + timedelta(seconds=5)).delivered == 1

    assert list(fake.runs) == [did] and len(recv.requests) == 2
    assert row(pg_engine, did)["external_id"] == fake.runs[did]["id"]
