"""Alarms a team can trust (issue 14): false alarms per 30 days and detection delays.

Real data shipped inside Python packages (nothing downloaded): scikit-learn's diabetes,
wine, breast_cancer and digits (the 20 most variable pixels), statsmodels' `fair` (with its
occupation codes as a categorical). Designs (`--design`):

- population (default): the data set's rows are the population F. Per reference draw, the
  reference is min(rows/2, 3,000) rows drawn iid from F and the 240 hourly windows of m rows
  are drawn iid from F too: exactly "reference and stream from the same distribution",
  whatever the data set's size, so the per-draw rate is the conditional rate the guarantee
  speaks of.
- holdout (the first runs): the reference is a random half of the rows (at most 3,000) and
  the windows are resampled from the other half. With a pool of 89-898 rows and windows of
  500-5,000 the stream's distribution is the pool's, itself a random draw: its error
  adds to the reference's (variance 1/N + 1/N_pool instead of 1/N) and no rule calibrated
  on the reference alone can see it.

Shifted streams are the same windows with one column changed from window 120 on. Every
window is compared with the reference once by `monitor.drift.compare` (today's defaults);
each rule below decides from that one report:

- engine feature: today's `feature_drift` rule (any feature's default verdict);
- engine dataset: today's `dataset_drift` rule (drift share >= 0.5);
- p<0.05: any feature's KS / chi-square p-value below 0.05 (no correction);
- auto+holm: null-calibrated p-values (`monitor.drift.calibration`, Wasserstein for
  numerics, Jensen-Shannon for categoricals), Holm at alpha = 1/720 per window;
- cusum: `monitor.drift.sequential` on the calibrated z-scores, ARL0 = 720 windows for the
  monitor; a crossing counts one alarm and restarts that feature;
- cusum warm-up 48: the same, self-starting (windows 1-48 only estimate each feature's z
  mean and sd);
- guard: Holm over `alarm_guarantee.conditional_p_values` (delta 0.01) at alpha =
  0.05/720: a per-window rate <= 5% of the budget for this reference w.p. >= 0.99;
- ss-cusum guaranteed: self-starting CUSUM, k = 1, warm-up 96 windows, scores clipped to
  [-3, 3], bound from `alarm_guarantee.guaranteed_bound` (ARL0 720 for the monitor
  w.p. >= 0.98 over the warm-up);
- ss-cusum learning δ: the same with `CusumConfig(learn=True)` (mean and sd keep learning
  after the warm-up), δ 0.5 / 0.2 / 0.05; δ 0.2 is run 3's proposed default;
- ss-cusum proposed: run 4's (learned bound where rho <= 0.9, delta 0.2, ARL0 720);
- per-window default (90d) / ss-cusum default (90d) / monitor default (90d): the monitors'
  defaults after s23-budget: a 90-day budget (2,160 windows) split 1/10 to the guarded Holm
  rule (`auto_verdict`: conditional p-values, delta 0.02) and 9/10 to the learning CUSUM
  without a delta (`alarm_guarantee.average_bound`, ARL0 2,400), "monitor" = either; their
  MTBFA / budget column is against 90 days;
- Evidently preset / Evidently column, NannyML ±3σ: the anchors (bench/_alarm_anchors.py).

A per-window rule counts every window in which it holds (as in the issue); false alarms
per 30 days = alarms / 240 windows * 720. The sequential rules also get a long-run rate per
draw (`long_run`: 14,400 more windows resampled from 1,000 further healthy windows scored
by `monitor.drift.nullstats`, checked against the engine on every run): 240 windows hold
a third of the budget's 720, too few to tell 1 per 30 days from 3. Delay = windows from the
shift's start to the first alarm (1 = the first shifted window), "-" when none within
60 (`SHIFTED`).

    .venv/bin/python bench/alarms.py --sizes 500,5000 --draws 3

`--per-window` (= `--budget`): the monitors' per-window auto rule and the sequential
rule's bounds on long healthy streams, MTBFA against the budget (bench/_alarm_budget.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.drift import DriftOptions, compare, compare_feature
from monitor.drift.alarm_guarantee import conditional_p_values, reference_share
from monitor.drift.calibration import calibrate
from monitor.drift.correction import correct
from monitor.drift.engine import summarize
from monitor.drift.nullstats import binned_many, wasserstein_many
from monitor.drift.sequential import CusumConfig, CusumState, update
from monitor.settings.alarm import PER_WINDOW_SHARE, SEQUENTIAL_SHARE, AlarmSettings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _alarm_anchors import (
    evidently_column,
    evidently_columns,
    evidently_dataset,
    evidently_report_columns,
    nannyml_alerts,
    nannyml_inputs,
    nannyml_rule,
)
from _alarm_tables import (
    BUDGET_90D,
    BUDGET_WINDOWS,
    CAP,
    CATEGORICAL_SHIFTS,
    CUSUM_DELTA,
    FRESH,
    GUARD_DELTA,
    GUARD_SHARE,
    K_NEW,
    LEARN_DELTAS,
    LONG,
    NUMERIC_SHIFTS,
    RULES,
    SEQUENTIAL,
    SHIFT_AT,
    SHIFTED,
    WARMUP,
    WINDOWS,
    print_draws,
    print_summary,
    shift,
)


def datasets() -> dict[str, pd.DataFrame]:
    from sklearn import datasets as sk
    from statsmodels.datasets import fair

    digits = sk.load_digits(as_frame=True).frame.drop(columns="target")
    digits = digits[digits.std().sort_values(ascending=False).index[:20]].astype(float)
    fair_df = fair.load_pandas().data.astype(float)
    fair_df["occupation"] = fair_df["occupation"].map(lambda v: f"occ{int(v)}")
    return {
        "diabetes": sk.load_diabetes(as_frame=True).frame.drop(columns="target"),
        "wine": sk.load_wine(as_frame=True).frame.drop(columns="target"),
        "breast_cancer": sk.load_breast_cancer(as_frame=True).frame.drop(columns="target"),
        "digits": digits,
        "fair": fair_df,
    }


@dataclass
class Window:
    """One window's per-feature numbers, enough for every rule."""

    engine_any: bool
    engine_dataset: bool
    p_plain: dict[str, float]  # KS / chi-square p-values
    p_auto: dict[str, float]
    z_auto: dict[str, float]
    rho: dict[str, float]  # the reference's share of the null variance (alarm_guarantee)
    guard: bool | None = None  # the guard's verdict, computed once
    ev: dict[str, bool] | None = None  # Evidently's preset verdict per column


def _score(report, cal) -> Window:
    p_plain, p_auto, z_auto, rho = {}, {}, {}, {}
    for f in report.features:
        test = f.stats.get("ks" if f.kind == "numeric" else "chisquare")
        p_plain[f.name] = test["p_value"] if isinstance(test, dict) else np.nan
        stat = f.stats.get("wasserstein_normed" if f.kind == "numeric" else "jensenshannon")
        n = report.current_rows * (1 - f.missing_share_current)
        null = cal.features[f.name]
        if stat is None or n < 2:
            p_auto[f.name], z_auto[f.name], rho[f.name] = np.nan, np.nan, 0.0
            continue
        z = null.z_score(float(stat), n)
        rho[f.name] = reference_share(n, null.reference_rows)
        z_auto[f.name], p_auto[f.name] = z, null.p_value(float(stat), n)
    return Window(
        any(f.drifted for f in report.features), report.dataset_drift, p_plain, p_auto, z_auto, rho
    )


def decide(rule: str, win: Window, state: dict) -> bool:
    if rule == "engine feature":
        return win.engine_any
    if rule == "engine dataset":
        return win.engine_dataset
    if rule == "p<0.05":
        return any(p < 0.05 for p in win.p_plain.values())
    if rule == "auto+holm":
        return correct(win.p_auto, "holm", 1 / BUDGET_WINDOWS).any_rejected
    if rule == "guard":
        return guard(win)
    if rule == "per-window default (90d)":
        return window_default(win)
    if rule == "Evidently preset":
        return evidently_dataset(win.ev or {})
    if rule == "Evidently column":
        return any((win.ev or {}).values())
    cusum, config = state["cusum"], state["config"]
    cusum, alarmed = update(cusum, win.z_auto, config, "ref")
    state["cusum"] = cusum.reset(alarmed) if alarmed else cusum
    if rule == "monitor default (90d)":  # both rules of the monitor, each with its share
        return bool(alarmed) or window_default(win)
    return bool(alarmed)


GUARD_DELTA_MONITOR = AlarmSettings().delta  # the monitors' guard of auto thresholds (0.02)


def window_default(win: Window) -> bool:
    """The monitors' per-window rule at its share of a 90-day budget: Holm over the guarded
    conditional p-values (delta 0.02 split over features) at PER_WINDOW_SHARE / 2,160."""
    p = conditional_p_values(win.z_auto, win.rho, GUARD_DELTA_MONITOR)
    return correct(p, "holm", PER_WINDOW_SHARE / BUDGET_90D).any_rejected


def guard(win: Window) -> bool:
    """Per-window rule with a guaranteed conditional rate: Holm over conditional p-values."""
    if win.guard is None:
        p = conditional_p_values(win.z_auto, win.rho, GUARD_DELTA)
        win.guard = correct(p, "holm", GUARD_SHARE / BUDGET_WINDOWS).any_rejected
    return win.guard


def cusum_config(rule: str, p: int, rho: float | None = None) -> CusumConfig:
    if rule == "ss-cusum guaranteed":
        return CusumConfig(BUDGET_WINDOWS, p, k=K_NEW, warmup=WARMUP, delta=CUSUM_DELTA, cap=CAP)
    if rule == "ss-cusum proposed":
        return CusumConfig(BUDGET_WINDOWS, p, k=K_NEW, warmup=WARMUP, delta=0.2, cap=CAP,
                           learn=True, reference_share=rho)  # fmt: skip
    if rule in LEARN_DELTAS:
        d = LEARN_DELTAS[rule]
        return CusumConfig(BUDGET_WINDOWS, p, k=K_NEW, warmup=WARMUP, delta=d, cap=CAP, learn=True)
    if rule in ("ss-cusum default (90d)", "monitor default (90d)"):
        return CusumConfig(BUDGET_90D / SEQUENTIAL_SHARE, p, k=K_NEW, warmup=WARMUP, cap=CAP,
                           learn=True, reference_share=rho)  # fmt: skip
    return CusumConfig(BUDGET_WINDOWS, p, warmup=48 if "warm-up" in rule else 0)


def run_stream(windows: list[Window], rules: tuple[str, ...] = RULES) -> dict[str, list[bool]]:
    p = len(windows[0].z_auto)
    out = {}
    for rule in rules:
        if rule == "NannyML ±3σ":
            continue  # from the NannyML child's alerts (`nannyml_rule`)
        rho = max(windows[0].rho.values(), default=None)
        state = {"cusum": CusumState(), "config": cusum_config(rule, p, rho)}
        out[rule] = [decide(rule, w, state) for w in windows]
    return out


def fresh_windows(ref: pd.DataFrame, pool: pd.DataFrame, cal, rows: np.ndarray) -> list[Window]:
    """FRESH more healthy windows scored for the new rules only, by `monitor.drift.nullstats`
    (the engine's Wasserstein / Jensen-Shannon, pinned draw by draw in its tests) instead of
    a full `compare`: cheap enough for a pool much larger than the warm-up. Rows are drawn
    like the stream's (one row index per window, shared by all features)."""
    m = rows.shape[1]
    z: list[dict[str, float]] = [{} for _ in range(len(rows))]
    rho: dict[str, float] = {}
    for name, null in cal.features.items():
        values = pool[name].to_numpy()
        rho[name] = reference_share(m, null.reference_rows)
        if null.kind == "numeric":
            ref_sorted = np.sort(ref[name].to_numpy(dtype=float))
            stats_ = np.concatenate(
                [
                    wasserstein_many(ref_sorted, np.sort(values[r], axis=1))
                    for r in np.array_split(rows, 10)
                ]
            )
        else:
            cats, codes = np.unique(
                np.concatenate([ref[name].to_numpy(), values]), return_inverse=True
            )
            ref_counts = np.bincount(codes[: len(ref)], minlength=cats.size)
            pool_codes = codes[len(ref) :]
            counts = np.stack([np.bincount(pool_codes[r], minlength=cats.size) for r in rows])
            stats_ = binned_many(ref_counts, counts, ("jensenshannon",))["jensenshannon"]
        for i, v in enumerate(null.z_scores(stats_, m)):
            z[i][name] = float(v)
    return [Window(False, False, {}, {}, zi, rho) for zi in z]


def long_run(healthy: list[Window], fresh: list[Window], rng) -> dict[str, float]:
    """Sequential rules' false alarms per 30 days on a long healthy stream: the 240 windows
    then LONG windows resampled from FRESH further healthy windows (iid given the reference,
    not seen by the warm-up); counted over the windows after each rule's warm-up."""
    stream = healthy + [fresh[i] for i in rng.integers(0, len(fresh), LONG)]
    fired = run_stream(stream, SEQUENTIAL)
    out = {}
    for rule, flags in fired.items():
        start = cusum_config(rule, len(healthy[0].z_auto)).warmup
        out[rule] = sum(flags[start:]) / (len(flags) - start) * BUDGET_WINDOWS
    return out


def one_draw(
    frame: pd.DataFrame, m: int, seed: int, design: str, nml_dir=None, pin_ev: bool = False
) -> dict:
    """Healthy and shifted streams for one reference draw and window size; with `nml_dir`,
    also the NannyML child's input for this draw (`_alarm_anchors.nannyml_inputs`)."""
    rng = np.random.default_rng(seed)
    half = min(len(frame) // 2, 3000)
    if design == "holdout":
        order = rng.permutation(len(frame))
        ref, pool = frame.iloc[order[:half]], frame.iloc[order[half:]]
    else:  # population: reference and windows are iid draws from the data set's rows
        ref = frame.iloc[rng.integers(0, len(frame), half)].reset_index(drop=True)
        pool = frame
    opts = DriftOptions(workers=1)
    rows = [rng.integers(0, len(pool), m) for _ in range(WINDOWS)]
    first = compare(ref, pool.iloc[rows[0]], opts)
    kinds = {f.name: f.kind for f in first.features}
    t0 = time.process_time()
    cal = calibrate(ref, kinds=kinds, seed=seed)
    cal_s = time.process_time() - t0
    frames = [pool.iloc[r].reset_index(drop=True) for r in rows]
    reports = [compare(ref, cur, opts) for cur in frames]
    healthy = [_score(rep, cal) for rep in reports]
    for win, cur in zip(healthy, frames, strict=True):
        win.ev = evidently_columns(ref, cur)
    result = {"healthy": run_stream(healthy), "calibrate_cpu_s": cal_s, "shifted": {}}
    fresh = fresh_windows(ref, pool, cal, rng.integers(0, len(pool), (FRESH, m)))
    pin = fresh_windows(ref, pool, cal, rows[0][None, :])[0].z_auto  # same as the engine's?
    result["pin"] = max(abs(pin[n] - healthy[0].z_auto[n]) for n in pin)
    result["long"] = long_run(healthy, fresh, rng)
    numeric = [n for n, k in kinds.items() if k == "numeric"]
    categorical = [n for n, k in kinds.items() if k == "categorical"]
    plan = [(numeric[0], s) for s in NUMERIC_SHIFTS] if numeric else []
    plan += [(categorical[0], s) for s in CATEGORICAL_SHIFTS] if categorical else []
    nml_shifted = {}
    result["ev_pin"] = (
        [_pin_evidently(ref, frames[0], healthy[0].ev)] if pin_ev and seed == 0 else []
    )
    for column, how in plan:
        stream = list(healthy[:SHIFT_AT])
        flags, values = 0, []
        for t in range(SHIFT_AT, SHIFT_AT + SHIFTED):
            moved = shift(frames[t][column], how, ref[column], rng)
            values.append(moved)
            rep = compare_feature(column, ref[column], moved, opts)
            flags += rep.drifted
            win = _shifted(healthy[t], reports[t], rep, cal, m)
            win.ev = {**(healthy[t].ev or {}), column: evidently_column(ref[column], moved)}
            stream.append(win)
        result["shifted"][(column, how)] = (run_stream(stream), flags / SHIFTED)
        if pin_ev and seed == 0 and how in ("+0.5σ", "25% mass"):
            cur = frames[SHIFT_AT].assign(**{column: values[0]})
            result["ev_pin"].append(_pin_evidently(ref, cur, stream[SHIFT_AT].ev))
        nml_shifted[f"{column}|{how}"] = (column, pd.concat(values, ignore_index=True))
    if nml_dir is not None:
        nml = pd.concat(frames, ignore_index=True)
        nannyml_inputs(nml_dir, ref, nml, nml_shifted, m)
    return result


def _pin_evidently(ref: pd.DataFrame, cur: pd.DataFrame, ours: dict | None) -> tuple[int, int]:
    """(columns whose verdict equals the full Evidently Report's, columns) on one window."""
    full = evidently_report_columns(ref, cur)
    return sum(full.get(c) == v for c, v in (ours or {}).items()), len(full)


def _shifted(win: Window, report, feature, cal, m: int) -> Window:
    """`win` with `feature`'s numbers from its shifted comparison (others unchanged)."""
    feats = tuple(feature if f.name == feature.name else f for f in report.features)
    rep = summarize(feats, report.reference_rows, m, DriftOptions(workers=1).drift_share)
    return _score(rep, cal)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,5000")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated data set names")
    ap.add_argument("--cost", type=int, default=0, help="only time calibration on N rows")
    ap.add_argument("--design", choices=("population", "holdout"), default="population")
    ap.add_argument("--tradeoff", action="store_true", help="delta/cap vs per-draw rate only")
    ap.add_argument("--warmup", type=int, default=WARMUP, help="warm-up for --tradeoff")
    ap.add_argument("--fresh", type=int, default=FRESH, help="scored windows for --tradeoff")
    ap.add_argument("--learn", action="store_true", help="--tradeoff: the learning CUSUM")
    ap.add_argument("--nannyml-draws", type=int, default=1, help="draws NannyML also runs on")
    ap.add_argument("--evidently-pin", action="store_true", help="full Evidently Report pin")
    ap.add_argument(
        "--budget",
        action="store_true",
        help="per-window auto rule and sequential bounds on long streams (_alarm_budget.py)",
    )
    ap.add_argument("--per-window", action="store_true", help="alias of --budget")
    ap.add_argument("--first-seed", type=int, default=0, help="--budget: first draw's seed")
    args = ap.parse_args(argv)
    if args.budget or args.per_window:
        from _alarm_budget import run  # imports this module: loaded on demand

        sizes = [int(s) for s in args.sizes.split(",")]
        return run(sizes, args.draws, args.only, args.fresh, args.first_seed)
    if args.cost or args.tradeoff:
        from _alarm_extra import cost, tradeoff  # imports this module: loaded on demand

    if args.cost:
        return cost(args.cost)
    if args.tradeoff:
        return tradeoff(
            [int(s) for s in args.sizes.split(",")],
            args.draws,
            args.only,
            args.warmup,
            args.fresh,
            args.learn,
        )
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average at start: {os.getloadavg()}; design: {args.design}", flush=True)
    sets = datasets()
    if args.only:
        sets = {k: v for k, v in sets.items() if k in args.only.split(",")}
    started = time.perf_counter()
    every: dict[int, list[dict]] = {m: [] for m in sizes}
    per_set, nml_dirs = [], {}
    tmp = Path(tempfile.mkdtemp(prefix="alarms-nannyml-"))
    for name, frame in sets.items():
        for m in sizes:
            draws = []
            for seed in range(args.draws):
                # NannyML's thresholds need >= 2 reference chunks of m rows (else: below)
                fits = 2 * m <= min(len(frame) // 2, 3000)
                d = tmp / f"{name}-{m}-{seed}" if seed < args.nannyml_draws and fits else None
                draws.append(one_draw(frame, m, seed, args.design, d, args.evidently_pin))
                if d is not None:
                    nml_dirs[str(d)] = draws[-1]
            print(f"{name} m={m}: {time.perf_counter() - started:.0f} s", flush=True)
            per_set.append((name, frame, m, draws))
            every[m] += draws
    if nml_dirs:
        t0 = time.perf_counter()
        alerts = nannyml_alerts([Path(d) for d in nml_dirs])
        print(f"NannyML child: {time.perf_counter() - t0:.0f} s", flush=True)
        for d, draw in nml_dirs.items():
            if isinstance(alerts, dict):
                nannyml_rule(draw, alerts[d])
            else:
                draw["nannyml_error"] = alerts
    shutil.rmtree(tmp, ignore_errors=True)
    for name, frame, m, draws in per_set:
        print_draws(name, frame, m, draws)
    for m in sizes:
        print_summary(m, every[m])
    print(f"\nwall {time.perf_counter() - started:.0f} s; load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
