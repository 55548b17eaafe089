"""CBPE's sampling error for one window, by drawing what the window's realised metric could be.

Each draw (a) perturbs every calibration step by its reference noise (`calibration.step_sd`)
and (b) draws every row's label from the perturbed probabilities, then computes the metric of
the drawn labels (the realised value if the reference were the truth) and of the perturbed
expected matrix (the estimate a different reference of the same size would have given).

- reference_error = RMS over draws of (perturbed estimate - estimate): the reference's own part.
- sampling_error = sqrt(reference_error² + label part²), the label part being the RMS of
  (drawn realised - estimate) with the reference part removed. Windows over `SIM_ROWS` rows
  draw a subsample; the label part shrinks with 1/sqrt(rows) to the window's size.

The draws are seeded (`SEED`), so the same window always gets the same band.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.performance.estimation.calibration import apply_isotonic, combine, step_sd
from monitor.performance.estimation.confusion import (
    confusion_metrics,
    drawn_auc,
    drawn_confusion,
    expected_auc_draws,
    midranks,
)
from monitor.performance.estimation.data import ClassificationData

SEED = 0
DRAWS = 100
CHUNK = 25
SIM_ROWS = 20_000


def _draw_labels(rng: np.random.Generator, proba: np.ndarray) -> np.ndarray:
    """Labels (draws, m) from probabilities (draws, m, k) by inverse CDF."""
    u = rng.random(proba.shape[:-1])
    cum = np.cumsum(proba, axis=-1)
    return np.minimum((u[..., None] > cum).sum(axis=-1), proba.shape[-1] - 1)


def _auc_draws(proba, labels, scores, ranks, orders, binary) -> tuple[np.ndarray, np.ndarray]:
    """(expected AUC, realised AUC) per draw; multiclass = mean over defined classes."""
    columns = [1] if binary else range(scores.shape[1])
    exp = np.stack([expected_auc_draws(scores[:, t], proba[..., t], orders[t]) for t in columns])
    real = np.stack([drawn_auc(labels == t, ranks[t]) for t in columns])
    with np.errstate(all="ignore"):
        return _nanmean0(exp), _nanmean0(real)


def _nanmean0(values: np.ndarray) -> np.ndarray:
    count = (~np.isnan(values)).sum(axis=0)
    total = np.nansum(values, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _draws(state: dict[str, Any], scores: np.ndarray, pred: np.ndarray, rng) -> dict:
    binary, k = bool(state["binary"]), len(state["classes"])
    calibrators = state["calibrators"]
    onehot = np.zeros((pred.size, k))
    onehot[np.arange(pred.size), pred] = 1.0
    columns = [1] if binary else range(k)
    ranks = {t: midranks(scores[:, t]) for t in columns}
    orders = {t: np.argsort(scores[:, t], kind="stable") for t in columns}
    step_noise, base = [], []
    for col, c in zip(columns, calibrators, strict=True):
        _, sd = step_sd(c, np.asarray(c["values"], dtype=float))
        step_noise.append(rng.standard_normal((DRAWS, sd.size)) * sd)
        value = apply_isotonic(c, scores[:, col])
        base.append((value, step_sd(c, value)[0]))  # each row's value and its step
    exp: dict[str, list] = {}
    real: dict[str, list] = {}
    for start in range(0, DRAWS, CHUNK):
        cols = [
            np.clip(value + n[start : start + CHUNK][:, idx], 0.0, 1.0)
            for (value, idx), n in zip(base, step_noise, strict=True)
        ]
        proba = combine(cols, binary)  # (draws, m, k)
        labels = _draw_labels(rng, proba)
        cm_exp = np.einsum("dmt,mj->dtj", proba, onehot)
        pairs = [
            (confusion_metrics(cm_exp, binary), exp),
            (confusion_metrics(drawn_confusion(labels, pred, k), binary), real),
        ]
        for values, into in pairs:
            for name, v in values.items():
                into.setdefault(name, []).append(v)
        auc_exp, auc_real = _auc_draws(proba, labels, scores, ranks, orders, binary)
        exp.setdefault("roc_auc", []).append(auc_exp)
        real.setdefault("roc_auc", []).append(auc_real)
    return {
        "exp": {n: np.concatenate(v) for n, v in exp.items()},
        "real": {n: np.concatenate(v) for n, v in real.items()},
    }


def _rms(values: np.ndarray, centre: float) -> float | None:
    ok = values[~np.isnan(values)]
    if ok.size < DRAWS // 2:
        return None
    return float(np.sqrt(np.mean((ok - centre) ** 2)))


def band_errors(
    state: dict[str, Any], data: ClassificationData, estimates: dict[str, float | None]
) -> dict[str, tuple[float | None, float | None]]:
    """metric -> (sampling_error, reference_error) for this window; see the module doc."""
    rng = np.random.default_rng(int(state.get("seed", SEED)))
    n = data.rows
    idx = np.arange(n) if n <= SIM_ROWS else np.sort(rng.choice(n, SIM_ROWS, replace=False))
    drawn = _draws(state, data.scores[idx], data.pred[idx], rng)
    scale = idx.size / n
    out: dict[str, tuple[float | None, float | None]] = {}
    for name, value in estimates.items():
        if value is None:
            out[name] = (None, None)
            continue
        ref = _rms(drawn["exp"][name], value)
        total = _rms(drawn["real"][name], value)
        if ref is None or total is None:
            out[name] = (None, ref)
            continue
        label_sq = max(total**2 - ref**2, 0.0) * scale
        out[name] = (float(np.sqrt(ref**2 + label_sq)), ref)
    return out
