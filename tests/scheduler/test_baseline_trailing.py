"""Trailing baselines on real Postgres: a step change is detected and then absorbed, alarmed
windows stay out (until the lookback runs dry), exclusion ranges stay out, too little
baseline is insufficient_data with its reason, and the payload names the baseline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scheduler_support import T0, put, settings_for, traffic, training
from sqlalchemy import select

from monitor.bucketing import BucketSketcher
from monitor.drift.baseline_spread import leave_one_out
from monitor.drift.sketch_report import sketch_frame
from monitor.reference import drift_options, latest, materialise
from monitor.scheduler import baseline as baselines
from monitor.scheduler.execute import run_window
from monitor.settings import AlertingSettings, Settings
from monitor.storage import baselines as baseline_store
from monitor.storage import runs as run_store
from monitor.storage.tables import alerts, drift_runs, notifications
from monitor.window import Window

HOUR = timedelta(hours=1)
SHIFTED_FROM = 3  # windows 0..2 as trained, 3.. shifted by 1σ


def _url(engine: Any) -> str:
    return engine.url.render_as_string(hide_password=False)


def _setup(engine: Any, tmp_path: Path, baseline: dict[str, Any], routes: bool = False) -> Settings:
    # fixed thresholds: these tests are about which windows make the baseline (auto thresholds
    # against a baseline: test_baseline_thresholds.py)
    settings = settings_for(
        _url(engine),
        training(tmp_path / "ref.parquet"),
        baseline=baseline,
        drift={"threshold": 0.1},
    )
    if routes:  # a route: notifications are queued in the outbox with their payload
        hook = {"hook": {"type": "slack", "webhook_url": "http://127.0.0.1:9/slack"}}
        settings = settings.model_copy(update={"alerting": AlertingSettings(routes=hook)})
    materialise(engine, settings.monitors[0])
    return settings


def _ingest(engine: Any, settings: Settings, shifts: list[float], seed: int = 100) -> None:
    sketcher = BucketSketcher(engine, settings)
    for i, shift in enumerate(shifts):
        put(engine, traffic(1000, T0 + i * HOUR, HOUR, shift=shift, seed=seed + i), sketcher)


def _run(engine: Any, settings: Settings, i: int) -> Any:
    window = Window(T0 + i * HOUR, T0 + (i + 1) * HOUR)
    outcome = run_window(engine, settings, settings.monitors[0], window, now=window.end)
    assert outcome is not None
    return outcome


def _summary(engine: Any, run_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return conn.execute(select(drift_runs.c.summary).where(drift_runs.c.id == run_id)).one()[0]


def test_step_change_is_detected_then_absorbed_when_alarms_may_leak(store, tmp_path) -> None:
    settings = _setup(store, tmp_path, {"kind": "trailing", "windows": 3, "exclude_alarmed": False})
    _ingest(store, settings, [0.0] * SHIFTED_FROM + [1.0] * 6)

    outcomes = [_run(store, settings, i) for i in range(9)]

    # a new monitor: 0 then 1 usable window of the 2 needed (half of 3, rounded up)
    assert [o.status for o in outcomes[:2]] == ["insufficient_data"] * 2
    first = _summary(store, outcomes[0].run_id)
    assert (
        first["baseline"]["windows_used"] == 0
        and "0 usable window(s), 2 needed" in (first["reason"])
    )
    assert outcomes[2].status == "succeeded" and outcomes[2].dataset_drift is False
    assert outcomes[SHIFTED_FROM].dataset_drift is True  # the step, against windows 0..2
    # three windows after the step the baseline is all shifted traffic: no drift any more
    assert [o.dataset_drift for o in outcomes[SHIFTED_FROM + 3 :]] == [False] * 3
    last = _summary(store, outcomes[-1].run_id)["baseline"]
    assert last == {
        "kind": "trailing",
        "windows_wanted": 3,
        "windows_used": 3,
        "excluded": 0,
        "excluded_by": {"range": 0, "alarmed": 0, "empty": 0},
        "candidates": 3,
        "rows": 3000,
        "from": (T0 + 5 * HOUR).isoformat(),
        "to": (T0 + 8 * HOUR).isoformat(),
    }
    # the comparison's reference side is the baseline: 3 windows of 1000 rows
    run = run_store.get_run(store, outcomes[-1].run_id)
    assert run is not None and run["reference_rows"] == 3000


def test_alarmed_windows_never_enter_the_baseline(pg_engine, tmp_path) -> None:
    base = {"kind": "trailing", "windows": 3, "lookback": 8}
    settings = _setup(pg_engine, tmp_path, base, routes=True)
    _ingest(pg_engine, settings, [0.0] * SHIFTED_FROM + [1.0] * 8)

    outcomes = [_run(pg_engine, settings, i) for i in range(11)]

    # every shifted window alarmed, so none of them leaked: each is compared with 0..2
    assert [o.dataset_drift for o in outcomes[SHIFTED_FROM:10]] == [True] * 7
    for i in range(SHIFTED_FROM, 10):
        summary = _summary(pg_engine, outcomes[i].run_id)
        assert summary["alarmed"] == ["dataset"]
        used = summary["baseline"]
        assert used["excluded_by"]["alarmed"] == i - SHIFTED_FROM
        assert used["windows_used"] == (3 if i <= 8 else 2)  # window 9 looks back to 1
        assert used["to"] == (T0 + 3 * HOUR).isoformat()
    monitor = settings.monitors[0]
    ref = latest(pg_engine, "mon")
    assert ref is not None
    used_windows, excluded, examined = baselines.usable_windows(
        pg_engine, monitor, ref, Window(T0 + 8 * HOUR, T0 + 9 * HOUR)
    )
    assert [w.start for w in used_windows] == [T0 + 2 * HOUR, T0 + HOUR, T0]
    assert excluded == {"range": 0, "alarmed": 5, "empty": 0} and examined == 8
    # window 10: 7 of its 8 candidates alarmed -> too little baseline, never drift
    assert outcomes[10].status == "insufficient_data" and outcomes[10].dataset_drift is None
    reason = _summary(pg_engine, outcomes[10].run_id)["reason"]
    assert reason == (
        "baseline: 1 usable window(s), 2 needed (of the last 8 candidates, 0 in exclude "
        "ranges, 7 alarmed, 0 with fewer than 100 events)"
    )
    # the alert's payload says what the window was compared with
    with pg_engine.connect() as conn:
        payloads = [p for (p,) in conn.execute(select(notifications.c.payload))]
        states = {(r.rule, r.state) for r in conn.execute(select(alerts))}
    assert ("dataset", "firing") in states
    fired = [p for p in payloads if p["event"] == "drift.detected"]
    assert fired and fired[0]["baseline"]["kind"] == "trailing"
    assert fired[0]["baseline"]["windows_used"] == 3 and fired[0]["baseline"]["excluded"] == 0


def test_exclusion_ranges_stay_out_of_the_baseline(pg_engine, tmp_path) -> None:
    incident = {
        "start": (T0 + HOUR + 10 * timedelta(minutes=1)).isoformat(),
        "end": (T0 + HOUR + 20 * timedelta(minutes=1)).isoformat(),
        "reason": "incident 42",
    }
    base = {"kind": "trailing", "windows": 3, "exclude": [incident]}
    settings = _setup(pg_engine, tmp_path, base)
    _ingest(pg_engine, settings, [0.0, 3.0, 0.0, 0.0])  # window 1: an incident

    outcome = _run(pg_engine, settings, 3)  # windows 0..2 were never run: deltas only

    assert outcome.status == "succeeded" and outcome.dataset_drift is False
    used = _summary(pg_engine, outcome.run_id)["baseline"]
    # the window overlapping the range is left out whole; 2 of 3 wanted windows are enough
    assert used["windows_used"] == 2 and used["rows"] == 2000
    assert used["excluded_by"] == {"range": 1, "alarmed": 0, "empty": 3}
    # without the range the incident leaks into the baseline and the healthy window drifts
    leaky = settings_for(
        _url(pg_engine),
        tmp_path / "ref.parquet",
        baseline={"kind": "trailing", "windows": 3},
        drift={"threshold": 0.1},
    )
    with pg_engine.begin() as conn:
        conn.execute(drift_runs.delete())
    again = _run(pg_engine, leaky, 3)
    assert again.dataset_drift is True


def test_too_little_baseline_is_insufficient_never_drift(pg_engine, tmp_path) -> None:
    every_day = {"kind": "trailing", "windows": 4, "min_windows": 4, "lookback": 4}
    settings = _setup(pg_engine, tmp_path, every_day)
    _ingest(pg_engine, settings, [0.0, 0.0, 5.0])  # window 2 shifted by 5σ

    outcome = _run(pg_engine, settings, 2)

    assert outcome.status == "insufficient_data" and outcome.dataset_drift is None
    summary = _summary(pg_engine, outcome.run_id)
    assert summary["baseline"]["windows_used"] == 2
    assert summary["baseline"]["excluded_by"]["empty"] == 2
    assert "2 usable window(s), 4 needed" in summary["reason"]
    with pg_engine.connect() as conn:
        states = {(r.rule, r.state) for r in conn.execute(select(alerts))}
    assert not any(rule == "dataset" for rule, _ in states)


def test_runs_store_their_window_sketches_and_the_spread_reads_them(pg_engine, tmp_path) -> None:
    settings = _setup(pg_engine, tmp_path, {"kind": "trailing", "windows": 3})
    _ingest(pg_engine, settings, [0.0, 0.0, 0.0, 0.0])
    for i in range(3):
        _run(pg_engine, settings, i)
    monitor = settings.monitors[0]
    ref = latest(pg_engine, "mon")
    assert ref is not None
    spans = [(T0 + i * HOUR, T0 + (i + 1) * HOUR) for i in range(3)]

    saved = baseline_store.saved_sketches(pg_engine, ref.id, spans)
    from_buckets = baseline_store.slot_sketches(pg_engine, ref.id, spans)
    spread = baselines.spread(pg_engine, monitor, ref, Window(T0 + 3 * HOUR, T0 + 4 * HOUR))

    assert set(saved) == set(spans) and baseline_store.saved_rows(pg_engine, ref.id, spans) == {
        s: 1000 for s in spans
    }
    for span in spans:  # a run's stored window is the merge of the window's bucket deltas
        for name, sk in saved[span].items():
            assert np.array_equal(sk.counts, from_buckets[span][name].counts)
    # the spread: each stored window (newest first) against the other two, as the pure
    # function gives it on the same rows sketched directly
    frames = [
        pd.DataFrame([p.features for p in traffic(1000, T0 + i * HOUR, HOUR, seed=100 + i)])
        for i in (2, 1, 0)
    ]
    inputs = {n: ref.specs[n] for n in ("x", "y", "c")}
    want = leave_one_out(inputs, [sketch_frame(inputs, f) for f in frames], drift_options(monitor))
    assert set(spread) == {"x", "y", "c", "__prediction__"}
    for name in inputs:
        assert spread[name].method == want[name].method
        assert np.allclose(spread[name].statistics, want[name].statistics, rtol=1e-9)
