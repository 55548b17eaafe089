"""Classification metrics of one labelled window, vectorised numpy, pinned to scikit-learn.

Inputs: `y_true` (labels, None/NaN = unlabelled), `y_pred` (predicted classes, None =
missing) and/or `proba`: (n,) probabilities of the positive class (binary) or (n, k)
probabilities whose columns are `proba_classes` (NaN row = no probabilities for that row).
Class values follow `columns.py` (bools are 0/1, "1" and 1 are one class when any value is a
string).

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

from monitor.errors import InputError
from monitor.performance.columns import (
    Column,
    convert_classes,
    json_safe,
    python_value,
    python_values,
    to_column,
    unify,
    unique_classes,
)

DEFAULT_BINS = 10
_EPS = float(np.finfo(np.float64).eps)

NO_ROWS = "no labelled rows with a prediction"


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
class CalibrationBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float | None  # None: empty bin
    observed_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self.__dict__)


@dataclass(frozen=True)
class Calibration:
    method: Literal["positive_class", "top_label"]
    ece: float
    bins: tuple[CalibrationBin, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "ece": json_safe(self.ece),
            "bins": [b.to_dict() for b in self.bins],
        }


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


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (scikit-learn zero_division=0)."""
    out = np.zeros(len(num), dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def binary_curve(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true / false positives at each distinct threshold, highest score first
    (scikit-learn's `_binary_clf_curve`). Ties are one threshold, so sort stability is moot."""
    order = np.argsort(score)[::-1]
    s = score[order]
    distinct = np.flatnonzero(np.diff(s))
    idx = np.append(distinct, len(s) - 1)
    tps = np.cumsum(positive[order], dtype=np.float64)[idx]
    fps = 1.0 + idx - tps
    return tps, fps


def roc_auc_from_curve(tps: np.ndarray, fps: np.ndarray) -> float:
    tpr = np.concatenate(([0.0], tps / tps[-1]))
    fpr = np.concatenate(([0.0], fps / fps[-1]))
    return float(np.trapezoid(tpr, fpr))


def average_precision_from_curve(tps: np.ndarray, fps: np.ndarray) -> float:
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(max(0.0, np.sum(np.diff(recall, prepend=0.0) * precision)))


def calibration(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int, method: str
) -> Calibration:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = bin_ids(confidence, edges)
    counts = np.bincount(ids, minlength=n_bins)
    sum_conf = np.bincount(ids, weights=confidence, minlength=n_bins)
    sum_true = np.bincount(ids, weights=correct.astype(np.float64), minlength=n_bins)
    ece = float(np.sum(np.abs(sum_true - sum_conf)) / len(confidence))
    bins = tuple(
        CalibrationBin(
            float(edges[i]),
            float(edges[i + 1]),
            int(counts[i]),
            float(sum_conf[i] / counts[i]) if counts[i] else None,
            float(sum_true[i] / counts[i]) if counts[i] else None,
        )
        for i in range(n_bins)
    )
    return Calibration(method, ece, bins)  # type: ignore[arg-type]


def bin_ids(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`np.searchsorted(edges[1:-1], values)` (side left) for equal-width edges over [0, 1],
    without a binary search per value: a guess from the arithmetic, then corrected against
    the exact edges so values on an edge land where searchsorted puts them."""
    n_bins = len(edges) - 1
    ids = np.clip(np.ceil(values * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    ids += (ids < n_bins - 1) & (values > edges[ids + 1])
    ids -= (ids > 0) & (values <= edges[ids])
    return ids


def _encode(values: np.ndarray, space: np.ndarray) -> np.ndarray:
    """Index of each value in the sorted class space (a table lookup for small ints)."""
    if values.dtype.kind == "i" and space.dtype.kind == "i" and len(values):
        lo, hi = int(space[0]), int(space[-1])
        if hi - lo < 1 << 20:
            table = np.zeros(hi - lo + 1, dtype=np.int64)
            table[space - lo] = np.arange(len(space))
            return table[np.clip(values - lo, 0, hi - lo)]
    return np.searchsorted(space, values)


def _log_loss_from_true(p_true: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(p_true, _EPS, 1 - _EPS))))


@dataclass
class _Proba:
    """Probabilities aligned to the class space: `pos` (n,) for binary or `matrix` (n, k)."""

    pos: np.ndarray | None = None
    matrix: np.ndarray | None = None
    valid: np.ndarray | None = None


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
    t = to_column(y_true)
    n_in = len(t)
    p = to_column(y_pred) if y_pred is not None else None
    pr = None if proba is None else np.asarray(proba, dtype=np.float64)
    _check_shapes(n_in, p, pr, proba_classes)
    if p is None:
        p = Column(np.zeros(n_in, t.values.dtype), np.zeros(n_in, bool), t.kind)
    t, p = unify(t, p)
    kind = t.kind
    reasons: dict[str, str] = {}

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

    aligned = _align_proba(pr, prob_keys, space, pos_idx, n_in)
    has_proba = aligned.valid if aligned.valid is not None else np.zeros(n_in, bool)
    rows = t.valid & (p.valid | has_proba)
    excluded = {
        "unlabelled": int(n_in - t.valid.sum()),
        "missing_prediction": int((t.valid & ~rows).sum()),
    }
    n = int(rows.sum())
    if n == 0:
        return ClassificationMetrics(
            n=0, binary=binary, excluded=excluded, reasons={"all": NO_ROWS, **reasons}
        )

    def sel(a: np.ndarray) -> np.ndarray:
        return a if n == n_in else a[rows]

    ti = _encode(sel(t.values), space)
    pi = _encode(sel(p.values), space)
    derive = ~sel(p.valid)
    if derive.any():
        pi[derive] = _derived_predictions(aligned, sel, derive, pos_idx)

    cm_idx = np.arange(2) if binary else unique_classes(ti, pi)
    k = len(cm_idx)
    lookup = np.full(len(space), -1, dtype=np.int64)
    lookup[cm_idx] = np.arange(k)
    ct, cp = lookup[ti], lookup[pi]
    cm = np.bincount(ct * k + cp, minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _divide(tp, predicted.astype(np.float64))
    recall = _divide(tp, support.astype(np.float64))
    f1 = _divide(2 * tp, (support + predicted).astype(np.float64))
    cm_classes = space[cm_idx]
    _zero_division_reasons(reasons, cm_classes, support, predicted)

    out: dict[str, Any] = {
        "accuracy": float(tp.sum() / n),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "precision_weighted": float(np.average(precision, weights=support)),
        "recall_weighted": float(np.average(recall, weights=support)),
        "f1_weighted": float(np.average(f1, weights=support)),
    }
    if binary:
        assert pos_idx is not None
        out |= {
            "precision": float(precision[pos_idx]),
            "recall": float(recall[pos_idx]),
            "f1": float(f1[pos_idx]),
            "positive_rate_pred": float(predicted[pos_idx] / n),
            "positive_rate_label": float(support[pos_idx] / n),
        }
    else:
        out |= {k2: out[f"{k2}_macro"] for k2 in ("precision", "recall", "f1")}
        reasons.setdefault("positive_rate_pred", "multiclass: no positive class")
        reasons.setdefault("positive_rate_label", "multiclass: no positive class")

    per_auc: dict[int, tuple[float | None, float | None]] = {}
    n_proba = 0
    if aligned.valid is not None:
        prow = sel(aligned.valid)
        n_proba = int(prow.sum())

        def psel(a: np.ndarray) -> np.ndarray:
            return a if n_proba == n else a[prow]

        if n_proba == 0:
            reasons["proba"] = "no evaluated row has probabilities"
        elif binary:
            assert aligned.pos is not None and pos_idx is not None
            out |= _binary_proba_metrics(
                psel(sel(aligned.pos)), psel(ti) == pos_idx, n_bins, reasons
            )
        else:
            assert aligned.matrix is not None
            out |= _multiclass_proba_metrics(
                psel(sel(aligned.matrix)), psel(ti), space, n_bins, reasons, per_auc
            )
    else:
        reasons.setdefault("proba", "no probabilities")
    if n_proba == 0:
        for name in ("roc_auc", "pr_auc", "log_loss", "ece"):
            reasons.setdefault(name, "no probabilities")

    per_class = tuple(
        ClassStats(
            python_value(cm_classes[j]),
            float(precision[j]),
            float(recall[j]),
            float(f1[j]),
            int(support[j]),
            int(predicted[j]),
            *per_auc.get(int(cm_idx[j]), (None, None)),
        )
        for j in range(k)
    )
    return ClassificationMetrics(
        n=n,
        binary=binary,
        classes=tuple(python_values(cm_classes)),
        positive_class=python_value(space[pos_idx]) if binary and pos_idx is not None else None,
        per_class=per_class,
        confusion_matrix=tuple(tuple(int(x) for x in row) for row in cm),
        n_proba=n_proba,
        excluded=excluded,
        reasons=reasons,
        **out,
    )


def _check_shapes(n: int, p: Column | None, pr: np.ndarray | None, proba_classes: Any) -> None:
    if p is not None and len(p) != n:
        raise InputError(f"y_pred has {len(p)} rows, y_true has {n}")
    if pr is None:
        return
    if pr.ndim not in (1, 2) or len(pr) != n:
        raise InputError(f"proba must be (n,) or (n, k) with n = {n}, got shape {pr.shape}")
    if pr.ndim == 2 and (proba_classes is None or len(proba_classes) != pr.shape[1]):
        raise InputError("a (n, k) proba needs proba_classes naming its k columns")


def _align_proba(
    pr: np.ndarray | None,
    prob_keys: np.ndarray | None,
    space: np.ndarray,
    pos_idx: int | None,
    n: int,
) -> _Proba:
    if pr is None:
        return _Proba()
    if pr.ndim == 1:
        return _Proba(pos=pr, valid=np.isfinite(pr))
    assert prob_keys is not None
    valid = np.isfinite(pr).all(axis=1)
    matrix = np.zeros((n, len(space)), dtype=np.float64)
    matrix[:, np.searchsorted(space, prob_keys)] = np.nan_to_num(pr)
    if pos_idx is not None:
        return _Proba(pos=matrix[:, pos_idx], matrix=matrix, valid=valid)
    return _Proba(matrix=matrix, valid=valid)


def _derived_predictions(
    aligned: _Proba,
    sel: Callable[[np.ndarray], np.ndarray],
    derive: np.ndarray,
    pos_idx: int | None,
) -> np.ndarray:
    if pos_idx is not None:
        assert aligned.pos is not None
        return np.where(sel(aligned.pos)[derive] >= 0.5, pos_idx, 1 - pos_idx)
    assert aligned.matrix is not None
    return np.argmax(sel(aligned.matrix)[derive], axis=1)


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


def _binary_proba_metrics(
    score: np.ndarray, positive: np.ndarray, n_bins: int, reasons: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n_pos = int(positive.sum())
    tps, fps = binary_curve(positive, score)
    if n_pos == 0 or n_pos == len(positive):
        reasons["roc_auc"] = "only one class in the labels: ROC AUC is undefined"
    else:
        out["roc_auc"] = roc_auc_from_curve(tps, fps)
    if n_pos == 0:
        reasons["pr_auc"] = "no positive label: average precision is undefined"
    else:
        out["pr_auc"] = average_precision_from_curve(tps, fps)
    out["log_loss"] = _log_loss_from_true(np.where(positive, score, 1.0 - score))
    out["calibration"] = calibration(score, positive, n_bins, "positive_class")
    return out


def _multiclass_proba_metrics(
    matrix: np.ndarray,
    ti: np.ndarray,
    space: np.ndarray,
    n_bins: int,
    reasons: dict[str, str],
    per_auc: dict[int, tuple[float | None, float | None]],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    counts = np.bincount(ti, minlength=len(space))
    rocs, aps, skipped = [], [], []
    for c in range(len(space)):
        if counts[c] == 0 or counts[c] == len(ti):
            skipped.append(python_value(space[c]))
            continue
        tps, fps = binary_curve(ti == c, matrix[:, c])
        roc, ap = roc_auc_from_curve(tps, fps), average_precision_from_curve(tps, fps)
        per_auc[c] = (roc, ap)
        rocs.append(roc)
        aps.append(ap)
    if len(rocs) == 0:
        reasons["roc_auc"] = "fewer than two classes in the labels: ROC AUC is undefined"
        reasons["pr_auc"] = "fewer than two classes in the labels: PR AUC is undefined"
    else:
        out["roc_auc"] = float(np.mean(rocs))
        out["pr_auc"] = float(np.mean(aps))
        if skipped:
            note = (
                f"one-vs-rest macro over {len(rocs)} classes; not in the labels: {skipped[:10]!r}"
            )
            reasons["roc_auc"] = reasons["pr_auc"] = note
    out["log_loss"] = _log_loss_from_true(matrix[np.arange(len(ti)), ti])
    top = np.argmax(matrix, axis=1)
    out["calibration"] = calibration(
        matrix[np.arange(len(ti)), top], top == ti, n_bins, "top_label"
    )
    return out
