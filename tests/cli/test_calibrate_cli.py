"""`monitor calibrate` and `monitor alerts mark` on real Postgres: a reference materialised
and windows computed by the real scheduler; the backtest replays the stored windows."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from cli_support import HOUR, T0, run, seed_drift_alert, write_config
from db_support import truncate_all
from scheduler.scheduler_support import put, traffic

from monitor.scheduler.ticks import tick
from monitor.storage import make_engine
from monitor.storage.dashboard import feature_rows
from monitor.storage.run_reads import recent_runs


@pytest.fixture
def pg(cli_pg_url):
    engine = make_engine(cli_pg_url)
    truncate_all(engine)
    engine.dispose()
    return cli_pg_url


def test_calibrate_prints_the_budget_table_and_json(pg, tmp_path, capsys) -> None:
    config = write_config(tmp_path, pg)
    seed_drift_alert(config)  # materialises mon's reference and stores a 400-row window
    code, out, err = run(capsys, "calibrate", "--monitor", "mon", "--windows", "400",
                         "--config", config)  # fmt: skip
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("monitor mon: 400 simulated windows of 400 rows, one every 1 h")
    assert lines[1] == "budget     0.011 false alarms/day, 0.33/30 days"  # 90 days
    assert lines[2].startswith("expected   ")
    dataset = next(x for x in lines if x.startswith("dataset "))
    assert dataset.split()[1] == "dataset_drift" and float(dataset.split()[3]) >= 0
    assert "not simulated" in next(x for x in lines if x.startswith("nulls "))
    for name in ("x", "y", "c"):
        assert any(x.split()[:1] == [name] and "%" in x for x in lines), name
    assert any("+0.25σ" in x for x in lines) and any("25% mass" in x for x in lines)
    assert lines[-1] == "marked alerts (30 days): 0, false alarms 0 (-)"

    code, out, err = run(capsys, "calibrate", "--monitor", "mon", "--windows", "400", "--json",
                         "--config", config)  # fmt: skip
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert (doc["monitor"], doc["window_rows"], doc["windows"]) == ("mon", 400, 400)
    assert doc["budget"]["per_30d"] == pytest.approx(1 / 3)
    [rule, nulls] = doc["rules"]
    assert rule["per_30d"] == pytest.approx(30 * rule["per_day"])
    assert rule["per_day"] == pytest.approx(24 * rule["per_run"])
    q = rule["subjects"][0]["per_window"]
    assert rule["per_run"] == pytest.approx((1 - q) * q)
    assert {f["name"] for f in doc["features"]} >= {"x", "y", "c"}
    # judged as the scheduler judges them: auto thresholds on the calibrated distances
    # (DriftSettings.auto_method), not the engine's small-size tests
    methods = {f["name"]: (f["method"], f["auto"]) for f in doc["features"]}
    assert methods["x"] == ("wasserstein_normed", True)
    assert methods["c"] == ("jensenshannon", True)
    assert "note" in nulls


def test_marks_feed_the_measured_share_and_the_history(pg, tmp_path, capsys) -> None:
    config = write_config(tmp_path, pg)
    seed_drift_alert(config)
    code, out, err = run(capsys, "alerts", "mark", "1", "false", "--note", "a deploy",
                         "--by", "ana", "--config", config)  # fmt: skip
    assert (code, err) == (0, "")
    assert out == "marked alert 1 (mon / dataset) a false alarm by ana\n"
    doc = json.loads(run(capsys, "calibrate", "--monitor", "mon", "--windows", "200", "--json",
                         "--config", config)[1])  # fmt: skip
    assert doc["measured"] == {"days": 30, "marked": 1, "false": 1, "share": 1.0,
                               "by_rule": {"dataset": {"marked": 1, "false": 1}}}  # fmt: skip
    assert run(capsys, "alerts", "mark", "1", "true", "--config", config)[0] == 0
    doc = json.loads(run(capsys, "calibrate", "--monitor", "mon", "--windows", "200", "--json",
                         "--config", config)[1])  # fmt: skip
    assert (doc["measured"]["marked"], doc["measured"]["false"]) == (1, 0)  # the last mark wins
    out = run(capsys, "alerts", "show", "1", "--config", config)[1]
    marks = [x for x in out.splitlines() if " marked " in x]
    assert len(marks) == 2 and "false alarm by ana: a deploy" in marks[0]
    assert "true alarm by" in marks[1]

    code, out, err = run(capsys, "alerts", "mark", "99", "false", "--config", config)
    assert (code, out, err) == (2, "", "monitor: no alert with id 99\n")


def test_calibrate_errors_are_one_line(pg, tmp_path, capsys) -> None:
    config = write_config(tmp_path, pg)
    code, out, err = run(capsys, "calibrate", "--monitor", "nope", "--config", config)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("monitor: no monitor named 'nope'")
    code, out, err = run(capsys, "calibrate", "--monitor", "mon", "--config", config)
    assert code == 2 and err.count("\n") == 1 and "no materialised reference" in err
    code, _, err = run(capsys, "calibrate", "--monitor", "mon", "--backtest", "soon",
                       "--config", config)  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "--backtest" in err


def _episodes(flags: list[bool]) -> int:
    return sum(1 for i, f in enumerate(flags) if f and (i == 0 or not flags[i - 1]))


def test_backtest_replays_stored_windows_through_a_proposed_config(pg, tmp_path, capsys) -> None:
    config = write_config(tmp_path, pg)
    settings, engine, _ = seed_drift_alert(config)  # hour 0: drifted
    shifts = [0.0, 0.0, 1.0, 1.0, 0.0, 0.3, 0.0]
    for i, shift in enumerate(shifts, start=1):
        put(engine, traffic(400, T0 + i * HOUR, HOUR, shift=shift, seed=20 + i))
        tick(engine, settings, settings.monitor("mon"), T0 + (i + 1) * HOUR + timedelta(seconds=1))
    until = (T0 + 10 * HOUR).isoformat()
    code, out, err = run(capsys, "calibrate", "--monitor", "mon", "--backtest", "30d",
                         "--until", until, "--json", "--config", config)  # fmt: skip
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["windows"] == 1 + len(shifts)
    current = {r["name"]: r for r in doc["rules"]}
    # the current config replayed raises what the scheduler raised
    stored = sorted(recent_runs(engine, ["mon"], 50)["mon"], key=lambda x: x["window_start"])
    episodes = _episodes([bool(x["dataset_drift"]) for x in stored])
    assert episodes == 3  # hours 0, 3-4 and 6 drifted
    assert current["dataset"]["alerts"] == current["dataset"]["stored_alerts"] == episodes

    proposed = yaml.safe_load(Path(config).read_text())
    proposed["monitors"][0]["rules"] = [
        {"name": "features", "condition": "feature_drift"},
        {"name": "share", "condition": "drift_share", "threshold": 0.3, "for": 2},
    ]
    path = tmp_path / "proposed.yaml"
    path.write_text(yaml.safe_dump(proposed))
    code, out, err = run(capsys, "calibrate", "--monitor", "mon", "--backtest", "30d",
                         "--until", until, "--proposed", str(path), "--config", config)  # fmt: skip
    assert (code, err) == (0, "")
    # expected from the stored verdicts: episodes of each feature's drifted flag, and runs
    # of >= 2 consecutive windows with a drift share >= 0.3
    runs = sorted(recent_runs(engine, ["mon"], 50)["mon"], key=lambda x: x["window_start"])
    rows = feature_rows(engine, [x["id"] for x in runs])
    names = sorted({f["feature"] for x in runs for f in rows[x["id"]] if f["kind"] != "prediction"})
    per = {n: [any(f["drifted"] for f in rows[x["id"]] if f["feature"] == n) for x in runs]
           for n in names}  # fmt: skip
    features = sum(_episodes(v) for v in per.values())
    share = [sum(per[n][i] for n in names) / len(names) >= 0.3 for i in range(len(runs))]
    share_alerts = sum(1 for i in range(1, len(share)) if share[i] and share[i - 1]
                       and (i == 1 or not share[i - 2]))  # fmt: skip
    assert features >= 3 and share_alerts >= 1
    table = {x.split()[0]: x.split()[1:] for x in out.splitlines()[2:] if x.split()}
    assert table["features"] == ["feature_drift", str(features), "-"]
    assert table["share"] == ["drift_share", str(share_alerts), "-"]
