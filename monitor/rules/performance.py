"""Performance rules: a metric against an absolute bound or the reference minus `max_drop`."""

from __future__ import annotations

from monitor.rules.facts import RuleHit, RunFacts, hit
from monitor.settings import RuleSettings
from monitor.verdict import number

LOWER_IS_BETTER = frozenset(
    {"log_loss", "brier", "brier_score", "mae", "mse", "rmse", "mape", "smape", "ece", "mce"}
)


def lower_is_better(metric: str) -> bool:
    """Is a smaller value of this metric better (losses, errors, calibration)?"""
    return metric.lower() in LOWER_IS_BETTER


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
    lower = lower_is_better(metric)
    sign = 1.0 if lower else -1.0  # +: larger is worse
    bounds: list[float] = []
    if rule.threshold is not None:
        bounds.append(float(rule.threshold))
    if rule.max_drop is not None and reference is not None:
        bounds.append(reference + sign * rule.max_drop)
    if not bounds:
        return []  # only max_drop, and no reference value: no verdict
    bound = min(bounds) if lower else max(bounds)  # the strictest bound decides
    holds = value > bound if lower else value < bound
    word = ">" if lower else "<"
    if not holds:
        word = "<=" if lower else ">="
    summary = f"{metric} {value:.4g} {word} {bound:.4g}"
    if reference is not None:
        summary += f" (reference {reference:.4g})"
    if facts.labelled_rows is not None:
        summary += f" on {facts.labelled_rows} labelled rows"
    perf = {"metric": metric, "value": value, "reference": reference, "threshold": bound}
    return [hit(rule, "", holds, summary, performance=perf, labelled_rows=facts.labelled_rows)]
