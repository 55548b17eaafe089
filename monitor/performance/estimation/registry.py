"""The estimators, in one explicit table: name -> task, fit, estimate, metrics.

Like the drift method table (`monitor/drift/registry.py`) the row holds the code, the table
is a plain mapping callers may replace, and nothing registers itself on import. `fit` turns
labelled reference data into a JSON-safe state (numbers and lists only, no pickles), so it can
be stored with a reference version; `estimate` applies a state to one window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from monitor.errors import EstimationError
from monitor.performance.estimation import cbpe, confidence, dle
from monitor.performance.estimation.confusion import BINARY_METRICS, MULTICLASS_METRICS
from monitor.performance.estimation.result import WindowEstimate

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Estimator:
    name: str
    task: Task
    fit: Callable[..., dict[str, Any]]
    estimate: Callable[[dict[str, Any], Any], WindowEstimate]
    metrics: tuple[str, ...]
    description: str


ESTIMATORS: Mapping[str, Estimator] = {
    e.name: e
    for e in (
        Estimator(
            "cbpe",
            "classification",
            cbpe.fit,
            cbpe.estimate,
            tuple(dict.fromkeys(BINARY_METRICS + MULTICLASS_METRICS)),
            "confidence-based performance estimation: expected confusion matrix of "
            "class-wise isotonic-calibrated scores",
        ),
        Estimator(
            "ac",
            "classification",
            confidence.fit_ac,
            confidence.estimate_ac,
            ("accuracy",),
            "average confidence of the predicted class (uncalibrated)",
        ),
        Estimator(
            "atc",
            "classification",
            confidence.fit_atc,
            confidence.estimate_atc,
            ("accuracy",),
            "average thresholded confidence (threshold learnt on the reference)",
        ),
        Estimator(
            "dle",
            "regression",
            dle.fit,
            dle.estimate,
            ("mae", "mse", "rmse"),
            "direct loss estimation: gradient-boosted |error| and error² from features",
        ),
    )
}


def get_estimator(
    name: str, task: Task | None = None, estimators: Mapping[str, Estimator] = ESTIMATORS
) -> Estimator:
    """Look an estimator up by name (and check its task); EstimationError lists valid names."""
    found = estimators.get(name)
    if found is None:
        raise EstimationError(
            f"unknown estimator {name!r}; valid estimators: {', '.join(sorted(estimators))}"
        )
    if task is not None and found.task != task:
        valid = ", ".join(sorted(n for n, e in estimators.items() if e.task == task))
        raise EstimationError(f"estimator {name!r} is not for {task}; valid for {task}: {valid}")
    return found
