"""`monitor alerts list|show|ack|silence|unsilence` on alerts made by the real scheduler,
on Postgres and SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cli_support import (
    HOUR,
    T0,
    run,
    seed_drift_alert,
    write_config,
)
from scheduler.scheduler_support import put, traffic
from sqlalchemy import select

from monitor.alerts import alert_history
from monitor.scheduler.ticks import tick
from monitor.silences import is_silenced, list_silences
from monitor.storage.tables import notifications


def test_list_show_and_ack(db_url, tmp_path, capsys) -> None:
    config = write_config(tmp_path, db_url)
    _, engine, run_id = seed_drift_alert(config)
    with engine.connect() as conn:
        [(last_error,)] = conn.execute(select(notifications.c.last_error)).all()
    assert "Connection refused" in last_error

    code, out, err = run(capsys, "alerts", "list", "--config", config)
    assert (code, err) == (0, "")
    header, row = out.splitlines()
    assert header.split()[:6] == ["id", "monitor", "rule", "subject", "state", "severity"]
    assert row.split() == [
        "1", "mon", "dataset", "-", "firing", "critical",
        "2026-11-02", "13:00:01", "2026-11-02", "13:00:01", "-",
    ]  # fmt: skip

    assert run(capsys, "alerts", "list", "--state", "open", "--config", config)[1] == out
    assert run(capsys, "alerts", "list", "--severity", "critical", "--config", config)[1] == out
    for filters in (
        ["--state", "resolved"],
        ["--state", "pending"],
        ["--severity", "warning"],
        ["--monitor", "quiet"],
    ):
        assert run(capsys, "alerts", "list", *filters, "--config", config)[1] == "no alerts\n"
    code, out, _ = run(capsys, "alerts", "list", "--json", "--config", config)
    [alert] = json.loads(out)["alerts"]
    assert (alert["id"], alert["state"], alert["last_run_id"]) == (1, "firing", run_id)

    code, out, err = run(capsys, "alerts", "show", "1", "--config", config)
    assert (code, err) == (0, "")
    assert out.startswith("alert 1  monitor mon  rule dataset  subject -\n")
    assert "state      firing  severity critical  consecutive 1" in out
    history = out.split("\nhistory\n")[1].split("\n\ndeliveries\n")[0].splitlines()
    assert history == [
        f"  2026-11-02 13:00:01  firing       run {run_id:<6} from inactive, notify firing"
    ]
    deliveries = out.split("\ndeliveries\n")[1].splitlines()
    assert deliveries[1].split()[:7] == [
        "2026-11-02", "13:00:01", "webhook", "retrain", "drift.detected", "failed", "1",
    ]  # fmt: skip
    assert deliveries[1].endswith(last_error)

    code, out, err = run(
        capsys,
        "alerts",
        "ack",
        "1",
        "--by",
        "alice",
        "--comment",
        "on it\x1b[2J",
        "--config",
        config,
    )
    assert (code, out, err) == (0, "acknowledged alert 1 (firing) by alice\n", "")
    events = alert_history(engine, 1)
    assert [e.state for e in events] == ["firing", "acknowledged"]
    assert events[1].detail is not None
    assert events[1].detail["by"] == "alice" and events[1].detail["comment"] == "on it\x1b[2J"
    code, out, _ = run(capsys, "alerts", "show", "1", "--config", config)
    assert "acknowledged            by alice: on it\\x1b[2J" in out and "\x1b" not in out
    code, out, _ = run(capsys, "alerts", "show", "1", "--json", "--config", config)
    doc = json.loads(out)
    assert [h["state"] for h in doc["history"]] == ["firing", "acknowledged"]
    assert doc["history"][1]["detail"]["by"] == "alice"
    [delivery] = doc["deliveries"]
    assert {k: delivery[k] for k in ("channel", "route", "status", "attempts", "last_error")} == {
        "channel": "webhook",
        "route": "retrain",
        "status": "failed",
        "attempts": 1,
        "last_error": last_error,
    }
    # the alert's lifecycle is unchanged by an acknowledgement
    assert json.loads(run(capsys, "alerts", "list", "--json", "--config", config)[1])["alerts"][0][
        "state"
    ] == ("firing")


def test_ack_of_a_resolved_or_missing_alert_is_refused(db_url, tmp_path, capsys) -> None:
    config = write_config(tmp_path, db_url)
    settings, engine, _ = seed_drift_alert(config)
    put(engine, traffic(400, T0 + HOUR, HOUR, seed=6))  # the next window does not drift
    [outcome] = tick(
        engine, settings, settings.monitor("mon"), T0 + 2 * HOUR + timedelta(seconds=1)
    )
    assert outcome.dataset_drift is False
    code, out, _ = run(capsys, "alerts", "list", "--state", "resolved", "--config", config)
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[-6:] == ["since", "(UTC)", "last", "seen", "resolved", "(UTC)"]
    assert row.split()[4:] == [
        "resolved", "critical", "2026-11-02", "13:00:01", "2026-11-02", "13:00:01",
        "2026-11-02", "14:00:01",
    ]  # fmt: skip

    code, out, err = run(capsys, "alerts", "ack", "1", "--config", config)
    assert (code, out) == (2, "")
    assert err == "monitor: alert 1 is resolved; there is nothing to acknowledge\n"
    assert [e.state for e in alert_history(engine, 1)] == ["firing", "resolved"]
    code, _, err = run(capsys, "alerts", "ack", "999", "--config", config)
    assert (code, err) == (2, "monitor: no alert with id 999\n")
    code, _, err = run(capsys, "alerts", "show", "999", "--config", config)
    assert (code, err) == (2, "monitor: no alert with id 999\n")
    code, _, err = run(capsys, "alerts", "list", "--state", "nope", "--config", config)
    assert code == 2 and err.startswith("monitor: Invalid value for '--state'")


def test_silence_and_unsilence(db_url, tmp_path, capsys) -> None:
    config = write_config(tmp_path, db_url)
    from monitor.storage import make_engine

    engine = make_engine(db_url)
    before = datetime.now(UTC)
    code, out, err = run(
        capsys,
        "alerts", "silence", "--monitor", "mon", "--rule", "dataset", "--for", "2h",
        "--reason", "retraining", "--config", config,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.startswith("silence 1: rule 'dataset' of monitor 'mon' until ")
    [s] = list_silences(engine)
    assert (s.monitor, s.rule, s.reason) == ("mon", "dataset", "retraining")
    assert before + timedelta(hours=2) <= s.until <= datetime.now(UTC) + timedelta(hours=2)
    with engine.connect() as conn:
        assert is_silenced(conn, "mon", "dataset", datetime.now(UTC))
        assert not is_silenced(conn, "mon", "nulls", datetime.now(UTC))

    code, out, _ = run(
        capsys, "alerts", "silence", "--monitor", "quiet", "--until", "2999-01-01T00:00:00Z",
        "--config", config,
    )  # fmt: skip
    assert (code, out) == (0, "silence 2: monitor 'quiet' until 2999-01-01T00:00:00+00:00\n")

    assert run(capsys, "alerts", "unsilence", "1", "--config", config)[:2] == (
        0,
        "removed silence 1\n",
    )
    assert [x.id for x in list_silences(engine)] == [2]
    code, _, err = run(capsys, "alerts", "unsilence", "1", "--config", config)
    assert (code, err) == (2, "monitor: no silence with id 1\n")
    code, _, err = run(
        capsys, "alerts", "silence", "--monitor", "mon", "--rule", "nope", "--for", "1h",
        "--config", config,
    )  # fmt: skip
    assert code == 2
    assert err == "monitor: monitor 'mon' has no rule named 'nope' (rules: dataset, nulls)\n"
    code, _, err = run(capsys, "alerts", "silence", "--monitor", "mon", "--config", config)
    assert (code, err) == (2, "monitor: give either --for DURATION or --until TIME\n")
    assert [x.id for x in list_silences(engine)] == [2]
    engine.dispose()


def test_show_does_not_load_the_api(tmp_path) -> None:
    """`monitor alerts show` reads through storage, not through the API package (FastAPI
    stays unloaded: a terminal command should not pay for the web stack)."""
    import subprocess
    import sys

    from monitor.storage import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(make_engine(url))
    config = write_config(tmp_path, url)
    seed_drift_alert(config)
    script = (
        "import sys\n"
        "from monitor.cli import main\n"
        f"code = main(['alerts', 'show', '1', '--json', '--config', {config!r}])\n"
        "loaded = sorted(m for m in sys.modules if m == 'fastapi' or m.startswith('monitor.api'))\n"
        "print('LOADED', code, loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.splitlines()[-1] == "LOADED 0 []", done.stdout[-2000:] + done.stderr
