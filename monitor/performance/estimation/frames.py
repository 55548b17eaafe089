"""Feature columns of two frames as float matrices for DLE: categories become codes.

Numeric columns are used as they are; any other column is coded by the reference's sorted
categories (a category the reference never saw, or a missing value, is NaN: the trees send
it the way they learnt for missing values).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def categories(reference: Any, columns: list[str]) -> dict[str, list[str]]:
    """column -> the reference's sorted categories, for every non-numeric column."""
    out = {}
    for name in columns:
        s = reference[name]
        if s.dtype.kind not in "biuf":
            out[name] = sorted({str(v) for v in s.dropna().astype(object).tolist()})
    return out


def matrix(frame: Any, columns: list[str], cats: dict[str, list[str]]) -> np.ndarray:
    cols = []
    for name in columns:
        s = frame[name]
        if name in cats:
            lookup = {v: float(i) for i, v in enumerate(cats[name])}
            cols.append(
                np.array(
                    [lookup.get(str(v), np.nan) if v == v else np.nan for v in s.astype(object)]
                )
            )
        else:
            cols.append(s.to_numpy(dtype=float, na_value=np.nan))
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


def feature_matrices(reference: Any, current: Any, columns: list[str]) -> tuple[Any, Any]:
    cats = categories(reference, columns)
    return matrix(reference, columns, cats), matrix(current, columns, cats)
