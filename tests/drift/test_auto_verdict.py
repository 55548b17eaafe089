"""Auto verdicts of one window: per-feature null quantiles at the window's size and the
dataset decision corrected across features (Holm / BH / none pinned to statsmodels)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special
from sklearn.datasets import load_wine
from statsmodels.stats.multitest import multipletests

from monitor.drift.alarm_guarantee import guaranteed_threshold, reference_share
from monitor.drift.auto_verdict import AutoPlan, apply_auto, budget_alpha
from monitor.drift.calibration import AUTO_METHOD, calibrate
from monitor.drift.config import AUTO_DEFAULT_METHOD
from monitor.drift.engine import summarize
from monitor.drift.result import FeatureResult

P = {"a": 0.011, "b": 0.02, "c": 0.03, "d": 0.045, "e": 0.3}


def _test_feature(name: str, p: float) -> FeatureResult:
    return FeatureResult(name, "numeric", "ks", 0.2, p, 0.05, p < 0.05, 0.0, 0.0)


def _window(correction: str):
    report = summarize(tuple(_test_feature(n, p) for n, p in P.items()), 1000, 200, 0.5)
    plan = AutoPlan(methods=dict.fromkeys(P, "ks"), budget_runs=20, correction=correction)
    return apply_auto(report, None, dict.fromkeys(P, 200), plan)


@pytest.mark.parametrize(
    ("ours", "theirs", "rejected"),
    [("holm", "holm", []), ("bh", "fdr_bh", ["a", "b", "c"]), ("none", None, list("abcd"))],
)
def test_dataset_decision_pinned_to_statsmodels(ours, theirs, rejected) -> None:
    """By hand at alpha 0.05 over 5 features: Holm needs 0.011·5 ≤ 0.05 (no); BH's largest
    k with p(k) ≤ 0.05·k/5 is 3 (0.03 ≤ 0.03; 0.045 > 0.04); uncorrected, four p ≤ 0.05."""
    report, _, decision = _window(ours)
    pvals = np.array(list(P.values()))
    if theirs is None:
        reject, adjusted = pvals <= 0.05, pvals
    else:
        reject, adjusted, _, _ = multipletests(pvals, alpha=0.05, method=theirs)
    assert decision is not None and decision["alpha"] == pytest.approx(0.05)
    assert decision["rejected"] == [n for n, r in zip(P, reject, strict=True) if r] == rejected
    assert report.dataset_drift is bool(rejected)
    for f, want in zip(report.features, adjusted, strict=True):
        got = f.quality["decided_by"]
        assert got["p_value_corrected"] == pytest.approx(want, rel=1e-12)
        assert got["correction"] == ours and got["p_value"] == P[f.name]
        # the feature's own verdict: p ≤ alpha/k (Holm's first step), whatever the correction
        assert f.drifted is (P[f.name] <= 0.05 / 5) and f.threshold == pytest.approx(0.01)
    assert report.drift_share == 0.0


def test_null_verdict_is_the_null_quantile_at_the_window_size() -> None:
    wine = load_wine(as_frame=True).frame
    cal = calibrate(wine[["alcohol", "magnesium"]], seed=0)
    nulls = cal.features
    n_ref, m = nulls["alcohol"].reference_rows, 60
    alpha_f = budget_alpha(720) / 2
    rho = reference_share(m, n_ref)
    level = float(special.ndtr(guaranteed_threshold(alpha_f, 0.01, rho)))
    thresholds = {n: nulls[n].threshold(m, level) for n in nulls}
    stats = {"alcohol": thresholds["alcohol"] * 1.02, "magnesium": thresholds["magnesium"] * 0.98}
    feats = tuple(
        FeatureResult(n, "numeric", "wasserstein_normed", s, None, 0.1, s >= 0.1, 0.0, 0.0)
        for n, s in stats.items()
    )
    plan = AutoPlan(methods=dict.fromkeys(stats, "wasserstein_normed"), nulls=nulls, delta=0.02)
    report, _, decision = apply_auto(summarize(feats, n_ref, m, 0.5), None, {"alcohol": m,
                                     "magnesium": m}, plan)  # fmt: skip
    got = {f.name: f for f in report.features}
    assert got["alcohol"].drifted and not got["magnesium"].drifted
    assert got["alcohol"].threshold == pytest.approx(thresholds["alcohol"], rel=1e-12)
    d = got["alcohol"].quality["decided_by"]
    assert d["window_size"] == m and d["level"] == pytest.approx(level)
    assert d["guard"] == {"delta": 0.01, "rho": pytest.approx(rho)}
    assert d["p_value"] == pytest.approx(nulls["alcohol"].p_value(stats["alcohol"], m))
    assert (
        d["p_value_conditional"]
        <= alpha_f
        < got["magnesium"].quality["decided_by"]["p_value_conditional"]
    )
    # Holm: alcohol at alpha/2, then magnesium (just above alpha/2) at alpha: both rejected,
    # while magnesium's own verdict (alpha/2, Bonferroni) is no drift
    conditional = [got[n].quality["decided_by"]["p_value_conditional"] for n in stats]
    reject = multipletests(conditional, alpha=budget_alpha(720), method="holm")[0]
    assert decision is not None and decision["rejected"] == ["alcohol", "magnesium"]
    assert list(reject) == [True, True] and report.dataset_drift


def test_a_feature_without_a_null_keeps_its_fixed_verdict() -> None:
    f = FeatureResult("x", "numeric", "wasserstein_normed", 0.15, None, 0.1, True, 0.0, 0.0)
    plan = AutoPlan(methods={"x": "wasserstein_normed"})
    report, _, decision = apply_auto(summarize((f,), 100, 100, 0.5), None, {"x": 100}, plan)
    assert report.features[0].drifted and report.features[0].threshold == 0.1
    assert report.features[0].quality["decided_by"]["rule"] == "fixed"
    assert decision is not None and decision["family"] == 0 and not report.dataset_drift


def test_auto_default_methods_agree() -> None:
    assert AUTO_DEFAULT_METHOD == AUTO_METHOD
