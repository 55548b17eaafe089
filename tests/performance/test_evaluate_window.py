"""evaluate_window on in-memory windows: groups share the class space, caps, JSON safety."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from monitor.errors import InputError
from monitor.performance.compute import compute_metrics
from monitor.performance.evaluate import evaluate_window, reference_performance
from monitor.performance.labelled import LabelledWindow

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def obj(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def window(y_true, y_pred, proba, versions, segments) -> LabelledWindow:
    n = len(y_true)
    labelled = np.array([y is not None for y in y_true])
    return LabelledWindow(
        "m",
        T0,
        T0 + timedelta(hours=1),
        obj(y_pred),
        None if proba is None else np.asarray(proba, dtype=float),
        None,
        obj(y_true),
        obj(versions),
        tuple(segments),
        np.arange(n, dtype=np.int64) * 1_000_000,
        np.arange(n, dtype=np.int64) * 1_000_000 + 5_000_000,
        labelled,
        T0,
    )


def test_one_class_segment_is_still_binary_and_json_is_strict() -> None:
    rng = np.random.default_rng(1)
    n = 400
    seg = ["all_pos" if i < 100 else "mixed" for i in range(n)]
    y = np.where(np.arange(n) < 100, 1, (rng.random(n) < 0.5).astype(int))
    p = rng.random(n)
    w = window(
        y.tolist(),
        (p >= 0.5).astype(int).tolist(),
        p,
        [None] * n,
        [{"kind": s} for s in seg],
    )
    r = evaluate_window(w, monitor="x", now=T0, min_rows=10)
    groups = {s.value: s.result for s in r.segments}
    pos = groups["all_pos"].metrics
    assert pos.binary and pos.classes == (0, 1)
    assert pos.roc_auc is None and "one class" in pos.reasons["roc_auc"]
    assert pos.f1 == pytest.approx(skm.f1_score(y[:100], (p[:100] >= 0.5).astype(int)))
    assert [v.value for v in r.versions] == [None]
    assert r.label_delay.p50_s == 5.0
    doc = r.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["versions"][0]["model_version"] is None


def test_segment_values_beyond_the_cap_are_counted() -> None:
    n = 120
    values = [f"c{i % 6}" for i in range(n)]
    w = window([i % 2 for i in range(n)], [1] * n, None, ["v"] * n, [{"city": v} for v in values])
    r = evaluate_window(w, monitor="x", now=T0, min_rows=5, max_segment_values=4)
    assert len(r.segments) == 4 and r.segments_omitted == 2
    assert [s.value for s in r.segments] == ["c0", "c1", "c2", "c3"]  # equal counts: by value


def test_unlabelled_window_and_group_statuses() -> None:
    n = 30
    y = [None] * 20 + [1, 0] * 5
    w = window(y, [1] * n, None, ["a"] * 20 + ["b"] * 10, [None] * n)
    r = evaluate_window(w, monitor="x", now=T0, min_rows=5)
    by = {v.value: v.result for v in r.versions}
    assert (by["a"].status, by["a"].reason) == ("no_labels", "none of 20 predictions labelled")
    assert (by["b"].status, by["b"].labelled, by["b"].coverage) == ("ok", 10, 1.0)
    assert r.overall.coverage == pytest.approx(10 / 30) and r.segments == ()
    with pytest.raises(InputError):
        evaluate_window(w, monitor="x", now=T0, min_rows=0)


def test_reference_performance_from_a_training_frame() -> None:
    rng = np.random.default_rng(10)
    n = 1000
    y = rng.choice(["no", "yes"], n)
    proba = np.clip((y == "yes") * 0.3 + rng.random(n) * 0.7, 0, 1)
    frame = pd.DataFrame(
        {"label": y, "prediction": np.where(proba >= 0.5, "yes", "no"), "prediction_proba": proba}
    )
    frame.loc[:9, "label"] = None  # unlabelled training rows are skipped
    m = reference_performance(frame)
    keep = np.arange(n) >= 10
    assert m.n == 990 and m.excluded["unlabelled"] == 10
    want = skm.roc_auc_score(y[keep] == "yes", proba[keep])
    assert m.roc_auc == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert m.scalars() == compute_metrics(y[keep], frame["prediction"][keep], proba[keep]).scalars()
    by_col = reference_performance(
        frame.assign(p_no=1 - proba, p_yes=proba).drop(columns="prediction_proba"),
        proba_columns={"no": "p_no", "yes": "p_yes"},
    )
    assert by_col.log_loss == pytest.approx(m.log_loss, rel=1e-9, abs=1e-12)
    with pytest.raises(InputError, match="label column 'target'"):
        reference_performance(frame, label_column="target")
    with pytest.raises(InputError, match="neither"):
        reference_performance({"label": [1, 0]}, prediction_column="pred")
