"""A feature's null against a moving baseline: a predictive t on the baseline windows' values.

Against a trailing or seasonal baseline (docs/drift.md, "Baselines") the null of a window's
statistic is not the reference's bootstrap null: it is "how far a window of recent traffic
strays from the traffic before it". The baseline's own windows give a sample of that: each
window's statistic against its own baseline (`baseline_spread.against_own`, kept from its
run by `scheduler.baseline_verdict`), or, for a window without one, against the rest of
the baseline (leave-one-out, `baseline_spread.leave_out`).

Model: on the square-root scale x = sqrt(statistic) the distances (Wasserstein/std,
Jensen–Shannon, Hellinger, TVD, KS' D) are roughly normal (they are norms of a CDF or
frequency difference, chi-like; the square root makes the right skew mild), so with the n
finite sample values' mean x̄ and standard deviation s (ddof 1) the next healthy window's x
follows the predictive Student t: x̄ + s·sqrt(1 + 1/n)·t_{n-1} (the normal model with
unknown mean and variance; e.g. Geisser, "Predictive Inference", 1993, ch. 2). Its tail
p-value P(X >= x_obs) and quantiles replace the reference null's, so the window is judged
through the same verdict path (`auto_verdict.apply_auto`: Bonferroni level per feature,
guard, Holm/BH over the features).

What it does not do: the sample values are computed at the baseline windows' sizes, not at
the current window's (no size interpolation: windows of one slot of a trailing/seasonal
baseline are of similar size, quiet nights excepted), and they are not independent (each
window is in every other window's rest); the predictive t's heavier tail at small n is the
only allowance for having estimated the spread.

Pure: numbers in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from monitor.drift.calibration import FeatureNull
from monitor.drift.registry import Kind
from monitor.errors import DriftError

__all__ = ["MIN_SAMPLE", "BaselineNull", "predictive_t"]

MIN_SAMPLE = 3  # finite leave-one-out values needed (t with >= 2 degrees of freedom)


def predictive_t(sample: Sequence[float] | np.ndarray) -> tuple[float, float, int]:
    """(location, scale, degrees of freedom) of the predictive t of one more draw from the
    normal that produced `sample` (finite values): x̄, s·sqrt(1 + 1/n), n - 1."""
    x = np.asarray(sample, dtype=np.float64)
    n = len(x)
    if n < 2:
        raise DriftError(f"a predictive t needs at least 2 values, got {n}")
    return float(x.mean()), float(x.std(ddof=1) * math.sqrt(1.0 + 1.0 / n)), n - 1


@dataclass(frozen=True)
class BaselineNull(FeatureNull):
    """A `FeatureNull` whose scores come from the baseline's leave-one-out sample.

    `reference_rows` is the baseline's non-missing row count (the verdict's guard reads it);
    the size grid of the reference null is empty: the window size m is not used.
    """

    location: float = 0.0  # on the sqrt scale
    scale: float = 1.0
    df: int = 1
    windows: int = 0  # finite leave-one-out values behind it

    @classmethod
    def from_sample(
        cls, name: str, kind: Kind, method: str, statistics: Sequence[float], rows: int
    ) -> BaselineNull | None:
        """The null of a feature's leave-one-out `statistics` (NaNs dropped); None when
        fewer than MIN_SAMPLE are finite or they do not vary (no spread to scale by)."""
        raw = np.asarray(statistics, dtype=np.float64)
        finite = raw[np.isfinite(raw)]
        if len(finite) < MIN_SAMPLE or rows < 1:
            return None
        location, scale, df = predictive_t(np.sqrt(np.maximum(finite, 0.0)))
        if not scale > 0:
            return None
        return cls(
            name, kind, method, int(rows), "chunks", (), (), (), (),
            location=location, scale=scale, df=df, windows=len(finite),
        )  # fmt: skip

    def quantiles_at(self, m: float) -> np.ndarray:
        raise DriftError("a baseline null has no window-size grid")

    def _t(self, statistics: np.ndarray) -> np.ndarray:
        return (np.sqrt(np.maximum(statistics, 0.0)) - self.location) / self.scale

    def p_values(self, statistics: np.ndarray) -> np.ndarray:
        """P(X >= x) under the predictive t for each statistic (NaN in, NaN out)."""
        raw = np.asarray(statistics, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            p = special.stdtr(self.df, -self._t(raw))
        return np.where(np.isnan(raw), math.nan, p)

    def z_scores(self, statistics: np.ndarray, m: float = 0.0) -> np.ndarray:
        """Standard-normal scores of the predictive tail probabilities (inf when p is 0)."""
        p = self.p_values(statistics)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(-special.ndtri(p), dtype=np.float64)

    def z_score(self, statistic: float, m: float = 0.0) -> float:
        if statistic is None or math.isnan(statistic):
            return math.nan
        return float(self.z_scores(np.array([statistic]))[0])

    def p_value(self, statistic: float, m: float = 0.0) -> float:
        if statistic is None or math.isnan(statistic):
            return math.nan
        return float(self.p_values(np.array([statistic]))[0])

    def threshold(self, m: float, level: float) -> float:
        """The statistic at the predictive t's `level` quantile (native scale)."""
        root = self.location + self.scale * float(special.stdtrit(self.df, level))
        return max(root, 0.0) ** 2

    def describe(self) -> dict[str, Any]:
        """What a payload says about the null (JSON-safe)."""
        return {
            "null": "baseline_leave_one_out",
            "model": "predictive_t_on_sqrt",
            "windows": self.windows,
            "df": self.df,
            "location": self.location,
            "scale": self.scale,
        }
