"""Multiple-testing control across a window's features: Holm (FWER) or Benjamini–Hochberg (FDR).

The dataset-level decision "some feature drifted" is made on adjusted p-values, so its error
is stated: with `holm`, the chance that a healthy window flags any feature is at most alpha
(any dependence between features); with `bh`, the expected share of false flags among the
flagged features is at most alpha (features independent or positively dependent, PRDS).
Inputs are p-values from tests or null-calibrated tail probabilities
(`FeatureNull.p_value`). A NaN p-value (statistic not computable) is no evidence: it is
left out of the family and never rejected. Definitions follow
`statsmodels.stats.multitest.multipletests` ("holm", "fdr_bh"), which the tests pin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from monitor.errors import DriftError

Correction = Literal["none", "holm", "bh"]
CORRECTIONS: tuple[str, ...] = ("none", "holm", "bh")

__all__ = ["CORRECTIONS", "Corrected", "adjust", "correct", "per_window_alpha"]


def adjust(p_values: np.ndarray, method: Correction) -> np.ndarray:
    """Adjusted p-values (same order); NaN stays NaN and does not count in the family."""
    if method not in CORRECTIONS:
        raise DriftError(f"unknown correction {method!r}; valid: {', '.join(CORRECTIONS)}")
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise DriftError("p-values must be a 1-d array")
    finite = ~np.isnan(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise DriftError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    q = p[finite]
    n = q.size
    if n == 0 or method == "none":
        out[finite] = q
        return out
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    if method == "holm":
        adj = np.maximum.accumulate((n - np.arange(n)) * ranked)
    else:
        adj = np.minimum.accumulate((n * ranked / np.arange(1, n + 1))[::-1])[::-1]
    adj = np.minimum(adj, 1.0)
    back = np.empty(n)
    back[order] = adj
    out[finite] = back
    return out


@dataclass(frozen=True)
class Corrected:
    """One window's corrected verdict: adjusted p per feature and which are rejected."""

    method: str
    alpha: float
    adjusted: Mapping[str, float]
    rejected: tuple[str, ...]

    @property
    def any_rejected(self) -> bool:
        return bool(self.rejected)


def correct(p_values: Mapping[str, float], method: Correction, alpha: float) -> Corrected:
    """Holm / BH / none over named p-values; a feature is rejected when adjusted p <= alpha."""
    if not 0 < alpha < 1:
        raise DriftError(f"alpha must be in (0, 1), got {alpha!r}")
    names = list(p_values)
    values = np.array([_p(p_values[n]) for n in names], dtype=np.float64)
    adj = adjust(values, method)
    rejected = tuple(n for n, a in zip(names, adj, strict=True) if a <= alpha)
    return Corrected(method, alpha, dict(zip(names, map(float, adj), strict=True)), rejected)


def _p(value: float | None) -> float:
    return math.nan if value is None else float(value)


def per_window_alpha(false_alarms: float, windows: float) -> float:
    """Family-wise alpha per window for a budget of `false_alarms` per `windows` windows.

    E.g. 1 false alarm per 30 days of hourly windows: alpha = 1/720. Exact for the
    expected count when windows are independent given the reference (see docs/drift.md).
    """
    if not (false_alarms > 0 and windows >= 1 and false_alarms < windows):
        raise DriftError("the budget needs 0 < false_alarms < windows")
    return false_alarms / windows
