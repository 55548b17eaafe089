"""Performance rules: a metric against an absolute bound or the reference minus `max_drop`.

`performance` judges realised metrics (labelled rows); `estimated_performance` judges a
window's estimated metrics (no labels needed) and, with `band: outside`, fires only when the
whole band is past the bound (the band's better end is worse than the bound).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.rules.facts import RuleHit, RunFacts, hit
from monitor.settings import RuleSettings
from monitor.verdict import number

LOWER_IS_BETTER = frozenset(
    {"log_loss", "brier", "brier_score", "mae", "mse", "rmse", "mape", "smape", "ece", "mce"}
)


def lower_is_better(metric: str) -> bool:
    """Is a smaller value of this metric better (losses, errors, calibration)?"""
    return metric.lower() in LOWER_IS_BETTER


def bound_of(rule: RuleSettings, metric: str, reference: float | None) -> float | None:
    """The strictest of the rule's bounds (threshold, reference ± max_drop); None: none."""
    sign = 1.0 if lower_is_better(metric) else -1.0  # +: larger is worse
    bounds: list[float] = []
    if rule.threshold is not None:
        bounds.append(float(rule.threshold))
    if rule.max_drop is not None and reference is not None:
        bounds.append(reference + sign * rule.max_drop)
    if not bounds:
        return None
    return min(bounds) if lower_is_better(metric) else max(bounds)


def worse(metric: str, value: float, bound: float) -> bool:
    """Is `value` past `bound` (the boundary itself is not)?"""
    return value > bound if lower_is_better(metric) else value < bound


def _word(metric: str, holds: bool) -> str:
    if lower_is_better(metric):
        return ">" if holds else "<="
    return "<" if holds else ">="


def performance(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    """The performance condition of one run (one hit, subject "", or none: no verdict)."""
    metric = rule.metric or ""
    if facts.performance is None:
        return []
    value = number(facts.performance.get(metric))
    if value is None:
        return []
    if rule.min_rows is not None and (
        facts.labelled_rows is None or facts.labelled_rows < rule.min_rows
    ):
        return []  # too few labels to judge: hold
    reference = number((facts.reference_performance or {}).get(metric))
    bound = bound_of(rule, metric, reference)
    if bound is None:
        return []  # only max_drop, and no reference value: no verdict
    holds = worse(metric, value, bound)
    summary = f"{metric} {value:.4g} {_word(metric, holds)} {bound:.4g}"
    if reference is not None:
        summary += f" (reference {reference:.4g})"
    if facts.labelled_rows is not None:
        summary += f" on {facts.labelled_rows} labelled rows"
    perf = {"metric": metric, "value": value, "reference": reference, "threshold": bound}
    return [hit(rule, "", holds, summary, performance=perf, labelled_rows=facts.labelled_rows)]


def _judged_value(rule: RuleSettings, metric: str, est: Mapping[str, Any]) -> float | None:
    """The number compared with the bound: the estimate, or with `band: outside` the band's
    better end (the upper end of a higher-is-better metric)."""
    if rule.band != "outside":
        return number(est.get("value"))
    return number(est.get("lower" if lower_is_better(metric) else "upper"))


def estimated_performance(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    """The estimated_performance condition of one window's estimate (one hit or none)."""
    metric = rule.metric or ""
    est = (facts.estimated or {}).get(metric)
    if est is None:
        return []
    value, judged = number(est.get("value")), _judged_value(rule, metric, est)
    if value is None or judged is None:
        return []  # undefined estimate (e.g. ROC AUC of a one-class window): no verdict
    if rule.min_rows is not None and facts.current_rows < rule.min_rows:
        return []
    reference = number((facts.reference_performance or {}).get(metric))
    bound = bound_of(rule, metric, reference)
    if bound is None:
        return []
    holds = worse(metric, judged, bound)
    lower, upper = number(est.get("lower")), number(est.get("upper"))
    band = f" [band {lower:.4g}, {upper:.4g}]" if lower is not None and upper is not None else ""
    what = "band" if rule.band == "outside" else "estimate"
    summary = f"estimated {metric} {value:.4g}{band}: {what} {_word(metric, holds)} {bound:.4g}"
    if reference is not None:
        summary += f" (reference {reference:.4g})"
    summary += f" on {facts.current_rows} predictions"
    perf = {
        "metric": metric,
        "value": value,
        "reference": reference,
        "threshold": bound,
        "estimated": True,
        "method": facts.estimator,
        "band": {
            "lower": lower,
            "upper": upper,
            "sampling_error": number(est.get("sampling_error")),
        },
        "band_rule": rule.band,
    }
    return [hit(rule, "", holds, summary, performance=perf, current_rows=facts.current_rows)]
