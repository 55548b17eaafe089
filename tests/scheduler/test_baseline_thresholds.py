"""Auto thresholds against a trailing baseline, scheduled on real Postgres: too little
baseline is insufficient_data, healthy windows stay quiet, a shifted window fires through
the corrected dataset decision, and the payload names the baseline and what decided (the
baseline's leave-one-out null); each baseline window's leave-one-out value is computed once
per process; the sequential rule reads a seasonal baseline's scores (a trailing baseline
cannot feed it: refused at load)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from scheduler_support import T0, put, settings_for, traffic, training
from sqlalchemy import select

from monitor.bucketing import BucketSketcher
from monitor.reference import ensure_reference, materialise
from monitor.scheduler import baseline_verdict
from monitor.scheduler.baseline import build, window_sketches
from monitor.scheduler.baseline_verdict import LOO, judge_against_baseline
from monitor.scheduler.execute import run_window
from monitor.settings import AlertingSettings, Settings
from monitor.storage import runs as run_store
from monitor.storage import sequential as seq_store
from monitor.storage.tables import notifications
from monitor.window import Window

HOUR = timedelta(hours=1)
WINDOWS = 12  # trailing baseline; 6 usable windows needed
SHIFTED = 20  # windows 0..19 as trained, 20 shifted by 0.5 sigma
RULES = [{"name": "dataset", "condition": "dataset_drift"}]
SEQ_RULES = [*RULES, {"name": "seq", "condition": "sequential_drift"}]


def _setup(engine: Any, tmp_path: Any) -> Settings:
    settings = settings_for(
        engine.url.render_as_string(hide_password=False),
        training(tmp_path / "ref.parquet"),
        baseline={"kind": "trailing", "windows": WINDOWS},
        rules=RULES,
    )
    hook = {"hook": {"type": "slack", "webhook_url": "http://127.0.0.1:9/slack"}}
    settings = settings.model_copy(update={"alerting": AlertingSettings(routes=hook)})
    materialise(engine, settings.monitors[0])
    sketcher = BucketSketcher(engine, settings)
    for i in range(SHIFTED + 1):
        shift = 0.5 if i == SHIFTED else 0.0
        put(engine, traffic(1000, T0 + i * HOUR, HOUR, shift=shift, seed=300 + i), sketcher)
    return settings


def _run(engine: Any, settings: Settings, i: int) -> Any:
    window = Window(T0 + i * HOUR, T0 + (i + 1) * HOUR)
    outcome = run_window(engine, settings, settings.monitors[0], window, now=window.end)
    assert outcome is not None
    return outcome


def test_auto_thresholds_against_a_trailing_baseline(pg_engine, tmp_path) -> None:
    settings = _setup(pg_engine, tmp_path)
    LOO.clear()
    outcomes, computed = [], []
    for i in range(SHIFTED + 1):
        before = LOO.computed
        outcomes.append(_run(pg_engine, settings, i))
        computed.append(LOO.computed - before)

    # a new monitor: fewer than 6 usable windows -> insufficient_data, never drift
    assert [o.status for o in outcomes[:6]] == ["insufficient_data"] * 6
    healthy = outcomes[6:SHIFTED]
    assert all(o.status == "succeeded" for o in healthy)
    assert [o.drifted for o in healthy] == [()] * len(healthy)  # quiet, feature by feature
    assert not any(o.dataset_drift for o in healthy)
    shifted = outcomes[SHIFTED]
    assert shifted.dataset_drift is True and "x" in shifted.drifted

    # a baseline window's null value is its own statistic when it was judged (kept by its
    # run): the first judged run computes the 6 windows' values per auto feature (their own
    # runs were insufficient: leave-one-out), later runs compute none
    features = computed[6] // 6
    assert features >= 3 and computed[6] == 6 * features
    assert computed[7:] == [0] * (SHIFTED - 6)

    run = run_store.get_run(pg_engine, shifted.run_id)
    assert run is not None
    decision = run["summary"]["dataset_decision"]
    assert decision["rule"] == "corrected" and decision["null"] == "baseline_leave_one_out"
    assert decision["baseline"]["kind"] == "trailing" and "x" in decision["rejected"]
    decided = {f["feature"]: f["stats"]["quality"]["decided_by"] for f in run["features"]}
    x = decided["x"]
    assert x["rule"] == "null_quantile" and x["baseline"]["windows"] == WINDOWS
    assert x["baseline"]["df"] == WINDOWS - 1 and x["statistic"] >= x["threshold"]
    assert x["p_value_corrected"] <= decision["alpha"]
    assert x["reference_rows"] == WINDOWS * 1000  # the baseline's rows

    with pg_engine.connect() as conn:
        payloads = [p for (p,) in conn.execute(select(notifications.c.payload))]
    fired = [p for p in payloads if p["rule"] == "dataset" and p["event"] == "drift.detected"]
    assert len(fired) == 1
    assert fired[0]["baseline"]["kind"] == "trailing"
    entry = next(e for e in fired[0]["drifted_features"] if e["name"] == "x")
    assert entry["decided_by"] == "null_quantile"
    assert entry["null"]["source"] == "baseline_leave_one_out"
    assert entry["null"]["baseline_windows"] == WINDOWS
    assert entry["null"]["threshold"] == pytest.approx(entry["threshold"])


def test_after_a_restart_the_null_values_are_recomputed_against_their_own_baselines(
    pg_engine, tmp_path
) -> None:
    """A restarted process has no kept values: each baseline window's value is computed
    against its own baseline read from storage, and equals what its own run kept."""
    settings = _setup(pg_engine, tmp_path)
    LOO.clear()
    for i in range(SHIFTED):
        _run(pg_engine, settings, i)
    kept = dict(LOO.table(pg_engine))
    monitor = settings.monitors[0]
    ref = ensure_reference(pg_engine, monitor, T0 + SHIFTED * HOUR)
    window = Window(T0 + (SHIFTED - 1) * HOUR, T0 + SHIFTED * HOUR)
    base = build(pg_engine, monitor, ref, window)
    assert base is not None and not base.insufficient
    LOO.clear()
    current = window_sketches(pg_engine, ref.id, [window])[(window.start, window.end)]
    judge_against_baseline(pg_engine, monitor, ref, base, current, window.end)
    again = dict(LOO.table(pg_engine))
    own = [k for k in again if k[0][1] >= T0 + 6 * HOUR and k[0][1] < window.start]
    assert len(own) >= 3 * WINDOWS  # windows 7..18, every auto feature
    assert all(again[k] == pytest.approx(kept[k], rel=1e-9) for k in own)


def test_after_an_alarmed_window_the_null_is_taken_at_the_live_windows_lags(
    pg_engine, tmp_path, monkeypatch
) -> None:
    """Window 20 alarms and leaves later baselines: window 21 (healthy) is compared with
    windows 8..19 (lags 2..13), and its null values are each baseline window against the
    windows at those lags from it (`lagged_nulls`), read from storage."""
    settings = _setup(pg_engine, tmp_path)
    sketcher = BucketSketcher(pg_engine, settings)
    put(pg_engine, traffic(1000, T0 + 21 * HOUR, HOUR, seed=321), sketcher)
    calls: list[int] = []
    original = baseline_verdict.lagged_nulls

    def counted(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        calls.append(len(args[1]))
        return out

    monkeypatch.setattr(baseline_verdict, "lagged_nulls", counted)
    LOO.clear()
    outcomes = [_run(pg_engine, settings, i) for i in range(SHIFTED + 2)]
    assert outcomes[SHIFTED].dataset_drift is True
    assert calls == [WINDOWS]  # only window 21's baseline has a gap
    after = outcomes[SHIFTED + 1]
    assert after.status == "succeeded" and not after.dataset_drift
    run = run_store.get_run(pg_engine, after.run_id)
    assert run is not None
    decided = {f["feature"]: f["stats"]["quality"]["decided_by"] for f in run["features"]}
    assert decided["x"]["baseline"]["windows"] == WINDOWS
    assert run["summary"]["baseline"]["excluded_by"]["alarmed"] == 1


def test_the_sequential_rule_reads_a_seasonal_baselines_scores(pg_engine, tmp_path) -> None:
    """Against a seasonal baseline (the same hour of the 3 previous days) the CUSUM takes
    the scores the verdict read from the baseline's null, not the reference's."""
    settings = settings_for(
        pg_engine.url.render_as_string(hide_password=False),
        training(tmp_path / "ref.parquet"),
        baseline={"kind": "seasonal", "days": 3},
        rules=SEQ_RULES,
    )
    materialise(pg_engine, settings.monitors[0])
    sketcher = BucketSketcher(pg_engine, settings)
    day = timedelta(days=1)
    for d in range(7):
        put(pg_engine, traffic(1000, T0 + d * day, HOUR, seed=400 + d), sketcher)
    LOO.clear()
    outcomes = []
    for d in range(7):
        window = Window(T0 + d * day, T0 + d * day + HOUR)
        outcome = run_window(pg_engine, settings, settings.monitors[0], window, now=window.end)
        assert outcome is not None
        outcomes.append(outcome)
    judged = [o for o in outcomes if o.status == "succeeded"]
    logged = {w.run_id: w.scores for w in seq_store.window_log(pg_engine, "mon")}
    assert set(logged) == {o.run_id for o in judged}
    for o in outcomes[3:]:  # 3 baseline windows with values: the baseline's null decides
        run = run_store.get_run(pg_engine, o.run_id)
        assert run is not None and run["summary"]["baseline"]["kind"] == "seasonal"
        decided = {f["feature"]: f["stats"]["quality"]["decided_by"] for f in run["features"]}
        assert decided["x"]["baseline"]["windows"] == 3
        assert logged[o.run_id]["x"] == pytest.approx(decided["x"]["z"])
