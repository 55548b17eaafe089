"""The `prefect` route against a real Prefect server (`prefect server start`, SQLite, from its
own virtualenv): a trivial flow is deployed with Prefect's own client, the monitor's outbox
creates a flow run from that deployment with `idempotency_key` = the delivery id, the first
answer is lost on the way back (a proxy drops it after Prefect created the run), the outbox
retries the same delivery and Prefect answers with the same flow run: one run, recorded on the
delivery, visible through Prefect's API with our parameters. The server start and the
deployment run in the background from the start of the session (tests/prestart.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import orjson
import prestart
import pytest
from notify_support import T0, Recorded, Reply, enqueue, firing_payload, row
from real_targets import target_python

from monitor.notify.delivery import deliver_due
from monitor.settings import AlertingSettings

HERE = Path(__file__).resolve().parent
START_TIMEOUT_S = 600  # first start runs Prefect's database migrations: minutes on a busy machine


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(method: str, url: str, doc: Any = None, timeout: float = 30) -> tuple[int, Any]:
    data = None if doc is None else orjson.dumps(doc)
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, orjson.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _healthy(api: str) -> bool:
    try:
        return _call("GET", f"{api}/health", timeout=2)[0] == 200
    except OSError:
        return False


@dataclass
class PrefectServer:
    """A healthy Prefect server with the trivial flow deployed."""

    api: str
    deployment_id: str
    proc: subprocess.Popen
    log: IO[bytes]
    healthy_after_s: float
    deployed_in_s: float

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def _start_prefect(home: Path) -> PrefectServer:
    """Started in the background at session start (tests/prestart.py): the server, then the
    flow deployed with Prefect's own client."""
    python = target_python("prefect")
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_URL": "",
    }
    log = (home / "server.log").open("wb")
    began = time.monotonic()
    proc = prestart.track(subprocess.Popen(
        [str(python.parent / "prefect"), "server", "start", "--host", "127.0.0.1",
         "--port", str(port), "--no-services"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    ))  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    server = PrefectServer(api, "", proc, log, 0.0, 0.0)
    try:
        while not _healthy(api):
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited: {(home / 'server.log').read_text()[-2000:]}")
            if time.monotonic() - began > START_TIMEOUT_S:
                pytest.fail(f"prefect server did not answer within {START_TIMEOUT_S} s")
            time.sleep(0.2)
        server.healthy_after_s = time.monotonic() - began
        server.deployment_id = _deploy_flow(api, python)
        server.deployed_in_s = time.monotonic() - began - server.healthy_after_s
    except BaseException:
        server.stop()
        raise
    return server


prestart.register("prefect_api", _start_prefect, stop=PrefectServer.stop)


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory) -> Iterator[PrefectServer]:
    """Waits for the start begun with the session; a failed start fails the test with its
    error (a venv that cannot be built: target_python's skip, or failure under CI)."""
    try:
        server = prestart.result("prefect_api", tmp_path_factory)
        print(
            f"prefect server healthy after {server.healthy_after_s:.1f} s, flow deployed with "
            f"Prefect's client in {server.deployed_in_s:.1f} s (in the background)"
        )
        yield server
    finally:
        prestart.release("prefect_api")


def _deploy_flow(api: str, python: Path) -> str:
    """Deploy the trivial flow with Prefect's own client; its deployment id."""
    env = {**os.environ, "PREFECT_API_URL": api}
    done = subprocess.run([str(python), str(HERE / "prefect_flow.py")], env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


class LosingProxy:
    """Forwards POSTs to Prefect; the first answer is dropped after Prefect handled it."""

    def __init__(self, api: str) -> None:
        self.base = api.removesuffix("/api")  # the monitor's requests keep Prefect's /api path
        self.answers: list[int] = []

    def __call__(self, rec: Recorded, n: int) -> Reply:
        status, body = _call("POST", self.base + rec.path, orjson.loads(rec.body))
        self.answers.append(status)
        if n == 1:
            return Reply(drop=True)  # the flow run exists, the monitor never hears of it
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        return Reply(status, raw, {"Content-Type": "application/json"})


def _alerting(url: str, deployment_id: str) -> AlertingSettings:
    route = {"type": "prefect", "url": url, "deployment_id": deployment_id,
             "ui_url": "http://prefect.local:4200"}  # fmt: skip
    return AlertingSettings.model_validate(
        {"routes": {"retrain": route}, "delivery": {"backoff_initial": "1s"}}
    )


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a busy machine: server start (migrations) plus Prefect's client
def test_flow_run_from_a_real_deployment_once_despite_a_lost_answer(
    prefect_api, pg_engine, receiver
) -> None:
    api, deployment_id = prefect_api.api, prefect_api.deployment_id
    proxy = LosingProxy(api)
    recv = receiver(default=proxy)
    settings = _alerting(recv.url + "/api", deployment_id)
    payload = firing_payload()
    did = enqueue(pg_engine, payload, channel="prefect")

    first = deliver_due(pg_engine, settings, now=T0)
    assert (first.delivered, row(pg_engine, did)["status"]) == (0, "pending")
    again = deliver_due(pg_engine, settings, now=T0 + timedelta(minutes=1))
    assert again.delivered == 1, row(pg_engine, did)["last_error"]
    assert [r.path for r in recv.requests] == [
        f"/api/deployments/{deployment_id}/create_flow_run"
    ] * 2
    assert proxy.answers[0] == 201 and proxy.answers[1] in (200, 201)

    stored = row(pg_engine, did)
    run_id = stored["external_id"]
    assert stored["status"] == "delivered" and run_id
    assert stored["answer"]["url"] == f"http://prefect.local:4200/runs/flow-run/{run_id}"

    status, flow_run = _call("GET", f"{api}/flow_runs/{run_id}")
    assert status == 200
    assert flow_run["deployment_id"] == deployment_id
    assert flow_run["idempotency_key"] == did
    params = flow_run["parameters"]
    assert params["delivery_id"] == did and params["alert_id"] == payload["alert_id"]
    assert params["drifted_features"] == ["age", "income", "plan"]
    assert params["report_url"] == payload["report_url"]
    assert "drift-monitor" in flow_run["tags"]
    flt = {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}}
    assert _call("POST", f"{api}/flow_runs/count", flt) == (200, 1)

    # another alert's delivery is another flow run
    other = enqueue(pg_engine, firing_payload(alert_id=8), channel="prefect")
    assert deliver_due(pg_engine, settings, now=T0 + timedelta(minutes=2)).delivered == 1
    assert row(pg_engine, other)["external_id"] not in (None, run_id)
    assert _call("POST", f"{api}/flow_runs/count", flt) == (200, 2)
