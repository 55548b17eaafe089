"""What the rules read (`RunFacts`) and answer (`RuleHit`), and a condition's event family."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from monitor.drift.result import FeatureResult
from monitor.settings import RuleSettings
from monitor.verdict import feature_entry

if TYPE_CHECKING:
    from monitor.rules.retraining import RetrainingContext

Family = Literal["drift", "data_quality", "insufficient_data", "performance", "retraining"]

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
    "estimated_performance": "performance",
    "retraining_ineffective": "retraining",  # issue 16: b16-loop
    "estimation_gap": "performance",
    "sequential_drift": "drift",
}


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
    # issue 14: how the dataset decision was made with auto thresholds (correction, alpha,
    # rejected features); None: the drift-share rule decided
    dataset_decision: Mapping[str, Any] | None = None
    reference_performance: Mapping[str, float] | None = None
    labelled_rows: int | None = None  # rows with a label behind `performance`
    # estimated metrics of a window (metric -> {value, lower, upper, sampling_error, ...})
    estimated: Mapping[str, Mapping[str, Any]] | None = None
    estimator: str | None = None  # the method behind `estimated` (cbpe, ac, atc, dle)
    # estimation_gap: the stored window-estimate documents of recent windows, oldest first
    estimate_history: tuple[Mapping[str, Any], ...] | None = None
    kind: Literal["drift", "performance"] = "drift"
    retraining: RetrainingContext | None = None  # the newest deployment's first windows
    baseline: Mapping[str, Any] | None = None  # trailing/seasonal baseline (issue 14 item 4)
    # the sequential rule's CUSUM after this window (monitor.scheduler.sequential.view)
    sequential: Mapping[str, Any] | None = None

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
            feature_entry(
                f.name, f.method, f.statistic, f.p_value, f.threshold, f.quality.get("decided_by")
            )
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


def hit(rule: RuleSettings, subject: str, condition: bool, summary: str, **details: Any) -> RuleHit:
    """A rule's verdict on one subject, its one-line summary first in the details."""
    return RuleHit(rule, subject, bool(condition), {"summary": summary, **details})


def short_name(name: Any, limit: int = 40) -> str:
    """An event-supplied name fit for a one-line summary: printable, bounded, quoted."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(name))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)
