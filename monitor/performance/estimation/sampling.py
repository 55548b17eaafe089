"""CBPE's sampling error for one window, analytic (delta method, no draws).

Every CBPE metric m is a smooth function of per-row label probabilities: the expected
confusion matrix adds row i's P(label = t) to cell (t, pred_i), the expected AUC weights row
i as a positive by P(positive). `row_gradients` gives G[i, t] = dm / dP_i(label = t)
(`metric_gradients` for the confusion metrics, `auc_gradients` for ROC AUC). Two independent
sources move the realised value away from the estimate:

- **the window's labels** (label part): row i's label is drawn from its calibrated
  probabilities, so to first order Var(realised) = sum_i Var_{t ~ p_i}(G[i, t]) =
  sum_i (sum_t p_it G_it² - (sum_t p_it G_it)²). Exact for accuracy; for ratios (precision,
  F1, AUC) the linearisation of the realised value around the expected one.
- **the reference** (reference_error): each isotonic step value v_j was learnt from n_j
  reference rows, with binomial variance v_j(1 - v_j)/n_j (v shrunk by half a row towards 1/2,
  so pure steps are not noise-free). Var(estimate) = sum over steps of
  (sum of dm/dv_j over the window's rows on step j)² · Var(v_j): the influence-function
  variance of the plug-in functional "metric of the window under the calibration map", which
  scales as 1/(reference rows) and with how much of the window sits on each step.

sampling_error = sqrt(label part + reference part). Both sums are O(rows · classes²) (AUC:
a sort), so a 10k-row window costs milliseconds; the band is deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.performance.estimation.calibration import apply_isotonic, step_sd
from monitor.performance.estimation.confusion import per_class
from monitor.performance.estimation.data import ClassificationData

SEED = 0  # kept in the state for compatibility; the analytic band draws nothing


def _safe_inv(den: np.ndarray) -> np.ndarray:
    out = np.zeros(den.shape)
    np.divide(1.0, den, out=out, where=den > 0)
    return out


def metric_gradients(cm: np.ndarray, binary: bool) -> dict[str, np.ndarray]:
    """d metric / d C[t, j], one (k, k) array per confusion metric of `confusion_metrics`.

    Where a denominator is 0 the metric is 0 by scikit-learn's `zero_division=0` and its
    gradient is taken as 0. Terms that are the same for every t of a column j (e.g. through
    the total or the predicted count) cancel in both variances, but are kept for clarity.
    """
    k = cm.shape[0]
    eye = np.eye(k)
    pc = per_class(cm)
    tp, sup = np.diagonal(cm), pc["support"]
    prd = cm.sum(axis=0)
    d_tp = eye[:, :, None] * eye[:, None, :]  # [c, t, j] = δ_ct δ_cj
    d_sup = np.broadcast_to(eye[:, :, None], (k, k, k))  # δ_ct
    d_prd = np.broadcast_to(eye[:, None, :], (k, k, k))  # δ_cj
    col = (slice(None), None, None)
    grads = {
        "precision": (d_tp - pc["precision"][col] * d_prd) * _safe_inv(prd)[col],
        "recall": (d_tp - pc["recall"][col] * d_sup) * _safe_inv(sup)[col],
        "f1": (2.0 * d_tp - pc["f1"][col] * (d_sup + d_prd)) * _safe_inv(sup + prd)[col],
    }
    total = cm.sum()
    out = {"accuracy": (eye - tp.sum() / total) / total if total > 0 else np.zeros((k, k))}
    if binary:
        for name, g in grads.items():
            out[name] = g[1]
        return out
    # weighted = sum_c share_c m_c with share_c = support_c / total
    share = sup / total if total > 0 else np.zeros(k)
    d_share = (eye - share[:, None]) / total if total > 0 else np.zeros((k, k))  # [c, t]
    for name, g in grads.items():
        out[f"{name}_macro"] = g.mean(axis=0)
        out[f"{name}_weighted"] = (
            np.einsum("c,ctj->tj", share, g) + np.einsum("c,ct->t", pc[name], d_share)[:, None]
        )
    return out


def auc_gradient(
    scores: np.ndarray, w: np.ndarray, order: np.ndarray | None = None
) -> np.ndarray | None:
    """d expected AUC / d w_i (see `confusion.expected_auc`); None where the AUC is undefined.

    AUC = N / (T1·T0) with N = sum_ij w_i (1 - w_j) K_ij, K_ij = 1 if s_j < s_i, ½ on ties
    (the row itself included), T1 = sum w, T0 = n - T1. dN/dw_i = (negatives below i, ties
    half) - (positives above i, ties half)."""
    n = scores.size
    t1 = float(w.sum())
    t0 = n - t1
    if t1 < 1.0 or t0 < 1.0:
        return None
    order = np.argsort(scores, kind="stable") if order is None else order
    s, wp = scores[order], w[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sizes = np.diff(np.r_[starts, n])
    pos = np.add.reduceat(wp, starts)
    neg = sizes - pos
    neg_below = np.cumsum(neg) - neg
    pos_above = t1 - np.cumsum(pos)
    num = float((pos * (neg_below + 0.5 * neg)).sum())
    auc = num / (t1 * t0)
    d_group = (neg_below + 0.5 * neg) - (pos_above + 0.5 * pos)
    d_num = np.empty(n)
    d_num[order] = np.repeat(d_group, sizes)
    return (d_num - auc * (t0 - t1)) / (t1 * t0)


def row_gradients(
    proba: np.ndarray,
    scores: np.ndarray,
    pred: np.ndarray,
    binary: bool,
    orders: dict[int, np.ndarray] | None = None,
) -> dict[str, np.ndarray | None]:
    """metric -> G (n, k) = d metric / d P_i(label = t); None where the metric is undefined.
    `orders`: class -> stable argsort of its scores, when the caller has them."""
    orders = orders or {}
    k = proba.shape[1]
    cm = proba.T @ np.eye(k)[pred]
    out: dict[str, np.ndarray | None] = {
        name: g[:, pred].T for name, g in metric_gradients(cm, binary).items()
    }
    columns = [1] if binary else range(k)
    per = {t: auc_gradient(scores[:, t], proba[:, t], orders.get(t)) for t in columns}
    defined = [t for t, g in per.items() if g is not None]
    if not defined:
        out["roc_auc"] = None
        return out
    g_auc = np.zeros(proba.shape)
    for t in defined:
        g_auc[:, t] = per[t] / len(defined)  # type: ignore[operator]  # None filtered above
    out["roc_auc"] = g_auc
    return out


def label_variance(proba: np.ndarray, g: np.ndarray) -> float:
    """Var of the linearised realised metric when each row's label is drawn from its row."""
    if proba.shape[1] == 2:  # binary: p0·p1·(G1 − G0)², the same sum with fewer temporaries
        d = g[:, 1] - g[:, 0]
        return float(np.dot(proba[:, 0] * proba[:, 1], d * d))
    mean = (proba * g).sum(axis=1)
    return float(np.maximum((proba * g * g).sum(axis=1) - mean**2, 0.0).sum())


def reference_variance(
    state: dict[str, Any],
    raw: list[np.ndarray],
    proba: np.ndarray,
    g: np.ndarray,
    steps: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> float:
    """Var of the estimate from the calibration steps' reference noise (module doc).

    `raw`: each calibrator's un-normalised calibrated column. Binary: p1 = c, p0 = 1 - c, so
    dm/dc = G1 - G0. Multiclass: p_t = c_t / S, so dm/dc_t = (G_t - sum_u p_u G_u) / S.
    `steps`: each calibrator's `step_sd` of its column, when the caller has them."""
    binary = bool(state["binary"])
    if binary:
        d_cols = [g[:, 1] - g[:, 0]]
    else:
        total = np.sum(raw, axis=0)
        inv = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)
        mean = (proba * g).sum(axis=1)
        d_cols = [(g[:, t] - mean) * inv for t in range(len(raw))]
    if steps is None:
        steps = [step_sd(c, value) for c, value in zip(state["calibrators"], raw, strict=True)]
    var = 0.0
    for (idx, sd), d in zip(steps, d_cols, strict=True):
        per_step = np.bincount(idx, weights=d, minlength=sd.size)
        var += float(np.sum((per_step * sd) ** 2))
    return var


def band_errors(
    state: dict[str, Any],
    data: ClassificationData,
    proba: np.ndarray,
    estimates: dict[str, float | None],
    orders: dict[int, np.ndarray] | None = None,
    raw: list[np.ndarray] | None = None,
) -> dict[str, tuple[float | None, float | None]]:
    """metric -> (sampling_error, reference_error) for this window; see the module doc.
    `raw`: each calibrator's un-normalised column, when the caller has them."""
    binary = bool(state["binary"])
    columns = [1] if binary else range(len(state["classes"]))
    if raw is None:
        raw = [
            apply_isotonic(c, data.scores[:, t])
            for c, t in zip(state["calibrators"], columns, strict=True)
        ]
    steps = [step_sd(c, value) for c, value in zip(state["calibrators"], raw, strict=True)]
    grads = row_gradients(proba, data.scores, data.pred, binary, orders)
    out: dict[str, tuple[float | None, float | None]] = {}
    for name, value in estimates.items():
        g = grads.get(name)
        if value is None or g is None:
            out[name] = (None, None)
            continue
        ref = reference_variance(state, raw, proba, g, steps)
        out[name] = (float(np.sqrt(label_variance(proba, g) + ref)), float(np.sqrt(ref)))
    return out
