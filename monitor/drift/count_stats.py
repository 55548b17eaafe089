"""Statistics on two aligned count vectors (reference r, current c): bins or categories.

Shared by the exact engine (counts from raw data) and the sketch path (counts from merged
sketches), so both give identical numbers for identical counts. Conventions, pinned by tests:

- `proportions` floors each proportion at `floor` (default 1e-4) and does NOT renormalise,
  as Evidently does; PSI uses the floored proportions as they are.
- `jensenshannon` and `kl` are scipy's functions applied to those floored vectors; scipy
  normalises its inputs, so they see the floored vectors rescaled to sum 1.
- `kl` is KL(reference || current) = `scipy.stats.entropy(r, c)` in nats (Evidently's order).
- `hellinger` and `tvd` take no logs and need no floor: by default they use raw proportions.
- Categories (bins) empty on both sides contribute nothing to any statistic except that
  PSI/JS/KL see floor vs floor there, which is zero for PSI and negligible otherwise.

The scipy functions named above are repeated here with `scipy.special` alone (their own
formulas, step for step: the same numbers to the last bit, pinned by tests), because
importing `scipy.stats` and `scipy.spatial` costs a batch CLI run over a second of start-up.
`scipy.special` itself is imported by the first statistic that needs it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from monitor.errors import DriftError

FLOOR = 1e-4
CHI2_P = "asymptotic: chi-square survival function, K-1 degrees of freedom (chi2_contingency)"
Z_P = "asymptotic: two-sided standard normal tail, 2*(1 - Phi(|z|))"


def _check(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(r, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    if r.shape != c.shape or r.ndim != 1:
        raise DriftError(f"count vectors must be aligned 1-d arrays, got {r.shape} and {c.shape}")
    return r, c


def proportions(counts: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """counts / total, each floored at `floor` (not renormalised). Empty counts: DriftError."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if not total > 0:
        raise DriftError("cannot compute proportions of an empty distribution")
    p = counts / total
    return np.maximum(p, floor) if floor > 0 else p


def psi(r: np.ndarray, c: np.ndarray, floor: float = FLOOR) -> float:
    """Population Stability Index: Σ (c − r)·ln(c / r) over floored proportions."""
    r, c = _check(r, c)
    rp, cp = proportions(r, floor), proportions(c, floor)
    return float(np.sum((cp - rp) * np.log(cp / rp)))


def jensenshannon(r: np.ndarray, c: np.ndarray, floor: float = FLOOR) -> float:
    """Jensen–Shannon distance, base 2 (in [0, 1]), of the floored proportions."""
    from scipy.special import rel_entr

    r, c = _check(r, c)
    # scipy.spatial.distance.jensenshannon(p, q, base=2), step for step
    p, q = proportions(r, floor), proportions(c, floor)
    p = p / np.sum(p, axis=0, keepdims=True)
    q = q / np.sum(q, axis=0, keepdims=True)
    m = (p + q) / 2.0
    js = np.sum(rel_entr(p, m), axis=0) + np.sum(rel_entr(q, m), axis=0)
    js /= np.log(2.0)
    return float(np.sqrt(js / 2.0))


def kl(r: np.ndarray, c: np.ndarray, floor: float = FLOOR) -> float:
    """Kullback–Leibler divergence KL(reference || current) in nats, floored proportions.

    `scipy.stats.entropy(p, q)`'s own arithmetic (normalise both, sum `rel_entr`) without
    its array-API wrapper, which costs more than the sum for a few bins.
    """
    from scipy.special import rel_entr

    r, c = _check(r, c)
    p, q = proportions(r, floor), proportions(c, floor)
    return float(np.sum(rel_entr(p / np.sum(p), q / np.sum(q))))


def hellinger(r: np.ndarray, c: np.ndarray, floor: float = 0.0) -> float:
    """Hellinger distance (in [0, 1]): ‖√p − √q‖₂ / √2 of the proportions (no floor needed)."""
    r, c = _check(r, c)
    diff = np.sqrt(proportions(r, floor)) - np.sqrt(proportions(c, floor))
    return float(math.sqrt(float(np.dot(diff, diff)) / 2.0))


def tvd(r: np.ndarray, c: np.ndarray) -> float:
    """Total variation distance: ½ Σ |p − q| of the raw proportions (in [0, 1])."""
    r, c = _check(r, c)
    return float(0.5 * np.sum(np.abs(proportions(r, 0.0) - proportions(c, 0.0))))


def chi2(r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity on the 2×K table, `correction=False`.

    Columns empty on both sides are dropped (their expected count is 0). With one column
    left, the two windows cannot differ: statistic 0, p-value 1 (what scipy returns, dof 0).
    """
    r, c = _check(r, c)
    if not (r.sum() > 0 and c.sum() > 0):
        raise DriftError("chi-square needs at least one value on each side")
    from scipy.special import chdtrc

    keep = (r + c) > 0
    observed = np.vstack([r[keep], c[keep]])
    # scipy.stats.chi2_contingency(observed, correction=False), step for step: expected
    # frequencies from the margins, Pearson's statistic, chi2.sf = chdtrc on K - 1 dof
    expected = (
        np.sum(observed, axis=1, keepdims=True) * np.sum(observed, axis=0, keepdims=True)
    ) / observed.sum()
    dof = expected.size - sum(expected.shape) + expected.ndim - 1
    if dof == 0:
        return 0.0, 1.0
    statistic = np.sum((observed - expected) ** 2 / expected)
    return float(statistic), float(chdtrc(float(dof), statistic))


def z_two_proportion(r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Two-proportion Z-test (pooled) on 2-category counts: (z, two-sided p-value).

    z = (p_r − p_c) / √(P(1−P)(1/n_r + 1/n_c)) with p the share of the first category and
    P the pooled share; z² equals the 2×2 chi-square without correction. When both windows
    hold a single category (P in {0, 1}) they cannot differ: z = 0, p = 1.
    """
    r, c = _check(r, c)
    if r.shape != (2,):
        raise DriftError(f"the two-proportion z-test needs exactly 2 categories, got {r.size}")
    n_r, n_c = r.sum(), c.sum()
    if not (n_r > 0 and n_c > 0):
        raise DriftError("the z-test needs at least one value on each side")
    pooled = (r[0] + c[0]) / (n_r + n_c)
    var = pooled * (1.0 - pooled) * (1.0 / n_r + 1.0 / n_c)
    if var <= 0:
        return 0.0, 1.0
    z = (r[0] / n_r - c[0] / n_c) / math.sqrt(var)
    from scipy.special import ndtr

    return float(z), float(2.0 * ndtr(-abs(z)))  # scipy.stats.norm.sf(|z|) = ndtr(-|z|)


def chisquare_entry(r: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    """The "chisquare" stats entry: `chi2` and how its p-value was computed."""
    s, p = chi2(r, c)
    return {"statistic": s, "p_value": p, "p_value_method": CHI2_P}


def z_entry(r: np.ndarray, c: np.ndarray) -> dict[str, Any] | None:
    """The "z" stats entry (`z_two_proportion`); None unless there are exactly 2 categories."""
    if r.size != 2:
        return None
    s, p = z_two_proportion(r, c)
    return {"statistic": s, "p_value": p, "p_value_method": Z_P}
