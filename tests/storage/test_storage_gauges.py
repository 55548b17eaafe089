"""storage.gauges: the grouped reads behind /metrics, on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from monitor.storage import gauges
from monitor.storage.tables import (
    alerts,
    drift_feature_results,
    drift_runs,
    notifications,
    performance_runs,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _run(monitor: str, i: int, status: str, duration: float | None) -> dict:
    end = T0 + i * HOUR
    return {
        "monitor": monitor, "window_start": end - HOUR, "window_end": end, "status": status,
        "started_at": end, "finished_at": end, "duration_s": duration,
    }  # fmt: skip


def test_run_tallies_count_finished_runs_and_bucket_durations(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(drift_runs),
            [
                _run("a", 1, "succeeded", 0.2),
                _run("a", 2, "succeeded", 3.0),
                _run("a", 3, "failed", None),
                _run("a", 4, "running", 1.0),
                _run("gone", 1, "succeeded", 1.0),
            ],
        )
    got = {(t.monitor, t.status): t for t in gauges.run_tallies(engine, ["a", "b"], (1.0, 5.0))}
    assert got == {
        ("a", "succeeded"): gauges.RunTally("a", "succeeded", 2, 3.2, 2, (1, 2)),
        ("a", "failed"): gauges.RunTally("a", "failed", 1, 0.0, 0, (0, 0)),
    }
    assert gauges.run_tallies(engine, [], (1.0,)) == []


def test_firing_alerts_and_outbox_tallies(engine) -> None:
    def alert(i: int, monitor: str, state: str, severity: str) -> dict:
        return {
            "fingerprint": f"f{i}", "monitor": monitor, "rule": "r", "subject": f"s{i}",
            "state": state, "severity": severity, "created_at": T0,
        }  # fmt: skip

    def note(i: int, channel: str, status: str, attempts: int) -> dict:
        return {
            "delivery_id": f"d{i}", "channel": channel, "route": "r", "event": "e",
            "payload": {}, "status": status, "attempts": attempts, "next_attempt_at": T0,
            "created_at": T0,
        }  # fmt: skip

    with engine.begin() as conn:
        conn.execute(
            insert(alerts),
            [
                alert(1, "a", "firing", "critical"),
                alert(2, "a", "firing", "critical"),
                alert(3, "a", "pending", "warning"),
                alert(4, "z", "firing", "warning"),
            ],
        )
        conn.execute(
            insert(notifications),
            [
                note(1, "slack", "failed", 3),
                note(2, "slack", "failed", 2),
                note(3, "webhook", "pending", 0),
            ],
        )
    assert gauges.firing_alerts(engine, ["a"]) == {("a", "critical"): 2}
    assert sorted(gauges.outbox_tallies(engine), key=lambda t: t.channel) == [
        gauges.OutboxTally("slack", "failed", 2, 5),
        gauges.OutboxTally("webhook", "pending", 1, 0),
    ]


def test_newest_performance_and_feature_gauges(engine) -> None:
    def perf(end: datetime, revision: int, accuracy: float, status: str = "succeeded") -> dict:
        return {
            "monitor": "p", "window_start": end - HOUR, "window_end": end, "revision": revision,
            "status": status, "predictions": 1, "labelled": 1, "computed_at": end,
            "metrics": {"overall": {"metrics": {"accuracy": accuracy}}}, "segments": None,
        }  # fmt: skip

    with engine.begin() as conn:
        conn.execute(
            insert(performance_runs),
            [perf(T0, 1, 0.5), perf(T0 + HOUR, 1, 0.6), perf(T0 + HOUR, 2, 0.7),
             perf(T0 + 2 * HOUR, 1, 0.9, "insufficient_labels")],
        )  # fmt: skip
        run_id = conn.execute(
            insert(drift_runs).returning(drift_runs.c.id), [_run("a", 1, "succeeded", 1.0)]
        ).scalar_one()
        conn.execute(
            insert(drift_feature_results),
            [
                {
                    "run_id": run_id,
                    "feature": "x",
                    "kind": "numeric",
                    "method": "ks",
                    "statistic": 0.4,
                    "drifted": True,
                },
                {
                    "run_id": run_id,
                    "feature": "y",
                    "kind": "numeric",
                    "method": "ks",
                    "statistic": None,
                    "drifted": None,
                },
            ],
        )
    assert gauges.newest_performance(engine, ["p", "q"]) == {
        "p": {"overall": {"metrics": {"accuracy": 0.7}}}
    }
    got = sorted(gauges.feature_gauges(engine, [run_id]), key=lambda f: f.feature)
    assert got == [
        gauges.FeatureGauge(run_id, "x", 0.4, True),
        gauges.FeatureGauge(run_id, "y", None, None),
    ]
    assert gauges.feature_gauges(engine, []) == []
