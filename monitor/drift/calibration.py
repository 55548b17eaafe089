"""Null thresholds learned from the reference: how large a statistic gets with no drift.

For each feature and statistic, windows of m rows are drawn from the reference and compared
with the *full* reference by the engine's own definitions; the quantiles of the statistic
over the draws are stored for a grid of window sizes (`SIZES`). A window's statistic is then
read as a null tail probability (`FeatureNull.p_value`) or a standard-normal score
(`FeatureNull.z_score`) that the correction and the sequential rule share.

Choices (see docs/drift.md, "Thresholds learned from the reference"):

- Draws: `mode="bootstrap"` (default) takes m rows *with* replacement from the whole
  reference: O(m) per draw at any reference size, and the windows of an iid stream are iid.
  `mode="chunks"` takes m *consecutive* rows at random offsets, for a time-ordered reference
  whose autocorrelation must show in the null (sizes above a quarter of the reference are
  left out: too few distinct chunks).
- A fresh window compared with a fixed reference of N rows varies by F(1-F)(1/m + 1/N) at
  each point of the CDF; a bootstrap draw varies by F(1-F)/m and a chunk (no replacement)
  by F(1-F)(1/m)(N-m)/(N-1). Quantiles are stored as drawn and multiplied at query time by
  the ratio of standard deviations (`inflation`): first order for statistics linear in the
  CDF difference (KS, Wasserstein, JS, Hellinger, TVD); PSI and KL are quadratic and are
  calibrated on their square root.
- Window sizes: these statistics shrink like m^-1/2. From the 3 largest calibrated sizes
  on (500 with the default grid) and beyond the grid, the quantiles are their pooled
  sqrt(size)-scaled values over sqrt(m) (1,000 draws instead of the top size's 200: the
  0.99 quantile of 200 draws was 9% low on a discrete column); below, log(quantile) is
  interpolated linearly in log(m) and scaled by m^-1/2 under the smallest size. Extending
  the end segment's per-level slopes broke discrete columns at 5,000-row windows
  (bench/RESULTS.md, alarms run 4).
- Above the highest stored level (0.99) the quantile is extended by a log-linear tail in
  the exceedance probability (log P(S >= s) linear in s, fitted on the levels >= 0.9): an
  exponential tail, at least as heavy as the Gaussian-like tails of these statistics (sup
  or norm of an asymptotically Gaussian process), so the extension errs on the safe side.

Binned statistics use the engine's reference-quantile bins (`monitor.drift.quantile_edges`)
and are drawn as multinomial counts of the reference's bin proportions (exact for the
bootstrap); Wasserstein and KS are computed exactly against the full sorted reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from monitor.drift.binning import bin_counts, quantile_edges
from monitor.drift.frames import infer_kind
from monitor.drift.nullstats import binned_many, ks_many, tie_bounds, wasserstein_many
from monitor.drift.registry import Kind
from monitor.errors import DriftError

SIZES = (50, 100, 200, 500, 1000, 2000)
MAX_ROWS = 50_000  # bootstrap draws come from (and compare with) a sample of this many values
LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.99)
AUTO_METHOD: dict[Kind, str] = {"numeric": "wasserstein_normed", "categorical": "jensenshannon"}
NUMERIC_METHODS = ("wasserstein_normed", "ks", "psi", "jensenshannon", "hellinger", "kl")
CATEGORICAL_METHODS = ("jensenshannon", "psi", "hellinger", "kl", "tvd")
POOLED = 3  # largest calibrated sizes pooled on the m^-1/2 scale (`quantiles_at`)
QUADRATIC = frozenset({"psi", "kl"})  # calibrated on sqrt(statistic)
Mode = Literal["bootstrap", "chunks"]

__all__ = ["AUTO_METHOD", "LEVELS", "SIZES", "FeatureNull", "NullCalibration", "calibrate"]


def inflation(m: float, n_reference: int, mode: Mode) -> float:
    """sd(fresh window vs fixed reference) / sd(draw from that reference vs itself)."""
    n = float(n_reference)
    target = 1.0 / m + 1.0 / n
    drawn = 1.0 / m if mode == "bootstrap" else (1.0 / m) * max(n - m, 1.0) / max(n - 1.0, 1.0)
    return math.sqrt(target / drawn)


@dataclass(frozen=True)
class FeatureNull:
    """One feature's null quantiles of one statistic, per window size (raw draws)."""

    name: str
    kind: Kind
    method: str
    reference_rows: int  # non-missing reference values (N)
    mode: Mode
    sizes: tuple[int, ...]
    levels: tuple[float, ...]
    quantiles: tuple[tuple[float, ...], ...]  # [size][level], on the calibrated scale
    draws: tuple[int, ...]

    @property
    def transform(self) -> str:
        return "sqrt" if self.method in QUADRATIC else "identity"

    def _scale(self, statistic: float) -> float:
        return math.sqrt(max(statistic, 0.0)) if self.transform == "sqrt" else statistic

    def quantiles_at(self, m: float) -> np.ndarray:
        """Null quantiles (calibrated scale, inflated for a fresh window) at window size m.

        From the `POOLED` largest sizes on, the statistics are in their m^-1/2 regime: their
        quantiles times sqrt(size), averaged weighted by draws, are divided by sqrt(m) (also
        beyond the grid). Below, log(quantile) is linear in log(m) between grid points, and
        scaled by m^-1/2 under the smallest. Extending the end segment's per-level slopes
        instead broke discrete columns at 5,000-row windows (slopes of noisy quantiles, 200
        draws at 2,000 rows, crossed; bench/RESULTS.md, alarms run 4)."""
        if not m >= 1:
            raise DriftError(f"window size must be at least 1, got {m!r}")
        sizes = np.asarray(self.sizes, dtype=np.float64)
        q = np.asarray(self.quantiles, dtype=np.float64)
        k = min(POOLED, len(sizes))
        w = np.asarray(self.draws[-k:], dtype=np.float64)[:, None]
        pooled = (w * q[-k:] * np.sqrt(sizes[-k:])[:, None]).sum(axis=0) / w.sum()
        if m >= sizes[-k]:
            out = pooled / math.sqrt(m)
        elif m <= sizes[0]:
            out = q[0] * math.sqrt(sizes[0] / m)
        else:
            logs = np.log(sizes[: len(sizes) - k + 1])
            grid = np.vstack([q[: len(sizes) - k], pooled / math.sqrt(sizes[-k])])
            lq = np.log(np.maximum(grid, 1e-300))
            x = math.log(m)
            i = int(np.clip(np.searchsorted(logs, x) - 1, 0, len(logs) - 2))
            t = (x - logs[i]) / (logs[i + 1] - logs[i])
            out = np.exp(lq[i] + t * (lq[i + 1] - lq[i]))
        out = np.maximum.accumulate(out)
        return out * inflation(m, self.reference_rows, self.mode)

    def _curve(self, m: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Quantiles, their normal scores, and the tail's slope b: above the top level,
        log P(S >= s) = log(1 - top) + b (s - q_top), b < 0 fitted on the levels >= 0.9
        (a log-linear tail in the exceedance probability; -inf: no tail, all mass below)."""
        qs, levels = self.quantiles_at(m), np.asarray(self.levels)
        zs = stats.norm.ppf(levels)
        upper = levels >= 0.9
        dq = qs[upper] - qs[-1]
        dl = np.log1p(-levels[upper]) - math.log1p(-levels[-1])
        denom = float(np.dot(dq, dq))
        slope = float(np.dot(dq, dl)) / denom if denom > 0 else 0.0
        if not slope < 0 and qs[-1] > qs[0]:
            slope = float((math.log1p(-levels[-1]) - math.log1p(-levels[0])) / (qs[-1] - qs[0]))
        return qs, zs, slope if slope < 0 else -math.inf

    def _tail_z(self, s: np.ndarray, q_top: float, slope: float) -> np.ndarray:
        log_p = math.log1p(-self.levels[-1]) + slope * (s - q_top)
        with np.errstate(invalid="ignore"):
            return -special.ndtri(np.exp(np.where(s > q_top, log_p, 0.0)))

    def z_score(self, statistic: float, m: float) -> float:
        """Standard-normal score of `statistic` under the null at window size m (NaN in, NaN out)."""
        if statistic is None or math.isnan(statistic):
            return math.nan
        return float(self.z_scores(np.asarray([statistic], dtype=np.float64), m)[0])

    def z_scores(self, statistics: np.ndarray, m: float) -> np.ndarray:
        """`z_score` for many statistics at one window size (the curve is computed once)."""
        raw = np.asarray(statistics, dtype=np.float64)
        s = np.sqrt(np.maximum(raw, 0.0)) if self.transform == "sqrt" else raw
        qs, zs, slope = self._curve(m)
        ok = np.concatenate(([True], np.diff(qs) > 0))  # ties (discrete stats): first level
        inside = np.interp(s, qs[ok], zs[ok])
        above = self._tail_z(s, float(qs[-1]), slope) if slope > -math.inf else math.inf
        out = np.where(s <= qs[-1], inside, above)
        return np.where(np.isnan(raw), math.nan, out)

    def p_value(self, statistic: float, m: float) -> float:
        """Null tail probability P(statistic >= observed) at window size m."""
        z = self.z_score(statistic, m)
        return math.nan if math.isnan(z) else float(stats.norm.sf(z))

    def threshold(self, m: float, level: float) -> float:
        """The statistic's null quantile at `level` for window size m (native scale)."""
        qs, zs, slope = self._curve(m)
        top = self.levels[-1]
        if level <= top or slope == -math.inf:
            value = float(np.interp(float(stats.norm.ppf(level)), zs, qs))
        else:
            value = float(qs[-1] + (math.log1p(-level) - math.log1p(-top)) / slope)
        return value * value if self.transform == "sqrt" else value


@dataclass(frozen=True)
class NullCalibration:
    """Every calibrated feature; `to_dict`/`from_dict` give plain JSON for storage."""

    features: Mapping[str, FeatureNull]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "features": {k: asdict(f) for k, f in self.features.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NullCalibration:
        try:
            feats = {}
            for key, raw in data["features"].items():
                f = FeatureNull(
                    **{
                        **raw,
                        "sizes": tuple(int(s) for s in raw["sizes"]),
                        "levels": tuple(float(v) for v in raw["levels"]),
                        "quantiles": tuple(tuple(float(v) for v in r) for r in raw["quantiles"]),
                        "draws": tuple(int(d) for d in raw["draws"]),
                    }
                )
                if len(f.quantiles) != len(f.sizes) or any(
                    len(r) != len(f.levels) for r in f.quantiles
                ):
                    raise DriftError(f"feature {f.name!r}: quantiles do not match sizes/levels")
                feats[str(key)] = f
            return cls(features=feats, seed=int(data["seed"]))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise DriftError(f"stored null calibration is malformed: {exc}") from None


def _column_kind(name: str, values: pd.Series) -> Kind:
    if values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype):
        return "categorical"
    if values.dtype == bool:
        return "categorical"
    return infer_kind(name, values, values)


def _draw_counts(
    counts: np.ndarray, codes: np.ndarray | None, m: int, b: int, mode: Mode, rng
) -> np.ndarray:
    """(b, k) window counts: multinomial for the bootstrap, consecutive rows for chunks."""
    if mode == "bootstrap":
        return rng.multinomial(m, counts / counts.sum(), size=b)
    if codes is None:
        raise DriftError("chunks need the column's codes")
    k = counts.size
    cum = np.zeros((codes.size + 1, k), dtype=np.int32)
    np.cumsum(np.eye(k, dtype=np.int32)[codes], axis=0, out=cum[1:])
    start = rng.integers(0, codes.size - m + 1, size=b)
    return (cum[start + m] - cum[start]).astype(np.int64)


def _draw_values(
    values: np.ndarray, ordered: np.ndarray, m: int, b: int, mode: Mode, rng
) -> tuple[np.ndarray, np.ndarray | None]:
    """(b, m) sorted draws and, for the bootstrap, their positions in `ordered`."""
    if mode == "bootstrap":
        idx = rng.integers(0, ordered.size, size=(b, m))
        idx.sort(axis=1)
        return ordered[idx], idx
    start = rng.integers(0, values.size - m + 1, size=b)
    out = values[start[:, None] + np.arange(m)]
    out.sort(axis=1)
    return out, None


def _n_draws(m: int, draws: int, budget: int) -> int:
    return int(max(200, min(draws, budget // m)))


@dataclass
class _Prepared:
    """A column's reference side, computed once for all window sizes."""

    values: np.ndarray
    ordered: np.ndarray | None = None
    ties: tuple | None = None
    counts: np.ndarray | None = None
    codes: np.ndarray | None = None

    @classmethod
    def of(cls, values: np.ndarray, kind: Kind, methods: tuple[str, ...], bins: int):
        out = cls(values)
        if kind == "categorical":
            codes, _ = pd.factorize(values)
            out.codes, out.counts = codes, np.bincount(codes).astype(np.int64)
            return out
        if set(methods) & {"wasserstein_normed", "ks"}:
            out.ordered = np.sort(values)
            out.ties = tie_bounds(out.ordered)
        if set(methods) - {"wasserstein_normed", "ks"}:
            edges = quantile_edges(values, bins)
            out.codes = np.searchsorted(edges, values, side="left")
            out.counts = bin_counts(values, edges)
        return out


def _feature_stats(
    prep: _Prepared, methods: tuple[str, ...], m: int, b: int, mode: Mode, rng
) -> dict[str, np.ndarray]:
    """Each method's statistic over b null draws of size m (raw, calibrated scale)."""
    out: dict[str, np.ndarray] = {}
    if prep.ordered is not None:
        d, idx = _draw_values(prep.values, prep.ordered, m, b, mode, rng)
        pos = None if idx is None else (idx, prep.ties)
        if "wasserstein_normed" in methods:
            out["wasserstein_normed"] = wasserstein_many(prep.ordered, d, pos)
        if "ks" in methods:
            out["ks"] = ks_many(prep.ordered, d, pos)
    rest = tuple(x for x in methods if x not in ("wasserstein_normed", "ks"))
    if rest:
        if prep.counts is None:
            raise DriftError(f"no bin counts prepared for {rest}")
        drawn = _draw_counts(prep.counts, prep.codes, m, b, mode, rng)
        out.update(binned_many(prep.counts, drawn, rest))
    return {k: np.sqrt(np.maximum(v, 0.0)) if k in QUADRATIC else v for k, v in out.items()}


def calibrate(
    reference: pd.DataFrame,
    methods: Mapping[str, tuple[str, ...]] | None = None,
    kinds: Mapping[str, Kind] | None = None,
    sizes: tuple[int, ...] = SIZES,
    draws: int = 500,
    budget: int = 300_000,
    mode: Mode = "bootstrap",
    seed: int = 0,
    bins: int = 10,
    max_rows: int = MAX_ROWS,
) -> NullCalibration:
    """Null quantiles for every column of `reference` (methods default to `AUTO_METHOD`).

    `draws` windows per size, fewer (at least 200) where draws·m exceeds `budget` values.
    Bootstrap draws of a numeric column longer than `max_rows` come from, and are compared
    with, a random sample of `max_rows` of its values: the null distribution of a
    bootstrap window against its own source depends on the source's shape, which a 50,000
    value sample carries (KS within ~0.006), not on its length; the length N enters through
    `inflation`. Chunks are always drawn from and compared with the full column (order
    matters there). Columns with no non-missing value raise DriftError.
    """
    if mode not in ("bootstrap", "chunks"):
        raise DriftError(f"mode must be bootstrap or chunks, got {mode!r}")
    if not sizes or any(int(s) < 2 for s in sizes):
        raise DriftError("sizes must be window sizes of at least 2 rows")
    rng = np.random.default_rng(seed)
    kinds, methods = kinds or {}, methods or {}
    features: dict[str, FeatureNull] = {}
    for label in reference.columns:
        name = str(label)
        column = reference[label]
        kind = kinds.get(name) or _column_kind(name, column)
        wanted = tuple(methods.get(name, (AUTO_METHOD[kind],)))
        valid = NUMERIC_METHODS if kind == "numeric" else CATEGORICAL_METHODS
        bad = [x for x in wanted if x not in valid]
        if bad:
            raise DriftError(f"feature {name!r}: cannot calibrate {bad} for {kind}")
        values = _present(name, column, kind)
        n_ref = int(values.size)
        if mode == "bootstrap" and kind == "numeric" and values.size > max_rows:
            values = values[rng.choice(values.size, max_rows, replace=False)]
        usable = [int(s) for s in sorted(sizes) if mode == "bootstrap" or s <= n_ref // 4]
        if not usable:
            raise DriftError(f"feature {name!r}: reference too short for chunks of {min(sizes)}")
        prep = _Prepared.of(values, kind, wanted, bins)
        per: dict[str, list] = {x: [] for x in wanted}
        n_draws = []
        for m in usable:
            b = _n_draws(m, draws, budget)
            n_draws.append(b)
            for x, v in _feature_stats(prep, wanted, m, b, mode, rng).items():
                per[x].append(tuple(float(q) for q in np.quantile(v, LEVELS)))
        for x in wanted:
            key = name if len(wanted) == 1 else f"{name}:{x}"
            features[key] = FeatureNull(
                name, kind, x, n_ref, mode, tuple(usable), LEVELS, tuple(per[x]),
                tuple(n_draws),
            )  # fmt: skip
    return NullCalibration(features=features, seed=seed)


def _present(name: str, column: pd.Series, kind: Kind) -> np.ndarray:
    if kind == "numeric":
        try:
            arr = column.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise DriftError(f"column {name!r} is numeric but holds non-numeric values") from None
        arr = arr[np.isfinite(arr)]
    else:
        arr = column[column.notna()].to_numpy()
    if arr.size == 0:
        raise DriftError(f"column {name!r} has no non-missing reference value")
    return arr
