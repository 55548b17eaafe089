"""storage.status: the database probe and the open-alert counts of `monitor status`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from monitor.storage import StorageUnavailable, make_engine
from monitor.storage.status import open_alert_counts, ping
from monitor.storage.tables import alerts

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_ping_answers_or_raises_storage_unavailable(engine) -> None:
    ping(engine)
    dead = make_engine("postgresql+psycopg://u:secret-pw@127.0.0.1:1/nope")
    try:
        with pytest.raises(StorageUnavailable) as err:
            ping(dead)
        assert "secret-pw" not in str(err.value)
    finally:
        dead.dispose()


def test_open_alert_counts_skip_resolved_alerts(engine) -> None:
    def alert(i: int, monitor: str, state: str, resolved: bool = False) -> dict:
        return {
            "fingerprint": f"f{i}", "monitor": monitor, "rule": "r", "subject": f"s{i}",
            "state": state, "severity": "warning", "created_at": T0,
            "resolved_at": T0 if resolved else None,
        }  # fmt: skip

    with engine.begin() as conn:
        conn.execute(
            insert(alerts),
            [
                alert(1, "a", "firing"),
                alert(2, "a", "firing"),
                alert(3, "a", "pending"),
                alert(4, "a", "resolved", resolved=True),
                alert(5, "b", "pending"),
            ],
        )
    assert open_alert_counts(engine) == {"a": {"firing": 2, "pending": 1}, "b": {"pending": 1}}
