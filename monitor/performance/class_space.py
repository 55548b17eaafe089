"""The class space of one classification window, and probabilities aligned to it.

Which classes a window has (labels, predictions, probability keys, `classes`, `pos_label`),
whether it is binary and which class is positive (rules in `classification.py`'s docstring),
class values encoded as indices of the sorted space, probabilities as its columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.errors import InputError
from monitor.performance.columns import Column, convert_classes, unique_classes


@dataclass(frozen=True)
class ClassSpace:
    """The sorted classes of a window; `proba` / `prob_keys` are the probabilities still
    usable against them (None when absent or ignored, with a reason)."""

    values: np.ndarray
    binary: bool
    pos_idx: int | None
    proba: np.ndarray | None
    prob_keys: np.ndarray | None


def class_space(
    t: Column,
    p: Column,
    pr: np.ndarray | None,
    proba_classes: Any,
    classes: Any,
    pos_label: Any,
    reasons: dict[str, str],
) -> ClassSpace:
    """The class space of unified labels `t` and predictions `p` (module docstring); why
    probabilities are ignored goes to `reasons["proba"]`."""
    kind = t.kind
    space = unique_classes(t.values[t.valid], p.values[p.valid])
    prob_keys = None
    if pr is not None and pr.ndim == 2:
        prob_keys = convert_classes(proba_classes, kind)
        if prob_keys is None or len(set(prob_keys.tolist())) != len(prob_keys):
            reasons["proba"] = "probability classes do not match the label classes; ignored"
            pr = None
        else:
            space = np.union1d(space, prob_keys)
    for extra in (classes, None if pos_label is None else [pos_label]):
        conv = convert_classes(extra, kind) if extra is not None else None
        if conv is not None and len(conv):
            space = np.union1d(space, conv)
    pos_value = None
    if pos_label is not None:
        conv = convert_classes([pos_label], kind)
        pos_value = None if conv is None else conv[0]
    if len(space) == 1 and kind == "int" and int(space[0]) in (0, 1):
        space = np.array([0, 1], dtype=np.int64)
    binary = len(space) == 2 or (pr is not None and pr.ndim == 1 and len(space) < 2)
    if pr is not None and pr.ndim == 1 and len(space) > 2:
        reasons["proba"] = f"scalar probabilities need two classes, the window has {len(space)}"
        pr = None
    pos_idx: int | None = None
    if binary and len(space) == 2:
        pos_idx = 1 if pos_value is None else int(np.searchsorted(space, pos_value))
    elif binary:
        binary = False
        if pr is not None:
            reasons["proba"] = "positive class unknown (one class seen): give pos_label"
            pr = None
    return ClassSpace(space, binary, pos_idx, pr, prob_keys)


@dataclass
class AlignedProba:
    """Probabilities aligned to the class space: `pos` (n,) for binary or `matrix` (n, k)."""

    pos: np.ndarray | None = None
    matrix: np.ndarray | None = None
    valid: np.ndarray | None = None


def encode(values: np.ndarray, space: np.ndarray) -> np.ndarray:
    """Index of each value in the sorted class space (a table lookup for small ints)."""
    if values.dtype.kind == "i" and space.dtype.kind == "i" and len(values):
        lo, hi = int(space[0]), int(space[-1])
        if hi - lo < 1 << 20:
            table = np.zeros(hi - lo + 1, dtype=np.int64)
            table[space - lo] = np.arange(len(space))
            return table[np.clip(values - lo, 0, hi - lo)]
    return np.searchsorted(space, values)


def check_shapes(n: int, p: Column | None, pr: np.ndarray | None, proba_classes: Any) -> None:
    """InputError when predictions or probabilities do not have the labels' `n` rows."""
    if p is not None and len(p) != n:
        raise InputError(f"y_pred has {len(p)} rows, y_true has {n}")
    if pr is None:
        return
    if pr.ndim not in (1, 2) or len(pr) != n:
        raise InputError(f"proba must be (n,) or (n, k) with n = {n}, got shape {pr.shape}")
    if pr.ndim == 2 and (proba_classes is None or len(proba_classes) != pr.shape[1]):
        raise InputError("a (n, k) proba needs proba_classes naming its k columns")


def align_proba(
    pr: np.ndarray | None,
    prob_keys: np.ndarray | None,
    space: np.ndarray,
    pos_idx: int | None,
    n: int,
) -> AlignedProba:
    """Probabilities as columns of the class space (a class without a key: probability 0)."""
    if pr is None:
        return AlignedProba()
    if pr.ndim == 1:
        return AlignedProba(pos=pr, valid=np.isfinite(pr))
    assert prob_keys is not None
    valid = np.isfinite(pr).all(axis=1)
    matrix = np.zeros((n, len(space)), dtype=np.float64)
    matrix[:, np.searchsorted(space, prob_keys)] = np.nan_to_num(pr)
    if pos_idx is not None:
        return AlignedProba(pos=matrix[:, pos_idx], matrix=matrix, valid=valid)
    return AlignedProba(matrix=matrix, valid=valid)


def derived_predictions(
    aligned: AlignedProba,
    sel: Callable[[np.ndarray], np.ndarray],
    derive: np.ndarray,
    pos_idx: int | None,
) -> np.ndarray:
    """Predicted class indices from probabilities where the `derive` rows have none:
    binary `p >= 0.5` -> positive class, multiclass the arg-max."""
    if pos_idx is not None:
        assert aligned.pos is not None
        return np.where(sel(aligned.pos)[derive] >= 0.5, pos_idx, 1 - pos_idx)
    assert aligned.matrix is not None
    return np.argmax(sel(aligned.matrix)[derive], axis=1)


__all__ = [
    "AlignedProba",
    "ClassSpace",
    "align_proba",
    "check_shapes",
    "class_space",
    "derived_predictions",
    "encode",
]
