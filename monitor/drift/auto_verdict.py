"""Auto thresholds applied to one window: per-feature verdicts from the reference's null
quantiles and a dataset decision with multiple-testing control (issue 14, in monitors).

Pure: a compared window (`DriftReport`, the prediction's `FeatureResult`), each feature's
non-missing current count and an `AutoPlan` in; the same results with their verdicts
replaced and what decided them, plus the dataset decision, out.

- The monitor's false-alarm budget B runs (`alarm.expected_run_length` over its cadence)
  gives alpha = 1/B per window, split evenly over the k auto features judged (the inputs and
  the prediction): alpha_f = alpha/k (Bonferroni), so all drift rules of the monitor together
  raise a false alarm in a healthy window with probability at most alpha.
- A feature with a null (a distance): its statistic s at the window's m non-missing values
  is read as a score z = `FeatureNull.z_score(s, m)` (raw p = sf(z), averaged over reference
  draws), then guarded for *this* reference (`alarm_guarantee.conditional_p_value`,
  rho = m/(m + N), delta split over the k features): drifted when the conditional p-value
  is <= alpha_f, i.e. when s reaches `FeatureNull.threshold(m, level)` at
  level = Phi(guaranteed_threshold(alpha_f, delta/k, rho)), the threshold reported.
- A feature judged by a p-value test (configured `method: ks` with `threshold: auto`): its
  p-value against alpha_f, no null and no guard.
- Dataset: the input features' (guarded) p-values adjusted by `correction` (holm | bh |
  none) at alpha_in = alpha·k_in/k; dataset drift when any is rejected. With Holm a dataset
  alarm happens exactly when some input feature drifted (Holm's first step is alpha_f).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scipy import special

from monitor.drift.alarm_guarantee import (
    conditional_p_value,
    guaranteed_threshold,
    reference_share,
)
from monitor.drift.calibration import FeatureNull
from monitor.drift.correction import Correction, correct
from monitor.drift.registry import METHODS
from monitor.drift.result import DriftReport, FeatureResult

__all__ = ["AutoPlan", "apply_auto", "auto_level", "budget_alpha"]

DECIDED_BY = "decided_by"  # the key of FeatureResult.quality that says what decided it


def budget_alpha(budget_runs: float) -> float:
    """Per-window alpha of a budget of one false alarm per `budget_runs` runs (<= 0.5)."""
    return min(0.5, 1.0 / max(float(budget_runs), 1.0))


@dataclass(frozen=True)
class AutoPlan:
    """A monitor's auto features and budget for one window."""

    methods: Mapping[str, str]  # auto feature -> the method it is judged by
    nulls: Mapping[str, FeatureNull] = field(default_factory=dict)
    budget_runs: float = 720.0  # runs per false alarm of this rule: its share of the budget
    delta: float = 0.02
    correction: Correction = "holm"
    budget_share: float = 1.0  # of the monitor's budget (`AlarmSettings.budgets`): payloads

    @property
    def alpha(self) -> float:
        return budget_alpha(self.budget_runs)


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _score_statistic(f: FeatureResult) -> float:
    """The calibrated scale's statistic: a sketch interval's estimate, else the statistic."""
    est = _number(f.stats.get(f"{f.method}_estimate"))
    return est if not math.isnan(est) else _number(f.statistic)


def _with_null(
    f: FeatureResult, null: FeatureNull, m: int, alpha_f: float, delta_f: float
) -> tuple[FeatureResult, float]:
    s = _score_statistic(f)
    rho = reference_share(m, null.reference_rows)
    level = auto_level(alpha_f, delta_f, m, null.reference_rows)
    threshold = null.threshold(m, level)
    decided: dict[str, Any] = {
        "rule": "null_quantile", "method": null.method, "window_size": m,
        "reference_rows": null.reference_rows, "level": level, "threshold": threshold,
        "alpha": alpha_f, "guard": {"delta": delta_f, "rho": rho},
    }  # fmt: skip
    if math.isnan(s):
        return _replaced(f, f.statistic, threshold, False, decided), math.nan
    z = null.z_score(s, m)
    p_raw = float(special.ndtr(-z))
    p_cond = conditional_p_value(z, rho, delta_f)
    decided.update(statistic=s, z=z, p_value=p_raw, p_value_conditional=p_cond)
    quality_extra = {}
    lower, upper = _number(f.stats.get(f.method)), _number(f.stats.get(f"{f.method}_upper"))
    if not math.isnan(upper) and not math.isnan(lower):  # a sketch interval around s
        quality_extra["sketch_undecided"] = (lower >= threshold) != (upper >= threshold)
    out = _replaced(f, s, threshold, p_cond <= alpha_f, decided, **quality_extra)
    return out, p_cond


def _with_test(f: FeatureResult, alpha_f: float) -> tuple[FeatureResult, float]:
    p = _number(f.p_value)
    decided = {"rule": "p_value", "method": f.method, "alpha": alpha_f, "p_value": p,
               "p_value_conditional": p, "threshold": alpha_f}  # fmt: skip
    return _replaced(f, f.statistic, alpha_f, (not math.isnan(p)) and p <= alpha_f, decided), p


def _replaced(
    f: FeatureResult,
    statistic: float,
    threshold: float,
    drifted: bool,
    decided: dict[str, Any],
    **quality: Any,
) -> FeatureResult:
    q = {**f.quality, **quality, DECIDED_BY: decided}
    return replace(f, statistic=statistic, threshold=threshold, drifted=bool(drifted), quality=q)


def _judge(
    f: FeatureResult, plan: AutoPlan, counts: Mapping[str, int], alpha_f: float, delta_f: float
) -> tuple[FeatureResult, float]:
    """One auto feature's verdict and the p-value it brings to the dataset decision."""
    null = plan.nulls.get(f.name)
    m = int(counts.get(f.name, 0))
    if METHODS[f.method].is_p_value:
        return _with_test(f, alpha_f)
    if null is None or null.method != f.method or m < 1:
        reason = "no window values" if m < 1 else "no null calibrated for this feature"
        decided = {"rule": "fixed", "method": f.method, "threshold": f.threshold, "reason": reason}
        return replace(f, quality={**f.quality, DECIDED_BY: decided}), math.nan
    return _with_null(f, null, m, alpha_f, delta_f)


def apply_auto(
    report: DriftReport,
    prediction: FeatureResult | None,
    counts: Mapping[str, int],
    plan: AutoPlan,
) -> tuple[DriftReport, FeatureResult | None, dict[str, Any] | None]:
    """The window judged with auto thresholds; the dataset decision (None: no auto input
    feature, the drift-share rule stands)."""
    judged = [f for f in report.features if f.name in plan.methods]
    with_prediction = prediction is not None and prediction.name in plan.methods
    k = len(judged) + int(with_prediction)
    if k == 0:
        return report, prediction, None
    alpha_f, delta_f = plan.alpha / k, plan.delta / k
    features, p_values = [], {}
    for f in report.features:
        if f.name in plan.methods:
            f, p_values[f.name] = _judge(f, plan, counts, alpha_f, delta_f)
        features.append(f)
    if with_prediction:
        assert prediction is not None
        prediction, _ = _judge(prediction, plan, counts, alpha_f, delta_f)
    share = sum(f.drifted for f in features) / len(features) if features else 0.0
    out = replace(report, features=tuple(features), drift_share=share)
    if not judged:
        return (
            replace(out, dataset_drift=out.drift_share >= out.drift_share_threshold),
            (prediction),
            None,
        )
    alpha_in = plan.alpha * len(judged) / k
    decision, out = _dataset(out, p_values, alpha_in, plan)
    return out, prediction, decision


def _dataset(
    report: DriftReport, p_values: Mapping[str, float], alpha: float, plan: AutoPlan
) -> tuple[dict[str, Any], DriftReport]:
    family = {n: p for n, p in p_values.items() if not math.isnan(p)}
    corrected = correct(family, plan.correction, alpha) if family else None
    adjusted = dict(corrected.adjusted) if corrected else {}
    rejected = list(corrected.rejected) if corrected else []
    features = []
    for f in report.features:
        decided = f.quality.get(DECIDED_BY)
        if f.name in adjusted and isinstance(decided, dict):
            decided = {**decided, "correction": plan.correction, "correction_alpha": alpha,
                       "p_value_corrected": adjusted[f.name], "rejected": f.name in rejected}  # fmt: skip
            f = replace(f, quality={**f.quality, DECIDED_BY: decided})
        features.append(f)
    finite = [p for p in adjusted.values() if not math.isnan(p)]
    decision = {
        "rule": "corrected",
        "correction": plan.correction,
        "alpha": alpha,
        "budget_runs": plan.budget_runs,
        "budget_share": plan.budget_share,
        "family": len(family),
        "rejected": rejected,
        "min_p_value_corrected": min(finite) if finite else None,
    }
    return decision, replace(report, features=tuple(features), dataset_drift=bool(rejected))


def auto_level(alpha_f: float, delta_f: float, m: float, reference_rows: float) -> float:
    """The null quantile level of an auto threshold: Phi of the guarded score threshold
    (`alarm_guarantee.guaranteed_threshold`, rho = m/(m + N)) for a feature judged at
    alpha_f with delta_f of the guard. The scheduler (`_with_null`) and the simulation
    (`monitor.drift.simulate`) both read it, so a forecast judges as the monitor does."""
    rho = reference_share(m, reference_rows)
    return float(special.ndtr(guaranteed_threshold(alpha_f, delta_f, rho)))
