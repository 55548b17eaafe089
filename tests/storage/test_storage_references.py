"""storage.references on both dialects: versions numbered per monitor, newest or a given one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.storage.references import latest_reference, reference_versions, store_reference

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SPEC = {"features": {}, "order": [], "performance": {"accuracy": 0.9}}


def _store(engine, monitor: str, minutes: int, sketch: bytes = b"\x00\x01"):
    return store_reference(
        engine,
        monitor,
        created_at=T0 + timedelta(minutes=minutes),
        source=f"file:{minutes}",
        row_count=10 + minutes,
        spec=SPEC,
        sketch=sketch,
    )


def test_versions_are_numbered_per_monitor(engine) -> None:
    assert latest_reference(engine, "a") is None and reference_versions(engine, "a") == []
    first = _store(engine, "a", 0)
    other = _store(engine, "b", 1)
    second = _store(engine, "a", 2, sketch=b"\xff" * 3)

    assert (first.version, other.version, second.version) == (1, 1, 2)
    newest = latest_reference(engine, "a")
    assert newest == second
    assert newest is not None and bytes(newest.sketch) == b"\xff\xff\xff"
    assert newest.spec == SPEC and newest.created_at == T0 + timedelta(minutes=2)
    assert latest_reference(engine, "a", version=1) == first
    assert latest_reference(engine, "a", version=3) is None
    assert reference_versions(engine, "a") == [
        {"id": second.id, "version": 2, "created_at": second.created_at, "source": "file:2",
         "row_count": 12},
        {"id": first.id, "version": 1, "created_at": first.created_at, "source": "file:0",
         "row_count": 10},
    ]  # fmt: skip
