"""The `monitor drift` gate: the domain classifier when asked, and the config's rules.

`--fail-on-drift` fails on the rules the config names (any condition the service's rules
know that a batch comparison can judge: dataset_drift, drift_share, feature_drift,
feature_statistic, missing_share, new_category, out_of_range_share, multivariate_drift;
evaluated by `monitor.rules`, as in scheduled runs). Without rules it fails on dataset
drift, and on the classifier's verdict when `multivariate: true`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.cli.drift_config import DriftConfig


@dataclass(frozen=True)
class GateResult:
    """What decided the exit code: the rules' hits (when rules were named) and the verdict."""

    failed: bool
    hits: tuple[Any, ...] = ()  # monitor.rules.RuleHit

    def to_list(self) -> list[dict[str, Any]]:
        from monitor.jsonsafe import json_safe

        return [
            {
                "rule": h.rule.name,
                "condition": h.rule.condition,
                "subject": h.subject,
                "fired": h.condition,
                "summary": h.details.get("summary", ""),
                "details": json_safe({k: v for k, v in h.details.items() if k != "summary"}),
            }
            for h in self.hits
        ]


def with_multivariate(report: Any, config: DriftConfig, ref: Any, cur: Any) -> Any:
    """The report with the domain classifier's result when the config asks for it."""
    if not config.multivariate:
        return report
    from monitor.drift.multivariate import ClassifierOptions, domain_classifier_drift

    settings = config.settings
    options = ClassifierOptions(
        threshold=settings.multivariate_threshold, max_rows_per_side=settings.multivariate_rows
    )
    columns = [f.name for f in report.features]
    kinds = {f.name: f.kind for f in report.features}
    result = domain_classifier_drift(ref, cur, columns, kinds, options)
    return dataclasses.replace(report, multivariate=result)


def judge(report: Any, config: DriftConfig) -> GateResult:
    """Evaluate the config's rules on the report (or the default gate when it names none)."""
    if not config.rules:
        mv = report.multivariate or {}
        return GateResult(bool(report.dataset_drift or mv.get("drifted")))
    from monitor.rules import RunFacts, evaluate

    now = datetime.now(UTC)
    facts = RunFacts(
        monitor=config.monitor or "drift",
        model="",
        model_version=None,
        run_id=None,
        window_start=now,
        window_end=now,
        status="succeeded",
        dataset_drift=report.dataset_drift,
        drift_share=report.drift_share,
        drift_share_threshold=report.drift_share_threshold,
        features=report.features,
        current_rows=report.current_rows,
        reference_rows=report.reference_rows,
        multivariate=report.multivariate,
    )
    hits = tuple(evaluate(config.rules, facts))
    return GateResult(any(h.condition for h in hits), hits)


def gate_lines(report: Any, gate: GateResult) -> list[str]:
    """Table lines after the dataset verdict: the classifier's verdict and the fired rules."""
    lines = []
    mv = report.multivariate
    if mv:
        verdict = "DRIFT" if mv["drifted"] else "no drift"
        lines.append(
            f"multivariate: {verdict} (domain classifier ROC AUC {mv['score']:.3f}, threshold "
            f"{mv['threshold']:.3g}, {mv['z_vs_chance']:.1f} standard errors above chance)"
        )
    for hit in gate.hits:
        if hit.condition:
            lines.append(
                f"rule {_printable(hit.rule.name)} fired: {_printable(hit.details['summary'])}"
            )
    return lines


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)
