"""`monitor deploy` on Postgres and SQLite: the firing drift alert of the seeded run resolves
as superseded, the trigger delivery is linked, a second identical call records nothing, and
bad input is one line on stderr with exit code 2."""

from __future__ import annotations

from pathlib import Path

from cli_support import run, seed_drift_alert, write_config
from scheduler.scheduler_support import training

from monitor.cli._common import open_store
from monitor.deployments import effective_monitor
from monitor.reference import latest
from monitor.storage.alerts import alert_detail, list_alerts
from monitor.storage.deployments import list_deployments


def test_deploy_supersedes_and_links_the_trigger(db_url, tmp_path, capsys) -> None:
    config = write_config(tmp_path, db_url)
    settings, engine, _ = seed_drift_alert(config)
    [alert] = list_alerts(engine, monitor="mon", state="open").alerts
    detail = alert_detail(engine, alert.id)
    assert detail is not None
    delivery = detail["deliveries"][0]["delivery_id"]
    ref2 = str(training(tmp_path / "ref-v2.parquet", seed=3))
    args = ["deploy", "--model", "m", "--version", "v2", "--reference", ref2, "--config", config]

    code, out, err = run(capsys, *args, "--trigger", delivery)
    assert code == 0, err
    assert "deployment 1: m version v2 (references: mon v2)" in out
    assert "superseded alerts: 1" in out and f"delivery {delivery} (alert {alert.id})" in out
    assert list_alerts(engine, monitor="mon", state="open").alerts == []
    history = alert_detail(engine, alert.id)["history"]  # type: ignore[index]
    assert history[-1]["detail"]["reason"] == "superseded"
    assert effective_monitor(engine, settings.monitor("mon")).model_version == "v2"
    ref = latest(engine, "mon")
    assert ref is not None and ref.version == 2 and ref.source == f"file:{ref2}"

    code, out, _ = run(capsys, *args)  # the same version and reference: recorded once
    assert code == 0 and "already recorded" in out
    [dep] = list_deployments(engine, "m")
    assert (dep.trigger_delivery_id, dep.alert_id) == (delivery, alert.id)
    assert dep.superseded == [alert.id]
    engine.dispose()


def test_deploy_bad_input(db_url, tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, db_url)
    ref = str(tmp_path / "ref.parquet")
    base = ["deploy", "--version", "2", "--reference", ref, "--config", config]
    cases = [
        (["--model", "nope"], "no configured monitor watches model 'nope'"),
        (["--model", "m", "--trigger", "zz"], "no outbox delivery with id 'zz'"),
        (["--model", "m", "--reference", "/nonexistent/r.parquet"], "cannot read /nonexistent"),
    ]
    for extra, message in cases:
        code, out, err = run(capsys, *base, *extra)
        assert code == 2 and out == "", (extra, err)
        assert err.count("\n") == 1 and message in err, err
    code, _, err = run(capsys, "deploy", "--model", "m", "--config", config)
    assert code == 2 and err.count("\n") == 1 and "--version" in err
    _, engine = open_store(config)
    assert list_deployments(engine, "m") == []  # nothing was recorded
    engine.dispose()
