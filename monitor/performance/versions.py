"""Champion and challenger: two model versions' realised performance on the same window.

Pure (numpy/scipy); `storage/version_reads.py` loads each version's labelled rows.

Design. Shadow traffic scores the same request with both versions: the two predictions carry
the same `event_id` (and one label joins both, labels key on model + event_id). Rows of A and
B sharing an event id are **paired**; with any pair the comparison uses the pairs only
(`design="paired"`), otherwise (split traffic: each request scored by one version) all rows
of each side (`design="unpaired"`). `design` can also be forced.

Tests, on the difference B − A:
- classification accuracy, paired: McNemar's test on the discordant pairs (b = A right B
  wrong, c = A wrong B right): exact binomial when b + c < 25, else the chi-square statistic
  with continuity correction; the same numbers as statsmodels'
  `contingency_tables.mcnemar(table, exact=b + c < 25)`.
- classification accuracy, unpaired: the pooled two-proportion z-test (statsmodels'
  `proportions_ztest`).
- every metric (accuracy, and F1 of the positive class for binary tasks; MAE and RMSE for
  regression): a percentile bootstrap interval of B − A, resampling pairs (paired) or each
  side independently (unpaired), `resamples` draws from a fixed seed, so one window always
  gives the same interval.

Predicted classes follow the performance metrics (`classification.py`): a row with
probabilities but no class gets `p >= 0.5` (binary) or the arg-max; both versions share one
class space, so the positive class is the same for both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
from scipy import stats

from monitor.performance.class_space import align_proba, class_space, derived_predictions, encode
from monitor.performance.columns import to_column, unify
from monitor.performance.compute import TaskKind, infer_task

Design = Literal["paired", "unpaired"]
EXACT_BELOW = 25  # discordant pairs below which McNemar's test is the exact binomial
RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 20260516
_CHUNK_CELLS = 4_000_000  # resampled values held at once
MAX_DISTINCT_ROWS = 256  # up to this many distinct rows: multinomial counts, not indices


@dataclass(frozen=True)
class VersionRows:
    """The labelled rows of one model version in one window (object arrays of raw JSON
    values; `proba` as `performance.labelled.proba_arrays` builds it)."""

    version: str
    event_ids: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    proba_classes: tuple[str, ...] | None = None
    predictions: int = 0  # every prediction of the version in the window, labelled or not


@dataclass(frozen=True)
class TestResult:
    """A significance test of the accuracy difference."""

    name: Literal["mcnemar_exact", "mcnemar_chi2", "two_proportion_z"]
    statistic: float | None
    p_value: float | None
    discordant: tuple[int, int] | None = None  # (A right B wrong, A wrong B right)


@dataclass(frozen=True)
class MetricDiff:
    """One metric of A and B, their difference B − A and its bootstrap interval."""

    metric: str
    a: float | None
    b: float | None
    diff: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class VersionComparison:
    version_a: str
    version_b: str
    design: Design
    task: TaskKind | None
    rows_a: int  # labelled rows with a prediction used for A (pairs when paired)
    rows_b: int
    pairs: int  # event ids scored by both versions (0 unpaired)
    test: TestResult | None
    metrics: tuple[MetricDiff, ...] = ()
    confidence: float = CONFIDENCE
    resamples: int = RESAMPLES
    reason: str | None = None  # why there is no test or metric
    predictions: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict[str, Any]:
        test = self.test
        return {
            "version_a": self.version_a,
            "version_b": self.version_b,
            "design": self.design,
            "task": self.task,
            "predictions_a": self.predictions[0],
            "predictions_b": self.predictions[1],
            "rows_a": self.rows_a,
            "rows_b": self.rows_b,
            "pairs": self.pairs,
            "test": None if test is None else asdict(test),
            "metrics": [asdict(m) for m in self.metrics],
            "confidence": self.confidence,
            "resamples": self.resamples,
            "reason": self.reason,
        }


# Metrics as functions of the column means of per-row indicator/error columns.
_Metric = Callable[[Mapping[str, np.ndarray]], np.ndarray]
_Cols = Mapping[str, np.ndarray]  # per-row columns of one version


def _f1(m: Mapping[str, np.ndarray]) -> np.ndarray:
    den = 2 * m["tp"] + m["fp"] + m["fn"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2 * m["tp"] / np.where(den > 0, den, 1), np.nan)


CLASSIFICATION: dict[str, _Metric] = {"accuracy": lambda m: m["correct"]}
BINARY: dict[str, _Metric] = {**CLASSIFICATION, "f1": _f1}
REGRESSION: dict[str, _Metric] = {
    "mae": lambda m: m["abs_err"],
    "rmse": lambda m: np.sqrt(m["sq_err"]),
}


@dataclass(frozen=True)
class RowOutcomes:
    """Per-row columns of one version (the usable rows only) and their event ids."""

    event_ids: np.ndarray
    columns: dict[str, np.ndarray]


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> TestResult:
    """McNemar's test on paired correctness (module docstring)."""
    b = int((correct_a & ~correct_b).sum())
    c = int((~correct_a & correct_b).sum())
    if b + c < EXACT_BELOW:
        p = min(1.0, 2.0 * float(stats.binom.cdf(min(b, c), b + c, 0.5)))
        return TestResult("mcnemar_exact", float(min(b, c)), p, (b, c))
    statistic = (abs(b - c) - 1.0) ** 2 / (b + c)
    return TestResult("mcnemar_chi2", statistic, float(stats.chi2.sf(statistic, 1)), (b, c))


def two_proportion_z(right_a: int, n_a: int, right_b: int, n_b: int) -> TestResult:
    """Pooled two-proportion z-test of accuracy A vs B (statistic sign: A − B, as
    statsmodels' `proportions_ztest([right_a, right_b], [n_a, n_b])`)."""
    pooled = (right_a + right_b) / (n_a + n_b)
    se = float(np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b)))
    if se == 0.0:
        return TestResult("two_proportion_z", None, None)
    z = (right_a / n_a - right_b / n_b) / se
    return TestResult("two_proportion_z", z, float(2 * stats.norm.sf(abs(z))))


def compare_versions(
    a: VersionRows,
    b: VersionRows,
    *,
    design: Design | None = None,
    task: TaskKind | None = None,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> VersionComparison:
    """Compare the realised performance of B against A (module docstring)."""
    base = VersionComparison(
        version_a=a.version, version_b=b.version, design=design or "unpaired", task=task,
        rows_a=len(a.y_true), rows_b=len(b.y_true), pairs=0, test=None,
        confidence=confidence, resamples=resamples, predictions=(a.predictions, b.predictions),
    )  # fmt: skip
    if len(a.y_true) == 0 or len(b.y_true) == 0:
        empty = a.version if len(a.y_true) == 0 else b.version
        return replace(base, reason=f"no labelled rows of version {empty}")
    task = task or infer_task(
        np.concatenate([a.y_true, b.y_true]),
        np.concatenate([a.y_pred, b.y_pred]),
        joint_proba(a, b)[0],
    )
    out_a, out_b, metrics = row_outcomes(a, b, task)
    pa, pb = pair_index(out_a.event_ids, out_b.event_ids)
    chosen: Design = design or ("paired" if len(pa) else "unpaired")
    rng = np.random.default_rng(seed)
    if chosen == "paired":
        ca = {k: v[pa] for k, v in out_a.columns.items()}
        cb = {k: v[pb] for k, v in out_b.columns.items()}
    else:
        ca, cb = out_a.columns, out_b.columns
    n_a, n_b = _rows(ca), _rows(cb)
    if n_a == 0 or n_b == 0:
        reason = "no pairs" if chosen == "paired" else "no rows with a prediction"
        return replace(
            base, design=chosen, task=task, rows_a=n_a, rows_b=n_b, pairs=len(pa), reason=reason
        )
    test = _accuracy_test(chosen, ca, cb) if task == "classification" else None
    boot = _bootstrap(chosen, ca, cb, rng, resamples) if resamples > 0 else None
    diffs = tuple(_metric_diff(name, fn, ca, cb, boot, confidence) for name, fn in metrics.items())
    return replace(
        base, design=chosen, task=task, rows_a=n_a, rows_b=n_b, pairs=len(pa), test=test,
        metrics=diffs,
    )  # fmt: skip


def _accuracy_test(design: Design, ca: _Cols, cb: _Cols) -> TestResult:
    """McNemar on paired rows, else the two-proportion z-test (classification only)."""
    ra, rb = ca["correct"] > 0, cb["correct"] > 0
    if design == "paired":
        return mcnemar(ra, rb)
    return two_proportion_z(int(ra.sum()), len(ra), int(rb.sum()), len(rb))


def _bootstrap(
    design: Design, ca: _Cols, cb: _Cols, rng: np.random.Generator, resamples: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Column means of A and B per resample: pairs drawn together, else each side on its
    own (A's draws first)."""
    if design == "paired":
        ba, bb = bootstrap_means([ca, cb], rng, resamples)
        return ba, bb
    return bootstrap_means([ca], rng, resamples)[0], bootstrap_means([cb], rng, resamples)[0]


def _rows(columns: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(columns.values())))


def pair_index(ids_a: np.ndarray, ids_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into A, into B) of the event ids present in both, first occurrence of each."""
    first_b: dict[str, int] = {}
    for i, x in enumerate(ids_b.tolist()):
        first_b.setdefault(x, i)
    seen: set[str] = set()
    ia: list[int] = []
    ib: list[int] = []
    for i, x in enumerate(ids_a.tolist()):
        if x in first_b and x not in seen:
            seen.add(x)
            ia.append(i)
            ib.append(first_b[x])
    return np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)


def row_outcomes(
    a: VersionRows, b: VersionRows, task: TaskKind
) -> tuple[RowOutcomes, RowOutcomes, dict[str, _Metric]]:
    """Per-row columns of A and B on one shared class space (or errors for regression), and
    the metrics they give."""
    n_a = len(a.y_true)
    t, p = unify(
        to_column(np.concatenate([a.y_true, b.y_true])),
        to_column(np.concatenate([a.y_pred, b.y_pred])),
    )
    ids = np.asarray([*a.event_ids, *b.event_ids], dtype=object)
    if task == "regression":
        usable = t.valid & p.valid
        err = p.values.astype(np.float64) - t.values.astype(np.float64)
        cols = {"abs_err": np.abs(err), "sq_err": err * err}
        metrics = REGRESSION
    else:
        pr, keys = joint_proba(a, b)
        space = class_space(t, p, pr, keys, None, None, {})
        aligned = align_proba(space.proba, space.prob_keys, space.values, space.pos_idx, len(t))
        has_proba = aligned.valid if aligned.valid is not None else np.zeros(len(t), bool)
        usable = t.valid & (p.valid | has_proba)
        ti = encode(t.values, space.values)
        pi = encode(np.where(p.valid, p.values, t.values), space.values)
        derive = ~p.valid & usable
        if derive.any():
            pi[derive] = derived_predictions(aligned, lambda x: x, derive, space.pos_idx)
        cols = {"correct": (ti == pi).astype(np.float64)}
        metrics = CLASSIFICATION
        if space.binary and space.pos_idx is not None:
            pt, pp = ti == space.pos_idx, pi == space.pos_idx
            cols |= {"tp": pt & pp, "fp": ~pt & pp, "fn": pt & ~pp}
            cols = {k: v.astype(np.float64) for k, v in cols.items()}
            metrics = BINARY

    def side(sl: slice) -> RowOutcomes:
        keep = usable[sl]
        return RowOutcomes(ids[sl][keep], {k: v[sl][keep] for k, v in cols.items()})

    return side(slice(0, n_a)), side(slice(n_a, None)), metrics


def joint_proba(a: VersionRows, b: VersionRows) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
    """Both versions' probabilities stacked (NaN rows for a side without any); None when one
    side has scalars and the other objects (then classes come from `prediction` only)."""
    na, nb = len(a.y_true), len(b.y_true)
    if a.proba is None and b.proba is None:
        return None, None
    dims = {x.proba.ndim for x in (a, b) if x.proba is not None}
    if len(dims) > 1:
        return None, None
    if dims == {1}:
        parts = [
            x.proba if x.proba is not None else np.full(n, np.nan) for x, n in ((a, na), (b, nb))
        ]
        return np.concatenate(parts), None
    keys = tuple(sorted({k for x in (a, b) for k in (x.proba_classes or ())}))
    out = np.full((na + nb, len(keys)), np.nan)
    for x, lo, n in ((a, 0, na), (b, na, nb)):
        if x.proba is not None and x.proba_classes is not None:
            cols = [keys.index(k) for k in x.proba_classes]
            out[lo : lo + n] = 0.0
            out[lo : lo + n, cols] = x.proba
    return out, keys


def bootstrap_means(
    sides: list[Mapping[str, np.ndarray]], rng: np.random.Generator, resamples: int
) -> list[dict[str, np.ndarray]]:
    """Each side's column means over `resamples` resamples of the rows, drawn with
    replacement; the sides share their rows (one resample of pairs) when given together.

    Rows take few distinct values for classification (0/1 indicators): then the counts of each
    distinct row in a resample are drawn at once (multinomial, the same distribution as
    drawing rows); otherwise rows are drawn by index, in chunks of bounded memory."""
    names = [(i, k) for i, cols in enumerate(sides) for k in cols]
    matrix = np.column_stack([sides[i][k] for i, k in names]).astype(np.float64)
    n = len(matrix)
    values, inverse = np.unique(matrix, axis=0, return_inverse=True)
    if len(values) <= MAX_DISTINCT_ROWS:
        freq = np.bincount(inverse.ravel(), minlength=len(values)) / n
        means = rng.multinomial(n, freq, size=resamples) @ values / n
    else:
        chunk = max(1, _CHUNK_CELLS // n)
        parts = []
        for lo in range(0, resamples, chunk):
            r = min(chunk, resamples - lo)  # r resamples: how often each row was drawn, at once
            idx = rng.integers(0, n, size=(r, n)) + n * np.arange(r)[:, None]
            counts = np.bincount(idx.ravel(), minlength=r * n).reshape(r, n)
            parts.append(counts @ matrix / n)
        means = np.concatenate(parts)
    out: list[dict[str, np.ndarray]] = [{} for _ in sides]
    for j, (i, k) in enumerate(names):
        out[i][k] = means[:, j]
    return out


def _metric_diff(
    name: str,
    fn: _Metric,
    ca: Mapping[str, np.ndarray],
    cb: Mapping[str, np.ndarray],
    boot: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None,
    confidence: float,
) -> MetricDiff:
    va = _finite(fn({k: np.asarray(v.mean()) for k, v in ca.items()}))
    vb = _finite(fn({k: np.asarray(v.mean()) for k, v in cb.items()}))
    diff = None if va is None or vb is None else vb - va
    low = high = None
    if diff is not None and boot is not None:
        draws = fn(boot[1]) - fn(boot[0])
        draws = draws[np.isfinite(draws)]
        if len(draws):
            tail = (1 - confidence) / 2
            lo, hi = np.quantile(draws, [tail, 1 - tail])
            low, high = float(lo), float(hi)
    return MetricDiff(name, va, vb, diff, low, high)


def _finite(x: np.ndarray) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


__all__ = [
    "CONFIDENCE",
    "EXACT_BELOW",
    "RESAMPLES",
    "Design",
    "MetricDiff",
    "RowOutcomes",
    "TestResult",
    "VersionComparison",
    "VersionRows",
    "bootstrap_means",
    "compare_versions",
    "joint_proba",
    "mcnemar",
    "pair_index",
    "row_outcomes",
    "two_proportion_z",
]
