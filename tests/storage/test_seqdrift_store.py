"""The sequential rule's stored state on both dialects: round trip, restarts, another
reference's rows, the window log; on Postgres the row lock serialises two writers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from monitor.storage import sequential as seq
from monitor.storage.references import store_reference

T = datetime(2026, 11, 2, tzinfo=UTC)


def _ref(engine) -> int:
    row = store_reference(
        engine, "mon", created_at=T, source="frame", row_count=10, spec={}, sketch=b""
    )
    return row.id


def _state(ref_id: int, windows: int = 3) -> seq.SequentialState:
    feats = {
        "a": seq.FeatureCusum(1.5, 3, 3, 0.25, 0.5, quiet=4),
        "b'; drop table x; --": seq.FeatureCusum(0.0, 2, 2, -0.125, 1.0),
    }
    return seq.SequentialState("mon", ref_id, windows, T + timedelta(hours=windows), 9, feats)


def test_round_trip_restart_and_another_reference(engine) -> None:
    assert seq.load(engine, "mon") is None
    ref = _ref(engine)
    with engine.begin() as conn:
        assert seq.lock(conn, "mon", T) == seq.SequentialState("mon")
        seq.save(conn, _state(ref), T)
    assert seq.load(engine, "mon") == _state(ref)  # quiet (0013_seq_learn) included
    with engine.begin() as conn:
        assert seq.restart(conn, "mon", ref, ["a"], T) == 1
    a = seq.load(engine, "mon").features["a"]
    assert (a.statistic, a.since, a.restarts, a.restarted_at, a.quiet) == (0.0, 0, 1, T, 0)
    assert (a.warm_n, a.warm_mean, a.warm_m2) == (3, 0.25, 0.5)  # the warm-up is kept
    with engine.begin() as conn:
        assert seq.restart(conn, "mon", ref, None, T) == 2
        assert seq.restart(conn, "mon", ref, [], T) == 0
    assert {f.restarts for f in seq.load(engine, "mon").features.values()} == {1, 2}
    other = _ref(engine)
    with engine.begin() as conn:
        seq.lock(conn, "mon", T)
        seq.save(conn, _state(other, 1), T)
    got = seq.load(engine, "mon")
    assert got.reference_id == other and got.windows == 1 and len(got.features) == 2


def test_window_log_keeps_order_and_scores(engine) -> None:
    from monitor.storage import runs

    ref = _ref(engine)
    ids = [runs.claim(engine, "mon", T + timedelta(hours=h), T + timedelta(hours=h + 1), T,
                      timedelta(minutes=5)) for h in (1, 0)]  # fmt: skip
    with engine.begin() as conn:
        seq.log_window(conn, "mon", ids[0], ref, T + timedelta(hours=2), True, {"a": 1.25})
        seq.log_window(conn, "mon", ids[1], ref, T + timedelta(hours=1), False,
                       {"a": float("nan")})  # fmt: skip
    log = seq.window_log(engine, "mon")
    assert [(w.run_id, w.applied, w.scores) for w in log] == [
        (ids[1], False, {"a": None}),
        (ids[0], True, {"a": 1.25}),
    ]


def test_lock_makes_a_second_writer_wait(storage_pg_engine) -> None:
    engine = storage_pg_engine
    ref = _ref(engine)
    order: list[str] = []
    locked = threading.Event()

    def second() -> None:
        locked.wait(5)
        with engine.begin() as conn:
            state = seq.lock(conn, "mon", T)
            order.append(f"second saw {state.windows}")

    t = threading.Thread(target=second)
    t.start()
    with engine.begin() as conn:
        seq.lock(conn, "mon", T)
        locked.set()
        time.sleep(0.5)  # the second writer is now blocked on the row
        order.append("first saves 3")
        seq.save(conn, _state(ref, 3), T)
    t.join(10)
    assert order == ["first saves 3", "second saw 3"]


@pytest.fixture(autouse=True)
def _empty(request) -> None:
    """Postgres is shared by the session: start without the previous test's state."""
    eng = request.getfixturevalue("engine") if "engine" in request.fixturenames else None
    eng = eng or request.getfixturevalue("storage_pg_engine")
    from sqlalchemy import text

    with eng.begin() as conn:
        conn.execute(text("DELETE FROM sequential_windows"))
        conn.execute(text("DELETE FROM sequential_features"))
        conn.execute(text("DELETE FROM sequential_monitors"))
        conn.execute(text("DELETE FROM drift_runs"))
        conn.execute(text("DELETE FROM reference_datasets"))
