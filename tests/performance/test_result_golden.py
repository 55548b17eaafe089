"""`evaluate_window(...).to_dict()` byte for byte against golden files.

Pinned before the performance types moved out of `runner.py` (issue 13): a binary window
with probabilities, versions and segments, a multiclass one with {class: p} probabilities,
and a regression one. Regenerate after an intended change with
`MONITOR_GOLDEN_UPDATE=1 pytest tests/performance/test_result_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from monitor.performance.evaluate import evaluate_window
from monitor.performance.labelled import LabelledWindow

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "performance"
T0 = datetime(2024, 5, 1, tzinfo=UTC)
N = 500


def obj(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _window(y_true, y_pred, proba, proba_classes=None) -> LabelledWindow:
    rng = np.random.default_rng(7)
    labelled = np.array([y is not None for y in y_true])
    versions = rng.choice(["v1", "v2", None], N, p=[0.6, 0.35, 0.05]).tolist()
    countries = rng.choice(["FR", "DE", "LU", ""], N, p=[0.5, 0.3, 0.05, 0.15]).tolist()
    segments = tuple(
        {"country": c, "tier": str(i % 3)} if c else None for i, c in enumerate(countries)
    )
    ts = np.arange(N, dtype=np.int64) * 1_000_000
    return LabelledWindow(
        "m", T0, T0 + timedelta(hours=1), obj(y_pred), proba, proba_classes, obj(y_true),
        obj(versions), segments, ts, ts + rng.integers(1, 10**9, N), labelled, T0,
    )  # fmt: skip


def _binary() -> LabelledWindow:
    rng = np.random.default_rng(1)
    p = rng.random(N)
    y = [None if rng.random() < 0.2 else int(rng.random() < q) for q in p]
    pred = [None if i % 17 == 0 else int(q >= 0.5) for i, q in enumerate(p)]
    return _window(y, pred, np.where(np.arange(N) % 11 == 0, np.nan, p))


def _multiclass() -> LabelledWindow:
    rng = np.random.default_rng(2)
    raw = rng.dirichlet([1.0, 2.0, 3.0], N)
    classes = ("a", "b", "c")
    y = [None if rng.random() < 0.1 else classes[rng.choice(3, p=r)] for r in raw]
    return _window(y, [classes[int(np.argmax(r))] for r in raw], raw, classes)


def _regression() -> LabelledWindow:
    rng = np.random.default_rng(3)
    truth = rng.normal(100, 20, N)
    pred = truth + rng.normal(1, 5, N)
    y = [None if rng.random() < 0.15 else float(t) for t in truth]
    return _window(y, [float(v) for v in pred], None)


CASES = {"binary": _binary, "multiclass": _multiclass, "regression": _regression}


@pytest.mark.parametrize("case", sorted(CASES))
def test_result_document_matches_golden(case: str) -> None:
    result = evaluate_window(CASES[case](), monitor="mon", now=T0, min_rows=20)
    out = json.dumps(result.to_dict(), indent=1, allow_nan=False) + "\n"
    path = GOLDEN / f"result_{case}.json"
    if os.environ.get("MONITOR_GOLDEN_UPDATE"):
        path.write_text(out)
    assert out == path.read_text()
