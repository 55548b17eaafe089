"""Classification metrics from the confusion matrix: accuracy, precision, recall, F1.

Pure numpy, pinned to scikit-learn through `classification.classification_metrics`
(definitions in that module's docstring): per class with `zero_division=0`, macro and
weighted means, the positive class's for binary windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.performance.class_space import ClassSpace
from monitor.performance.columns import json_safe, python_value, unique_classes


@dataclass(frozen=True)
class ClassStats:
    label: Any
    precision: float
    recall: float
    f1: float
    support: int  # rows labelled with this class
    predicted: int  # rows predicted as this class
    roc_auc: float | None = None  # multiclass one-vs-rest, where defined
    pr_auc: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "label": python_value(self.label),
                "precision": self.precision,
                "recall": self.recall,
                "f1": self.f1,
                "support": self.support,
                "predicted": self.predicted,
                "roc_auc": self.roc_auc,
                "pr_auc": self.pr_auc,
            }
        )


@dataclass(frozen=True)
class Confusion:
    """The confusion matrix of the evaluated rows and the per-class counts and rates."""

    idx: np.ndarray  # class-space index of each matrix row / column
    classes: np.ndarray
    matrix: np.ndarray  # rows = label, columns = prediction
    support: np.ndarray
    predicted: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray

    def per_class(
        self, per_auc: dict[int, tuple[float | None, float | None]]
    ) -> tuple[ClassStats, ...]:
        return tuple(
            ClassStats(
                python_value(self.classes[j]),
                float(self.precision[j]),
                float(self.recall[j]),
                float(self.f1[j]),
                int(self.support[j]),
                int(self.predicted[j]),
                *per_auc.get(int(self.idx[j]), (None, None)),
            )
            for j in range(len(self.idx))
        )


def confusion(ti: np.ndarray, pi: np.ndarray, space: ClassSpace) -> Confusion:
    """Binary: over both classes; multiclass: the classes present in labels or predictions."""
    cm_idx = np.arange(2) if space.binary else unique_classes(ti, pi)
    k = len(cm_idx)
    lookup = np.full(len(space.values), -1, dtype=np.int64)
    lookup[cm_idx] = np.arange(k)
    ct, cp = lookup[ti], lookup[pi]
    cm = np.bincount(ct * k + cp, minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    return Confusion(
        idx=cm_idx,
        classes=space.values[cm_idx],
        matrix=cm,
        support=support,
        predicted=predicted,
        precision=_divide(tp, predicted.astype(np.float64)),
        recall=_divide(tp, support.astype(np.float64)),
        f1=_divide(2 * tp, (support + predicted).astype(np.float64)),
    )


def count_metrics(
    c: Confusion, space: ClassSpace, n: int, reasons: dict[str, str]
) -> dict[str, Any]:
    """Accuracy, precision / recall / F1 (positive class or macro, macro, weighted) and the
    binary positive rates."""
    _zero_division_reasons(reasons, c.classes, c.support, c.predicted)
    precision, recall, f1, support = c.precision, c.recall, c.f1, c.support
    out: dict[str, Any] = {
        "accuracy": float(np.diag(c.matrix).astype(np.float64).sum() / n),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "precision_weighted": float(np.average(precision, weights=support)),
        "recall_weighted": float(np.average(recall, weights=support)),
        "f1_weighted": float(np.average(f1, weights=support)),
    }
    if space.binary:
        pos_idx = space.pos_idx
        assert pos_idx is not None
        return out | {
            "precision": float(precision[pos_idx]),
            "recall": float(recall[pos_idx]),
            "f1": float(f1[pos_idx]),
            "positive_rate_pred": float(c.predicted[pos_idx] / n),
            "positive_rate_label": float(support[pos_idx] / n),
        }
    reasons.setdefault("positive_rate_pred", "multiclass: no positive class")
    reasons.setdefault("positive_rate_label", "multiclass: no positive class")
    return out | {k2: out[f"{k2}_macro"] for k2 in ("precision", "recall", "f1")}


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (scikit-learn zero_division=0)."""
    out = np.zeros(len(num), dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _zero_division_reasons(
    reasons: dict[str, str], classes: np.ndarray, support: np.ndarray, predicted: np.ndarray
) -> None:
    never_pred = [python_value(c) for c, n in zip(classes, predicted, strict=True) if n == 0]
    never_lab = [python_value(c) for c, n in zip(classes, support, strict=True) if n == 0]
    if never_pred:
        reasons["precision"] = (
            f"never predicted: {never_pred[:10]!r}; their precision is 0 (zero_division=0)"
        )
    if never_lab:
        reasons["recall"] = (
            f"never labelled: {never_lab[:10]!r}; their recall is 0 (zero_division=0)"
        )


__all__ = ["ClassStats", "Confusion", "confusion", "count_metrics"]
