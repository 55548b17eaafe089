"""Dashboard sessions live in the database, so every API replica sees them: sign in on one
replica, browse on another, sign out on either and both refuse the cookie.

Two real `monitor serve --role api` processes on one Postgres database; and two apps on one
SQLite file (local use).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from web_support import login

from monitor.app import create_app
from monitor.web.sessions import COOKIE

READ = "read-" + "r" * 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _logout_csrf(html: str) -> str:
    return re.search(r'action="/logout".*?name="csrf" value="([^"]+)"', html, re.S).group(1)


def _serve(config: Path, log: Path) -> subprocess.Popen:
    env = os.environ | {"MONITOR_READ_TOKEN": READ}
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "serve", "--config", str(config), "--role", "api"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _wait(base: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(log.read_text()[-3000:])
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{base} did not answer"
        time.sleep(0.1)


@pytest.fixture
def replicas(migrated_pg, tmp_path):
    url = migrated_pg("websessions")
    procs, bases = [], []
    try:
        for i in range(2):
            port = free_port()
            config = tmp_path / f"replica{i}.yaml"
            config.write_text(
                yaml.safe_dump(
                    {
                        "database": {"url": url},
                        "api": {"port": port, "read_tokens": ["${MONITOR_READ_TOKEN}"]},
                        "monitors": [{"name": "mon", "model": "m"}],
                    }
                )
            )
            log = tmp_path / f"replica{i}.log"
            procs.append((_serve(config, log), log))
            bases.append(f"http://127.0.0.1:{port}")
        for (proc, log), base in zip(procs, bases, strict=True):
            _wait(base, proc, log)
        yield bases
    finally:
        for proc, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, log in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            assert proc.returncode == 0, log.read_text()[-3000:]


def test_a_session_made_on_one_api_process_works_on_the_other_until_logout(replicas):
    a, b = replicas
    with httpx.Client(base_url=a) as on_a, httpx.Client(base_url=b) as on_b:
        signed = login(on_a, READ, "/")
        assert signed.status_code == 303, signed.text[:300]
        session = on_a.cookies[COOKIE]
        assert on_a.get("/").status_code == 200
        on_b.cookies.set(COOKIE, session)
        page = on_b.get("/")
        assert page.status_code == 200 and "Every monitor" in page.text  # the other replica
        out = on_b.post("/logout", data={"csrf": _logout_csrf(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        on_b.cookies.set(COOKIE, session)  # a copy of the cookie kept after logout
        for client in (on_a, on_b):
            r = client.get("/")
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), client


def test_two_apps_on_one_sqlite_file_share_sessions(site):
    one = TestClient(create_app(site.engine, site.facts.settings), follow_redirects=False)
    two = TestClient(create_app(site.engine, site.facts.settings), follow_redirects=False)
    assert login(one, site.read_token).status_code == 303
    two.cookies.set(COOKIE, one.cookies[COOKIE])
    page = two.get("/")
    assert page.status_code == 200
    assert two.post("/logout", data={"csrf": _logout_csrf(page.text)}).status_code == 303
    assert one.get("/").status_code == 303
