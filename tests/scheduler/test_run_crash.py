"""A run whose computation crashes (a bug, not a `MonitorError`) is finished as failed with
the error, for time windows and count windows alike: it is not left "running" until its lease
ends, and the tick that ran it goes on (the API's run-now answers instead of a 500)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from scheduler_support import T0, put, settings_for, traffic, training

from monitor.reference import materialise
from monitor.scheduler import execute
from monitor.scheduler.ticks import tick
from monitor.storage import runs as run_store

HOUR = timedelta(hours=1)


def _crash(*_: object, **__: object) -> None:
    raise RuntimeError("boom")  # stands for a bug in the comparison


@pytest.mark.parametrize(
    "window",
    [{"size": "1h", "bucket": "5m", "min_events": 100}, {"events": 500, "min_events": 100}],
    ids=["time", "count"],
)
def test_a_crash_in_a_run_is_recorded_as_a_failed_run(store, tmp_path, monkeypatch, window):
    url = store.url.render_as_string(hide_password=False)
    settings = settings_for(url, training(tmp_path / "ref.parquet"), window=window)
    monitor = settings.monitors[0]
    materialise(store, monitor, now=T0)
    put(store, traffic(1600, T0, 2 * HOUR))
    monkeypatch.setattr(execute, "judge_window", _crash)

    outcomes = tick(store, settings, monitor, now=T0 + 2 * HOUR)

    assert outcomes and all(o.status == "failed" for o in outcomes)
    for o in outcomes:
        assert o.error == "internal error: RuntimeError('boom')"
        stored = run_store.get_run(store, o.run_id)
        assert stored is not None and stored["status"] == "failed"
        assert stored["error"] == o.error
