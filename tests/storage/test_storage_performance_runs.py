"""Revisioned performance runs, segments and versions on SQLite and Postgres.

Events are stored through the real ingestion write path (`store_batch`), evaluated by
`compute_window` (load, then evaluate) and stored by `store_window`; the numbers are pinned
to scikit-learn on the rows we know each window holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from db_support import migrated_sqlite, truncate_all
from sklearn import metrics as skm
from sqlalchemy import Engine, func, select

from monitor.events import Label, Prediction
from monitor.scheduler.performance import compute_window
from monitor.settings import MonitorSettings
from monitor.storage import make_engine, store_batch
from monitor.storage.performance_runs import latest_runs, run_history, store_window
from monitor.storage.tables import performance_runs

T0 = datetime(2024, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
W1 = (T0, T0 + HOUR)
W2 = (T0 + HOUR, T0 + 2 * HOUR)
RTOL = 1e-9


@pytest.fixture(scope="module")
def perf_pg_engine(migrated_pg) -> Iterator[Engine]:
    eng = make_engine(migrated_pg("perf"))
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A migrated, empty store of each dialect."""
    if request.param == "sqlite":
        eng = make_engine(migrated_sqlite(tmp_path / "perf.db"))
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("perf_pg_engine")
    truncate_all(eng)
    yield eng


def pred(eid: str, at: datetime, prediction=None, proba=None, version="v1", segment=None):
    return Prediction(eid, "m", version, at, {"x": 1.0}, prediction, proba, segment)


def close(a, b) -> None:
    assert a == pytest.approx(b, rel=RTOL, abs=1e-12)


def binary_events(n: int, start: datetime, seed: int, prefix: str):
    """n predictions spread over one hour from `start`; returns events and the truth."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.4).astype(int)
    proba = np.clip(0.3 * truth + rng.random(n) * 0.7, 0, 1).round(4)
    events = []
    for i in range(n):
        country = "DE" if i % 6 == 0 else "FR"  # DE: every 6th row
        events.append(
            pred(
                f"{prefix}{i}",
                start + timedelta(seconds=i * 3600 // n),
                int(proba[i] >= 0.5),
                float(proba[i]),
                version="v2" if i % 4 == 0 else "v1",
                segment={"country": country},
            )
        )
    return events, truth, proba


def test_late_labels_revise_the_right_window(engine) -> None:
    mon = MonitorSettings(name="perf", model="m")
    ev1, y1, p1 = binary_events(240, W1[0], 1, "a")
    ev2, y2, _ = binary_events(120, W2[0], 2, "b")
    first = [Label(f"a{i}", "m", int(y1[i]), W1[0] + timedelta(minutes=30)) for i in range(120)]
    store_batch(engine, ev1 + ev2, first, [], received_at=T0 + HOUR)

    now1 = T0 + 2 * HOUR
    r1 = compute_window(engine, mon, *W1, now=now1, min_rows=50)
    s1 = store_window(engine, "perf", r1, now1)
    assert (s1.revision, s1.created, s1.labelled, s1.predictions) == (1, True, 120, 240)
    again = store_window(engine, "perf", compute_window(engine, mon, *W1, now=now1), now1)
    assert (again.id, again.revision, again.created) == (s1.id, 1, False)

    # late labels for W1 rows arrive during W2 (and some W2 rows get theirs)
    late = [Label(f"a{i}", "m", int(y1[i]), W2[0] + timedelta(minutes=10)) for i in range(120, 200)]
    late += [Label(f"b{i}", "m", int(y2[i]), W2[0] + timedelta(minutes=40)) for i in range(30)]
    store_batch(engine, [], late, [], received_at=T0 + 3 * HOUR)
    now2 = T0 + 3 * HOUR
    r2 = compute_window(engine, mon, *W1, now=now2, min_rows=50)
    s2 = store_window(engine, "perf", r2, now2)
    assert (s2.revision, s2.created, s2.labelled) == (2, True, 200)
    history = run_history(engine, "perf", *W1)
    assert [(h.revision, h.labelled, h.computed_at) for h in history] == [
        (1, 120, now1),
        (2, 200, now2),
    ]
    assert history[0].metrics["overall"]["evaluated"] == 120  # what was known then

    # the revision's numbers are scikit-learn's on exactly the labelled W1 rows
    yt, pp = y1[:200], p1[:200]
    yhat = (pp >= 0.5).astype(int)
    m = s2.metrics["overall"]["metrics"]
    close(m["f1"], skm.f1_score(yt, yhat))
    close(m["roc_auc"], skm.roc_auc_score(yt, pp))
    close(m["log_loss"], skm.log_loss(yt, pp))
    assert s2.metrics["coverage"] == {"predictions": 240, "labelled": 200, "share": 200 / 240}
    delays = np.r_[
        (np.full(120, 1800) - np.arange(120) * 15), 3600 + 600 - np.arange(120, 200) * 15
    ]
    assert s2.metrics["label_delay"]["p50_s"] == np.percentile(delays, 50)
    assert s2.metrics["label_delay"]["p95_s"] == np.percentile(delays, 95)

    # W2 only got its own labels: 30 < min_rows -> insufficient_labels, not a failure
    r_w2 = compute_window(engine, mon, *W2, now=now2, min_rows=50)
    s_w2 = store_window(engine, "perf", r_w2, now2)
    assert (s_w2.revision, s_w2.labelled, s_w2.status) == (1, 30, "insufficient_labels")
    assert s_w2.metrics["overall"]["metrics"] is None
    assert "fewer than min_rows 50" in s_w2.metrics["overall"]["reason"]

    # a newer label for an already-labelled prediction revises; an older one does not
    flip = 1 - int(y1[0])
    store_batch(engine, [], [Label("a0", "m", flip, T0 - HOUR)], [], received_at=T0 + 4 * HOUR)
    unchanged = store_window(engine, "perf", compute_window(engine, mon, *W1, now=now2), now2)
    assert (unchanged.revision, unchanged.created) == (2, False)
    store_batch(engine, [], [Label("a0", "m", flip, now2)], [], received_at=T0 + 5 * HOUR)
    s3 = store_window(engine, "perf", compute_window(engine, mon, *W1, now=now2), now2)
    assert (s3.revision, s3.labelled) == (3, 200)
    assert [(r.window_start, r.revision) for r in latest_runs(engine, "perf")] == [
        (W2[0], 1),
        (W1[0], 3),
    ]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(performance_runs)).scalar() == 4


def test_segments_and_versions(engine) -> None:
    mon = MonitorSettings(name="perf", model="m")
    ev, y, p = binary_events(240, W1[0], 3, "a")
    store_batch(engine, ev, [Label(f"a{i}", "m", int(y[i]), T0) for i in range(240)], [])
    r = compute_window(engine, mon, *W1, now=T0 + 2 * HOUR, min_rows=50)
    assert r.status == "succeeded" and r.classes == (0, 1)
    seg = {(s.key, s.value): s.result for s in r.segments}
    assert set(seg) == {("country", "FR"), ("country", "DE")}
    de, fr = seg[("country", "DE")], seg[("country", "FR")]
    assert (de.status, de.labelled, de.metrics) == ("insufficient_labels", 40, None)
    assert "40 labelled rows" in de.reason
    idx = np.arange(240)
    is_fr = idx % 6 != 0
    assert fr.status == "ok" and fr.labelled == 200
    close(fr.metrics.accuracy, skm.accuracy_score(y[is_fr], (p[is_fr] >= 0.5).astype(int)))
    close(fr.metrics.roc_auc, skm.roc_auc_score(y[is_fr], p[is_fr]))
    vers = {v.value: v.result for v in r.versions}
    assert list(vers) == ["v1", "v2"]  # most rows first
    v2 = idx % 4 == 0
    close(vers["v2"].metrics.f1, skm.f1_score(y[v2], (p[v2] >= 0.5).astype(int)))

    small = compute_window(engine, mon, *W1, now=T0, min_rows=41, segments=False)
    assert small.segments == () and small.overall.status == "ok"

    # a monitor on one segment and one version sees only those rows
    only = MonitorSettings(name="de", model="m", model_version="v2", segment={"country": "DE"})
    r_de = compute_window(engine, only, *W1, now=T0, min_rows=5)
    want = (idx % 6 == 0) & (idx % 4 == 0)
    assert r_de.predictions == want.sum() == 20
    close(r_de.overall.metrics.roc_auc, skm.roc_auc_score(y[want], p[want]))


def test_multiclass_probability_objects_round_trip(engine) -> None:
    rng = np.random.default_rng(8)
    classes = ["cat", "dog", "fish"]
    n = 300
    y = rng.choice(classes, n)
    proba = rng.dirichlet([2, 2, 2], n)
    ev = [
        pred(
            f"e{i}",
            T0 + timedelta(seconds=10 * i),
            classes[int(proba[i].argmax())],
            {c: float(proba[i, j]) for j, c in enumerate(classes)},
        )
        for i in range(n)
    ]
    store_batch(engine, ev, [Label(f"e{i}", "m", y[i], T0) for i in range(n)], [])
    r = compute_window(engine, MonitorSettings(name="mc", model="m"), *W1, now=T0, min_rows=10)
    m = r.overall.metrics
    assert r.task == "classification" and m.classes == tuple(classes)
    yhat = np.array(classes)[proba.argmax(axis=1)]
    close(m.f1_macro, skm.f1_score(y, yhat, average="macro"))
    close(m.roc_auc, skm.roc_auc_score(y, proba, multi_class="ovr"))
    close(m.log_loss, skm.log_loss(y, proba, labels=classes))


def test_regression_window_and_empty_window(engine) -> None:
    rng = np.random.default_rng(9)
    n = 200
    y = rng.normal(50, 10, n)
    yhat = y + rng.normal(1, 3, n)
    ev = [pred(f"e{i}", T0 + timedelta(seconds=15 * i), float(yhat[i])) for i in range(n)]
    store_batch(engine, ev, [Label(f"e{i}", "m", float(y[i]), T0) for i in range(n)], [])
    mon = MonitorSettings(name="reg", model="m")
    r = compute_window(engine, mon, *W1, now=T0, min_rows=10)
    assert r.task == "regression"
    close(r.overall.metrics.rmse, skm.root_mean_squared_error(y, yhat))
    close(r.overall.metrics.r2, skm.r2_score(y, yhat))

    empty = compute_window(engine, mon, *W2, now=T0)
    assert (empty.overall.status, empty.overall.reason) == (
        "no_labels",
        "no predictions in the window",
    )
    stored = store_window(engine, "reg", empty, T0)
    assert (stored.revision, stored.status, stored.predictions) == (1, "insufficient_labels", 0)
