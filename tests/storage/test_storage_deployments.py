"""storage.deployments on both dialects: recorded on the caller's connection, newest first,
the superseded ids set afterwards, a trigger delivery found by id (or None)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from monitor.errors import DeploymentRaced
from monitor.storage import deployments as store
from monitor.storage import make_engine

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _record(conn, version: str, at: datetime, trigger=None) -> store.Deployment:
    return store.record_deployment(
        conn,
        model="m",
        version=version,
        reference=f"/data/{version}.parquet",
        trigger=trigger,
        reference_versions={"mon": 2},
        superseded=[],
        deployed_at=at,
    )


def test_record_list_newest(engine) -> None:
    assert store.latest_deployment(engine, "m") is None
    assert store.list_deployments(engine, "m") == []
    link = store.DeliveryLink("d-1", None, "drift.detected", "retrain")
    with engine.begin() as conn:
        first = _record(conn, "2", T0, link)
        second = _record(conn, "3", T0 + timedelta(hours=1))
        store.set_superseded(conn, second.id, [5, 6])
        assert store.newest_deployment(conn, "m") == store.Deployment(
            second.id, "m", "3", "/data/3.parquet", None, None, T0 + timedelta(hours=1),
            {"mon": 2}, [5, 6],
        )  # fmt: skip
        assert store.run_windows(conn, []) == {} and store.run_windows(conn, [999]) == {}
    assert first.trigger_delivery_id == "d-1" and first.alert_id is None
    assert [d.version for d in store.list_deployments(engine, "m")] == ["3", "2"]
    newest = store.latest_deployment(engine, "m")
    assert newest is not None and newest.superseded == [5, 6]
    assert newest.same_as("3", "/data/3.parquet")
    assert not newest.same_as("3", "/data/2.parquet") and not newest.same_as("2", "/data/3.parquet")
    assert store.latest_deployment(engine, "other") is None


def test_delivery_link_absent(engine) -> None:
    assert store.delivery_link(engine, "no-such-delivery") is None


def test_latest_deployments_by_model(engine) -> None:
    assert store.latest_deployments(engine, []) == {}
    with engine.begin() as conn:
        _record(conn, "2", T0)
        newest = _record(conn, "3", T0 + timedelta(hours=1))
    got = store.latest_deployments(engine, ["m", "other"])
    assert got == {"m": newest}


def _wait_for_a_lock_wait(engine, timeout: float = 10.0) -> None:
    """Until some backend of this database waits on a lock (the second insert)."""
    stmt = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND query LIKE 'INSERT INTO deployments%'"
    )
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while conn.execute(stmt).scalar_one() == 0:
            conn.rollback()  # pg_stat_activity is a snapshot per transaction
            assert time.monotonic() < deadline, "the second insert never waited"
            time.sleep(0.02)


def test_two_concurrent_deployments_following_the_same_store_one(engine) -> None:
    """Both transactions saw no deployment; the unique (model, follows_id) key lets only the
    first commit, the second gets DeploymentRaced and stores nothing."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a concurrent writer blocks on the unique index on Postgres")
    got: dict[str, object] = {}
    other = make_engine(engine.url.render_as_string(hide_password=False))  # its own pool

    def second() -> None:
        try:
            with other.begin() as conn:
                got["row"] = _record(conn, "2", T0)
        except Exception as exc:  # the test asserts which
            got["error"] = exc

    with engine.connect() as conn:
        tx = conn.begin()
        first = _record(conn, "2", T0)
        thread = threading.Thread(target=second)
        thread.start()
        _wait_for_a_lock_wait(engine)
        tx.commit()
    thread.join(10)
    other.dispose()
    assert isinstance(got.get("error"), DeploymentRaced) and "row" not in got
    assert [d.id for d in store.list_deployments(engine, "m")] == [first.id]
    with engine.begin() as conn:  # the next one follows the stored one
        assert _record(conn, "3", T0 + timedelta(hours=1)).id > first.id


def test_episodes_only_of_triggered_deployments(engine) -> None:
    """No trigger, no episode; a trigger whose delivery and alert are gone keeps the
    deployment with neither (the runs come from the reference versions it materialised)."""
    assert store.episodes(engine, "m") == []
    link = store.DeliveryLink("gone", None, "drift.detected", "retrain")
    with engine.begin() as conn:
        _record(conn, "2", T0)
        triggered = _record(conn, "3", T0 + timedelta(hours=1), link)
    (episode,) = store.episodes(engine, "m")
    assert episode == store.Episode(triggered, None, None, [])
