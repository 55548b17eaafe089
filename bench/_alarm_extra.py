"""bench/alarms.py's side runs: `--tradeoff` (delta and cap against the per-draw rate) and
`--cost` (materialisation and per-window cost). Split out to keep each module under 400
lines; imports bench/alarms.py, which loads it on demand."""

from __future__ import annotations

import os
import time

import numpy as np
from _alarm_tables import BUDGET_WINDOWS, CUSUM_DELTA, K_NEW, LONG, WARMUP
from alarms import _score, compare, datasets, fresh_windows, guard

from monitor.drift import DriftOptions
from monitor.drift.calibration import calibrate
from monitor.drift.correction import correct
from monitor.drift.sequential import CusumConfig, CusumState, update


def tradeoff(
    sizes: list[int], draws: int, only: str, warmup: int, fresh: int, learn: bool = False
) -> int:
    """The guaranteed self-starting CUSUM's long-run false alarms per 30 days, per draw, for
    several delta and cap: healthy streams of nullstats-scored windows only (no engine), on
    reference draws seeded 100.. (not those of the main tables)."""
    variants = [(d, c, False) for c in (None, 3.0) for d in (0.5, 0.2, 0.1, 0.02)]
    if learn:  # run 2's default (frozen, delta 0.02) against the learning CUSUM (run 3)
        variants = [(0.02, 3.0, False)] + [(d, 3.0, True) for d in (0.5, 0.2, 0.05)]
    print(f"load average at start: {os.getloadavg()}; warm-up {warmup} windows")
    print(
        "| data set | m | "
        + " | ".join(f"δ {d}, cap {c}{', learning' if x else ''}" for d, c, x in variants)
        + " |"
    )
    print("|---" * (2 + len(variants)) + "|")
    per: dict[tuple, list[float]] = {v: [] for v in variants}
    for name, frame in datasets().items():
        if only and name not in only.split(","):
            continue
        for m in sizes:
            cells: dict[tuple, list[float]] = {v: [] for v in variants}
            for seed in range(100, 100 + draws):
                rng = np.random.default_rng(seed)
                ref = frame.iloc[rng.integers(0, len(frame), min(len(frame) // 2, 3000))]
                ref = ref.reset_index(drop=True)
                kinds = {
                    f.name: f.kind
                    for f in compare(ref, frame.iloc[:m], DriftOptions(workers=1)).features
                }
                cal = calibrate(ref, kinds=kinds, seed=seed)
                wins = fresh_windows(ref, frame, cal, rng.integers(0, len(frame), (fresh, m)))
                pool = wins[warmup:]
                stream = wins[:warmup] + [pool[i] for i in rng.integers(0, len(pool), LONG)]
                for d, c, x in variants:
                    config = CusumConfig(BUDGET_WINDOWS, len(cal.features), k=K_NEW,
                                         warmup=warmup, delta=d, cap=c, learn=x)  # fmt: skip
                    state, n = CusumState(), 0
                    for w in stream:
                        state, alarmed = update(state, w.z_auto, config, "r")
                        if alarmed:
                            n, state = n + 1, state.reset(alarmed)
                    cells[(d, c, x)].append(n / LONG * BUDGET_WINDOWS)
            for v in variants:
                per[v] += cells[v]
            row = " | ".join(", ".join(f"{x:.2f}" for x in cells[v]) for v in variants)
            print(f"| {name} | {m} | {row} |", flush=True)
    row = " | ".join(f"max {max(r):.2f}, MTBFA/budget {1 / np.mean(r):.2f}" for r in per.values())
    print(f"| all | | {row} |")
    print(f"load average at end: {os.getloadavg()}")
    return 0


def cost(n: int) -> int:
    """Calibration of an n-row, 25-feature reference (bench/drift.py's frames), and the
    per-window cost of the new rules next to the engine's compare of an n-row window."""
    from drift import make_frames

    ref, cur = make_frames(n)
    print(f"load average before: {os.getloadavg()}")
    wall, cpu = time.perf_counter(), time.process_time()
    cal = calibrate(ref)
    bound = CusumConfig(BUDGET_WINDOWS, ref.shape[1], k=K_NEW, warmup=WARMUP, delta=CUSUM_DELTA)
    h = bound.bound  # the guaranteed CUSUM bound (the guard's threshold is closed form)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"calibrate + guaranteed bound, {n:,} rows x {ref.shape[1]} features: {wall:.2f} s wall,"
        f" {cpu:.2f} s CPU; CUSUM bound h = {h:.3f}"
    )
    wall = time.perf_counter()
    report = compare(ref, cur, DriftOptions(workers=1))
    engine_s = time.perf_counter() - wall
    wall = time.perf_counter()
    win = _score(report, cal)
    correct(win.p_auto, "holm", 1 / BUDGET_WINDOWS)
    guard(win)
    update(CusumState(), win.z_auto, bound, "r")
    rules_s = time.perf_counter() - wall
    print(f"one window: compare {engine_s:.2f} s, scores + Holm + CUSUM {rules_s * 1e3:.1f} ms")
    print(f"load average after: {os.getloadavg()}")
    return 0
