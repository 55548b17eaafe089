"""Seeding for the operator CLI tests (status, alerts, dead letters).

Every store is real: a migrated Postgres database (emptied between tests) and SQLite in
tmp_path. Alerts are produced by the real scheduler (`tick` with an explicit `now`), the
outbox by the real delivery pass against a closed local port (a real connection error).
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from scheduler.scheduler_support import T0, put, traffic, training

from monitor.cli import main
from monitor.events import DeadLetter
from monitor.settings import Settings, load_settings
from monitor.storage import make_engine
from monitor.storage.writes import store_batch

HOUR = timedelta(hours=1)


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp_path: Path, url: str, **extra: Any) -> str:
    """A service config: monitor "mon" (model "m") with a drift rule routed to a webhook on
    a closed port, and monitor "quiet" (model "q") that never ran."""
    ref = tmp_path / "ref.parquet"
    if not ref.exists():
        training(ref)
    doc: dict[str, Any] = {
        "database": {"url": url},
        "reports": {"enabled": False},
        "alerting": {
            "routes": {
                "retrain": {
                    "type": "webhook",
                    "url": f"http://127.0.0.1:{closed_port()}/hook",
                    "secret": "test-secret",
                    "timeout": "2s",
                }
            },
            "delivery": {"max_attempts": 1},
        },
        "monitors": [
            {
                "name": "mon",
                "model": "m",
                "reference": str(ref),
                "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                "rules": [
                    {"name": "dataset", "condition": "dataset_drift", "severity": "critical"},
                    {"name": "nulls", "condition": "missing_share", "threshold": 0.5},
                ],
            },
            {"name": "quiet", "model": "q"},
        ],
        **extra,
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def settings_of(config: str) -> Settings:
    return load_settings(config)


def seed_drift_alert(config: str) -> tuple[Settings, Any, int]:
    """One drifted window computed by the scheduler: a firing critical alert, its webhook
    notification attempted once against a closed port (failed). Returns the run id."""
    from monitor.notify.delivery import deliver_due
    from monitor.scheduler.ticks import tick

    settings = settings_of(config)
    engine = make_engine(settings.database.url.get_secret_value())
    put(engine, traffic(400, T0, HOUR, shift=1.0, seed=5))
    [outcome] = tick(engine, settings, settings.monitor("mon"), T0 + HOUR + timedelta(seconds=1))
    assert outcome.status == "succeeded" and outcome.dataset_drift, outcome
    stats = deliver_due(engine, settings.alerting, now=T0 + HOUR + timedelta(seconds=2))
    assert stats.claimed == 1, stats
    return settings, engine, outcome.run_id


def dead_letter(
    offset: int,
    raw: bytes,
    *,
    reason: str = "invalid_json",
    detail: str = "seeded",
    topic: str = "predictions",
    received_at: datetime | None = None,
) -> DeadLetter:
    return DeadLetter(topic, 0, offset, reason, detail, raw, received_at or datetime.now(UTC))


def store_dead_letters(engine: Any, letters: list[DeadLetter]) -> None:
    result = store_batch(engine, [], [], letters)
    assert result.dead_letters_inserted == len(letters)


def run(capsys: Any, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


__all__ = [
    "HOUR",
    "T0",
    "dead_letter",
    "run",
    "seed_drift_alert",
    "settings_of",
    "store_dead_letters",
    "write_config",
]
