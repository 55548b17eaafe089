"""The scheduler's MLflow alias job (issue 16 item 5): added only when an alias is watched,
polled every `mlflow.poll_interval`; an unreachable tracking server is logged, not raised
(the next poll retries). The alias move itself: tests/test_mlflow_reference.py (real server)."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

from monitor.scheduler.service import SchedulerService
from monitor.settings import parse_settings
from monitor.storage import make_engine, upgrade


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(tmp_path, watch: bool):
    return parse_settings(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
            "mlflow": {
                "tracking_uri": f"http://127.0.0.1:{closed_port()}",
                "watch_alias": watch,
                "poll_interval": "30s",
            },
            "monitors": [{"name": "m", "model": "churn", "reference": "models:/churn@champion"}],
        }
    )


def test_alias_job_and_a_failed_poll(tmp_path, caplog) -> None:
    settings = _settings(tmp_path, watch=True)
    engine = make_engine(settings.database.url.get_secret_value())
    upgrade(engine)
    service = SchedulerService(engine, settings)
    service._watch_mlflow(datetime.now(UTC))
    job = service._sched.get_job("mlflow:aliases")
    assert job is not None and job.trigger.interval.total_seconds() == 30
    with caplog.at_level(logging.WARNING, logger="monitor.mlflow"):
        service._mlflow_tick()  # nothing listens there: logged with the alias, no exception
    [record] = [r for r in caplog.records if r.getMessage() == "mlflow_watch_failed"]
    assert "unreachable" in record.error and record.alias == "champion"  # type: ignore[attr-defined]

    off = SchedulerService(engine, _settings(tmp_path, watch=False))
    off._watch_mlflow(datetime.now(UTC))
    assert off._sched.get_job("mlflow:aliases") is None
    engine.dispose()
