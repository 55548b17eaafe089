"""The sequential rule on a SLIDING window in scheduled runs on real Postgres (issue 14):
windows of 3 h every hour overlap, so the CUSUM advances only on every 3rd run (window ends
on every 3rd step since the epoch: disjoint windows); the other runs leave the state as it
is, and the rule repeats the verdict of the state it has, so an alert neither resolves nor
fires again because a run was not judged, and its payload says why."""

from __future__ import annotations

import pytest
from seqdrift_support import HOUR, T0, put_window, reference_file, seq_settings
from sqlalchemy import select

from monitor.backtest import backtest
from monitor.calibrate import sequential_config, sequential_judges
from monitor.scheduler import nulls as auto_nulls
from monitor.scheduler import sequential as sched_seq
from monitor.scheduler.execute import run_window
from monitor.storage import sequential as seq_store
from monitor.storage.tables import alert_events, alerts
from monitor.window import Window

SIZE = 3  # hours per window; step 1 h: every 3rd run is judged
WARMUP = 10


@pytest.fixture(autouse=True)
def _fresh_caches():
    sched_seq.clear_cache()
    auto_nulls.NULLS.clear()
    yield


def _settings(engine, tmp_path, **kw):
    url = engine.url.render_as_string(hide_password=False)
    window = {"kind": "sliding", "size": f"{SIZE}h", "step": "1h", "bucket": "1h",
              "min_events": 100}  # fmt: skip
    return seq_settings(url, reference_file(tmp_path / "ref.parquet"), warmup=WARMUP,
                        window=window, **kw)  # fmt: skip


def _run_ending(engine, settings, hour: int):
    end = T0 + hour * HOUR
    out = run_window(
        engine, settings, settings.monitors[0], Window(end - SIZE * HOUR, end), now=end
    )
    assert out is not None and out.status == "succeeded", out
    return out


def test_sliding_window_advances_the_cusum_on_every_nth_run_only(pg_engine, tmp_path) -> None:
    settings = _settings(pg_engine, tmp_path)
    monitor = settings.monitors[0]
    for i in range(SIZE + 12):
        put_window(pg_engine, i, seed=3)
    judged_ends = []
    before = None
    for hour in range(SIZE, SIZE + 12):
        _run_ending(pg_engine, settings, hour)
        end = T0 + hour * HOUR
        state = seq_store.load(pg_engine, "mon")
        assert state is not None
        if hour % SIZE == 0:  # T0 is midnight UTC: every 3rd hour since the epoch
            judged_ends.append(end)
            assert sequential_judges(monitor, end)
        else:
            assert not sequential_judges(monitor, end)
            assert state == before  # not advanced: sums, warm-up and last window unchanged
        assert state.windows == len(judged_ends)
        assert state.last_window_end == judged_ends[-1]
        before = state
    assert len(judged_ends) == 4
    # the backtest replays the stored windows through the same rule: the judged ones only
    replay = backtest(pg_engine, monitor, days=2, now=T0 + (SIZE + 12) * HOUR)
    assert replay["windows"] == 12 and replay["judged_every"] == SIZE
    assert replay["sequential_windows"] == state.windows == 4
    cfg = sequential_config(monitor, 10)
    assert cfg.judged_every == SIZE
    assert "every=3" in state.config  # the judged cadence is part of the CUSUM's settings


def _seq_alert(engine):
    with engine.connect() as conn:
        row = conn.execute(
            select(alerts.c.id, alerts.c.state, alerts.c.details).where(alerts.c.rule == "seq")
            .order_by(alerts.c.id.desc())
        ).first()  # fmt: skip
        events = conn.execute(
            select(alert_events.c.id).join(alerts, alerts.c.id == alert_events.c.alert_id)
            .where(alerts.c.rule == "seq")
        ).all()  # fmt: skip
    return row, len(events)


def test_alert_lifecycle_is_consistent_across_skipped_runs(pg_engine, tmp_path) -> None:
    """A +1 sd shift for 24 hours fires the dataset's sequential alert on a judged run; the
    runs in between keep it firing (payload: not judged, judged every 3rd run) until a judged
    run resolves it; no transition ever happens on a run that is not judged."""
    settings = _settings(pg_engine, tmp_path)
    last = SIZE * (WARMUP + 32)
    shifted = range(SIZE * (WARMUP + 1), SIZE * (WARMUP + 9))  # +1 sd for 24 hours
    for i in range(last):
        put_window(pg_engine, i, shift=1.0 if i in shifted else 0.0)
    changes, fired = [], None
    for hour in range(SIZE, last + 1):
        events_before = _seq_alert(pg_engine)[1]
        state_before = seq_store.load(pg_engine, "mon")
        out = _run_ending(pg_engine, settings, hour)
        # transitions (a still-firing alert's reminder every repeat_interval is not one)
        seq_changes = [
            (hour, c.after) for c in out.alerts if c.rule == "seq" and c.before != c.after
        ]
        changes += seq_changes
        row, events = _seq_alert(pg_engine)
        if hour % SIZE:  # not judged: nothing moves
            assert seq_changes == [] and events == events_before, hour
            assert seq_store.load(pg_engine, "mon") == state_before
            if row is not None and row.state == "firing":
                seq = row.details["sequential"]
                assert seq["judged"] is False and seq["judged_every"] == SIZE
        if fired is None and ("firing" in [a for _, a in seq_changes]):
            fired = hour
    assert fired is not None, changes
    afters = [a for _, a in changes]
    assert afters.count("firing") == 1 and "resolved" in afters, changes
    assert all(h % SIZE == 0 for h, _ in changes)  # every transition on a judged run
