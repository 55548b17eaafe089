"""Compare a reference frame with a current frame, column by column, on raw data.

Each column is turned into numpy arrays once (no frame copies), statistics are computed on
sorted arrays (numerics) or category counts (categoricals), and columns are shared among a
few threads (numpy's sorts release the GIL). The verdict for every feature goes through
`registry.decide`, the same path the sketch-based engine uses.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from monitor.drift.categorical import CategoricalReference, counted_stats, factorize, string_counts
from monitor.drift.defaults import default_method
from monitor.drift.frames import infer_kind
from monitor.drift.numeric import NumericReference, finite_sorted, numeric_stats
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.registry import Kind, always, decide, get_method
from monitor.drift.result import DriftReport, FeatureResult
from monitor.errors import InputError

if TYPE_CHECKING:  # pandas is imported by the callers that hold frames, not here
    import pandas as pd

POOL_MIN_VALUES = 2_000_000  # values (rows of both sides × columns) before columns go to threads

__all__ = ["compare", "compare_feature", "decide", "select_columns", "summarize"]


class HasColumns(Protocol):
    """A frame as `select_columns` sees it: its column labels (`columnar` passes files')."""

    @property
    def columns(self) -> Collection[Any]: ...


def select_columns(
    reference: HasColumns,
    current: HasColumns,
    columns: list[str] | None,
    ignore: Iterable[str] = (),
) -> list[str]:
    """The columns to compare; InputError when the two frames do not line up."""
    if columns is None:
        ref_cols, cur_cols = list(reference.columns), set(current.columns)
        only_ref = [c for c in ref_cols if c not in cur_cols]
        only_cur = sorted(map(str, cur_cols - set(ref_cols)))
        if only_ref or only_cur:
            parts = []
            if only_ref:
                parts.append(f"only in reference: {', '.join(map(repr, only_ref))}")
            if only_cur:
                parts.append(f"only in current: {', '.join(map(repr, only_cur))}")
            raise InputError(f"columns differ ({'; '.join(parts)})")
        columns = ref_cols
    else:
        absent = [c for c in columns if c not in reference.columns or c not in current.columns]
        if absent:
            raise InputError(f"column(s) not in both inputs: {', '.join(map(repr, absent))}")
    ignored = set(ignore)
    names = [c for c in columns if str(c) not in ignored]
    if not names:
        raise InputError("no columns left to compare")
    return names


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    options: DriftOptions | None = None,
    columns: list[str] | None = None,
) -> DriftReport:
    """Drift of every selected column of `current` against `reference`, and the dataset verdict."""
    options = options or DriftOptions()
    for side, frame in (("reference", reference), ("current", current)):
        if len(frame) == 0:
            raise InputError(f"the {side} data has no rows")
    names = select_columns(reference, current, columns, options.ignore)
    labels = set(map(str, reference.columns))
    unknown = [n for n in options.per_feature if n not in labels]
    if unknown:
        raise InputError(f"per_feature names unknown column(s): {', '.join(map(repr, unknown))}")

    def one(label) -> FeatureResult:
        return compare_feature(str(label), reference[label], current[label], options)

    if options.workers > 1 and len(names) > 1 and _large(reference, current, len(names)):
        # object columns first: hashing Python strings holds the GIL, so it overlaps with
        # the numeric columns' sorts (which release it) instead of queueing at the end
        order = sorted(range(len(names)), key=lambda i: reference[names[i]].dtype != object)
        with ThreadPoolExecutor(max_workers=min(options.workers, len(names))) as pool:
            done = dict(zip(order, pool.map(one, [names[i] for i in order]), strict=True))
        features = tuple(done[i] for i in range(len(names)))
    else:
        features = tuple(map(one, names))
    return summarize(features, len(reference), len(current), options.drift_share)


def _large(reference: pd.DataFrame, current: pd.DataFrame, n_columns: int) -> bool:
    """Worth a thread pool: below POOL_MIN_VALUES, starting threads (and the cores they
    contend for) costs more than the columns' work (measured: 10k rows × 25 columns takes
    15 ms of CPU on one thread, 25-30 ms on two)."""
    return (len(reference) + len(current)) * n_columns >= POOL_MIN_VALUES


def summarize(
    features: tuple[FeatureResult, ...], reference_rows: int, current_rows: int, drift_share: float
) -> DriftReport:
    """Dataset verdict: drifted when the share of drifted features is >= `drift_share`."""
    share = sum(f.drifted for f in features) / len(features) if features else 0.0
    return DriftReport(
        reference_rows=reference_rows,
        current_rows=current_rows,
        dataset_drift=bool(features) and share >= drift_share,
        drift_share=share,
        drift_share_threshold=drift_share,
        features=features,
    )


def compare_feature(
    name: str, reference: pd.Series, current: pd.Series, options: DriftOptions
) -> FeatureResult:
    """One feature's statistics and verdict (kind inferred unless set in per_feature)."""
    fo = options.per_feature.get(name, FeatureOptions())
    counted = None if fo.kind == "numeric" else _string_columns(reference, current)
    kind = fo.kind or ("categorical" if counted else infer_kind(name, reference, current))
    if kind == "numeric":
        method, stats, quality, (miss_ref, miss_cur) = _numeric(name, reference, current, options)
    else:
        ref_counted, cur_counted = counted or (factorize(reference), factorize(current))
        counts, stats, quality = categorical_feature(ref_counted, cur_counted, options, fo)
        (n_ref, miss_ref), (n_cur, miss_cur) = counts
        method = choose_method(kind, fo, options, n_ref, n_cur, quality["n_categories"])
    missing = (miss_ref / len(reference), miss_cur / len(current))
    return feature_result(name, kind, method, stats, quality, fo, options, missing)


def feature_result(
    name: str,
    kind: Kind,
    method: str,
    stats: dict,
    quality: dict,
    fo: FeatureOptions,
    options: DriftOptions,
    missing: tuple[float, float],
) -> FeatureResult:
    """The verdict from computed statistics (shared by the frame and columnar paths)."""
    threshold = choose_threshold(method, fo, options)
    statistic, p_value = pick_statistic(stats, method, quality)
    return FeatureResult(
        name=name,
        kind=kind,
        method=method,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=decide(method, statistic, p_value, threshold, options.methods),
        missing_share_reference=missing[0],
        missing_share_current=missing[1],
        stats=stats,
        quality=quality,
    )


def choose_method(
    kind: Kind, fo: FeatureOptions, options: DriftOptions, n_ref: int, n_cur: int, n_categories: int
) -> str:
    """The feature's method: its own, else the global one if it fits the kind, else the default."""
    methods = options.methods
    if fo.method is not None:
        get_method(fo.method, kind, methods)  # a per-feature method must fit the feature
        return fo.method
    if options.method is not None and kind in get_method(options.method, None, methods).kinds:
        return options.method
    return default_method(kind, n_ref, n_cur, n_categories, options.small_sample, methods)


def choose_threshold(method: str, fo: FeatureOptions, options: DriftOptions) -> float:
    if fo.threshold is not None:
        return float(fo.threshold)
    if options.threshold is not None and fo.method is None and method == options.method:
        return float(options.threshold)
    return get_method(method, None, options.methods).default_threshold


def pick_statistic(stats: dict, method: str, quality: dict) -> tuple[float, float | None]:
    """(statistic, p_value) of `method` from the computed stats; NaN when it was not computable."""
    value = stats.get(method)
    if isinstance(value, dict):
        p = value["p_value"]
        return float(value["statistic"]), None if p is None else float(p)
    if value is not None:
        return float(value), None
    if "error" not in quality:
        quality["error"] = f"{method} is not defined for this feature"
    return math.nan, None


def wanted_stats(
    kind: Kind, options: DriftOptions, fo: FeatureOptions, method: str | None = None
) -> frozenset[str]:
    """The methods to compute for a feature: those computed `always` for its kind, the
    `extra` ones and the chosen ones (per feature, global, the verdict's) that fit the kind."""
    methods = options.methods
    names = (*options.extra, fo.method, options.method, method)
    chosen = {m for m in names if m and kind in get_method(m, None, methods).kinds}
    return always(kind, methods) | chosen


def _numeric(name: str, reference: pd.Series, current: pd.Series, options: DriftOptions):
    """(method, stats, quality, missing counts): the method is known before any statistic."""
    fo = options.per_feature.get(name, FeatureOptions())
    method, stats, quality, counts = numeric_feature(
        _floats(name, reference), _floats(name, current), options, fo
    )
    (_, miss_ref), (_, miss_cur) = counts
    return method, stats, quality, (miss_ref, miss_cur)


def numeric_feature(
    reference: np.ndarray, current: np.ndarray, options: DriftOptions, fo: FeatureOptions
) -> tuple[str, dict, dict, tuple[tuple[int, int], tuple[int, int]]]:
    """(method, stats, quality, ((finite, missing) per side)) of two float arrays: the
    numeric statistics shared by the frame and columnar paths."""
    ref, ref_nan, ref_inf = finite_sorted(reference)
    cur, cur_nan, cur_inf = finite_sorted(current)
    quality: dict[str, Any] = {"inf_count_reference": ref_inf, "inf_count_current": cur_inf}
    stats: dict[str, Any] = {}
    method = choose_method("numeric", fo, options, ref.size, cur.size, 0)
    if ref.size and cur.size:
        fitted = NumericReference.fit(ref, options.bins)
        if fitted.std == 0:
            quality["constant_reference"] = True
        wanted = wanted_stats("numeric", options, fo, method)
        stats = numeric_stats(fitted, cur, wanted, quality, options.methods)
    else:
        quality["error"] = empty_side(ref.size, cur.size)
    return method, stats, quality, ((ref.size, ref_nan + ref_inf), (cur.size, cur_nan + cur_inf))


def _string_columns(reference: pd.Series, current: pd.Series) -> tuple | None:
    """Both sides' category counts when both are object columns of strings (else None).

    The common categorical input: counting first and judging the kind on the distinct
    values skips `infer_kind`'s scans of every row, and each side is hashed only once.
    """
    ref = string_counts(reference)
    if ref is None or len(ref[1]) == 0:
        return None
    cur = string_counts(current)
    return None if cur is None else (ref, cur)


def categorical_feature(
    reference: tuple, current: tuple, options: DriftOptions, fo: FeatureOptions
) -> tuple[tuple[tuple[int, int], tuple[int, int]], dict[str, Any], dict[str, Any]]:
    """(((non-missing, missing) per side), stats, quality) from both sides' `factorize`
    output (counts, categories, missing): shared by the frame and columnar paths."""
    fitted, ref_missing = CategoricalReference.from_counts(*reference[:2]), reference[2]
    n_ref = int(fitted.counts.sum())
    wanted = wanted_stats("categorical", options, fo)
    stats, cur_missing, n_cur, n_categories = counted_stats(
        fitted, current, wanted, options.methods
    )
    quality: dict[str, Any] = {"n_categories": n_categories}
    if not (n_ref and n_cur):
        quality["error"] = empty_side(n_ref, n_cur)
    return ((n_ref, ref_missing), (n_cur, cur_missing)), stats, quality


def empty_side(n_ref: int, n_cur: int) -> str:
    sides = [s for s, n in (("reference", n_ref), ("current", n_cur)) if n == 0]
    return f"no non-missing values in the {' and '.join(sides)}"


def _floats(name: str, values: pd.Series) -> np.ndarray:
    try:
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError(
            f"column {name!r} is set as numeric but holds non-numeric values"
        ) from None
