"""Two scheduler processes catching up the same monitor compute its sequential state exactly
once per window: every window judged once, applied at most once and in window order, and the
stored sums equal a replay of exactly the applied windows' scores."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import timedelta

import pytest
import yaml
from seqdrift_support import T0, put_window, reference_file, seq_doc, seq_settings, window
from sqlalchemy import func, select

from monitor.scheduler import nulls as auto_nulls
from monitor.scheduler import sequential as sched_seq
from monitor.scheduler.execute import run_window
from monitor.storage import sequential as seq_store
from monitor.storage.tables import drift_runs

N = 16
WARMUP = 10


def test_two_scheduler_processes_apply_each_window_once(pg_engine, tmp_path) -> None:
    sched_seq.clear_cache()
    auto_nulls.NULLS.clear()
    url = pg_engine.url.render_as_string(hide_password=False)
    ref = reference_file(tmp_path / "ref.parquet")
    settings = seq_settings(url, ref, warmup=WARMUP)
    monitor = settings.monitors[0]
    for i in range(N):
        put_window(pg_engine, i, seed=3, shift=0.5 if i >= 12 else 0.0)
    run_window(pg_engine, settings, monitor, window(0), now=window(0).end)  # the reference
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump(seq_doc(url, ref, warmup=WARMUP)))
    at = (T0 + N * timedelta(hours=1) + timedelta(seconds=5)).isoformat()
    cmd = [sys.executable, "-m", "monitor", "runs", "now", "--config", str(cfg)]
    procs = [
        subprocess.Popen(
            [*cmd, "--monitor", "mon", "--at", at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    computed = [line for out, _ in outs for line in out.splitlines() if line.startswith("run ")]
    assert len(computed) == N - 1, outs  # windows 1..N-1, each by exactly one process

    with pg_engine.connect() as conn:
        per_window = conn.execute(
            select(drift_runs.c.window_end, func.count()).group_by(drift_runs.c.window_end)
        ).all()
    assert sorted(per_window) == [(window(i).end, 1) for i in range(N)]
    log = seq_store.window_log(pg_engine, "mon")
    assert sorted(w.window_end for w in log) == [window(i).end for i in range(N)]
    assert len({w.run_id for w in log}) == N  # every run judged once
    applied = [w for w in log if w.applied]
    ends = [w.window_end for w in applied]
    assert ends == sorted(set(ends)) and ends[-1] == window(N - 1).end
    state = seq_store.load(pg_engine, "mon")
    assert state is not None and state.windows == len(applied)
    assert state.last_window_end == window(N - 1).end

    # replay exactly the applied windows, in window order, through the same pure step
    config = sched_seq.config_for(monitor, 10)
    replay = seq_store.SequentialState("mon")
    for w in applied:
        z = {k: math.nan if v is None else float(v) for k, v in w.scores.items()}
        replay, ok = sched_seq.advance(replay, w.reference_id, z, w.window_end, w.run_id, config)
        assert ok
    assert replay.windows == state.windows
    for name, f in replay.features.items():
        got = state.features[name]
        assert (got.since, got.warm_n) == (f.since, f.warm_n), name
        assert got.statistic == pytest.approx(f.statistic, rel=1e-12, abs=1e-12), name
        assert got.warm_mean == pytest.approx(f.warm_mean, rel=1e-12, abs=1e-12), name
    assert state.features["bmi"].statistic > 0  # the shifted windows did count
