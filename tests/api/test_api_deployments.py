"""POST/GET /api/v1/models/{model}/deployments on its own seeded Postgres database.

The seed (api_support.seed: the real scheduler over stored traffic) leaves monitor `mon` of
model `m` with the `dataset` drift alert firing (its Slack notification delivered to the
local receiver) and the `no-data` insufficient-data alert pending. Deploying version 2 with
a reference shaped like the drifted traffic resolves the drift alert as superseded (a
resolved Slack message), leaves the data-feed alert open, and the next window runs on
version 2's events against the new reference.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from api_support import ADMIN_TOKEN, HOUR, READ_TOKEN, T0, XSS, make_settings, seed, traffic
from api_support import training as old_training
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from monitor.app import create_app
from monitor.demo_receivers import Receivers
from monitor.deployments import DeployOutcome, deploy
from monitor.notify.delivery import deliver_due
from monitor.reference import latest
from monitor.scheduler.ticks import tick
from monitor.storage import make_engine
from monitor.storage.alerts import alert_detail, list_alerts
from monitor.storage.deployments import list_deployments
from monitor.storage.tables import drift_runs, notifications
from monitor.storage.writes import store_batch

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


def new_training(path: Path, n: int = 3000) -> Path:
    """Version 2's training data: shaped like the drifted traffic (shift 1.5)."""
    rng = np.random.default_rng(7)
    pd.DataFrame(
        {
            "x": rng.normal(1.5, 1, n),
            XSS: rng.normal(6.5, 1, n),
            "c": rng.choice(["a", "b", "c"], n, p=[0.8, 0.1, 0.1]),
            "prediction": rng.uniform(0, 1, n),
        }
    ).to_parquet(path)
    return path


@pytest.fixture(scope="module")
def world(migrated_pg, tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("deploy")
    receivers = Receivers(b"unused").start()
    url = migrated_pg("deploy")
    settings = make_settings(
        url,
        old_training(tmp / "ref.parquet"),
        tmp / "reports",
        slack_url=f"{receivers.base}/slack",
        webhook_url=f"{receivers.base}/retrain-unused",
    )
    engine = make_engine(url)
    seeded = seed(engine, settings)
    with TestClient(create_app(engine, settings)) as client:
        yield {
            "engine": engine,
            "settings": settings,
            "client": client,
            "receivers": receivers,
            "seeded": seeded,
            "ref2": str(new_training(tmp / "ref-v2.parquet")),
        }
    engine.dispose()
    receivers.stop()


def _open(engine: Any) -> dict[str, Any]:
    return {a.rule: a for a in list_alerts(engine, monitor="mon", state="open").alerts}


def _slack_delivery(engine: Any, alert_id: int) -> str:
    stmt = select(notifications.c.delivery_id).where(
        notifications.c.alert_id == alert_id, notifications.c.route == "slack"
    )
    with engine.connect() as conn:
        return str(conn.execute(stmt).scalars().first())


def test_deploy_supersedes_switches_and_is_idempotent(world) -> None:
    engine, client, receivers = world["engine"], world["client"], world["receivers"]
    before = _open(engine)
    drift_alert, no_data = before["dataset"], before["no-data"]
    assert drift_alert.state == "firing" and no_data.state == "pending"
    trigger = _slack_delivery(engine, drift_alert.id)
    body = {"version": "2", "reference": world["ref2"], "trigger": trigger}

    got = client.post("/api/v1/models/m/deployments", json=body, headers=ADMIN)
    assert got.status_code == 201, got.text
    dep = got.json()
    assert dep["created"] is True and dep["version"] == "2" and dep["model"] == "m"
    assert dep["trigger_delivery_id"] == trigger and dep["alert_id"] == drift_alert.id
    assert dep["superseded"] == [drift_alert.id]
    assert dep["reference_versions"]["mon"] == 2 and "mon2" in dep["reference_versions"]

    # the drift alert resolved as superseded; the data-feed alert stays open
    after = _open(engine)
    assert "dataset" not in after and after["no-data"].id == no_data.id
    detail = alert_detail(engine, drift_alert.id)
    assert detail is not None and detail["state"] == "resolved"
    last = detail["history"][-1]
    assert last["state"] == "resolved" and last["detail"]["reason"] == "superseded"
    resolved = [d for d in detail["deliveries"] if d["event"] == "drift.resolved"]
    assert {d["route"] for d in resolved} == {"slack", "retrain"}

    # the resolved notification reaches the local receiver and says why
    n_before = len(receivers.got)
    deliver_due(engine, world["settings"].alerting, now=datetime.now(UTC) + timedelta(seconds=1))
    slack = [r for r in receivers.got[n_before:] if r.path == "/slack"]
    assert len(slack) == 1 and "superseded" in slack[0].body.decode()
    webhook = [r for r in receivers.got[n_before:] if r.path == "/retrain-unused"]
    assert len(webhook) == 1
    payload = webhook[0].json()
    assert payload["event"] == "drift.resolved" and payload["reason"] == "superseded"
    assert payload["superseded_by"] == {"deployment_id": dep["id"], "version": "2"}
    assert payload["model_version"] is None  # the old (configured: any) version

    # the same deployment again records nothing
    again = client.post("/api/v1/models/m/deployments", json=body, headers=ADMIN)
    assert again.status_code == 200 and again.json() == {**dep, "created": False}
    listed = client.get("/api/v1/models/m/deployments", headers=READ).json()["items"]
    assert [d["id"] for d in listed] == [dep["id"]]

    # the next window runs on version 2's events against version 2's reference
    v2 = [replace(p, model_version="2", event_id=f"v2-{p.event_id}") for p in
          traffic(600, T0 + 4 * HOUR, shift=1.5, seed=21)]  # fmt: skip
    old = traffic(300, T0 + 4 * HOUR, shift=3.0, seed=22)  # version 1, far off: filtered out
    store_batch(engine, v2 + old, [], [])
    settings = world["settings"]
    (outcome,) = tick(
        engine, settings, settings.monitor("mon"), now=T0 + 5 * HOUR + timedelta(seconds=1)
    )
    assert outcome.status == "succeeded" and outcome.current_rows == 600
    assert outcome.dataset_drift is False
    ref = latest(engine, "mon")
    assert ref is not None and ref.version == 2 and ref.source == f"file:{world['ref2']}"
    with engine.connect() as conn:
        ref_id = conn.execute(
            select(drift_runs.c.reference_id).where(drift_runs.c.id == outcome.run_id)
        ).scalar_one()
    assert ref_id == ref.id


def test_monitors_show_the_deployed_version(world) -> None:
    """After test_deploy_…: the API and the monitor page show version 2 and its deployment."""
    client = world["client"]
    (dep,) = client.get("/api/v1/models/m/deployments", headers=READ).json()["items"]
    shown = {"id": dep["id"], "version": "2", "deployed_at": dep["deployed_at"]}
    items = client.get("/api/v1/monitors", headers=READ).json()["items"]
    for m in items:
        assert m["model_version"] == "2"
        assert m["deployment"] == {**shown, "configured_version": None}
    detail = client.get("/api/v1/monitors/mon", headers=READ).json()
    assert detail == next(m for m in items if m["name"] == "mon")

    form = client.get("/login", params={"next": "/monitors/mon"})
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    client.post("/login", data={"csrf": csrf, "token": READ_TOKEN, "next": "/monitors/mon"})
    page = client.get("/monitors/mon")
    assert page.status_code == 200
    assert f"2 (deployment {dep['id']}, " in page.text and "configured: any)" in page.text


def test_episodes_link_alert_trigger_deployment_and_first_runs(world) -> None:
    """After test_deploy_…: one episode, the drift alert → its delivery (with the answer a
    retraining target would have stored) → version 2 → its first run on the new reference."""
    engine, client = world["engine"], world["client"]
    (dep,) = client.get("/api/v1/models/m/deployments", headers=READ).json()["items"]
    answer = {"run_id": "manual__42", "url": "http://airflow/dags/retrain/runs/manual__42"}
    with engine.begin() as conn:
        conn.execute(
            update(notifications)
            .where(notifications.c.delivery_id == dep["trigger_delivery_id"])
            .values(answer=answer)
        )
    got = client.get("/api/v1/models/m/episodes", headers=READ)
    assert got.status_code == 200, got.text
    (episode,) = got.json()["items"]
    assert episode["deployment"] == dep
    alert = episode["alert"]
    assert alert["id"] == dep["alert_id"] and alert["rule"] == "dataset"
    assert alert["state"] == "resolved" and alert["fired_at"] is not None
    trigger = episode["trigger"]
    assert trigger["delivery_id"] == dep["trigger_delivery_id"] and trigger["route"] == "slack"
    assert trigger["event"] == "drift.detected" and trigger["answer"] == answer
    (run,) = episode["runs"]  # mon's first window on version 2; mon2 has not run since
    assert run["monitor"] == "mon" and run["status"] == "succeeded"
    assert run["dataset_drift"] is False and run["window_start"] == "2026-11-02T16:00:00Z"
    before = episode["before"]  # the old version's last windows, oldest first
    assert before and {b["monitor"] for b in before} <= {"mon", "mon2"}
    assert all(b["window_end"] <= run["window_start"] for b in before)
    mon_before = [b["window_start"] for b in before if b["monitor"] == "mon"]
    assert mon_before == sorted(mon_before) and len(mon_before) == 3
    one = client.get("/api/v1/models/m/episodes?first=1", headers=READ).json()["items"][0]
    assert (
        one["runs"] == episode["runs"]
        and one["before"]
        == [b for b in before if b["monitor"] == "mon"][-1:]
        + [b for b in before if b["monitor"] == "mon2"][-1:]
    )
    assert client.get("/api/v1/models/nope/episodes", headers=READ).status_code == 404
    assert client.get("/api/v1/models/m/episodes").status_code == 401


def test_bad_input(world) -> None:
    client, ref2 = world["client"], world["ref2"]
    url = "/api/v1/models/{}/deployments"
    body = {"version": "3", "reference": ref2}
    unknown = client.post(url.format("nope"), json=body, headers=ADMIN)
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    assert client.get(url.format("nope"), headers=READ).status_code == 404
    bad_trigger = client.post(url.format("m"), json={**body, "trigger": "zz"}, headers=ADMIN)
    assert bad_trigger.status_code == 400 and "zz" in bad_trigger.json()["detail"]
    missing = client.post(
        url.format("m"), json={**body, "reference": "/nonexistent/ref.parquet"}, headers=ADMIN
    )
    assert missing.status_code == 400 and "cannot read" in missing.json()["detail"]
    assert client.post(url.format("m"), json={"version": "3"}, headers=ADMIN).status_code == 422
    assert client.post(url.format("m"), json=body, headers=READ).status_code == 403
    assert client.post(url.format("m"), json=body).status_code == 401
    listed = client.get(url.format("m"), headers=READ).json()["items"]
    assert all(d["version"] != "3" for d in listed)  # nothing was recorded


def test_two_simultaneous_identical_deployments_record_once(world) -> None:
    """Two posts of version 3 at once (both past the first check, both materialising the
    reference): one records it, the other returns the stored one (unique deployment key)."""
    engine, settings = world["engine"], world["settings"]
    before = [d.id for d in list_deployments(engine, "m")]
    start = threading.Barrier(2)
    outcomes: list[DeployOutcome] = []
    errors: list[BaseException] = []

    def post() -> None:
        start.wait()
        try:
            outcomes.append(
                deploy(engine, settings, model="m", version="3", reference=world["ref2"])
            )
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(o.created for o in outcomes) == [False, True]
    assert outcomes[0].deployment.id == outcomes[1].deployment.id
    after = [d.id for d in list_deployments(engine, "m")]
    assert after == [outcomes[0].deployment.id, *before]
    ref = latest(engine, "mon")  # the second post waited and materialised nothing
    assert ref is not None and ref.version == 3
