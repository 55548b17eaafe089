"""Golden files for what a scheduled run stores: the run row (with its summary details) and
its per-feature rows, for fixed inputs (time window from bucket sketches, a rebuilt window,
a count window). Pinned before the run code moves; regenerate with UPDATE_GOLDEN=1 only when
a change is intended. Volatile fields (ids, wall-clock times, durations) are blanked."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler_support import T0, put, settings_for, traffic, training

from monitor.bucketing import BucketSketcher
from monitor.reference import materialise
from monitor.scheduler.execute import run_window
from monitor.scheduler.ticks import tick
from monitor.storage import runs as run_store
from monitor.window import Window

GOLDEN = Path(__file__).parents[1] / "golden" / "sched"
HOUR = timedelta(hours=1)
VOLATILE = {"id", "reference_id", "started_at", "finished_at", "heartbeat_at", "duration_s"}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def stored_run(engine: Any, run_id: int) -> dict[str, Any]:
    run = run_store.get_run(engine, run_id)
    assert run is not None
    return _plain({k: ("<volatile>" if k in VOLATILE else v) for k, v in run.items()})


# numpy's SIMD kernels change the last bit of sums by CPU (tests/drift/test_engine_golden.py):
# floats agree to 1e-11 relative, far below any digit a report or a rule reads
CPU_RTOL = 1e-11


def _differences(got: Any, want: Any, at: str = "") -> list[str]:
    """Paths where two JSON documents differ (floats within CPU_RTOL are equal)."""
    if isinstance(got, float) and isinstance(want, float):
        return [] if math.isclose(got, want, rel_tol=CPU_RTOL, abs_tol=0.0) else [at]
    if isinstance(got, dict) and isinstance(want, dict):
        if set(got) != set(want):
            return [f"{at} keys {sorted(set(got) ^ set(want))}"]
        return [d for k in got for d in _differences(got[k], want[k], f"{at}.{k}")]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [
            d
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for d in _differences(g, w, f"{at}[{i}]")
        ]
    return [] if got == want and type(got) is type(want) else [at]


def check_golden(name: str, doc: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    diff = _differences(json.loads(text), json.loads(path.read_text()))
    assert diff == [], f"{name} differs from its golden file at {diff[:10]}"


def _url(engine: Any) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_time_window_run_is_stored_unchanged(store, tmp_path) -> None:
    settings = settings_for(_url(store), training(tmp_path / "ref.parquet"))
    monitor = settings.monitors[0]
    materialise(store, monitor, now=T0)
    sketcher = BucketSketcher(store, settings)
    batch = traffic(3000, T0, HOUR, shift=0.3)
    for i in range(0, 3000, 500):
        put(store, batch[i : i + 500], sketcher)
    put(store, traffic(900, T0 + HOUR, HOUR, seed=5, shift=1.0))  # no deltas: rebuilt

    sketched = run_window(store, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)
    rebuilt = run_window(
        store, settings, monitor, Window(T0 + HOUR, T0 + 2 * HOUR), now=T0 + 2 * HOUR
    )

    assert sketched is not None and rebuilt is not None and rebuilt.rebuilt_sketches
    check_golden("run_time_window.json", stored_run(store, sketched.run_id))
    check_golden("run_rebuilt_window.json", stored_run(store, rebuilt.run_id))


def test_count_window_run_is_stored_unchanged(store, tmp_path) -> None:
    settings = settings_for(
        _url(store),
        training(tmp_path / "ref.parquet"),
        window={"events": 500, "min_events": 100},
    )
    monitor = settings.monitors[0]
    materialise(store, monitor, now=T0)
    put(store, traffic(800, T0, HOUR, shift=1.5))

    [outcome] = tick(store, settings, monitor, now=T0 + 2 * HOUR)

    check_golden("run_count_window.json", stored_run(store, outcome.run_id))


def test_insufficient_data_run_is_stored_unchanged(store, tmp_path) -> None:
    settings = settings_for(_url(store), training(tmp_path / "ref.parquet"))
    monitor = settings.monitors[0]
    materialise(store, monitor, now=T0)
    put(store, traffic(50, T0, HOUR))

    outcome = run_window(store, settings, monitor, Window(T0, T0 + HOUR), now=T0 + HOUR)

    assert outcome is not None
    check_golden("run_insufficient_data.json", stored_run(store, outcome.run_id))
