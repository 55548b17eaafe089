"""Requests checked against the targets' own published API models (not our reading of them).

Airflow: the official `apache-airflow-client` (generated from Airflow 3's OpenAPI document)
serialises the same trigger; method, path, headers and body must match ours, and the body
must load into `TriggerDAGRunPostBody` without unknown properties. Argo: hera's models
(generated from the Argo Server's OpenAPI document) must hold our submit body exactly.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import orjson
import pytest
from airflow_client.client import ApiClient, Configuration
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody
from hera.workflows.models import WorkflowSubmitRequest
from notify_support import T0, enqueue, firing_payload
from target_fakes import TOKEN, FakeAirflow, FakeArgo

from monitor.notify.delivery import deliver_due
from monitor.settings import AlertingSettings


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGET_TOKEN", TOKEN)


def only_route(route: dict[str, object]) -> AlertingSettings:
    route = {"auth": {"type": "bearer", "token_env": "TARGET_TOKEN"}, **route}
    return AlertingSettings.model_validate({"routes": {"retrain": route}})


def test_airflow3_trigger_matches_the_official_client(sqlite_engine, receiver) -> None:
    recv = receiver(default=FakeAirflow(3))
    enqueue(sqlite_engine, firing_payload(), channel="airflow3")
    route = {"type": "airflow3", "url": recv.url, "dag_id": "retrain.churn-v2"}
    assert deliver_due(sqlite_engine, only_route(route), now=T0).delivered == 1
    [ours] = recv.requests

    body = ours.json()
    model = TriggerDAGRunPostBody.from_dict(body)
    assert model.additional_properties == {}
    client = DagRunApi(ApiClient(Configuration(host=recv.url, access_token=TOKEN)))
    method, url, headers, theirs, _ = client._trigger_dag_run_serialize(
        "retrain.churn-v2", model, None, None, None, 0
    )
    assert (ours.method, ours.path) == (method, urlsplit(url).path)
    for name in ("Content-Type", "Accept", "Authorization"):
        assert ours.headers[name] == headers[name], name
    theirs = orjson.loads(orjson.dumps(theirs))
    when = {datetime.fromisoformat(d.pop("logical_date")) for d in (theirs, body)}
    assert theirs == body and len(when) == 1  # the same instant ("Z" or "+00:00")


def test_argo_submit_body_is_a_workflow_submit_request(sqlite_engine, receiver) -> None:
    params = {"delivery_id", "alert_id", "monitor", "window_start", "window_end"}
    recv = receiver(default=FakeArgo({"retrain": params | {"drifted_features", "report_url"}}))
    enqueue(sqlite_engine, firing_payload(), channel="argo_workflows")
    route = {"type": "argo_workflows", "url": recv.url, "namespace": "ml", "template": "retrain"}
    assert deliver_due(sqlite_engine, only_route(route), now=T0).delivered == 1
    [ours] = recv.requests

    body = ours.json()
    model = WorkflowSubmitRequest.model_validate(body)
    assert model.model_dump(by_alias=True, exclude_none=True, mode="json") == body
