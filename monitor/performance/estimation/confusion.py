"""Metrics of (expected) confusion matrices and the expected ROC AUC, vectorised over draws.

A confusion matrix here is `C[..., t, j]`: weight of rows whose label is class t and whose
prediction is class j (scikit-learn's orientation). The expected matrix of a window is
`C[t, j] = sum of P(label = t) over rows predicted j`; the metrics below are scikit-learn's
definitions evaluated on it (zero_division=0), i.e. `precision_recall_fscore_support` with
every row duplicated once per class, weighted by its probability. Leading axes are draws.
"""

from __future__ import annotations

import numpy as np

BINARY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
MULTICLASS_METRICS = (
    "accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "roc_auc",
)


def expected_confusion(proba: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) expected matrix from calibrated `proba` (n, k) and predicted class indices."""
    onehot = np.zeros((pred.shape[0], k))
    onehot[np.arange(pred.shape[0]), pred] = 1.0
    return proba.T @ onehot


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


def per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    """precision, recall, f1, support (label weight) per class; shape (..., k)."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    return {
        "precision": _div(tp, predicted),
        "recall": _div(tp, support),
        "f1": _div(2.0 * tp, support + predicted),
        "support": support,
    }


def confusion_metrics(cm: np.ndarray, binary: bool) -> dict[str, np.ndarray]:
    """Accuracy and precision/recall/F1: binary = positive class (index 1), else macro/weighted."""
    total = cm.sum(axis=(-2, -1))
    out = {"accuracy": _div(np.trace(cm, axis1=-2, axis2=-1), total)}
    pc = per_class(cm)
    if binary:
        for name in ("precision", "recall", "f1"):
            out[name] = pc[name][..., 1]
        return out
    weights = _div(pc["support"], pc["support"].sum(axis=-1, keepdims=True))
    for name in ("precision", "recall", "f1"):
        out[f"{name}_macro"] = pc[name].mean(axis=-1)
        out[f"{name}_weighted"] = (pc[name] * weights).sum(axis=-1)
    return out


def expected_auc(
    scores: np.ndarray, weights_pos: np.ndarray, order: np.ndarray | None = None
) -> float | None:
    """ROC AUC of each row counted as positive with weight w and negative with weight 1 - w.

    Equals `roc_auc_score(y, s, sample_weight=w)` on the rows duplicated (y=1, w) and
    (y=0, 1 - w); ties count one half. None when there is less than one expected positive or
    negative: then the realised AUC is likely undefined (scikit-learn refuses a one-class window).
    """
    value = float(expected_auc_draws(scores, weights_pos[None, :], order)[0])
    return None if np.isnan(value) else value


def expected_auc_draws(
    scores: np.ndarray, weights_pos: np.ndarray, order: np.ndarray | None = None
) -> np.ndarray:
    """`expected_auc` for each row of `weights_pos` (draws, n) at once; NaN where undefined.
    `order`: `argsort(scores, kind="stable")` when the caller already has it."""
    order = np.argsort(scores, kind="stable") if order is None else order
    s = scores[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    w1 = weights_pos[:, order]
    w0 = 1.0 - w1
    pos = np.add.reduceat(w1, starts, axis=1)
    neg = np.add.reduceat(w0, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    total1, total0 = w1.sum(axis=1), w0.sum(axis=1)
    ok = (total1 >= 1.0) & (total0 >= 1.0)
    den = np.where(ok, total1 * total0, 1.0)
    return np.where(ok, (pos * (below + 0.5 * neg)).sum(axis=1) / den, np.nan)


def midranks(scores: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties share their mean rank: scipy's `rankdata(method="average")`
    in numpy (importing scipy.stats costs more than the whole estimate)."""
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    ranks = np.empty(ordered.size)
    ranks[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)
    return ranks


def drawn_auc(labels_pos: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Realised ROC AUC per draw from boolean labels (draws, n) and fixed midranks; NaN if
    a draw has one class only."""
    n = ranks.shape[0]
    n1 = labels_pos.sum(axis=-1).astype(float)
    rank_sum = labels_pos.astype(float) @ ranks
    den = n1 * (n - n1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rank_sum - n1 * (n1 + 1) / 2.0) / den, np.nan)


def drawn_confusion(labels: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(draws, k, k) realised matrices from drawn labels (draws, n) and fixed predictions."""
    draws = labels.shape[0]
    idx = (np.arange(draws)[:, None] * k * k + labels * k + pred[None, :]).ravel()
    return np.bincount(idx, minlength=draws * k * k).reshape(draws, k, k).astype(float)
