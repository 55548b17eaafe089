"""The sequential rule in scheduled runs on real Postgres, on a real data set (scikit-learn's
diabetes): a persistent +0.1 sd shift that no single window flags is caught; healthy windows
stay quiet; a resolved alert restarts its feature; a new reference restarts everything; an
older window run late changes nothing; a restarted scheduler continues with identical sums."""

from __future__ import annotations

import math

import pytest
from seqdrift_support import SHIFTED, put_window, reference_file, seq_settings, window
from sqlalchemy import select

from monitor.reference import materialise
from monitor.scheduler import nulls as auto_nulls
from monitor.scheduler import sequential as sched_seq
from monitor.scheduler.execute import run_window
from monitor.storage import make_engine
from monitor.storage import sequential as seq_store
from monitor.storage.tables import alerts, notifications

WARMUP = 20


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test's database reuses reference ids: forget nulls cached by id."""
    sched_seq.clear_cache()
    auto_nulls.NULLS.clear()
    yield


def _run(engine, settings, i):
    w = window(i)
    out = run_window(engine, settings, settings.monitors[0], w, now=w.end)
    assert out is not None and out.status == "succeeded", out
    return out


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _alert_rules(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(alerts.c.rule, alerts.c.subject, alerts.c.state)).all()
    return sorted((r.rule, r.subject, r.state) for r in rows)


def test_persistent_small_shift_fires_although_no_window_flags_it(pg_engine, tmp_path) -> None:
    settings = seq_settings(_url(pg_engine), reference_file(tmp_path / "ref.parquet"))
    fired_at = None
    for i in range(WARMUP + 20):
        put_window(pg_engine, i, shift=0.1 if i >= WARMUP else 0.0)
        out = _run(pg_engine, settings, i)
        assert not out.dataset_drift and SHIFTED not in out.drifted, (i, out.drifted)
        if fired_at is None and any(c.rule == "seq" and c.after == "firing" for c in out.alerts):
            fired_at = i
    assert fired_at is not None and WARMUP < fired_at < WARMUP + 20
    # the per-window rules never fired; only the sequential one did
    assert _alert_rules(pg_engine) == [("seq", "", "firing")]
    state = seq_store.load(pg_engine, "mon")
    assert state is not None and state.windows == WARMUP + 20
    with pg_engine.connect() as conn:
        payload = conn.execute(select(notifications.c.payload)).scalars().first()
    seq = payload["sequential"]
    # a 20-window warm-up (shorter than the learned bound was measured with): the warm-up's
    # bound, whatever the windows' reference share (500 rows vs 442: rho = 0.53)
    assert seq["bound_for"] == "warmup" and seq["reference_share"] == pytest.approx(500 / 942)
    config = sched_seq.config_for(settings.monitors[0], 10, seq["reference_share"])
    assert state.features[SHIFTED].statistic > config.bound
    assert max(f.statistic for n, f in state.features.items() if n != SHIFTED) < config.bound
    assert payload["condition"] == "sequential_drift" and seq["feature"] == SHIFTED
    assert seq["statistic"] > seq["bound"] == pytest.approx(config.bound)
    assert seq["windows_since_start"] == fired_at + 1 and seq["warming_up"] is False
    assert seq["expected_delay"]["shift"] == 2.0
    assert seq["expected_delay"]["windows"] == pytest.approx(config.expected_delay(2.0))
    assert "CUSUM" in payload["summary"] and "bound" in payload["summary"]
    # what decided it: the monitor's sequential settings (learning, no delta: the default)
    assert (seq["learn"], seq["delta"], seq["k"], seq["cap"]) == (True, None, 1.0, 3.0)
    # its share of the 30-day budget: the monitor also has per-window drift rules (1/10)
    assert seq["budget_share"] == pytest.approx(0.9)
    assert seq["expected_run_length"] == pytest.approx(720 / 0.9)


def test_healthy_windows_stay_quiet(pg_engine, tmp_path) -> None:
    settings = seq_settings(_url(pg_engine), reference_file(tmp_path / "ref.parquet"))
    bound = sched_seq.config_for(settings.monitors[0], 10).bound
    for i in range(WARMUP + 20):
        put_window(pg_engine, i, seed=7)
        _run(pg_engine, settings, i)
    state = seq_store.load(pg_engine, "mon")
    assert state is not None and state.windows == WARMUP + 20
    assert max(f.statistic for f in state.features.values()) < bound
    # learning: after the warm-up, windows that follow 3 zero sums in a row are learned too
    assert all(f.warm_n >= WARMUP for f in state.features.values())
    assert sum(f.warm_n - WARMUP for f in state.features.values()) > 0
    assert [r for r in _alert_rules(pg_engine) if r[0] == "seq"] == []


def test_resolved_alert_restarts_its_feature(pg_engine, tmp_path) -> None:
    settings = seq_settings(
        _url(pg_engine), reference_file(tmp_path / "ref.parquet"), per_feature=True
    )
    shifted = range(WARMUP, WARMUP + 8)  # a clear shift (+0.5 sd) for 8 windows, then healthy
    resolved_at = None
    for i in range(WARMUP + 60):
        put_window(pg_engine, i, shift=0.5 if i in shifted else 0.0)
        out = _run(pg_engine, settings, i)
        changes = [(c.subject, c.after) for c in out.alerts if c.rule == "seq"]
        if (SHIFTED, "resolved") in changes:
            resolved_at = i
            break
        before = seq_store.load(pg_engine, "mon")
    assert resolved_at is not None and resolved_at > WARMUP + 8
    after = seq_store.load(pg_engine, "mon")
    bmi = after.features[SHIFTED]
    assert (bmi.statistic, bmi.since, bmi.restarts) == (0.0, 0, 1)
    assert bmi.warm_n == WARMUP  # the warm-up (the reference's offset) is kept
    for name, f in after.features.items():
        if name != SHIFTED:  # the others went on as before
            assert f.restarts == 0 and f.since == before.features[name].since + 1
    put_window(pg_engine, resolved_at + 1)
    _run(pg_engine, settings, resolved_at + 1)
    assert seq_store.load(pg_engine, "mon").features[SHIFTED].since == 1


def test_new_reference_restarts_everything(pg_engine, tmp_path) -> None:
    settings = seq_settings(_url(pg_engine), reference_file(tmp_path / "ref.parquet"))
    monitor = settings.monitors[0]
    for i in range(WARMUP + 3):
        put_window(pg_engine, i, shift=0.5 if i >= WARMUP else 0.0)
        _run(pg_engine, settings, i)
    old = seq_store.load(pg_engine, "mon")
    assert old.windows == WARMUP + 3 and old.features[SHIFTED].statistic > 0
    new_ref = materialise(pg_engine, monitor)
    assert new_ref.id != old.reference_id
    put_window(pg_engine, WARMUP + 3)
    _run(pg_engine, settings, WARMUP + 3)
    state = seq_store.load(pg_engine, "mon")
    assert state.reference_id == new_ref.id and state.windows == 1
    assert {(f.statistic, f.since, f.warm_n) for f in state.features.values()} == {(0.0, 1, 1)}
    with pg_engine.connect() as conn:
        refs = conn.execute(select(seq_store.sequential_features.c.reference_id)).scalars()
        assert set(refs) == {new_ref.id}  # the old reference's rows are gone


def test_an_older_window_run_late_changes_nothing(pg_engine, tmp_path) -> None:
    settings = seq_settings(_url(pg_engine), reference_file(tmp_path / "ref.parquet"))
    for i in range(12):
        put_window(pg_engine, i)
    for i in (*range(10), 11):  # window 10 is skipped, then run after window 11
        _run(pg_engine, settings, i)
    before = seq_store.load(pg_engine, "mon")
    out = _run(pg_engine, settings, 10)
    assert not [c for c in out.alerts if c.rule == "seq"]
    assert seq_store.load(pg_engine, "mon") == before
    assert before.windows == 11 and before.last_window_end == window(11).end
    log = seq_store.window_log(pg_engine, "mon")
    assert [(w.window_end, w.applied) for w in log][-2:] == [
        (window(10).end, False),
        (window(11).end, True),
    ]


def test_state_survives_a_scheduler_restart_with_identical_sums(
    pg_engine, migrated_pg, tmp_path
) -> None:
    ref = reference_file(tmp_path / "ref.parquet")
    n, half = WARMUP + 16, WARMUP + 8  # restarted after some windows were learned
    # one scheduler process all along, in its own database
    other = make_engine(migrated_pg("seqtwin"))
    try:
        straight = seq_settings(_url(other), ref)
        for i in range(n):
            put_window(other, i, shift=0.1 if i >= WARMUP else 0.0)
            _run(other, straight, i)
        expected = seq_store.load(other, "mon")
        expected_alerts = _alert_rules(other)
    finally:
        other.dispose()
    # the same stream, the scheduler restarted halfway: new engine, no cached nulls
    settings = seq_settings(_url(pg_engine), ref)
    for i in range(half):
        put_window(pg_engine, i, shift=0.1 if i >= WARMUP else 0.0)
        _run(pg_engine, settings, i)
    stored = seq_store.load(pg_engine, "mon")
    assert any(f.warm_n > WARMUP for f in stored.features.values())  # learning had begun
    pg_engine.dispose()
    sched_seq.clear_cache()
    auto_nulls.NULLS.clear()
    engine = make_engine(_url(pg_engine))
    try:
        assert seq_store.load(engine, "mon") == stored
        for i in range(half, n):
            put_window(engine, i, shift=0.1 if i >= WARMUP else 0.0)
            _run(engine, settings, i)
        got = seq_store.load(engine, "mon")
        assert _alert_rules(engine) == expected_alerts  # the same alarms
    finally:
        engine.dispose()
    assert got.windows == expected.windows == n
    for name, f in expected.features.items():
        g = got.features[name]
        assert (g.statistic, g.since, g.warm_n, g.quiet) == (
            f.statistic, f.since, f.warm_n, f.quiet
        ), name  # fmt: skip
        assert math.isclose(g.warm_mean, f.warm_mean, rel_tol=0, abs_tol=0)
