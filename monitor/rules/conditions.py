"""Drift, data-quality and insufficient-data conditions, and `evaluate` (every rule of a run)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.drift.result import FeatureResult
from monitor.rules.estimation_gap import estimation_gap
from monitor.rules.facts import RuleHit, RunFacts, hit, short_name
from monitor.rules.performance import estimated_performance, performance
from monitor.rules.retraining import retraining_ineffective
from monitor.rules.sequential import sequential_drift
from monitor.settings import RuleSettings
from monitor.verdict import at_least, comparison, feature_entry, number

MAX_LISTED_CATEGORIES = 20  # new categories carried in a hit's details
_SHOWN = 3  # new categories named in the one-line summary


def evaluate(rules: Sequence[RuleSettings], facts: RunFacts) -> list[RuleHit]:
    """Every evaluable (rule, subject) of this run; see the module docstring for "no hit"."""
    hits: list[RuleHit] = []
    for rule in rules:
        hits.extend(_evaluate_one(rule, facts))
    return hits


def _evaluate_one(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    if rule.condition == "performance":
        return performance(rule, facts)
    if rule.condition == "estimated_performance":
        return estimated_performance(rule, facts)
    if rule.condition == "estimation_gap":
        return estimation_gap(rule, facts)
    if facts.kind != "drift":
        return []
    if rule.condition == "insufficient_data":
        short = facts.status == "insufficient_data"
        state = "not enough" if short else "enough"
        return [
            hit(
                rule,
                "",
                short,
                f"{facts.current_rows} rows in the window: {state} to compare",
                current_rows=facts.current_rows,
            )
        ]
    if facts.status != "succeeded":
        return []  # no data: hold every drift and data-quality alert as it is
    return _DRIFT[rule.condition](rule, facts)


def _dataset_drift(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    if facts.dataset_drift is None or number(facts.drift_share) is None:
        return []
    threshold = number(facts.drift_share_threshold)
    share_hit = _share_hit(rule, facts, facts.dataset_drift, threshold)
    decision = facts.dataset_decision
    if not decision or decision.get("rule") != "corrected":
        return [share_hit]
    return [_corrected_hit(rule, facts, decision, share_hit)]


def _corrected_hit(
    rule: RuleSettings, facts: RunFacts, decision: Any, share_hit: RuleHit
) -> RuleHit:
    """Auto thresholds: the dataset decision is the corrected p-values' (issue 14)."""
    rejected = [str(n) for n in decision.get("rejected") or []]
    named = ", ".join(short_name(n) for n in rejected[:_SHOWN])
    more = ", ..." if len(rejected) > _SHOWN else ""
    alpha = number(decision.get("alpha"))
    smallest = number(decision.get("min_p_value_corrected"))
    cmp = "n/a" if smallest is None else f"{smallest:.3g}"
    if smallest is not None and alpha is not None:
        cmp += f" {'≤' if smallest <= alpha else '>'} α {alpha:.3g}"
    summary = (
        f"{len(rejected)} of {decision.get('family', 0)} features drifted"
        + (f" ({named}{more})" if rejected else "")
        + f"; {decision.get('correction')} smallest adjusted p {cmp}"
    )
    details = {k: v for k, v in share_hit.details.items() if k != "summary"}
    details["correction"] = {
        "method": decision.get("correction"),
        "alpha": alpha,
        "budget_runs": number(decision.get("budget_runs")),
        "family": decision.get("family"),
        "rejected": rejected,
        "min_p_value_corrected": smallest,
    }
    return hit(rule, "", bool(facts.dataset_drift), summary, **details)


def _threshold(rule: RuleSettings) -> float:
    """The rule's threshold: settings require one for the conditions compared with it."""
    if rule.threshold is None:
        raise ValueError(f"rule {rule.name!r} ({rule.condition}) needs a threshold")
    return rule.threshold


def _drift_share(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    share = number(facts.drift_share)
    if share is None:
        return []
    return [_share_hit(rule, facts, share >= _threshold(rule), rule.threshold)]


def _share_hit(
    rule: RuleSettings, facts: RunFacts, condition: bool, threshold: float | None
) -> RuleHit:
    share = float(facts.drift_share)  # type: ignore[arg-type]
    inputs = facts.input_features()  # the share is over input features, not the prediction
    n = len(inputs)
    drifted = sum(f.drifted for f in inputs)
    cmp = ""
    if threshold is not None:
        cmp = f" (share {share:.2f} {at_least(share >= threshold)} {threshold:.2f})"
    summary = f"{drifted} of {n} features drifted{cmp}"
    return hit(
        rule,
        "",
        condition,
        summary,
        drift_share=share,
        threshold=threshold,
        n_features=n,
        n_drifted=drifted,
    )


def _feature_statistic(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    f = facts.feature(rule.feature or "")
    if f is None or number(f.statistic) is None:
        return []
    holds = f.statistic >= _threshold(rule)
    summary = (
        f"feature {short_name(f.name)}: {f.method} {f.statistic:.4g} "
        f"{at_least(holds)} {rule.threshold:.4g}"
    )
    return [hit(rule, f.name, holds, summary, **_feature_details(f))]


def _selected(rule: RuleSettings, facts: RunFacts) -> tuple[FeatureResult, ...]:
    """A named feature (prediction allowed), else every input feature."""
    if rule.feature:
        f = facts.feature(rule.feature)
        return (f,) if f is not None else ()
    return facts.input_features()


def _feature_drift(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    hits = []
    for f in _selected(rule, facts):
        if number(f.statistic) is None:
            continue  # the method could not be computed: no verdict
        state = "drifted" if f.drifted else "did not drift"
        summary = f"feature {short_name(f.name)} {state} ({_decided(f)})"
        hits.append(hit(rule, f.name, f.drifted, summary, **_feature_details(f)))
    return hits


def _prediction_drift(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    if facts.prediction_feature is None:
        return []
    f = facts.feature(facts.prediction_feature)
    if f is None or number(f.statistic) is None:
        return []
    state = "drifted" if f.drifted else "did not drift"
    summary = f"prediction {state} ({_decided(f)})"
    return [hit(rule, "", f.drifted, summary, **_feature_details(f))]


def _multivariate_drift(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    """The domain classifier's verdict (drift.multivariate); no score, no verdict."""
    mv = facts.multivariate
    if not mv or number(mv.get("score")) is None:
        return []
    state = "separates" if mv["drifted"] else "does not separate"
    summary = (
        f"a classifier {state} reference from current rows "
        f"(ROC AUC {mv['score']:.3f}, threshold {mv['threshold']:.3g})"
    )
    top = [t.get("name") for t in mv.get("top_features", []) if isinstance(t, dict)]
    return [
        hit(rule, "", bool(mv["drifted"]), summary, score=mv["score"],
             threshold=mv["threshold"], top_features=top)
    ]  # fmt: skip


def _missing_share(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    hits = []
    for f in _selected(rule, facts):
        share = number(f.missing_share_current)
        if share is None:
            continue
        holds = share >= _threshold(rule)
        summary = (
            f"feature {short_name(f.name)}: {share:.1%} missing "
            f"({at_least(holds)} {rule.threshold:.1%})"
        )
        hits.append(
            hit(
                rule,
                f.name,
                holds,
                summary,
                missing_share=share,
                missing_share_reference=number(f.missing_share_reference),
                threshold=rule.threshold,
            )
        )
    return hits


def _new_category(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    """New categories: every run states their count and lists the largest by name
    (`new_categories`, share of current values; scheduled runs count them from the stored
    events, `monitor.scheduler.categories`). No count, no verdict. Without a threshold any
    new category fires; with one, their total share must reach it."""
    hits = []
    for f in _selected(rule, facts):
        if f.kind != "categorical" or not f.stats:
            continue
        listed: dict[str, float] = f.stats.get("new_categories") or {}
        if "new_category_count" not in f.stats:
            continue  # unknown count (the reference has more categories than a sketch keeps)
        count = int(f.stats["new_category_count"])
        known_share = number(f.stats.get("new_category_share"))
        share = known_share if known_share is not None else float(sum(listed.values()))
        holds = count > 0 if rule.threshold is None else (count > 0 and share >= _threshold(rule))
        names = list(listed)[:MAX_LISTED_CATEGORIES]
        shown = ", ".join(short_name(n) for n in names[:_SHOWN]) + (
            ", ..." if count > _SHOWN else ""
        )
        summary = (
            f"feature {short_name(f.name)}: {count} new categor{'y' if count == 1 else 'ies'}"
            + (f" ({shown})" if names else "")
            + f", {share:.1%} of values"
        )
        hits.append(
            hit(
                rule,
                f.name,
                holds,
                summary,
                new_category_count=count,
                new_category_share=share,
                new_categories={n: listed[n] for n in names},
                new_categories_listed_max=MAX_LISTED_CATEGORIES,
                threshold=rule.threshold,
            )
        )
    return hits


def _out_of_range_share(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    hits = []
    for f in _selected(rule, facts):
        share = (
            number(f.stats.get("share_outside_reference_range")) if f.kind == "numeric" else None
        )
        if share is None:
            continue
        holds = share >= _threshold(rule)
        summary = (
            f"feature {short_name(f.name)}: {share:.1%} of values outside the reference range "
            f"({at_least(holds)} {rule.threshold:.1%})"
        )
        hits.append(
            hit(rule, f.name, holds, summary, out_of_range_share=share, threshold=rule.threshold)
        )
    return hits


_DRIFT = {
    "dataset_drift": _dataset_drift,
    "drift_share": _drift_share,
    "feature_statistic": _feature_statistic,
    "feature_drift": _feature_drift,
    "prediction_drift": _prediction_drift,
    "multivariate_drift": _multivariate_drift,
    "missing_share": _missing_share,
    "new_category": _new_category,
    "out_of_range_share": _out_of_range_share,
    "retraining_ineffective": retraining_ineffective,  # issue 16 (b16-loop)
    "sequential_drift": sequential_drift,  # issue 14 item 3 (monitor/rules/sequential.py)
}


def _feature_details(f: FeatureResult) -> dict[str, Any]:
    """A feature's entry as payloads list it, keyed "feature", and its verdict."""
    entry = _entry(f)
    return {"feature": entry.pop("name"), **entry, "drifted": bool(f.drifted)}


def _entry(f: FeatureResult) -> dict[str, Any]:
    decided = f.quality.get("decided_by") if isinstance(f.quality, dict) else None
    return feature_entry(f.name, f.method, f.statistic, f.p_value, f.threshold, decided)


def _decided(f: FeatureResult) -> str:
    """ "ks p = 0.0003 < 0.05" (a test) or "psi 0.21 ≥ 0.1" (a distance)."""
    return f"{f.method} {comparison(_entry(f))}"
