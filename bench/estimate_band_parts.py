"""CBPE's two σ parts against simulation with a known calibration curve (no real data needed).

    .venv/bin/python bench/estimate_band_parts.py 2000 1000   # reference rows, window rows

Raw scores s ~ U(0, 1) with P(label = 1 | s) = s^1.5 (miscalibrated; the isotonic map learns
it). 600 times: a fresh reference, a fresh window (scores ~ Beta(2, 1), shifted), labels from
the true curve. The window's *true* expected metric splits the error in two: realised − true
(the window's labels: the label part) and true − estimate (the reference: the reference
part). Prints each spread beside the analytic part's root-mean-square, and the mean of
true − estimate (the in-sample isotonic map's optimism, which no σ term holds).
"""

from __future__ import annotations

import sys

import numpy as np

from monitor.performance.estimation import cbpe, classification_data
from monitor.performance.estimation.confusion import (
    confusion_metrics,
    expected_auc,
    expected_confusion,
)

NAMES = ("accuracy", "f1", "roc_auc")


def truth(s: np.ndarray) -> np.ndarray:
    return s**1.5


def data(s: np.ndarray, y: np.ndarray | None):
    return classification_data(np.column_stack([1 - s, s]), [0, 1], (s > 0.5).astype(int), y)


def main() -> None:
    n_ref, n_win = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(1)
    rows = {n: {k: [] for k in ("label", "ref", "sd", "ref_sd")} for n in NAMES}
    for _ in range(600):
        s_ref = rng.random(n_ref)
        state = cbpe.fit(data(s_ref, (rng.random(n_ref) < truth(s_ref)).astype(int)))
        s_win = rng.beta(2, 1, n_win)
        y = (rng.random(n_win) < truth(s_win)).astype(int)
        out = cbpe.estimate(state, data(s_win, y))
        true_p = np.column_stack([1 - truth(s_win), truth(s_win)])
        exp = confusion_metrics(expected_confusion(true_p, (s_win > 0.5).astype(int), 2), True)
        exp["roc_auc"] = expected_auc(s_win, true_p[:, 1])
        for n in NAMES:
            m = out.metrics[n]
            rows[n]["label"].append(m.realised - exp[n])
            rows[n]["ref"].append(exp[n] - m.value)
            rows[n]["sd"].append(np.sqrt(m.sampling_error**2 - m.reference_error**2))
            rows[n]["ref_sd"].append(m.reference_error)
    print(f"reference {n_ref} rows, window {n_win} rows, 600 draws")
    print("| metric | label part: spread / analytic | reference part: spread / analytic | "
          "mean(true − estimate) |")  # fmt: skip
    print("|---|---|---|---|")
    for n in NAMES:
        r = {k: np.asarray(v) for k, v in rows[n].items()}
        rms = {k: float(np.sqrt(np.mean(r[k] ** 2))) for k in ("sd", "ref_sd")}
        print(
            f"| {n} | {r['label'].std():.4f} / {rms['sd']:.4f} | {r['ref'].std():.4f} / "
            f"{rms['ref_sd']:.4f} | {r['ref'].mean():+.4f} |"
        )


if __name__ == "__main__":
    main()
