"""`monitor drift --threshold auto`: null thresholds calibrated on the fly (issue 14).

The batch command has no stored reference, so auto thresholds cost a calibration per call
(`monitor.drift.calibration.calibrate` on the reference file: about a second per 10
features, more for large numeric columns) on top of the comparison. That is why it is asked
for, not the default: the fixed-threshold path keeps issue 12's timings. The verdicts are the
scheduler's (`monitor.drift.auto_verdict`) with the budget stated as a family-wise `alpha`
for this one comparison (default 0.05: an unchanged dataset is reported as drifted with
probability at most 5%), the config's `correction` (default holm) for the dataset decision.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from monitor.drift.auto_verdict import AutoPlan, apply_auto
from monitor.drift.engine import compare
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.registry import METHODS
from monitor.drift.result import DriftReport
from monitor.errors import DriftError
from monitor.reference_nulls import calibrate_nulls

__all__ = ["auto_report"]


def _present(column: pd.Series, kind: str) -> int:
    if kind == "numeric":
        values = pd.to_numeric(column, errors="coerce")
        return int((values.notna() & values.abs().ne(float("inf"))).sum())
    return int(column.notna().sum())


def auto_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    settings: Any,
    options: DriftOptions,
    names: list[str] | None,
    alpha: float,
) -> tuple[DriftReport, dict[str, Any] | None]:
    """The comparison judged with auto thresholds; the dataset decision (None: no auto
    feature). `settings` is the config's `DriftSettings` with `threshold: auto`."""
    if not 0 < alpha < 1:
        raise DriftError(f"--alpha must be in (0, 1), got {alpha!r}")
    first = compare(reference, current, options, names)  # each feature's kind
    methods = {
        f.name: m for f in first.features if (m := settings.auto_method(f.name, f.kind)) is not None
    }
    if not methods:
        return first, None
    per_feature = dict(options.per_feature)
    kinds = {f.name: f.kind for f in first.features}
    for name, method in methods.items():
        per_feature[name] = FeatureOptions(method, None, kinds[name])
    report = compare(
        reference, current, dataclasses.replace(options, per_feature=per_feature), names
    )
    distances = {n: m for n, m in methods.items() if not METHODS[m].is_p_value}
    wanted = {n: (kinds[n], m) for n, m in distances.items()}
    nulls = {f.name: f for f in calibrate_nulls(reference, wanted)}  # as materialisation does
    plan = AutoPlan(
        methods=methods,
        nulls=nulls,
        budget_runs=1.0 / alpha,
        correction=settings.correction,
    )
    counts = {n: _present(current[n], kinds[n]) for n in methods}
    report, _, decision = apply_auto(report, None, counts, plan)
    return report, decision
