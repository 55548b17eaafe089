"""Exact categorical drift statistics: factorize each side once, count with bincount.

Missing values are None, NaN, pandas NA/NaT and, in float columns, ±inf. Shares of new and
vanished categories are shares of the non-missing values of the window they occur in.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.drift.registry import METHODS, Method, counted

if TYPE_CHECKING:  # imported where a function needs it: the array path runs without pandas
    import pandas as pd

OBJECT_SHORTCUT_MIN = 10_000  # rows: below this, hashing every string is as cheap
MAX_DISTINCT_OBJECTS = 100_000
MAX_LISTED = 100  # new/vanished categories listed by name (largest shares first)


def factorize(values: np.ndarray | pd.Series) -> tuple[np.ndarray, pd.Index, int]:
    """(counts per category, categories, missing count) of one window.

    Categories are in order of first appearance (pandas categoricals: their declared order).
    """
    import pandas as pd

    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    elif values.dtype == object and len(values) >= OBJECT_SHORTCUT_MIN:
        counted = _object_counts(np.asarray(values))
        if counted is not None:
            return counted
        codes, found = pd.factorize(values, use_na_sentinel=True)
        uniques = pd.Index(found)
    else:
        if not isinstance(values, pd.Series):
            values = pd.Series(np.asarray(values), copy=False)
        if values.dtype.kind == "f":
            arr = values.to_numpy()
            values = pd.Series(np.where(np.isfinite(arr), arr, np.nan), copy=False)
        codes, found = pd.factorize(values, use_na_sentinel=True)
        uniques = pd.Index(found)
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)
    return counts[1:].astype(np.int64), uniques, int(counts[0])


def _object_counts(values: np.ndarray) -> tuple[np.ndarray, pd.Index, int] | None:
    """`factorize` of an object array by object identity first, then by value.

    An object column read from Parquet or CSV holds one Python object per distinct string
    (readers deduplicate them), so hashing the row's object addresses (integers) and then
    the few distinct objects gives pandas' own result at a quarter of the cost of hashing
    every row's string. Codes come in order of first appearance at both levels, so the
    categories keep pandas' order. None when the objects are mostly distinct (no gain).
    """
    import pandas as pd

    values = np.ascontiguousarray(values)
    # the array's data is its PyObject* pointers; the array keeps every object alive
    buffer = (ctypes.c_char * values.nbytes).from_address(values.ctypes.data)
    # numpy's stubs omit ctypes arrays from frombuffer's buffer types (they export the buffer)
    codes, _ = pd.factorize(np.frombuffer(buffer, dtype=np.uintp))  # type: ignore[call-overload]
    k = int(codes.max()) + 1 if codes.size else 0
    if k > max(MAX_DISTINCT_OBJECTS, values.size // 4):
        return None
    # first occurrence of each code: where the running maximum of the codes reaches it
    first = np.searchsorted(np.maximum.accumulate(codes), np.arange(k))
    per_object = np.bincount(codes, minlength=k)
    value_codes, uniques = pd.factorize(values[first], use_na_sentinel=True)
    known = value_codes >= 0
    counts = np.bincount(value_codes[known], weights=per_object[known], minlength=len(uniques))
    missing = int(per_object[~known].sum())
    return counts.astype(np.int64), pd.Index(uniques), missing


def string_counts(values: pd.Series) -> tuple[np.ndarray, pd.Index, int] | None:
    """`factorize` of an object column when all its non-missing values are str, else None.

    The kind check runs on the few distinct values, not on every row: a 1M-row string
    column is hashed once and never scanned again to infer its kind.
    """
    import pandas as pd

    if values.dtype != object:
        return None
    counted = factorize(values)
    kind = pd.api.types.infer_dtype(counted[1], skipna=True)
    return counted if kind in {"string", "empty"} else None


@dataclass(frozen=True)
class CategoricalReference:
    """A reference column fitted once: its categories and their counts."""

    categories: pd.Index
    counts: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray | pd.Series) -> tuple[CategoricalReference, int]:
        """The fitted reference and its missing count."""
        counts, cats, missing = factorize(values)
        return cls.from_counts(counts, cats), missing

    @classmethod
    def from_counts(cls, counts: np.ndarray, cats: pd.Index) -> CategoricalReference:
        """The reference from `factorize` output (categories that never occur dropped)."""
        keep = counts > 0  # a pandas Categorical may declare categories that never occur
        return cls(cats[keep], counts[keep])


def align(ref: CategoricalReference, counts: np.ndarray, cats: pd.Index) -> tuple:
    """Reference and current counts over the union of categories (reference order first).

    Returns (r, c, union categories). Matching maps the few current categories onto the
    reference's, never the raw rows.
    """
    keep = counts > 0
    counts, cats = counts[keep], cats[keep]
    pos = ref.categories.get_indexer(cats) if len(cats) else np.empty(0, dtype=np.intp)
    new = pos < 0
    k = len(ref.categories)
    r = np.concatenate((ref.counts, np.zeros(int(new.sum()), dtype=np.int64)))
    c = np.zeros(r.size, dtype=np.int64)
    c[pos[~new]] = counts[~new]
    c[k:] = counts[new]
    union = ref.categories.append(cats[new]) if new.any() else ref.categories
    return r, c, union


def category_name(value: object) -> str:
    """A category as shown in reports: integral floats (ints that met a NaN) without '.0'."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _listed(names: pd.Index, counts: np.ndarray, total: int) -> dict[str, float]:
    order = np.argsort(-counts, kind="stable")[:MAX_LISTED]
    return {category_name(names[i]): float(counts[i] / total) for i in order}


def categorical_stats(
    ref: CategoricalReference,
    values: np.ndarray | pd.Series,
    wanted: frozenset[str],
    methods: Mapping[str, Method] = METHODS,
) -> tuple[dict[str, Any], int, int, int]:
    """(stats, current missing count, current non-missing count, size of the category union).

    `stats` holds every statistic in `wanted` that applies (the z-test only for exactly two
    categories) plus new/vanished categories; it is empty when either side has no value.
    """
    return counted_stats(ref, factorize(values), wanted, methods)


def counted_stats(
    ref: CategoricalReference,
    current: tuple[np.ndarray, pd.Index, int],
    wanted: frozenset[str],
    methods: Mapping[str, Method] = METHODS,
) -> tuple[dict[str, Any], int, int, int]:
    """`categorical_stats` from the current window's `factorize` output (counted once)."""
    counts, cats, missing = current
    r, c, union = align(ref, counts, cats)
    n_ref, n_cur = int(r.sum()), int(c.sum())
    if not (n_ref and n_cur):
        return {}, missing, n_cur, len(union)
    out = counted("categorical", wanted, r, c, methods)
    new = (r == 0) & (c > 0)
    gone = (r > 0) & (c == 0)
    out["new_categories"] = _listed(union[new], c[new], n_cur)
    out["vanished_categories"] = _listed(union[gone], r[gone], n_ref)
    out["new_category_count"] = int(new.sum())
    out["new_categories_listed_max"] = MAX_LISTED
    out["vanished_category_count"] = int(gone.sum())
    return out, missing, n_cur, len(union)
