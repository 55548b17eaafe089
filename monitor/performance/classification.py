"""Classification metrics of one labelled window, vectorised numpy, pinned to scikit-learn.

Inputs: `y_true` (labels, None/NaN = unlabelled), `y_pred` (predicted classes, None =
missing) and/or `proba`: (n,) probabilities of the positive class (binary) or (n, k)
probabilities whose columns are `proba_classes` (NaN row = no probabilities for that row).
Class values follow `columns.py` (bools are 0/1, "1" and 1 are one class when any value is a
string). The parts: `class_space.py` (classes, binary, positive class, aligned
probabilities), `counts.py` (confusion matrix metrics), `probability.py` (curves, log loss,
calibration); this module holds the result types and the one entry point.

Definitions (tests pin each to scikit-learn on the same rows, rtol 1e-9):
- Rows evaluated: labelled and with a prediction. A row with probabilities but no predicted
  class gets one from them: binary `p >= 0.5` -> positive class, multiclass the arg-max
  (first class in sorted order on ties). Other rows are counted in `excluded`.
- Binary vs multiclass: binary when the class space (labels, predictions, probability keys,
  `classes`, `pos_label`) has two classes, or scalar probabilities were given; a window that
  only saw integer class 0 or 1 is binary over [0, 1]. The positive class is `pos_label`, else
  the larger of the two in sorted order (1 of 0/1, True of bools, "yes" of "no"/"yes").
- accuracy: `accuracy_score`.
- precision/recall/F1 per class, macro and weighted: `precision_recall_fscore_support` with
  `zero_division=0`: a class never predicted has precision 0, a class never labelled has
  recall 0, and both count in the macro mean (a reason says which classes). The classes are
  both binary classes, or for multiclass the classes present in labels or predictions of the
  rows (scikit-learn's default `labels`). `precision`/`recall`/`f1` are the positive class's
  for binary (`average="binary"`) and the macro means for multiclass.
- confusion matrix: `confusion_matrix(labels=classes)`, rows = label, columns = prediction.
- ROC AUC: `roc_auc_score`; multiclass one-vs-rest macro, averaged over the classes present
  in the labels (classes absent from the labels are skipped and named in the reason;
  scikit-learn would fail on them). Undefined (null + reason) with one label class.
- PR AUC: `average_precision_score` (multiclass: macro over the same classes). Null with no
  positive label (scikit-learn returns 0 with a warning).
- log loss: `log_loss` (probabilities clipped to [eps, 1 - eps], eps of float64; rows not
  renormalised; classes without a probability key have probability 0).
- calibration: equal-width bins over [0, 1] (default 10), bin i = (edge_i, edge_i+1], the
  first also holding 0 (`calibration_curve(strategy="uniform")` binning). Binary: positive
  class probability vs observed positive rate; multiclass: top-label confidence (max
  probability) vs the share of rows whose arg-max class is the label. ECE = sum over bins of
  count/n * |observed rate - mean predicted| (empty bins contribute nothing).
- positive rates (binary): share of evaluated rows predicted positive / labelled positive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from monitor.performance.class_space import (
    AlignedProba,
    ClassSpace,
    align_proba,
    check_shapes,
    class_space,
    derived_predictions,
    encode,
)
from monitor.performance.columns import (
    Column,
    json_safe,
    python_value,
    python_values,
    to_column,
    unify,
)
from monitor.performance.counts import ClassStats, confusion, count_metrics
from monitor.performance.probability import (
    Calibration,
    CalibrationBin,
    bin_ids,
    binary_proba_metrics,
    multiclass_proba_metrics,
)

DEFAULT_BINS = 10

NO_ROWS = "no labelled rows with a prediction"


SCALARS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "ece",
    "positive_rate_pred",
    "positive_rate_label",
)


@dataclass(frozen=True)
class ClassificationMetrics:
    n: int  # rows evaluated
    binary: bool
    classes: tuple[Any, ...] = ()  # confusion-matrix / per-class order
    positive_class: Any = None
    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    precision_macro: float | None = None
    recall_macro: float | None = None
    f1_macro: float | None = None
    precision_weighted: float | None = None
    recall_weighted: float | None = None
    f1_weighted: float | None = None
    per_class: tuple[ClassStats, ...] = ()
    confusion_matrix: tuple[tuple[int, ...], ...] = ()
    n_proba: int = 0  # evaluated rows with probabilities
    roc_auc: float | None = None
    pr_auc: float | None = None
    log_loss: float | None = None
    calibration: Calibration | None = None
    positive_rate_pred: float | None = None
    positive_rate_label: float | None = None
    excluded: dict[str, int] = field(default_factory=dict)  # rows not evaluated, by why
    reasons: dict[str, str] = field(default_factory=dict)  # metric -> why null / caveat
    task: Literal["classification"] = "classification"

    @property
    def ece(self) -> float | None:
        return None if self.calibration is None else self.calibration.ece

    def scalars(self) -> dict[str, float | None]:
        """Every single-number metric by name (what alert rules refer to)."""
        return {name: json_safe(getattr(self, name)) for name in SCALARS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n": self.n,
            "binary": self.binary,
            "classes": python_values(self.classes),
            "positive_class": python_value(self.positive_class),
            **self.scalars(),
            "n_proba": self.n_proba,
            "per_class": [c.to_dict() for c in self.per_class],
            "confusion_matrix": [list(map(int, row)) for row in self.confusion_matrix],
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "excluded": dict(self.excluded),
            "reasons": dict(self.reasons),
        }


def classification_metrics(
    y_true: Any,
    y_pred: Any = None,
    proba: Any = None,
    *,
    proba_classes: Any = None,
    classes: Any = None,
    pos_label: Any = None,
    n_bins: int = DEFAULT_BINS,
) -> ClassificationMetrics:
    """Every classification metric of the rows (see the module docstring). Data edge cases
    give null metrics with a reason; only inconsistent argument shapes raise InputError."""
    t, p, pr = _inputs(y_true, y_pred, proba, proba_classes)
    n_in = len(t)
    reasons: dict[str, str] = {}
    space = class_space(t, p, pr, proba_classes, classes, pos_label, reasons)
    aligned = align_proba(space.proba, space.prob_keys, space.values, space.pos_idx, n_in)
    has_proba = aligned.valid if aligned.valid is not None else np.zeros(n_in, bool)
    rows = t.valid & (p.valid | has_proba)
    excluded = {
        "unlabelled": int(n_in - t.valid.sum()),
        "missing_prediction": int((t.valid & ~rows).sum()),
    }
    n = int(rows.sum())
    if n == 0:
        return ClassificationMetrics(
            n=0, binary=space.binary, excluded=excluded, reasons={"all": NO_ROWS, **reasons}
        )

    def sel(a: np.ndarray) -> np.ndarray:
        return a if n == n_in else a[rows]

    ti = encode(sel(t.values), space.values)
    pi = encode(sel(p.values), space.values)
    derive = ~sel(p.valid)
    if derive.any():
        pi[derive] = derived_predictions(aligned, sel, derive, space.pos_idx)
    counts = confusion(ti, pi, space)
    out = count_metrics(counts, space, n, reasons)
    per_auc: dict[int, tuple[float | None, float | None]] = {}
    n_proba, proba_out = _proba_metrics(aligned, sel, ti, space, n, n_bins, reasons, per_auc)
    pos_idx = space.pos_idx
    return ClassificationMetrics(
        n=n,
        binary=space.binary,
        classes=tuple(python_values(counts.classes)),
        positive_class=python_value(space.values[pos_idx])
        if space.binary and pos_idx is not None
        else None,
        per_class=counts.per_class(per_auc),
        confusion_matrix=tuple(tuple(int(x) for x in row) for row in counts.matrix),
        n_proba=n_proba,
        excluded=excluded,
        reasons=reasons,
        **(out | proba_out),
    )


def _inputs(
    y_true: Any, y_pred: Any, proba: Any, proba_classes: Any
) -> tuple[Column, Column, np.ndarray | None]:
    """Labels and predictions as unified columns (no predictions: all missing), the
    probabilities as floats; InputError when the shapes disagree."""
    t = to_column(y_true)
    n_in = len(t)
    p = to_column(y_pred) if y_pred is not None else None
    pr = None if proba is None else np.asarray(proba, dtype=np.float64)
    check_shapes(n_in, p, pr, proba_classes)
    if p is None:
        p = Column(np.zeros(n_in, t.values.dtype), np.zeros(n_in, bool), t.kind)
    t, p = unify(t, p)
    return t, p, pr


def _proba_metrics(
    aligned: AlignedProba,
    sel: Callable[[np.ndarray], np.ndarray],
    ti: np.ndarray,
    space: ClassSpace,
    n: int,
    n_bins: int,
    reasons: dict[str, str],
    per_auc: dict[int, tuple[float | None, float | None]],
) -> tuple[int, dict[str, Any]]:
    """(evaluated rows with probabilities, the metrics from them); why not: `reasons`."""
    out: dict[str, Any] = {}
    n_proba = 0
    if aligned.valid is not None:
        prow = sel(aligned.valid)
        n_proba = int(prow.sum())

        def psel(a: np.ndarray) -> np.ndarray:
            return a if n_proba == n else a[prow]

        if n_proba == 0:
            reasons["proba"] = "no evaluated row has probabilities"
        elif space.binary:
            assert aligned.pos is not None and space.pos_idx is not None
            positive = psel(ti) == space.pos_idx
            out = binary_proba_metrics(psel(sel(aligned.pos)), positive, n_bins, reasons)
        else:
            assert aligned.matrix is not None
            matrix = psel(sel(aligned.matrix))
            out = multiclass_proba_metrics(matrix, psel(ti), space.values, n_bins, reasons, per_auc)
    else:
        reasons.setdefault("proba", "no probabilities")
    if n_proba == 0:
        for name in ("roc_auc", "pr_auc", "log_loss", "ece"):
            reasons.setdefault(name, "no probabilities")
    return n_proba, out


__all__ = [
    "DEFAULT_BINS",
    "NO_ROWS",
    "SCALARS",
    "Calibration",
    "CalibrationBin",
    "ClassStats",
    "ClassificationMetrics",
    "bin_ids",
    "classification_metrics",
]
