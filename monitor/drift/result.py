"""Typed drift results and their JSON shape (the `monitor drift --json` contract).

JSON has no NaN or infinity: `to_dict` turns every non-finite float into null. A null
`statistic` means the feature's method could not be computed (the reason is in
`quality["error"]`); a null inside `stats` means that statistic is undefined for the data
(e.g. a normed Wasserstein distance from a constant reference to a different current).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from monitor.jsonsafe import json_safe

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class FeatureResult:
    """The verdict and every statistic computed for one feature."""

    name: str
    kind: Kind
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    missing_share_reference: float
    missing_share_current: float
    stats: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "method": self.method,
            "statistic": json_safe(self.statistic),
            "p_value": json_safe(self.p_value),
            "threshold": json_safe(self.threshold),
            "drifted": bool(self.drifted),
            "missing_share_reference": json_safe(self.missing_share_reference),
            "missing_share_current": json_safe(self.missing_share_current),
            "stats": json_safe(self.stats),
            "quality": json_safe(self.quality),
        }


@dataclass(frozen=True)
class DriftReport:
    """Dataset-level verdict: drifted when drift_share >= drift_share_threshold."""

    reference_rows: int
    current_rows: int
    dataset_drift: bool
    drift_share: float
    drift_share_threshold: float
    features: tuple[FeatureResult, ...]
    multivariate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_rows": int(self.reference_rows),
            "current_rows": int(self.current_rows),
            "dataset_drift": bool(self.dataset_drift),
            "drift_share": json_safe(self.drift_share),
            "drift_share_threshold": json_safe(self.drift_share_threshold),
            "multivariate": json_safe(self.multivariate),
            "features": [f.to_dict() for f in self.features],
        }

    def feature(self, name: str) -> FeatureResult:
        """The result for one feature by name (KeyError when absent)."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)
