"""`compare` for two files, column pair by column pair, on arrays (the batch CLI's path).

Same statistics, verdicts and JSON as `engine.compare` on the frames `read_frame` builds
(a test pins the two to each other), built from the engine's own pieces (`numeric_stats`,
`counted_stats`, the method/threshold choice) but without pandas: each worker reads one
column from each file, computes the feature and drops the arrays, so the process holds at
most `workers` column pairs instead of two whole frames, and never imports pandas.
`compare_files` returns None when a column needs pandas' reading (`columns.Source`
explains which); the caller then takes the frame path.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from monitor.drift import engine
from monitor.drift.columns import Column, Source
from monitor.drift.engine import categorical_feature, choose_method, feature_result, numeric_feature
from monitor.drift.frames import LOW_CARDINALITY, float_kind
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.registry import Kind
from monitor.drift.result import DriftReport, FeatureResult
from monitor.errors import InputError

NUMBERS = frozenset({"int", "float"})


def compare_files(
    reference: Path, current: Path, options: DriftOptions, columns: list[str] | None = None
) -> DriftReport | None:
    """Drift of `current` against `reference` read column by column; None: use the frames."""
    ref, cur = Source(reference), Source(current)
    for source in (ref, cur):
        if columns is not None:
            missing = [c for c in columns if c not in source.names]
            if missing:
                raise InputError(f"{source.path} has no column(s) {', '.join(map(repr, missing))}")
    if ref.has_index or cur.has_index:
        return None
    for side, source in (("reference", ref), ("current", cur)):
        if source.rows == 0:
            raise InputError(f"the {side} data has no rows")
    names = engine.select_columns(_Frame(ref), _Frame(cur), columns, options.ignore)
    unknown = [n for n in options.per_feature if n not in set(ref.names)]
    if unknown:
        raise InputError(f"per_feature names unknown column(s): {', '.join(map(repr, unknown))}")
    if not all(_supported(ref, cur, n, options.per_feature.get(n)) for n in names):
        return None

    def one(name: str) -> FeatureResult:
        return _feature(name, ref.read(name), cur.read(name), options)

    if options.workers > 1 and len(names) > 1:
        with ThreadPoolExecutor(max_workers=min(options.workers, len(names))) as pool:
            features = tuple(pool.map(one, names))
    else:
        features = tuple(map(one, names))
    return engine.summarize(features, ref.rows, cur.rows, options.drift_share)


class _Frame:
    """The `.columns` that `engine.select_columns` looks at."""

    def __init__(self, source: Source) -> None:
        self.columns = source.names


def _supported(ref: Source, cur: Source, name: str, fo: FeatureOptions | None) -> bool:
    """Both sides of a type read here, and the same type family (else: the frame path)."""
    rg, cg = ref.groups[name], cur.groups[name]
    if rg is None or cg is None:
        return False
    if not (rg == cg or {rg, cg} <= NUMBERS):
        return False
    return not (fo is not None and fo.kind == "numeric" and rg not in NUMBERS)


def _kind(ref: Column, cur: Column) -> Kind:
    """`frames.infer_kind`'s rule on arrays: reference first, the current when it is empty."""
    for column in (ref, cur):
        if column.values is None:
            return "categorical"  # strings, bools
        values = column.values
        if values.dtype.kind == "i":
            return "categorical" if np.unique(values).size <= LOW_CARDINALITY else "numeric"
        kind = float_kind(values)
        if kind is not None:
            return kind
    return "categorical"


def _feature(name: str, ref: Column, cur: Column, options: DriftOptions) -> FeatureResult:
    """One feature, as `engine.compare_feature` computes it from the frames' columns."""
    fo = options.per_feature.get(name, FeatureOptions())
    kind = fo.kind or _kind(ref, cur)
    if kind == "numeric":
        _, stats, quality, counts = numeric_feature(ref.values, cur.values, options, fo)  # type: ignore[arg-type]
        n_categories = 0
    else:
        counts, stats, quality = categorical_feature(_counted(ref), _counted(cur), options, fo)
        n_categories = quality["n_categories"]
    (n_ref, miss_ref), (n_cur, miss_cur) = counts
    method = choose_method(kind, fo, options, n_ref, n_cur, n_categories)
    missing = (miss_ref / len(ref), miss_cur / len(cur))
    return feature_result(name, kind, method, stats, quality, fo, options, missing)


def _counted(column: Column) -> tuple[np.ndarray, Categories, int]:
    """(counts per category, categories in order of first appearance, missing count):
    `categorical.factorize`'s output, from codes or from low-cardinality numbers."""
    if column.codes is not None:
        k = len(column.categories or [])
        counts = np.bincount(column.codes + 1, minlength=k + 1)
        return counts[1:].astype(np.int64), Categories(column.categories or []), int(counts[0])
    values = column.values
    assert values is not None  # a column holds codes or values (`columns.to_column`)
    present = np.isfinite(values) if values.dtype.kind == "f" else np.ones(len(values), np.bool_)
    uniq, first, inverse = np.unique(values[present], return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    counts = np.bincount(rank[inverse], minlength=uniq.size).astype(np.int64)
    return counts, Categories(uniq[order].tolist()), int(len(values) - present.sum())


class Categories:
    """The few `pandas.Index` operations `categorical.align` uses, on a list (no pandas)."""

    def __init__(self, values: Sequence[Any] | np.ndarray) -> None:
        self.values = np.empty(len(values), dtype=object)
        self.values[:] = list(values)

    def __len__(self) -> int:
        return self.values.size

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int | np.integer):
            return self.values[key]
        return Categories(self.values[key])

    def get_indexer(self, other: Categories) -> np.ndarray:
        position = {v: i for i, v in enumerate(self.values.tolist())}
        return np.array([position.get(v, -1) for v in other.values.tolist()], dtype=np.intp)

    def append(self, other: Categories) -> Categories:
        return Categories(np.concatenate((self.values, other.values)))
