"""`storage.version_reads`: each model version's labelled rows of a window (SQLite and Postgres),
stored through the real ingestion write path, and the comparison they feed.

Shadow traffic: both versions score the same request id (`event_id`) at their own timestamp,
so one label joins both predictions and the rows pair.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from monitor.events import Label, Prediction
from monitor.performance.versions import compare_versions
from monitor.storage import store_batch
from monitor.storage.version_reads import load_version_rows, model_versions

T0 = datetime(2024, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def pred(eid: str, version: str, at: datetime, prediction, segment=None) -> Prediction:
    return Prediction(eid, "m", version, at, {"x": 1.0}, prediction, None, segment)


def test_shadow_rows_pair_and_feed_mcnemar(engine) -> None:
    preds, labels = [], []
    truth = [i % 2 for i in range(40)]
    for i, y in enumerate(truth):
        at = T0 + timedelta(minutes=i)
        preds.append(pred(f"r{i}", "3", at, y if i % 4 else 1 - y, {"country": "FR"}))
        # the challenger scores the same request a moment later (its own timestamp)
        preds.append(pred(f"r{i}", "4", at + timedelta(seconds=1), y if i % 10 else 1 - y))
        if i < 36:
            labels.append(Label(f"r{i}", "m", y, at + timedelta(hours=2)))
    preds.append(pred("late", "4", T0 + HOUR, 1))  # outside [T0, T0 + 1h)
    preds.append(Prediction("r0", "other", "3", T0, {}, 0, None, None))  # another model
    store_batch(engine, preds, labels, [])

    a = load_version_rows(engine, "m", "3", T0, T0 + HOUR)
    b = load_version_rows(engine, "m", "4", T0, T0 + HOUR)
    assert (a.predictions, b.predictions) == (40, 40)  # labelled or not
    assert a.event_ids == tuple(f"r{i}" for i in range(36))  # prediction-time order
    assert a.y_true.tolist() == truth[:36] and b.y_pred.tolist()[:2] == [1, 1]
    assert a.proba is None
    assert model_versions(engine, "m", T0, T0 + HOUR) == ["3", "4"]

    got = compare_versions(a, b)
    assert got.design == "paired" and got.pairs == 36
    ca = np.array([(y if i % 4 else 1 - y) == y for i, y in enumerate(truth[:36])])
    cb = np.array([(y if i % 10 else 1 - y) == y for i, y in enumerate(truth[:36])])
    tbl = [[(ca & cb).sum(), (ca & ~cb).sum()], [(~ca & cb).sum(), (~ca & ~cb).sum()]]
    assert got.test is not None and got.test.p_value == sm_mcnemar(tbl, exact=True).pvalue

    seg = load_version_rows(engine, "m", "3", T0, T0 + HOUR, segment={"country": "FR"})
    assert seg.predictions == 40 and len(seg.event_ids) == 36
    none = load_version_rows(engine, "m", "4", T0, T0 + HOUR, segment={"country": "FR"})
    assert none.predictions == 0 and none.event_ids == ()
