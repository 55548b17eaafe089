"""storage.deployments on both dialects: recorded on the caller's connection, newest first,
the superseded ids set afterwards, a trigger delivery found by id (or None)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.storage import deployments as store

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
