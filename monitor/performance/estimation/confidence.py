"""AC and ATC: accuracy from the model's own confidence, as further estimators beside CBPE.

- AC (average confidence): accuracy = mean probability of the predicted class. Unbiased when
  the scores are calibrated on the window; nothing is learnt from the reference (the fit only
  records how far AC was off there). Band: the realised accuracy's sd when each row is right
  with its confidence, sqrt(sum c(1-c)) / n.
- ATC (average thresholded confidence, Garg et al. 2022): on the reference, the threshold t
  such that the share of rows with confidence > t equals the reference accuracy; a window's
  accuracy = its share of rows with confidence > t. Band: binomial sd of that share for the
  window, combined with the reference accuracy's own sd (t is learnt from it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.jsonsafe import json_safe
from monitor.performance.estimation.cbpe import check_classes, realised_metrics
from monitor.performance.estimation.data import ClassificationData, labelled, labels_of
from monitor.performance.estimation.result import DEFAULT_Z, WindowEstimate, metric


def confidence(data: ClassificationData) -> np.ndarray:
    """The model's probability of the class it predicted, per row."""
    return data.scores[np.arange(data.rows), data.pred]


def _base(name: str, ref: ClassificationData, z: float) -> dict[str, Any]:
    accuracy = float(np.mean(labels_of(ref) == ref.pred))
    return {
        "method": name,
        "version": 1,
        "classes": list(ref.classes),
        "binary": ref.binary,
        "reference_rows": ref.rows,
        "reference_accuracy": accuracy,
        "z": z,
    }


def fit_ac(data: ClassificationData, *, z: float = DEFAULT_Z) -> dict[str, Any]:
    ref = labelled(data)
    state = _base("ac", ref, z)
    state["reference_bias"] = float(confidence(ref).mean()) - state["reference_accuracy"]
    return json_safe(state)


def estimate_ac(state: dict[str, Any], data: ClassificationData) -> WindowEstimate:
    check_classes(state, data)
    c = confidence(data)
    sd = float(np.sqrt((c * (1.0 - c)).sum()) / data.rows)
    real = realised_metrics(data).get("accuracy")
    m = metric("accuracy", float(c.mean()), sd, 0.0, float(state["z"]), realised=real)
    note = (
        f"on the reference AC was off by {state['reference_bias']:+.4f} "
        "(AC assumes calibrated scores)"
    )
    return WindowEstimate("ac", "classification", data.rows, {"accuracy": m}, [], [note])


def fit_atc(data: ClassificationData, *, z: float = DEFAULT_Z) -> dict[str, Any]:
    ref = labelled(data)
    state = _base("atc", ref, z)
    conf = np.sort(confidence(ref))
    wrong = round((1.0 - state["reference_accuracy"]) * ref.rows)
    # share of rows with confidence > t equals the reference accuracy (ties aside)
    state["threshold"] = float(conf[wrong - 1]) if wrong > 0 else float(np.nextafter(conf[0], -1))
    return json_safe(state)


def estimate_atc(state: dict[str, Any], data: ClassificationData) -> WindowEstimate:
    check_classes(state, data)
    value = float((confidence(data) > float(state["threshold"])).mean())
    acc_ref, n_ref = float(state["reference_accuracy"]), int(state["reference_rows"])
    ref_sd = float(np.sqrt(acc_ref * (1.0 - acc_ref) / n_ref))
    sd = float(np.sqrt(value * (1.0 - value) / data.rows + ref_sd**2))
    real = realised_metrics(data).get("accuracy")
    m = metric("accuracy", value, sd, ref_sd, float(state["z"]), realised=real)
    return WindowEstimate("atc", "classification", data.rows, {"accuracy": m})
