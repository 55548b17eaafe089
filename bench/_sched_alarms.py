"""Issue 14's costs (`bench/scheduler.py --alarms N`): what the alarm machinery adds to a
scheduled run, and what materialising a large reference's nulls takes.

1. One database, one 25-feature monitor (bench/drift.py's columns), a 100k-row reference
   and one 24-hour window of N events (288 five-minute buckets, sketches as ingestion
   builds them: `scheduler.fill_window`). The same window is run by three configurations
   of the same monitor, interleaved repeat by repeat so load drifts hit all three alike:
   - fixed: `drift.threshold: 0.1` (every feature by its method's fixed threshold, no nulls);
   - auto: the default (each feature against its reference null at the window's size);
   - auto + sequential: auto and a `sequential_drift` rule (the CUSUM state locked, advanced
     and saved in the run's transaction, the window's scores logged).
   Each variant runs once untimed (process caches warm, as a long-lived scheduler's are);
   before each timed run the runs and the sequential state are deleted, so every timed run
   claims, compares, judges, applies its window to the CUSUM and stores.
2. Null materialisation: a 1M-row × 25-feature reference (`make_frames`), timed as
   `calibrate_nulls` alone and as the whole `materialise` with auto (nulls stored) vs fixed
   thresholds (no nulls).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from drift import make_frames
from scheduler import _database, _drop, fill_window

from monitor.reference import materialise
from monitor.reference_nulls import calibrate_nulls, wanted_nulls
from monitor.scheduler.execute import run_window
from monitor.settings import parse_settings
from monitor.storage import make_engine, upgrade
from monitor.storage.sequential import load as load_state
from monitor.window import Window

RULES = [{"name": "dataset", "condition": "dataset_drift"}]
SEQ = {"name": "seq", "condition": "sequential_drift"}
VARIANTS: dict[str, dict[str, Any]] = {
    "fixed": {"drift": {"threshold": 0.1}, "rules": RULES},
    "auto": {"rules": RULES},
    "auto + sequential": {"rules": [*RULES, SEQ]},
}


def _settings(url: str, name: str, extra: dict[str, Any]):  # type: ignore[no-untyped-def]
    monitor = {"name": name, "model": "bench", "prediction_drift": False,
               "window": {"size": "24h", "bucket": "5m", "min_events": 100}, **extra}  # fmt: skip
    return parse_settings(
        {"database": {"url": url}, "reports": {"enabled": False}, "monitors": [monitor]}
    )


def _clear(url: str) -> None:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        for table in ("sequential_windows", "sequential_features", "sequential_monitors",
                      "alerts", "drift_runs"):  # fmt: skip
            conn.execute(f"DELETE FROM {table}")  # fixed names
        conn.commit()


def run_costs(n: int, deltas_per_bucket: int, repeats: int) -> dict[str, list[float]]:
    name, url = _database()
    try:
        engine = make_engine(url)
        upgrade(engine)
        settings = {v: _settings(url, "bench", extra) for v, extra in VARIANTS.items()}
        ref, _ = make_frames(100_000, seed=1)
        reference = materialise(engine, settings["auto"].monitors[0], frame=ref, source="bench")
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(hours=24)
        fill_window(engine, url, reference, n, deltas_per_bucket, start)
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for r in range(repeats + 1):
            for v, s in settings.items():
                _clear(url)
                t = time.perf_counter()
                out = run_window(engine, s, s.monitors[0], Window(start, end), now=end)
                took = time.perf_counter() - t
                assert out is not None and out.status == "succeeded", out
                assert out.current_rows == n and not out.rebuilt_sketches
                state = load_state(engine, "bench")  # the CUSUM took the window (or no rule)
                assert (state is not None and state.windows == 1) == ("sequential" in v)
                if r:  # the first round warms the process caches
                    times[v].append(took)
        engine.dispose()
        return times
    finally:
        _drop(name)


def null_costs(rows: int) -> dict[str, float]:
    name, url = _database()
    try:
        engine = make_engine(url)
        upgrade(engine)
        big, _ = make_frames(rows, seed=2)
        out: dict[str, float] = {}
        for v in ("fixed", "auto"):
            s = _settings(url, f"big-{v}", VARIANTS[v])
            t = time.perf_counter()
            stored = materialise(engine, s.monitors[0], frame=big, source="bench")
            out[f"materialise ({v})"] = time.perf_counter() - t
        wanted = wanted_nulls(_settings(url, "x", VARIANTS["auto"]).monitors[0], stored.specs)
        t = time.perf_counter()
        nulls = calibrate_nulls(big, wanted)
        out["calibrate_nulls alone"] = time.perf_counter() - t
        out["features"] = float(len(nulls))
        engine.dispose()
        return out
    finally:
        _drop(name)


def main(n: int, deltas_per_bucket: int, repeats: int) -> None:
    times = run_costs(n, deltas_per_bucket, repeats)
    base = statistics.median(times["fixed"])
    print(f"window of {n:,} events, 25 features, median / min of {repeats} (interleaved)")
    print("| run | median s | min s | median vs fixed | median vs auto |")
    print("|---|---|---|---|---|")
    auto = statistics.median(times["auto"])
    for v, ts in times.items():
        med = statistics.median(ts)
        print(f"| {v} | {med:.3f} | {min(ts):.3f} | {med / base:.2f} | {med / auto:.2f} |")
    print("\nnull materialisation, 1,000,000-row x 25-feature reference")
    for k, x in null_costs(1_000_000).items():
        print(f"- {k}: {x:.2f}" + ("" if k == "features" else " s"), flush=True)
