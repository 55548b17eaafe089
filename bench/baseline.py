"""Cost of a trailing baseline: one scheduled run against a 7-day trailing baseline (168
hourly windows) vs against the fixed reference, for windows of 10k and 1M events.

A fresh Postgres database per size; bench/drift.py's 25 columns (20 numeric, 5 categorical),
a 100k-row reference; hourly windows of 12 five-minute buckets. The current window's bucket
sketches are built from generated data exactly as ingestion builds them
(`bucketing.frame_deltas`, `--deltas-per-bucket` deltas per bucket and feature); the 168
previous windows hold one (compacted) delta per bucket and feature, the current window's
merged bucket sketches re-stamped, so every baseline window holds as many events as the
current one. `predictions` gets the N rows of the current window (coverage check). Then
`run_window` is timed end to end (claim, count, baseline, coverage, merge, compare, rules,
store), with `baseline: reference` and with `baseline: {kind: trailing, windows: 168}`: once
"cold" (the 168 windows only as bucket deltas, as right after the baseline is configured),
then in the steady state (each window's sketches stored by its own run, `window_sketches`);
and the leave-one-out spread of the 168 windows (`scheduler.baseline.spread`) once.

Auto thresholds against the baseline (`scheduler.baseline_verdict`) need each baseline
window's leave-one-out value, kept per process: the steady state computes only the newest
window's (the bench forgets that window's values before each timed run, as a trailing
baseline that slid by one window would find them); "LOO cold" times a run whose process
holds none of them (the first run after a restart: 168 per feature). The trailing baseline
with fixed thresholds (`drift.threshold: 0.1`, no leave-one-out) is timed alongside.

    OMP_NUM_THREADS=1 .venv/bin/python bench/baseline.py --sizes 10000,1000000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from drift import make_frames  # noqa: E402
from scheduler import _database, _drop  # noqa: E402

from monitor.bucketing import frame_deltas  # noqa: E402
from monitor.drift.sketch import merge_all, to_bytes  # noqa: E402
from monitor.reference import materialise  # noqa: E402
from monitor.scheduler import baseline as baselines  # noqa: E402
from monitor.scheduler import baseline_verdict  # noqa: E402
from monitor.scheduler.baseline_verdict import LOO  # noqa: E402
from monitor.scheduler.execute import run_window  # noqa: E402
from monitor.settings import Settings, parse_settings  # noqa: E402
from monitor.storage import baselines as store  # noqa: E402
from monitor.storage import make_engine, sketch_store, upgrade  # noqa: E402
from monitor.storage.event_frames import TS_COLUMN  # noqa: E402
from monitor.storage.sketch_store import DeltaRow  # noqa: E402
from monitor.window import Window  # noqa: E402

BUCKET = timedelta(minutes=5)
HOUR = timedelta(hours=1)
WINDOWS = 168  # 7 days of hourly windows


def _settings(url: str, baseline: dict[str, Any] | None, fixed: bool = False) -> Settings:
    monitor: dict[str, Any] = {
        "name": "bench",
        "model": "bench",
        "window": {"size": "1h", "bucket": "5m", "min_events": 100},
        "prediction_drift": False,
        "rules": [{"name": "dataset", "condition": "dataset_drift"}],
    }
    if baseline is not None:
        monitor["baseline"] = baseline
    if fixed:
        monitor["drift"] = {"threshold": 0.1}
    doc = {"database": {"url": url}, "reports": {"enabled": False}, "monitors": [monitor]}
    return parse_settings(doc)


def _current(engine: Any, reference: Any, start: datetime, n: int, per_bucket: int) -> dict:
    """The current window's deltas (as ingestion writes them); returns bucket -> feature ->
    merged sketch, to re-stamp as the baseline windows."""
    merged: dict[int, dict[str, Any]] = {}
    for b in range(12):
        rows = n // 12 + (1 if b < n % 12 else 0)
        _, cur = make_frames(rows, seed=1000 + b)
        bucket_start = start + b * BUCKET
        deltas = []
        for part in np.array_split(np.arange(rows), per_bucket):
            frame = cur.iloc[part].copy()
            frame[TS_COLUMN] = [bucket_start] * len(frame)
            deltas += frame_deltas("bench", reference, frame, BUCKET)
        sketch_store.append_deltas(engine, deltas)
        by_feature: dict[str, list] = {}
        for d in deltas:
            by_feature.setdefault(d.feature, []).append(d.sketch)
        merged[b] = {f: (merge_all(s), rows) for f, s in by_feature.items()}
    return merged


def _baseline_rows(
    engine: Any, reference: Any, start: datetime, merged: dict, count: int = WINDOWS
) -> None:
    rows = []
    for w in range(1, count + 1):
        for b, features in merged.items():
            bucket_start = start - w * HOUR + b * BUCKET
            for feature, (sk, n) in features.items():
                rows.append(DeltaRow("bench", reference.id, feature, bucket_start, n, to_bytes(sk)))
    with engine.begin() as conn:
        sketch_store.write_delta_rows(conn, rows)


def _saved_windows(
    engine: Any, reference: Any, start: datetime, merged: dict, count: int = WINDOWS
) -> None:
    """The `count` previous windows' merged sketches, as their own runs store them
    (`window_sketches`)."""
    names = list(merged[0])
    window = {f: merge_all(merged[b][f][0] for b in merged) for f in names}
    rows = sum(merged[b][names[0]][1] for b in merged)
    for w in range(1, count + 1):
        span = (start - w * HOUR, start - (w - 1) * HOUR)
        store.save_window(engine, "bench", reference.id, span, rows, window, start)


FORGET = "newest"
GAP = 0  # --gap N: the N windows before the live one alarmed (an alarm's aftermath)


def _alarmed_before(conn: Any, window: Window) -> None:
    """Succeeded runs of the GAP windows before the live one at which a data rule held: the
    trailing baseline skips them (`exclude_alarmed`); with GAP >= 168/16 the auto verdict
    takes the null at the live window's lags (`baseline_verdict.lagged_nulls`)."""
    for i in range(1, GAP + 1):
        conn.execute(
            "INSERT INTO drift_runs (monitor, window_start, window_end, status, summary, "
            "started_at, finished_at, kind) VALUES ('bench', %s, %s, 'succeeded', "
            "'{\"alarmed\": [\"dataset\"]}'::json, now(), now(), 'drift') "
            "ON CONFLICT DO NOTHING",
            (window.start - i * HOUR, window.start - (i - 1) * HOUR),
        )


def _forget(engine: Any, window: Window, everything: bool) -> None:
    """Drop the newest baseline window's leave-one-out values (or all of them) from the
    process cache: what a run after the baseline slid by one window (or a restart) finds."""
    if everything:
        LOO.clear()
        return
    if FORGET == "none":  # one scheduler process: the previous run kept its window's value
        return
    table = LOO.table(engine)
    for key in [k for k in table if k[0][1] == window.start - HOUR]:
        del table[key]


def _time_runs(
    engine: Any, url: str, settings: Settings, window: Window, repeats: int, cold: bool = False
) -> list:
    times = []
    for _ in range(repeats):
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            conn.execute("DELETE FROM drift_runs")
            if GAP:
                _alarmed_before(conn, window)
            conn.commit()
        _forget(engine, window, cold)
        t = time.perf_counter()
        outcome = run_window(engine, settings, settings.monitors[0], window, now=window.end)
        times.append(time.perf_counter() - t)
        assert outcome is not None and outcome.status == "succeeded", outcome
    return times


def run_size(n: int, per_bucket: int, repeats: int) -> dict:
    name, url = _database()
    try:
        engine = make_engine(url)
        upgrade(engine)
        fixed = _settings(url, None)
        trailing = _settings(url, {"kind": "trailing", "windows": WINDOWS})
        trailing_fixed = _settings(url, {"kind": "trailing", "windows": WINDOWS}, fixed=True)
        ref, _ = make_frames(100_000, seed=1)
        reference = materialise(engine, fixed.monitors[0], frame=ref, source="bench")
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        window = Window(end - HOUR, end)
        merged = _current(engine, reference, window.start, n, per_bucket)
        back = 2 * (WINDOWS + GAP) if GAP else WINDOWS
        _baseline_rows(engine, reference, window.start, merged, back)
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            conn.execute(
                "INSERT INTO predictions (model, event_id, ts, received_at, features) "
                "SELECT 'bench', 'e' || g, %s + (g * %s::interval), now(), '{}'::json "
                "FROM generate_series(0, %s - 1) g",
                (window.start, f"{3600 / n} seconds", n),
            )
            conn.execute("ANALYZE")
            conn.commit()
        t_fixed = _time_runs(engine, url, fixed, window, repeats)
        t_cold = _time_runs(engine, url, trailing, window, 1)  # bucket deltas only
        # with a gap the baseline reaches GAP windows further back and the lagged nulls read
        # the windows at the live window's lags from each baseline window: 2 x (168 + GAP)
        _saved_windows(engine, reference, window.start, merged, back)
        t_loo_cold = _time_runs(engine, url, trailing, window, 1, cold=True)
        t_trail = _time_runs(engine, url, trailing, window, repeats)
        t_trail_fixed = _time_runs(engine, url, trailing_fixed, window, repeats)
        t_fixed2 = _time_runs(engine, url, fixed, window, repeats)  # interleaved: load drifts
        t_trail2 = _time_runs(engine, url, trailing, window, repeats)
        t_fixed += t_fixed2
        t_trail += t_trail2
        t = time.perf_counter()
        spread = baselines.spread(engine, trailing.monitors[0], reference, window)
        spread_s = time.perf_counter() - t
        engine.dispose()
        return {
            "events": n,
            "fixed_median_s": statistics.median(t_fixed),
            "trailing_median_s": statistics.median(t_trail),
            "fixed_min_s": min(t_fixed),
            "trailing_min_s": min(t_trail),
            "cold_s": t_cold[0],
            "loo_cold_s": t_loo_cold[0],
            "trailing_fixed_median_s": statistics.median(t_trail_fixed),
            "spread_s": spread_s,
            "spread_features": len(spread),
        }
    finally:
        _drop(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--deltas-per-bucket", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--forget", default="newest", choices=("newest", "none"),
        help="newest: each timed run lacks the newest baseline window's value (another "
        "replica ran that window); none: the previous run in this process kept it",
    )  # fmt: skip
    parser.add_argument(
        "--lagged-most",
        type=int,
        default=None,
        help="baseline windows whose lagged values are computed (default LAGGED_MOST)",
    )
    parser.add_argument(
        "--gap", type=int, default=0,
        help="the N windows before the live one alarmed: every timed trailing run (auto and "
        "fixed) skips them; from N = 11 (1/16 of 168) the auto run computes the null at the "
        "live window's lags (`lagged_nulls`, an alarm's aftermath)",
    )  # fmt: skip
    args = parser.parse_args()
    global FORGET, GAP
    FORGET = args.forget
    GAP = args.gap
    if args.lagged_most is not None:
        baseline_verdict.LAGGED_MOST = args.lagged_most
    import os

    print(
        f"load average: {os.getloadavg()}; forget {FORGET}; gap {GAP}; "
        f"lagged at most {baseline_verdict.LAGGED_MOST} windows"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        r = run_size(n, args.deltas_per_bucket, args.repeats)
        print(
            f"{r['events']:>9,} events: fixed reference {r['fixed_median_s']:.3f} s "
            f"(min {r['fixed_min_s']:.3f}), 7-day trailing {r['trailing_median_s']:.3f} s "
            f"(min {r['trailing_min_s']:.3f}; cold, from bucket deltas only: {r['cold_s']:.3f}; "
            f"LOO cold: {r['loo_cold_s']:.3f}; fixed thresholds, no LOO: "
            f"{r['trailing_fixed_median_s']:.3f}); "
            f"trailing auto / fixed reference {r['trailing_median_s'] / r['fixed_median_s']:.2f}, "
            f"/ trailing fixed {r['trailing_median_s'] / r['trailing_fixed_median_s']:.2f}; "
            f"leave-one-out spread of {WINDOWS} windows, "
            f"{r['spread_features']} features: {r['spread_s']:.2f} s",
            flush=True,
        )
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
