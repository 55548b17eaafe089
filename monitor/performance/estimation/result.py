"""What an estimator returns for one window: each metric with its band, JSON-ready."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

from monitor.jsonsafe import json_safe

# The band is a stated-confidence interval: estimate ± z·σ with σ the complete standard error
# (window labels and the reference's own error), z the normal quantile of LEVEL. 95% was chosen
# on held-out benchmark seeds (bench/estimate_bands.py, docs/estimation.md "The band");
# NannyML's ±3σ is 99.7% nominal on a σ that leaves terms out.
LEVEL = 0.95
DEFAULT_Z = NormalDist().inv_cdf(0.5 + LEVEL / 2)  # 1.959963…


@dataclass(frozen=True)
class MetricEstimate:
    """One estimated metric. `sampling_error` is the standard error of the realised value
    around the estimate (window label noise and the reference's calibration noise together);
    `reference_error` is the part that comes from the reference alone. None = undefined."""

    name: str
    value: float | None
    lower: float | None
    upper: float | None
    sampling_error: float | None
    reference_error: float | None
    realised: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


@dataclass(frozen=True)
class WindowEstimate:
    method: str
    task: str
    rows: int
    metrics: dict[str, MetricEstimate]
    per_class: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labelled: int | None = None  # rows with a label among `rows` (None: not counted)

    def to_dict(self) -> dict[str, Any]:
        doc = {
            "method": self.method,
            "task": self.task,
            "rows": self.rows,
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "per_class": self.per_class,
            "notes": self.notes,
        }
        if self.labelled is not None:
            doc["labelled"] = self.labelled
        return json_safe(doc)


def finite(value: Any) -> float | None:
    """A float, or None for missing/NaN/inf: undefined numbers are never reported as numbers."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def metric(
    name: str,
    value: Any,
    total_sd: Any,
    reference_sd: Any,
    z: float,
    *,
    bounds: tuple[float, float | None] = (0.0, 1.0),
    realised: Any = None,
    reason: str | None = None,
) -> MetricEstimate:
    """A MetricEstimate with band value ± z·sd, clipped to the metric's range."""
    v, sd, ref = finite(value), finite(total_sd), finite(reference_sd)
    lower = upper = None
    if v is not None and sd is not None:
        lo, hi = bounds
        lower = max(lo, v - z * sd)
        upper = v + z * sd if hi is None else min(hi, v + z * sd)
    if v is None:
        sd = ref = None
    return MetricEstimate(name, v, lower, upper, sd, ref, finite(realised), reason)
