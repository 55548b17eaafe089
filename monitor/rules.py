"""Alert rules evaluated on one finished run: which (rule, subject) conditions hold.

Pure: a `RunFacts` in, `RuleHit`s out; storage and the lifecycle live in `monitor.alerts`.

Three outcomes per (rule, subject), because "no data" must not look like "all clear":
- a hit with condition True: the condition holds this run;
- a hit with condition False: it was evaluated and does not hold (an open alert resolves);
- no hit at all: it could not be evaluated (insufficient data, a statistic that was not
  computable, a metric without enough labels): an open alert keeps its state.
Per-feature rules therefore return one hit per evaluated feature, True or False. When a rule
returns hits but none for a subject that has an open alert (the feature left the run),
`monitor.alerts.apply_run` treats that subject as False.

Performance rules: `threshold` is an absolute bound, `max_drop` a bound relative to the
reference's value of the same metric; either being crossed fires. For higher-is-better
metrics (accuracy, f1, roc_auc, ...) the condition is value < threshold or
value < reference - max_drop; for lower-is-better ones (`LOWER_IS_BETTER`: log_loss, mae,
rmse, mape, ece, ...) it is value > threshold or value > reference + max_drop. The
boundary itself does not fire. Fewer than `min_rows` labelled rows: no verdict.
Drift and data-quality conditions use >= (the threshold itself fires).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from monitor.drift.result import FeatureResult
from monitor.settings import RuleSettings
from monitor.verdict import at_least, comparison, feature_entry, number, threshold_on

Family = Literal["drift", "data_quality", "insufficient_data", "performance"]

_FAMILY: dict[str, Family] = {
    "dataset_drift": "drift",
    "drift_share": "drift",
    "feature_statistic": "drift",
    "feature_drift": "drift",
    "prediction_drift": "drift",
    "multivariate_drift": "drift",
    "missing_share": "data_quality",
    "new_category": "data_quality",
    "out_of_range_share": "data_quality",
    "insufficient_data": "insufficient_data",
    "performance": "performance",
}

LOWER_IS_BETTER = frozenset(
    {"log_loss", "brier", "brier_score", "mae", "mse", "rmse", "mape", "smape", "ece", "mce"}
)
MAX_LISTED_CATEGORIES = 20  # new categories carried in a hit's details
_SHOWN = 3  # new categories named in the one-line summary


@dataclass(frozen=True)
class RunFacts:
    """What the alert rules may look at for one finished run (built by the scheduler).

    `kind` says which rules the run can judge: a "drift" run feeds drift, data-quality and
    insufficient-data rules (and performance rules when `performance` is given); a
    "performance" run feeds only performance rules. `run_id` is a drift_runs id or None.
    """

    monitor: str
    model: str
    model_version: str | None
    run_id: int | None
    window_start: datetime
    window_end: datetime
    status: Literal["succeeded", "insufficient_data"]
    dataset_drift: bool | None = None
    drift_share: float | None = None
    drift_share_threshold: float | None = None
    features: tuple[FeatureResult, ...] = ()
    prediction_feature: str | None = None  # name of the prediction's entry in `features`
    current_rows: int = 0
    reference_rows: int = 0
    report_url: str | None = None
    performance: Mapping[str, float] | None = None
    multivariate: Mapping[str, Any] | None = None  # domain-classifier result, when enabled
    reference_performance: Mapping[str, float] | None = None
    labelled_rows: int | None = None  # rows with a label behind `performance`
    kind: Literal["drift", "performance"] = "drift"

    def feature(self, name: str) -> FeatureResult | None:
        for f in self.features:
            if f.name == name:
                return f
        return None

    def input_features(self) -> tuple[FeatureResult, ...]:
        """The model's input features (the prediction's entry left out)."""
        return tuple(f for f in self.features if f.name != self.prediction_feature)

    def drifted_features(self) -> list[dict[str, Any]]:
        """Every drifted feature (prediction included), as the notification payload lists
        them: what decided each (`monitor.verdict.feature_entry`)."""
        return [
            feature_entry(f.name, f.method, f.statistic, f.p_value, f.threshold)
            for f in self.features
            if f.drifted
        ]


@dataclass(frozen=True)
class RuleHit:
    """One evaluated (rule, subject): whether the condition holds, and what was seen.

    `details` is JSON-safe; it always has a one-line "summary" and, for performance rules,
    "performance": {"metric", "value", "reference", "threshold"}.
    """

    rule: RuleSettings
    subject: str
    condition: bool
    details: dict[str, Any] = field(default_factory=dict)


def event_family(condition: str) -> Family:
    """The notification event family of a rule condition ("drift" -> "drift.detected")."""
    return _FAMILY[condition]


def evaluate(rules: Sequence[RuleSettings], facts: RunFacts) -> list[RuleHit]:
    """Every evaluable (rule, subject) of this run; see the module docstring for "no hit"."""
    hits: list[RuleHit] = []
    for rule in rules:
        hits.extend(_evaluate_one(rule, facts))
    return hits


def _evaluate_one(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    if rule.condition == "performance":
        return _performance(rule, facts)
    if facts.kind != "drift":
        return []
    if rule.condition == "insufficient_data":
        short = facts.status == "insufficient_data"
        state = "not enough" if short else "enough"
        return [
            _hit(
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


def _hit(
    rule: RuleSettings, subject: str, condition: bool, summary: str, **details: Any
) -> RuleHit:
    return RuleHit(rule, subject, bool(condition), {"summary": summary, **details})


def _dataset_drift(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    if facts.dataset_drift is None or number(facts.drift_share) is None:
        return []
    threshold = number(facts.drift_share_threshold)
    return [_share_hit(rule, facts, facts.dataset_drift, threshold)]


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
    return _hit(
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
        f"feature {_short(f.name)}: {f.method} {f.statistic:.4g} "
        f"{at_least(holds)} {rule.threshold:.4g}"
    )
    return [_hit(rule, f.name, holds, summary, **_feature_details(f))]


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
        summary = f"feature {_short(f.name)} {state} ({_decided(f)})"
        hits.append(_hit(rule, f.name, f.drifted, summary, **_feature_details(f)))
    return hits


def _prediction_drift(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
    if facts.prediction_feature is None:
        return []
    f = facts.feature(facts.prediction_feature)
    if f is None or number(f.statistic) is None:
        return []
    state = "drifted" if f.drifted else "did not drift"
    summary = f"prediction {state} ({_decided(f)})"
    return [_hit(rule, "", f.drifted, summary, **_feature_details(f))]


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
        _hit(rule, "", bool(mv["drifted"]), summary, score=mv["score"],
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
            f"feature {_short(f.name)}: {share:.1%} missing "
            f"({at_least(holds)} {rule.threshold:.1%})"
        )
        hits.append(
            _hit(
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
        shown = ", ".join(_short(n) for n in names[:_SHOWN]) + (", ..." if count > _SHOWN else "")
        summary = (
            f"feature {_short(f.name)}: {count} new categor{'y' if count == 1 else 'ies'}"
            + (f" ({shown})" if names else "")
            + f", {share:.1%} of values"
        )
        hits.append(
            _hit(
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
            f"feature {_short(f.name)}: {share:.1%} of values outside the reference range "
            f"({at_least(holds)} {rule.threshold:.1%})"
        )
        hits.append(
            _hit(rule, f.name, holds, summary, out_of_range_share=share, threshold=rule.threshold)
        )
    return hits


def lower_is_better(metric: str) -> bool:
    return metric.lower() in LOWER_IS_BETTER


def _performance(rule: RuleSettings, facts: RunFacts) -> list[RuleHit]:
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
    return [_hit(rule, "", holds, summary, performance=perf, labelled_rows=facts.labelled_rows)]


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
}


def _feature_details(f: FeatureResult) -> dict[str, Any]:
    return {
        "feature": f.name,
        "method": f.method,
        "statistic": number(f.statistic),
        "p_value": number(f.p_value),
        "threshold": number(f.threshold),
        "threshold_on": threshold_on(f.method),
        "drifted": bool(f.drifted),
    }


def _decided(f: FeatureResult) -> str:
    """ "ks p = 0.0003 < 0.05" (a test) or "psi 0.21 ≥ 0.1" (a distance)."""
    entry = {"method": f.method, "statistic": f.statistic, "p_value": f.p_value}
    return f"{f.method} {comparison({**entry, 'threshold': f.threshold})}"


def _short(name: Any, limit: int = 40) -> str:
    """An event-supplied name fit for a one-line summary: printable, bounded, quoted."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(name))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)
