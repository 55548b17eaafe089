"""False alarms and detection delay against a moving baseline: fixed vs auto thresholds.

Real hourly temperatures bundled with vega_datasets (Seattle and San Francisco, 2010). Each
simulated hourly window holds the real readings at that hour of day over BLOCK consecutive
real days; the block moves on one real day per simulated day (as
tests/scheduler/test_baseline_seasonal.py does), so the daily cycle is the real one and the
hour-of-day distribution drifts as slowly as the real season: 337 simulated days, 8,088
windows of 28 rows, no injected drift (`block`). Consecutive days' windows then share 27 of
28 rows, which makes a window much closer to the day before than to days further back;
`pool` draws each window's 28 readings from the same hour of the 61 days around it instead
(see `windows`). Both are run. The monitor's reference is the whole year (it defines
the sketch bins, and sigma for the shifts).

Each window is judged as `monitor.scheduler` judges it (the same functions, without
Postgres): its baseline (trailing: the previous 168 windows; seasonal: the same hour of the
previous 7 days), alarmed windows left out (`exclude_alarmed`, lookback twice the windows),
too little baseline = insufficient (not an alarm); then
- fixed: the engine's default method and threshold per feature, the drift-share rule
  (what scheduled runs against a baseline did before);
- auto: the baseline's leave-one-out null, a predictive t on sqrt(statistic)
  (`scheduler.baseline_verdict`: each window's value computed once when it enters a
  baseline, as the scheduler's cache does), through `apply_auto` (budget 30 days = 720
  hourly runs, guard delta 0.02, Holm).
False alarms per 30 days = dataset alarms / (windows judged / 720); "episodes" counts
only alarms whose slot one step earlier (t-1 trailing, t-24 seasonal) did not alarm: an
alarmed window leaves the baseline, the next ones are compared with older windows, and with
`block` windows (which share rows with their neighbours) a first alarm then repeats at the
same hour for up to the lookback. Detection delay: a
persistent shift of +0.25 sigma / +0.5 sigma (sigma of the reference) from window W0 on, for
8 starts spread over the year; the delay is the number of shifted windows up to and
including the first alarm (72 at most). The sequential rule's CUSUM (monitor defaults:
ARL0 = 720 windows, k 1, warm-up 96, cap 3, delta 0.2, learning) is fed the auto verdicts'
baseline z-scores of the healthy stream: its false alarms per 30 days (each alarm restarts
the sum, as a resolved alert does) and its delay on the shifted streams.

    OMP_NUM_THREADS=1 .venv/bin/python bench/baseline_alarms.py
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vega_datasets import local_data

from monitor.drift.auto_verdict import AutoPlan
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.sequential import CusumConfig, CusumState, update
from monitor.drift.sketch import Sketch, merge_all
from monitor.drift.sketch_report import build_specs, compare_sketches, sketch_frame
from monitor.scheduler.baseline_verdict import (
    LAGGED_SHARE,
    baseline_nulls,
    gap_share,
    lagged_nulls,
    remember,
    verdict,
)
from monitor.settings.alarm import SequentialSettings

BLOCK = 28
POOL = 30  # pool mode: days either side of the window's centre
BUDGET = 720  # 30 days of hourly runs
FEATURE = "temp"
STARTS = 8
HORIZON = 72


@dataclass(frozen=True)
class Kind:
    name: str
    slots: Callable[[int], list[int]]  # candidate windows, newest first
    count: int

    @property
    def needed(self) -> int:
        return (self.count + 1) // 2


KINDS = (
    Kind("trailing 168", lambda t: [t - i for i in range(1, 2 * 168 + 1)], 168),
    Kind("seasonal 7d", lambda t: [t - 24 * i for i in range(1, 2 * 7 + 1)], 7),
)


def windows(series: pd.DataFrame, mode: str) -> list[np.ndarray]:
    """Window t = d*24 + h. `block`: the readings at hour h over real days [d, d + BLOCK)
    (consecutive days' windows share BLOCK - 1 rows). `pool`: BLOCK readings drawn without
    replacement (seeded) from hour h of real days [d - POOL, d + POOL], clipped to the year,
    so that a window shares rows with its neighbours at random, equally in both directions
    of time (real traffic shares none; one reading per hour allows no better)."""
    frame = series.assign(hour=series["date"].dt.hour, day=series["date"].dt.dayofyear - 1)
    table = frame.pivot_table(index="day", columns="hour", values="temp", aggfunc="first")
    table = table.interpolate(limit_direction="both").to_numpy(float)  # one missing reading
    days = len(table) - BLOCK
    if mode == "block":
        return [table[d : d + BLOCK, h] for d in range(days) for h in range(24)]
    rng = np.random.default_rng(0)
    out = []
    for d in range(days):
        lo = min(max(d + BLOCK // 2 - POOL, 0), len(table) - 2 * POOL - 1)
        for h in range(24):
            out.append(rng.choice(table[lo : lo + 2 * POOL + 1, h], BLOCK, replace=False))
    return out


@dataclass
class Track:
    """One judging rule's history on one stream: alarmed windows and cached LOO values."""

    auto: bool
    null: str = "own"  # "own"/"own-nogap": each window against its own baseline; "loo": s21
    alarmed: set[Any] = field(default_factory=set)
    cache: OrderedDict = field(default_factory=OrderedDict)
    alarms: int = 0
    episodes: int = 0  # alarms whose slot one step earlier (t-1 / t-24) did not alarm
    judged: int = 0
    z: dict[int, float] = field(default_factory=dict)


def chosen(
    kind: Kind, t: int, sketch_of: Callable[[int], tuple[Any, dict[str, Sketch]]], track: Track
) -> list[int] | None:
    """Window t's baseline slots (newest first, alarmed ones left out); None: too few."""
    used: list[int] = []
    for s in kind.slots(t):
        if s < 0 or len(used) == kind.count:
            break
        key, _ = sketch_of(s)
        if key not in track.alarmed:
            used.append(s)
    return used if len(used) >= kind.needed else None


def judge(
    specs: dict, kind: Kind, t: int, sketch_of: Callable[[int], tuple[Any, dict[str, Sketch]]],
    track: Track, options: DriftOptions, auto_options: DriftOptions,
) -> bool | None:  # fmt: skip
    """Window t against its baseline: alarm (True/False), None when too little baseline."""
    used = chosen(kind, t, sketch_of, track)
    if used is None:
        return None
    parts = [sketch_of(s) for s in used]
    total = {FEATURE: merge_all(p[FEATURE] for _, p in parts)}
    key, current = sketch_of(t)
    feature = {FEATURE: specs[FEATURE]}
    if not track.auto:
        return compare_sketches(feature, total, current, options).dataset_drift
    report = compare_sketches(feature, total, current, auto_options)
    methods = {FEATURE: "wasserstein_normed"}
    slot_of = {sketch_of(s)[0]: s for s in used}

    def own(keys: Any) -> dict[Any, list[tuple[Any, dict[str, Sketch]]]]:
        """Each missing baseline window's own baseline (the windows it was judged with)."""
        out = {}
        for k in keys:
            mine = chosen(kind, slot_of[k], sketch_of, track) if track.null != "loo" else None
            if mine is not None:
                out[k] = [sketch_of(s) for s in mine]
        return out

    nulls = baseline_nulls(specs, total, parts, methods, auto_options, track.cache, own)
    lags = [t - s for s in used]
    first = [t - s for s in kind.slots(t)[: len(used)]]
    if track.null == "own" and gap_share(lags, first) >= LAGGED_SHARE:
        lagged = {sketch_of(b)[0]: [sketch_of(b - g) for g in lags if b - g >= 0] for b in used}
        nulls |= lagged_nulls(specs, parts, lagged, methods, auto_options, kind.needed)
    plan = AutoPlan(methods, nulls, budget_runs=BUDGET, delta=0.02, correction="holm")
    counts = {FEATURE: current[FEATURE].count}
    judged, _, _ = verdict(report, None, counts, plan, {"kind": kind.name})
    decided = judged.features[0].quality.get("decided_by", {})
    if track.null != "loo":
        remember(track.cache, key, report.features, methods)
    track.z[t] = float(decided.get("z", math.nan)) if decided.get("baseline") else math.nan
    return judged.dataset_drift


def cusum_config() -> CusumConfig:
    seq = SequentialSettings()
    return CusumConfig(
        BUDGET, 1, k=seq.k, warmup=seq.warmup, delta=seq.delta, cap=seq.cap, learn=seq.learn
    )


def run_cusum(
    z: list[float], config: CusumConfig, state: CusumState | None = None
) -> tuple[list[int], list[CusumState]]:
    """Alarm positions of the CUSUM fed `z` (each alarm restarts the sum) and the states."""
    state = state or CusumState(reference_id="r")
    alarms, states = [], []
    for i, value in enumerate(z):
        state, alarmed = update(state, {FEATURE: value}, config, "r")
        if alarmed:
            alarms.append(i)
            state = state.reset((FEATURE,))
        states.append(state)
    return alarms, states


def stream(name: str, series: pd.DataFrame, mode: str, out: list[str], null: str) -> None:
    wins = windows(series, mode)
    reference = series[["temp"]]
    specs = build_specs(reference)
    sigma = float(reference["temp"].std())
    sketches = [sketch_frame(specs, pd.DataFrame({FEATURE: w})) for w in wins]
    options = DriftOptions()
    auto_options = DriftOptions(
        per_feature={FEATURE: FeatureOptions("wasserstein_normed", None, None)}
    )
    n = len(wins)
    pooled = float(np.sqrt(np.mean([np.var(w, ddof=1) for w in wins])))
    out.append(
        f"{name} ({mode}): {n} windows of {BLOCK} rows ({n // 24} days), reference sigma {sigma:.2f} °F, "
        f"pooled within-window sd {pooled:.2f} °F"
    )
    config = cusum_config()
    for kind in KINDS:
        t0 = time.perf_counter()
        healthy = {False: Track(False, null), True: Track(True, null)}
        starts = [int(w) for w in np.linspace(n // 6, n - HORIZON - 1, STARTS)]
        history: dict[bool, dict[int, tuple[set, OrderedDict]]] = {False: {}, True: {}}
        for t in range(n):
            for auto, track in healthy.items():
                if t in starts:
                    history[auto][t] = (set(track.alarmed), OrderedDict(track.cache))
                alarm = judge(specs, kind, t, lambda s: (s, sketches[s]), track, options,
                              auto_options)  # fmt: skip
                if alarm is None:
                    continue
                track.judged += 1
                if alarm:
                    track.alarms += 1
                    track.episodes += kind.slots(t)[0] not in track.alarmed
                    track.alarmed.add(t)
        per30 = {a: tr.alarms / (tr.judged / 720) for a, tr in healthy.items()}
        z = [healthy[True].z.get(t, math.nan) for t in range(n)]
        cusum_alarms, states = run_cusum(z, config)
        scored = sum(1 for v in z if math.isfinite(v))
        out.append(
            f"  {kind.name}: healthy, {healthy[True].judged} windows judged: false alarms per "
            f"30 days fixed {per30[False]:.1f} ({healthy[False].alarms}), auto "
            f"{per30[True]:.2f} ({healthy[True].alarms}; episodes {healthy[True].episodes} = "
            f"{healthy[True].episodes / (healthy[True].judged / 720):.2f}); CUSUM on the baseline z "
            f"({scored} scored, warm-up {config.warmup}): {len(cusum_alarms)} alarms = "
            f"{len(cusum_alarms) / (max(scored - config.warmup, 1) / 720):.2f} per 30 days "
            f"(target 1); {time.perf_counter() - t0:.0f} s"
        )
        for shift in (0.25, 0.5):
            delays: dict[str, list[int]] = {"fixed": [], "auto": [], "cusum": []}
            for w0 in starts:
                span = range(w0, min(n, w0 + HORIZON))
                shifted = {
                    t: sketch_frame(specs, pd.DataFrame({FEATURE: wins[t] + shift * sigma}))
                    for t in span
                }

                def sketch_of(s: int, w0: int = w0, shifted: dict = shifted) -> tuple[Any, dict]:
                    return (("s", s), shifted[s]) if s >= w0 else (s, sketches[s])

                for auto in (False, True):
                    alarmed, cache = history[auto][w0]
                    track = Track(auto, null, set(alarmed), OrderedDict(cache))
                    delay = HORIZON
                    for t in span:  # the auto track runs on: its z feed the CUSUM
                        if judge(specs, kind, t, sketch_of, track, options, auto_options):
                            track.alarmed.add(t)
                            delay = min(delay, t - w0 + 1)
                            if not auto:
                                break
                    delays["auto" if auto else "fixed"].append(delay)
                zs = [track.z.get(t, math.nan) for t in span]
                first, _ = run_cusum(zs, config, states[w0 - 1])
                delays["cusum"].append(first[0] + 1 if first else HORIZON)
            parts = [
                f"{k} median {statistics.median(v):g} "
                f"(caught within 24: {sum(d <= 24 for d in v)}/{len(v)}; {v})"
                for k, v in delays.items()
            ]
            out.append(
                f"    +{shift}σ (+{shift * sigma:.2f} °F) from 8 starts, delay in windows: "
                + "; ".join(parts)
            )
        print("\n".join(out[-3:]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="seattle,sf")
    parser.add_argument("--modes", default="block,pool")
    parser.add_argument(
        "--null", default="own", choices=("own", "own-nogap", "loo"),
        help="own: each baseline window against its own baseline (the scheduler's); "
        "with the values at the live window's lags after a gap (`lagged_nulls`); "
        "own-nogap: without the latter; "
        "loo: against the rest of the current baseline, cached at first use (s21)",
    )  # fmt: skip
    parser.add_argument(
        "--budget", type=int, default=720,
        help="the false-alarm budget in hourly runs (720 = 30 days, 2160 = 90 days): the auto "
        "verdicts' level and the CUSUM's ARL0; alarms are still counted per 30 days",
    )  # fmt: skip
    args = parser.parse_args()
    global BUDGET
    BUDGET = args.budget
    print(
        f"load average: {os.getloadavg()}; null values: {args.null}; budget {BUDGET} runs",
        flush=True,
    )
    out: list[str] = []
    loaders = {"seattle": local_data.seattle_temps, "sf": local_data.sf_temps}
    for mode in args.modes.split(","):
        for name in args.series.split(","):
            stream(name, loaders[name](), mode, out, args.null)
    print("\n".join(out))
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
