"""`storage.labelled`: predictions LEFT JOIN labels per window, segment filters, and the span
of predictions whose labels arrived late, on SQLite and Postgres (the `engine` fixture).

Events are stored through the real ingestion write path (`store_batch`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.events import Label, Prediction
from monitor.performance import label_coverage, label_delay
from monitor.storage import store_batch
from monitor.storage.labelled import load_window, relabelled_span

T0 = datetime(2024, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
W1 = (T0, T0 + HOUR)


def pred(eid: str, at: datetime, prediction=None, proba=None, version="v1", segment=None):
    return Prediction(eid, "m", version, at, {"x": 1.0}, prediction, proba, segment)


def test_window_join_coverage_and_delay(engine) -> None:
    preds = [pred(f"e{i}", T0 + timedelta(minutes=5 * i), i % 2, 0.1 * i) for i in range(10)]
    preds += [
        pred("before", T0 - timedelta(seconds=1), 1, 0.5),  # outside [start, end)
        pred("at_end", T0 + HOUR, 1, 0.5),
        Prediction("e0", "other", None, T0, {}, 1, 0.9, None),  # same event_id, other model
    ]
    delays = [30, 60, 90, 120, 3600, 86400]
    labels = [
        Label(f"e{i}", "m", i % 3 == 0, T0 + timedelta(minutes=5 * i, seconds=d))
        for i, d in enumerate(delays)
    ]
    labels.append(Label("e0", "other", False, T0 + timedelta(days=9)))
    labels.append(Label("late_pred", "m", True, T0 + timedelta(minutes=2)))  # no prediction yet
    store_batch(engine, preds, labels, [])
    store_batch(engine, [pred("late_pred", T0 + timedelta(minutes=1), 1, 0.8)], [], [])

    w = load_window(engine, "m", *W1)
    assert w.n == 11 and w.n_labelled == 7
    assert label_coverage(w).share == pytest.approx(7 / 11)
    got = dict(zip(w.ts_us.tolist(), w.y_true.tolist(), strict=True))
    assert (
        got[
            (T0 + timedelta(minutes=1) - datetime(1970, 1, 1, tzinfo=UTC))
            // timedelta(microseconds=1)
        ]
        is True
    )
    expected = [*delays, 60]  # the orphan label joined its prediction (1 min later)
    d = label_delay(w)
    assert d.n == 7 and d.max_s == 86400.0
    assert (d.p50_s, d.p95_s) == tuple(np.percentile(expected, [50, 95]).tolist())
    assert w.proba is not None and w.proba.shape == (11,)


def test_segment_and_version_filters(engine) -> None:
    preds = [
        pred("fr1", T0, 1, None, "v1", {"country": "FR", "tier": "a"}),
        pred("fr2", T0 + timedelta(minutes=1), 0, None, "v2", {"country": "FR"}),
        pred("de", T0 + timedelta(minutes=2), 1, None, "v1", {"country": "DE"}),
        pred("none", T0 + timedelta(minutes=3), 1, None, "v1", None),
    ]
    store_batch(engine, preds, [Label("fr1", "m", 1, T0 + timedelta(minutes=9))], [])
    fr = load_window(engine, "m", *W1, segment={"country": "FR"})
    assert fr.n == 2 and fr.n_labelled == 1 and fr.proba is None
    assert fr.segments == ({"country": "FR", "tier": "a"}, {"country": "FR"})
    assert load_window(engine, "m", *W1, segment={"country": "FR", "tier": "a"}).n == 1
    v1 = load_window(engine, "m", *W1, model_version="v1")
    assert v1.model_version.tolist() == ["v1", "v1", "v1"]
    assert load_window(engine, "m", *W1, model_version="v1", segment={"country": "FR"}).n == 1
    assert load_window(engine, "nobody", *W1).n == 0


def test_relabelled_span(engine) -> None:
    preds = [
        pred(f"e{i}", T0 + timedelta(minutes=10 * i), 1, version=f"v{i % 2}") for i in range(6)
    ]
    early = T0 + 2 * HOUR
    store_batch(engine, preds, [Label("e0", "m", 1, T0)], [], received_at=early)
    late = [Label(f"e{i}", "m", 0, T0) for i in (1, 2, 4)]
    store_batch(engine, [], late, [], received_at=early + HOUR)
    first, last = T0 + timedelta(minutes=10), T0 + timedelta(minutes=40)
    assert relabelled_span(engine, "m", None, early, *W1) == (first, last)
    assert relabelled_span(engine, "m", None, T0, *W1) == (T0, last)
    v0 = (T0 + timedelta(minutes=20), last)  # e2 and e4 (v1: e1 alone)
    assert relabelled_span(engine, "m", "v0", early, *W1) == v0
    assert relabelled_span(engine, "m", "v1", early, *W1) == (first, first)
    assert relabelled_span(engine, "m", None, early + HOUR, *W1) is None
    assert relabelled_span(engine, "m", None, early, T0 + timedelta(minutes=15), T0 + HOUR) == (
        T0 + timedelta(minutes=20),
        last,
    )
