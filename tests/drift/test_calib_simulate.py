"""The calibration simulation against a brute-force loop over `monitor.drift.compare`.

Real data (scikit-learn's diabetes and wine sets). The simulation's per-window false-flag
shares must agree with windows resampled from the reference and compared one by one by the
engine, within Monte Carlo error; draw by draw, its statistics are the engine's.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

from monitor.drift import DriftOptions, FeatureOptions, compare
from monitor.drift.auto_verdict import AutoPlan, apply_auto
from monitor.drift.correction import correct
from monitor.drift.simulate import FeaturePlan, Plan, RulePlan, _Runner, simulate
from monitor.drift.simulate_rules import median_delay

ROWS = 60
BRUTE = 500


def _diabetes() -> pd.DataFrame:
    frame = load_diabetes(as_frame=True).frame.drop(columns=["target"])
    frame["sex"] = np.where(frame["sex"] > 0, "m", "f")
    return frame


def _plans(
    frame: pd.DataFrame, numeric: str, threshold: float | None, auto: bool = False
) -> tuple[FeaturePlan, ...]:
    return tuple(
        FeaturePlan(c, "categorical", "chisquare", auto=auto)
        if c == "sex"
        else FeaturePlan(c, "numeric", numeric, threshold, auto)
        for c in frame.columns
    )


def _options(plans: tuple[FeaturePlan, ...], drift_share: float) -> DriftOptions:
    per = {f.name: FeatureOptions(f.method, f.threshold, f.kind) for f in plans}
    return DriftOptions(per_feature=per, drift_share=drift_share, workers=1)


def _brute(frame, plans, drift_share, seed=11):
    """Flags per feature, dataset verdicts and p-values of BRUTE resampled windows."""
    rng = np.random.default_rng(seed)
    options = _options(plans, drift_share)
    flags, dataset, pvals = [], [], []
    for _ in range(BRUTE):
        window = frame.iloc[rng.integers(0, len(frame), ROWS)].reset_index(drop=True)
        report = compare(frame, window, options)
        flags.append([f.drifted for f in report.features])
        dataset.append(report.dataset_drift)
        pvals.append({f.name: f.p_value for f in report.features})
    return np.array(flags), np.array(dataset), pvals


def _agree(a: float, n_a: int, b: float, n_b: int) -> None:
    p = (a * n_a + b * n_b) / (n_a + n_b)
    se = math.sqrt(max(p * (1 - p), 1e-4) * (1 / n_a + 1 / n_b))
    assert abs(a - b) <= 4 * se + 1e-9, (a, b, se)


def test_fixed_threshold_false_flags_match_the_engine_loop():
    frame = _diabetes()
    plans = _plans(frame, "wasserstein_normed", 0.2)
    rules = (RulePlan("data", "dataset_drift"), RulePlan("feat", "feature_drift"))
    plan = Plan(plans, rules, ROWS, budget_runs=720, drift_share=0.2, fresh=False)
    out = simulate(frame, plan, windows=4000, seed=3, delays=False)
    flags, dataset, _ = _brute(frame, plans, 0.2)
    by_name = {f["name"]: f for f in out["features"]}
    for i, f in enumerate(plans):
        _agree(by_name[f.name]["per_window"], 4000, float(flags[:, i].mean()), BRUTE)
    data = out["rules"][0]["subjects"][0]["per_window"]
    _agree(data, 4000, float(dataset.mean()), BRUTE)
    assert 0.02 < data < 0.98  # the comparison is not vacuous
    assert sum(by_name[n]["per_window"] for n in by_name) > 0.1
    # per 30 days at hourly runs: (1 - q) q new alerts per run, 720 runs
    q = data
    assert out["rules"][0]["per_30d"] == pytest.approx(720 * (1 - q) * q)
    # as the scheduler: a correction applies to auto features only; fixed ones: drift share
    holm = simulate(frame, replace(plan, correction="holm"), windows=4000, seed=3, delays=False)
    assert holm["rules"][0]["subjects"][0]["per_window"] == data


def test_holm_dataset_decision_matches_the_engine_loop():
    """Auto p-value tests (`method: ks`, threshold auto): Holm over their own p-values at
    the family alpha (no prediction: alpha·k_in/k = alpha), as `auto_verdict.apply_auto`."""
    frame = _diabetes()
    plans = _plans(frame, "ks", None, auto=True)
    plan = Plan(plans, (RulePlan("data", "dataset_drift"),), ROWS, budget_runs=20,
                correction="holm", alpha=0.2, fresh=False)  # fmt: skip
    out = simulate(frame, plan, windows=3000, seed=5, delays=False)
    _, _, pvals = _brute(frame, plans, 0.5, seed=12)
    brute = np.mean([correct(p, "holm", 0.2).any_rejected for p in pvals])
    sim = out["rules"][0]["subjects"][0]["per_window"]
    _agree(sim, 3000, float(brute), BRUTE)
    assert 0.02 < sim < 0.5


def test_statistics_equal_the_engine_draw_by_draw():
    frame = load_wine(as_frame=True).frame.drop(columns=["target"]).iloc[:, :5]
    plans = tuple(FeaturePlan(c, "numeric", "ks") for c in frame.columns)
    plan = Plan(plans, (), ROWS, budget_runs=720, fresh=False)
    run = _Runner(frame, plan, seed=1)
    rows = run.rng.integers(0, len(frame), size=(8, ROWS))
    options = _options(plans, 0.5)
    for j, f in enumerate(plans):
        stat, p, _, _ = run.feature(f, rows)
        for i in range(rows.shape[0]):
            window = frame.iloc[rows[i]].reset_index(drop=True)
            got = compare(frame, window, options).features[j]
            assert stat[i] == pytest.approx(got.statistic, abs=1e-12)
            assert p[i] == pytest.approx(got.p_value, rel=0.02, abs=1e-6)


def test_fresh_windows_alarm_more_than_resampled_ones_and_shifts_are_seen():
    frame = _diabetes()
    plans = _plans(frame, "wasserstein_normed", 0.15)
    rules = (RulePlan("feat", "feature_drift"),)
    kw = {"windows": 2000, "seed": 2}
    fresh = simulate(frame, Plan(plans, rules, 100, 720, fresh=True), **kw)
    drawn = simulate(frame, Plan(plans, rules, 100, 720, fresh=False), delays=False, **kw)
    assert fresh["rules"][0]["per_30d"] > drawn["rules"][0]["per_30d"]
    delays = {(d["feature"], d["shift"]): d["windows"] for d in fresh["delays"]}
    assert set(delays) >= {("bmi", "+0.1σ"), ("bmi", "+0.5σ"), ("sex", "25% mass")}
    assert delays[("bmi", "+0.5σ")] is not None
    assert delays[("bmi", "+0.1σ")] is None or delays[("bmi", "+0.1σ")] >= delays[("bmi", "+0.5σ")]


def test_sequential_rule_is_within_its_design_and_catches_small_shifts():
    frame = load_wine(as_frame=True).frame.drop(columns=["target"])
    plans = tuple(FeaturePlan(c, "numeric", "wasserstein_normed", auto=True) for c in frame)
    plan = Plan(plans, (RulePlan("seq", "sequential_drift"),), 50, budget_runs=720)
    out = simulate(frame, plan, windows=1500, seed=4)
    seq = out["rules"][0]
    assert seq["per_30d"] < 3.0  # design: 1 per 30 days; the guarantee makes it lower
    half = [d for d in out["delays"] if d["shift"] == "+0.5σ"]
    assert all(d["windows"] is not None and d["windows"] < 50 for d in half)


def test_median_delay_is_the_geometric_median_and_counts_consecutive_runs():
    assert median_delay(0.5, 1) == 1
    assert median_delay(0.1, 1) == math.ceil(math.log(0.5) / math.log(0.9))
    assert median_delay(1.0, 3) == 3
    assert median_delay(0.0, 1) is None
    rng = np.random.default_rng(0)
    hits = rng.random((20000, 200)) < 0.3
    run = np.zeros(20000, dtype=int)
    first = np.full(20000, 10**6)
    for t in range(200):
        run = np.where(hits[:, t], run + 1, 0)
        first = np.where((run >= 2) & (first == 10**6), t + 1, first)
    assert median_delay(0.3, 2) == np.median(first)


def test_auto_thresholds_are_the_ones_the_scheduler_judges_by():
    """`monitor calibrate` forecasts with the monitor's auto thresholds: per feature the one
    `auto_verdict.apply_auto` reports for the same null and window size (alpha and the
    guard's delta split over the inputs and the prediction), not an unguarded 1 - alpha/k."""
    frame = load_wine(as_frame=True).frame.drop(columns=["target"]).iloc[:, :5]
    plans = tuple(FeaturePlan(c, "numeric", "wasserstein_normed", auto=True) for c in frame)
    pred = plans[-1].name  # judged on its own, but one of the k the budget is split over
    plan = Plan(plans, (RulePlan("feat", "feature_drift"),), ROWS, budget_runs=720,
                delta=0.05, prediction=pred)  # fmt: skip
    run = _Runner(frame, plan, seed=1)
    assert run.nulls is not None
    options = _options(plans, 0.5)
    report = compare(frame, frame.iloc[:ROWS].reset_index(drop=True), options)
    inputs = tuple(f for f in report.features if f.name != pred)
    prediction = next(f for f in report.features if f.name == pred)
    auto = AutoPlan(methods={f.name: f.method for f in plans}, nulls=run.nulls.features,
                    budget_runs=720, delta=0.05)  # fmt: skip
    judged, judged_pred, _ = apply_auto(
        replace(report, features=inputs), prediction, dict.fromkeys(frame, ROWS), auto
    )
    assert judged_pred is not None
    want = {f.name: f.threshold for f in (*judged.features, judged_pred)}
    got = {f.name: run.threshold(f) for f in plans}
    assert got == pytest.approx(want, rel=1e-12)
    out = simulate(frame, plan, windows=50, seed=1, delays=False)
    assert {f["name"]: f["threshold"] for f in out["features"]} == pytest.approx(want, rel=1e-12)


def test_auto_dataset_decision_matches_apply_auto_on_the_engine_loop():
    """Auto distances (and an auto test): the simulated dataset rate equals that of
    resampled windows compared by the engine and judged by `auto_verdict.apply_auto`
    (guarded p-values, Holm at alpha·k_in/k) with the same nulls."""
    frame = _diabetes()
    plans = _plans(frame, "wasserstein_normed", None, auto=True)
    plan = Plan(plans, (RulePlan("data", "dataset_drift"),), ROWS, budget_runs=4,
                correction="holm", delta=0.05, fresh=False)  # fmt: skip
    out = simulate(frame, plan, windows=3000, seed=5, delays=False)
    nulls = _Runner(frame, plan, seed=5).nulls
    assert nulls is not None
    auto = AutoPlan(methods={f.name: f.method for f in plans}, nulls=nulls.features,
                    budget_runs=4, delta=0.05, correction="holm")  # fmt: skip
    rng, options = np.random.default_rng(13), _options(plans, 0.5)
    decided = []
    for _ in range(BRUTE):
        window = frame.iloc[rng.integers(0, len(frame), ROWS)].reset_index(drop=True)
        report, _, _ = apply_auto(compare(frame, window, options), None,
                                  dict.fromkeys(frame, ROWS), auto)  # fmt: skip
        decided.append(report.dataset_drift)
    sim = out["rules"][0]["subjects"][0]["per_window"]
    _agree(sim, 3000, float(np.mean(decided)), BRUTE)
    assert 0.02 < sim < 0.5
