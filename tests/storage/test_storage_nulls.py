"""Stored null quantiles: one set per reference version, first writer wins, JSON round trip."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pandas as pd
from sklearn.datasets import load_wine
from sqlalchemy import func, select

from monitor.drift.calibration import calibrate
from monitor.storage.nulls import load_null_table, load_nulls, store_nulls
from monitor.storage.references import store_reference
from monitor.storage.tables_alarms import reference_nulls

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _wine() -> pd.DataFrame:
    frame = load_wine(as_frame=True).frame
    frame["kind"] = frame.pop("target").map({0: "a", 1: "b", 2: "c"})
    return frame[["alcohol", "magnesium", "kind"]]


def _reference(engine) -> int:
    row = store_reference(
        engine, "mon", created_at=NOW, source="frame", row_count=178, spec={"order": []}, sketch=b""
    )
    return row.id


def test_nulls_round_trip_and_the_first_writer_wins(engine) -> None:
    ref_id = _reference(engine)
    assert load_nulls(engine, ref_id) is None and load_null_table(engine, ref_id) == {}
    first = calibrate(_wine(), seed=0)
    other = calibrate(_wine(), seed=7)  # different draws: different quantiles
    a = first.features["alcohol"]
    assert a.quantiles != other.features["alcohol"].quantiles
    stored = store_nulls(engine, ref_id, first.features.values(), 0, NOW)
    assert stored.created == 3
    again = store_nulls(engine, ref_id, other.features.values(), 7, NOW)
    assert again.created == 0 and again.nulls == stored.nulls
    loaded = load_nulls(engine, ref_id)
    assert loaded is not None and set(loaded) == {"alcohol", "magnesium", "kind"}
    assert loaded["alcohol"] == a  # every quantile back exactly
    assert loaded["kind"].method == "jensenshannon" and loaded["alcohol"].kind == "numeric"
    assert loaded["alcohol"].p_value(0.3, 100) == a.p_value(0.3, 100)


def test_racing_writers_store_one_set(engine) -> None:
    ref_id = _reference(engine)
    sets = [calibrate(_wine(), seed=s).features for s in range(4)]
    results: list = [None] * 4
    barrier = threading.Barrier(4)

    def write(i: int) -> None:
        barrier.wait()
        results[i] = store_nulls(engine, ref_id, sets[i].values(), i, NOW)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.created for r in results) == 3  # one writer stored its three features
    assert all(r.nulls == results[0].nulls for r in results)
    winner = next(i for i, r in enumerate(results) if r.created)
    assert results[0].nulls[("alcohol", "wasserstein_normed")] == sets[winner]["alcohol"]
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(reference_nulls)).scalar_one()
        seeds = set(conn.execute(select(reference_nulls.c.seed)).scalars())
    assert count == 3 and seeds == {winner}
