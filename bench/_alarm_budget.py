"""bench/alarms.py's `--per-window` and `--budget` runs: the delivered false-alarm rate
against the configured budget, on long healthy streams.

Per data set, window size and reference draw (seeds 0.., the population design of the main
run: the reference is min(rows/2, 3,000) rows drawn iid from the data set, windows are m rows
drawn iid from it), `fresh` healthy windows are scored by `monitor.drift.nullstats` against
the calibrated nulls (bench/alarms.py's `fresh_windows`, pinned to the engine on every main
run). Then `STREAMS` streams of `WARMUP + LENGTH` windows are resampled from them (iid
given the reference) and every rule runs on the same streams; rates count the windows after
the warm-up (the per-window rule is counted on the same windows):

Every rule is measured at two monitor budgets B (`BUDGETS`: the default 90 days = 2,160
hourly windows, and 30 days configured), labels ending `@90d` / `@30d`:

- per-window auto (the monitors' rule, `auto_verdict`): feature f drifts when its guarded
  p-value `conditional_p_value(z, rho, delta/k)` <= alpha/k, delta = 0.02, alpha = 1/B
  ("full budget", before the split) or PER_WINDOW_SHARE/B ("share 0.1", the default when a
  monitor also has a sequential rule). Holm over the features rejects *something* exactly
  when this Bonferroni rule does (Holm's first step is alpha/k).
- sequential: the learning self-starting CUSUM of monitors (k 1, warm-up 96, cap 3,
  learn) at ARL0 = B / SEQUENTIAL_SHARE ("share 0.9") with the bounds of `bounds()`: the
  default (no delta: `alarm_guarantee.average_bound`, pinned on every draw to
  `monitor.drift.simulate_rules._learning_alarms`), the learned bound at delta 0.2, the
  per-reference option (delta 0.2), Siegmund's known-parameter bound; and run 4's default
  at the full budget. ", normal model": the default on iid N(0, 1) scores of the same shape.
- "monitor: ...": a window alarms when either rule does (all drift rules of a monitor
  together): the new default split and run 4's (both rules with the full budget).

MTBFA / budget = (windows counted / alarms) / B over all draws of a size, with an exact
95% Poisson interval on the count; rates per draw are false alarms per 30 days (the
issue's per-draw criterion: <= 1).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
from _alarm_tables import BUDGET_WINDOWS, CAP, K_NEW, WARMUP
from alarms import compare, datasets, fresh_windows
from scipy import special, stats

from monitor.drift import DriftOptions
from monitor.drift.alarm_guarantee import learned_bound
from monitor.drift.calibration import calibrate
from monitor.drift.sequential import LEARN_QUIET, CusumConfig, bound_for_arl
from monitor.drift.simulate_rules import _learning_alarms
from monitor.settings.alarm import PER_WINDOW_SHARE, SEQUENTIAL_SHARE

STREAMS, LENGTH = 8, 7_200  # per draw: 8 streams x 10 months after the warm-up
GUARD_DELTA, SEQ_DELTA = 0.02, 0.2
# the budgets measured (hourly windows): the new default and the old one, configured
BUDGETS = {"90d": 90 * 24, "30d": BUDGET_WINDOWS}
DEFAULT_RULE = "seq average, share 0.9 (default)"


@dataclass(frozen=True)
class _Fixed(CusumConfig):
    """A learning CUSUM config whose bound is given (the variants measured)."""

    h: float = 0.0

    @property
    def bound(self) -> float:
        return self.h


def bounds(p: int, rho: float, budget: float) -> dict[str, float]:
    """The sequential bounds measured at a monitor budget of `budget` windows, for p features
    whose largest reference share is rho: the monitors' split (`AlarmSettings.shares`) gives
    the sequential rule ARL0 = budget / SEQUENTIAL_SHARE; "full budget" rows are the rule
    before the split (each rule of a monitor had the whole budget)."""
    arl0 = budget / SEQUENTIAL_SHARE

    def config(arl: float, delta: float | None) -> CusumConfig:
        return CusumConfig(arl, p, k=K_NEW, warmup=WARMUP, delta=delta, cap=CAP, learn=True,
                           reference_share=rho)  # fmt: skip

    return {
        DEFAULT_RULE: config(arl0, None).bound,
        "seq learned δ0.2, share 0.9": learned_bound(arl0, K_NEW, WARMUP, SEQ_DELTA, p),
        "seq per reference δ0.2 (learned if ρ ≤ 0.9), share 0.9": config(arl0, SEQ_DELTA).bound,
        "seq known, Siegmund, share 0.9": bound_for_arl(arl0 * p, K_NEW),
        "seq run-4 default, full budget": config(budget, SEQ_DELTA).bound,
    }


def cusum_flags(
    z: np.ndarray,
    h: float,
    k: float = K_NEW,
    cap: float | None = CAP,
    warmup: int = WARMUP,
) -> np.ndarray:
    """(streams, T - warmup) any-feature alarms of the learning CUSUM at bound h: the
    arithmetic of `simulate_rules._learning_alarms` (pinned), flags instead of a count.
    bench/sliding.py calls it with its monitors' k, cap and warm-up."""
    head = z[:, :warmup]
    n = np.full(z.shape[::2], float(warmup))
    mean, m2 = head.mean(axis=1), head.var(axis=1) * warmup
    sums, quiet = np.zeros_like(mean), np.zeros_like(mean)
    out = np.zeros((z.shape[0], z.shape[1] - warmup), dtype=bool)
    for t in range(warmup, z.shape[1]):
        zt = z[:, t]
        sd = np.sqrt(m2 / np.maximum(n - 1, 1))
        score = (zt - mean) / np.maximum(sd, 0.1)
        if cap is not None:
            score = np.clip(score, -cap, cap)
        learn = quiet >= LEARN_QUIET
        n1 = n + learn
        d = np.where(learn, zt - mean, 0.0)
        mean = mean + d / n1
        m2 = m2 + np.where(learn, d * (zt - mean), 0.0)
        n = n1
        sums = np.maximum(0.0, sums + score - k)
        quiet = np.where(sums == 0.0, quiet + 1, 0)
        hit = sums > h
        out[:, t - warmup] = hit.any(axis=1)
        sums[hit], quiet[hit] = 0.0, 0
    return out


def window_flags(z: np.ndarray, rho: np.ndarray, guard: bool, alpha: float) -> np.ndarray:
    """(streams, T - WARMUP) alarms of the per-window auto rule (any feature)."""
    k = z.shape[2]
    z = z[:, WARMUP:]
    if guard:
        shift = np.sqrt(rho) * -special.ndtri(GUARD_DELTA / k)
        p = special.ndtr(-(z - shift) / np.sqrt(np.maximum(1 - rho, 1e-12)))
    else:
        p = special.ndtr(-z)
    return (p <= alpha / k).any(axis=2)


def one_draw(frame, m: int, seed: int, fresh: int) -> dict[str, tuple[int, int]]:
    """(alarms, windows counted) per rule for one reference draw."""
    rng = np.random.default_rng(seed)
    ref = frame.iloc[rng.integers(0, len(frame), min(len(frame) // 2, 3000))]
    ref = ref.reset_index(drop=True)
    kinds = {f.name: f.kind for f in compare(ref, frame.iloc[:m], DriftOptions(workers=1)).features}
    cal = calibrate(ref, kinds=kinds, seed=seed)
    wins = fresh_windows(ref, frame, cal, rng.integers(0, len(frame), (fresh, m)))
    names = list(cal.features)
    pool = np.array([[w.z_auto[n] for n in names] for w in wins])
    pool = np.where(np.isnan(pool), 0.0, pool)  # a NaN score: no evidence either way
    rho = np.array([wins[0].rho[n] for n in names])
    z = pool[rng.integers(0, len(pool), (STREAMS, WARMUP + LENGTH))]
    normal = rng.standard_normal(z.shape)
    counted = STREAMS * LENGTH
    out: dict[str, tuple[int, int]] = {}
    for tag, budget in BUDGETS.items():
        out.update(_rules(z, normal, rho, names, budget, tag, counted))
    return out


def _rules(z, normal, rho, names, budget: float, tag: str, counted: int) -> dict:
    """(alarms, windows) per rule at one monitor budget (labels end with `tag`)."""
    out: dict[str, tuple[int, int]] = {}
    full = window_flags(z, rho, True, 1 / budget)
    split = window_flags(z, rho, True, PER_WINDOW_SHARE / budget)
    out[f"per-window auto, full budget @{tag}"] = (int(full.sum()), counted)
    out[f"per-window auto, share 0.1 (default) @{tag}"] = (int(split.sum()), counted)
    for label, h in bounds(len(names), float(rho.max()), budget).items():
        flags = cusum_flags(z, h)
        out[f"{label} @{tag}"] = (int(flags.sum()), counted)
        if label == DEFAULT_RULE:
            out[f"{label}, normal model @{tag}"] = (int(cusum_flags(normal, h).sum()), counted)
            out[f"monitor: per-window 0.1 + seq average 0.9 (default) @{tag}"] = (
                int((flags | split).sum()), counted)  # fmt: skip
            if tag == "90d":
                cfg = _Fixed(budget, len(names), k=K_NEW, warmup=WARMUP, cap=CAP, learn=True,
                             h=h)  # fmt: skip
                assert _learning_alarms(z, cfg) == out[f"{label} @{tag}"][0], "cusum_flags drifted"
        if label.startswith("seq run-4"):
            out[f"monitor: per-window + seq, both full budget (run 4) @{tag}"] = (
                int((flags | full).sum()), counted)  # fmt: skip
    return out


def _rho(frame, m: int) -> tuple[int, int]:
    """The draw's reference share m / (m + N) (x1000, as a pair the tables skip)."""
    n = min(len(frame) // 2, 3000)
    return (round(1000 * m / (m + n)), -1)


def _ci(alarms: int, windows: int, budget: float) -> str:
    """MTBFA / budget with an exact 95% Poisson interval on the count."""
    if alarms == 0:
        lo = windows / stats.chi2.ppf(0.975, 2) * 2 / budget
        return f"∞ (> {lo:.2f})"
    lo_n, hi_n = stats.chi2.ppf(0.025, 2 * alarms) / 2, stats.chi2.ppf(0.975, 2 * alarms + 2) / 2
    val = windows / alarms / budget
    return f"{val:.2f} [{windows / hi_n / budget:.2f}, {windows / lo_n / budget:.2f}]"


def run(sizes: list[int], draws: int, only: str, fresh: int, first_seed: int = 0) -> int:
    print(f"load average at start: {os.getloadavg()}; {STREAMS} streams x {LENGTH} windows "
          f"per draw after a {WARMUP}-window warm-up, resampled from {fresh} scored windows")  # fmt: skip
    started = time.perf_counter()
    every: dict[int, list[tuple[str, int, dict]]] = {m: [] for m in sizes}
    for name, frame in datasets().items():
        if only and name not in only.split(","):
            continue
        for m in sizes:
            for seed in range(first_seed, first_seed + draws):
                res = one_draw(frame, m, seed, fresh)
                res["ρ (largest)"] = _rho(frame, m)
                every[m].append((name, seed, res))
                cells = ", ".join(
                    f"{r}: {a / n * BUDGET_WINDOWS:.2f}" if n > 0 else f"{r}: {a / 1000:.3f}"
                    for r, (a, n) in res.items()
                )
                print(f"{name} m={m} seed {seed} ({time.perf_counter() - started:.0f} s): {cells}",
                      flush=True)  # fmt: skip
    for m in sizes:
        print_table(m, every[m])
    print(f"\nwall {time.perf_counter() - started:.0f} s; load average at end: {os.getloadavg()}")
    return 0


def _budget_of(rule: str) -> float:
    """The monitor budget (windows) a rule label was measured at (`@90d`, `@30d`)."""
    return float(BUDGETS[rule.rsplit("@", 1)[1]])


def print_table(m: int, rows: list[tuple[str, int, dict]]) -> None:
    if not rows:
        return
    print(f"\n#### All data sets, windows of {m} rows ({len(rows)} data set x draw pairs)\n")
    print("| rule @ monitor budget | false alarms / 30 days per draw: min / median / max | "
          "draws > 1 / 30 d | MTBFA / budget [95% CI] | draws with rate in [1/1.5, 1/0.8] "
          "of the budget's |")  # fmt: skip
    print("|---|---|---|---|---|")
    for rule in [r for r in rows[0][2] if rows[0][2][r][1] > 0]:
        budget = _budget_of(rule)
        r = np.array([res[rule][0] / res[rule][1] * BUDGET_WINDOWS for _, _, res in rows])
        alarms = sum(res[rule][0] for _, _, res in rows)
        windows = sum(res[rule][1] for _, _, res in rows)
        per_budget = r * budget / BUDGET_WINDOWS
        inside = int(((per_budget >= 1 / 1.5) & (per_budget <= 1 / 0.8)).sum())
        print(f"| {rule} | {r.min():.2f} / {np.median(r):.2f} / {r.max():.2f} | "
              f"{int((r > 1).sum())}/{len(r)} | {_ci(alarms, windows, budget)} | "
              f"{inside}/{len(r)} |")  # fmt: skip
    total = len(rows) * STREAMS * LENGTH
    print(
        f"\n{len(rows)} draws x {STREAMS * LENGTH:,} windows = {total:,} windows per rule: "
        + ", ".join(f"{total / b:.0f} budget periods at {t}" for t, b in BUDGETS.items())
    )
