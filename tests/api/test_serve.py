"""`monitor serve --role api|scheduler` as subprocesses: the API and the metrics port answer,
SIGTERM stops them cleanly, and an open API beyond loopback is refused in one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from api_support import ADMIN_TOKEN, READ_TOKEN, free_port
from sqlalchemy import func, select

from monitor.api.server import ServerThread
from monitor.app import create_app
from monitor.cli import main
from monitor.errors import ConfigError
from monitor.storage.tables import alerts


def _config(tmp_path: Path, url: str, **sections: Any) -> str:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"database": {"url": url}, **sections}))
    return str(path)


def _serve(config: str, role: str) -> subprocess.Popen:
    env = os.environ | {"MONITOR_READ_TOKEN": READ_TOKEN, "MONITOR_ADMIN_TOKEN": ADMIN_TOKEN}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--config", config, "--role", role],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate()[1][-3000:])
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    return err


def _url(scratch) -> str:
    return scratch[0].url.render_as_string(hide_password=False)


def test_role_api_serves_with_tokens_from_the_environment(scratch, tmp_path):
    port = free_port()
    api = {
        "port": port,
        "read_tokens": ["${MONITOR_READ_TOKEN}"],
        "admin_tokens": ["${MONITOR_ADMIN_TOKEN}"],
    }
    monitors = [{"name": "mon", "model": "m"}]
    proc = _serve(_config(tmp_path, _url(scratch), api=api, monitors=monitors), "api")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/healthz", proc)
        r = httpx.get(f"{base}/api/v1/monitors", headers={"Authorization": f"Bearer {READ_TOKEN}"})
        with scratch[0].connect() as conn:
            firing = conn.execute(
                select(func.count()).where(alerts.c.monitor == "mon", alerts.c.state == "firing")
            ).scalar_one()
        assert r.status_code == 200 and r.json()["items"][0]["alerts_firing"] == firing >= 1
        assert httpx.get(f"{base}/api/v1/monitors").status_code == 401
        assert httpx.get(f"{base}/readyz").json() == {
            "status": "ready",
            "checks": {"database": True},
        }
        assert httpx.get(f"{base}/api/v1/docs").status_code == 200
    finally:
        err = _stop(proc)
    assert "event=api_listening" in err and "event=serve_stopped" in err
    assert READ_TOKEN not in err and ADMIN_TOKEN not in err


def test_role_scheduler_serves_metrics_and_readiness_on_the_metrics_port(scratch, tmp_path):
    port = free_port()
    config = _config(
        tmp_path,
        _url(scratch),
        api={"metrics_port": port, "read_tokens": ["${MONITOR_READ_TOKEN}"]},
        scheduler={"tick": "1s"},
        monitors=[{"name": "sched", "model": "nothing", "reference": {"first_events": 10}}],
    )
    proc = _serve(config, "scheduler")
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {READ_TOKEN}"}
    try:
        _wait(f"{base}/readyz", proc)  # 503 until the scheduler has ticked
        assert httpx.get(f"{base}/readyz").json()["checks"] == {"database": True, "scheduler": True}
        text = httpx.get(f"{base}/metrics", headers=auth).text
        assert 'monitor_run_expected_interval_seconds{monitor="sched"} 3600.0' in text
        assert "monitor_build_info" in text and "monitor_ingest_" not in text
        assert httpx.get(f"{base}/api/v1/monitors", headers=auth).status_code == 404
    finally:
        _stop(proc)


def test_open_api_beyond_loopback_is_refused_in_one_line(scratch, tmp_path, capsys):
    config = _config(tmp_path, _url(scratch), api={"host": "0.0.0.0"})
    assert main(["serve", "--config", config, "--role", "api"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "monitor: config error at api.host: refusing to bind 0.0.0.0 without tokens; set "
        "api.read_tokens / api.admin_tokens (e.g. ${MONITOR_READ_TOKEN}) or bind to 127.0.0.1"
    ]


def test_a_busy_port_is_one_config_error(scratch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError) as err:
            ServerThread(create_app(scratch[0], scratch[1].settings), "127.0.0.1", port)
    assert str(err.value) == f"cannot listen on 127.0.0.1:{port}: Address already in use"
