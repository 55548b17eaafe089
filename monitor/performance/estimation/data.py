"""Inputs of the estimators as plain arrays, checked once: bad input is an EstimationError."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.errors import EstimationError


@dataclass(frozen=True)
class ClassificationData:
    """`scores` (n, k): the model's probability per class, columns in `classes` order;
    `pred`: predicted class index; `labels`: label index, -1 where unlabelled (None: none)."""

    classes: tuple[Any, ...]
    scores: np.ndarray
    pred: np.ndarray
    labels: np.ndarray | None = None

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    @property
    def rows(self) -> int:
        return int(self.pred.shape[0])


def _code(value: Any, lookup: dict[str, int], classes: tuple[Any, ...], what: str) -> int:
    if value is None or (isinstance(value, float) and value != value):
        return -1
    key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if key not in lookup:
        known = ", ".join(map(str, classes))
        raise EstimationError(f"{what} value {key[:60]!r} is not one of the classes {known}")
    return lookup[key]


SMALL_RANGE = 1 << 16


def _small_integers(array: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(distinct values, index of each row's value) for integer-valued numbers in a small
    range (class labels 0/1/2, also as floats) in O(rows), without np.unique's sort; None
    otherwise (booleans too: their classes are "True"/"False", not "1"/"0")."""
    if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iuf":
        return None
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            return None
        ints = array.astype(np.int64)
        if not np.array_equal(ints, array):
            return None
    else:
        ints = array.astype(np.int64, copy=False)
    lo, hi = int(ints.min()), int(ints.max())
    if hi - lo >= SMALL_RANGE:
        return None
    shifted = ints - lo
    present = np.bincount(shifted) > 0
    position = np.cumsum(present) - 1
    return np.flatnonzero(present) + lo, position[shifted]


def _index(values: Sequence[Any], classes: tuple[Any, ...], what: str) -> np.ndarray:
    """Class index per value (-1 = missing): each distinct value is looked up once."""
    lookup = {str(c): i for i, c in enumerate(classes)}
    array = np.asarray(values) if len(values) else np.empty(0)
    small = _small_integers(array)
    if small is not None:  # integer class labels: counted, no sort
        distinct, inverse = small
        codes = [_code(int(v), lookup, classes, what) for v in distinct]
        return np.asarray(codes, dtype=np.int64)[inverse]
    if array.ndim == 1 and array.dtype.kind in "iufb":  # numbers: one numpy sort
        distinct, inverse = np.unique(array, return_inverse=True)
        codes = [_code(v.item(), lookup, classes, what) for v in distinct]
        return np.asarray(codes, dtype=np.int64)[inverse.ravel()]
    try:
        table = {v: _code(v, lookup, classes, what) for v in set(values)}
    except TypeError:  # unhashable values: one by one
        return np.array([_code(v, lookup, classes, what) for v in values], dtype=np.int64)
    return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values))


def _sequence(values: Sequence[Any]) -> Sequence[Any]:
    """numpy arrays as they are (no list of numpy scalars), anything else as a list."""
    return values if isinstance(values, np.ndarray) else list(values)


def classification_data(
    proba: np.ndarray,
    classes: Sequence[Any],
    y_pred: Sequence[Any] | None = None,
    y_true: Sequence[Any] | None = None,
) -> ClassificationData:
    """Check and encode. `proba` (n,) is the positive class of a binary model (the second of
    `classes`); (n, k) has one column per class. Without `y_pred`: threshold 0.5 / arg-max."""
    classes = tuple(classes)
    if len(classes) < 2 or len(set(map(str, classes))) != len(classes):
        raise EstimationError(f"need at least two distinct classes, got {list(classes)}")
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:
        if len(classes) != 2:
            raise EstimationError("one probability column needs exactly two classes")
        p = np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2 or p.shape[1] != len(classes):
        raise EstimationError(f"{p.shape[-1]} probability columns for {len(classes)} classes")
    if p.shape[0] == 0:
        raise EstimationError("no rows")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise EstimationError("probabilities must be numbers in [0, 1] on every row")
    if y_pred is None:
        pred = (p[:, 1] >= 0.5).astype(np.int64) if len(classes) == 2 else p.argmax(axis=1)
    else:
        pred = _index(_sequence(y_pred), classes, "prediction")
        if (pred < 0).any():
            raise EstimationError("a row has no prediction")
    labels = None if y_true is None else _index(_sequence(y_true), classes, "target")
    return ClassificationData(classes, p, pred, labels)


def labels_of(data: ClassificationData) -> np.ndarray:
    """The label indices (-1 = unlabelled); EstimationError when the data has no target."""
    if data.labels is None:
        raise EstimationError("the reference needs the target column to fit an estimator")
    return data.labels


def labelled(data: ClassificationData) -> ClassificationData:
    """Only the labelled rows (the reference must have labels to fit)."""
    labels = labels_of(data)
    keep = labels >= 0
    if not keep.any():
        raise EstimationError("the reference has no labelled rows")
    if keep.all():
        return data  # no copy of a fully labelled reference
    return ClassificationData(data.classes, data.scores[keep], data.pred[keep], labels[keep])
