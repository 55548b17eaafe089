"""Alerts in storage, run after run, on SQLite and Postgres: states, history, outbox rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from db_support import empty_tables, migrated_sqlite
from sqlalchemy import Engine, func, insert, select

from monitor.alerts import alert_history, apply_run, fingerprint, list_alerts
from monitor.drift.result import FeatureResult
from monitor.rules import RunFacts, evaluate
from monitor.settings import AlertingSettings, RuleSettings
from monitor.silences import add_silence
from monitor.storage import make_engine
from monitor.storage.tables import alerts, drift_runs, notifications

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
RUN = timedelta(minutes=10)
PRED = "__prediction__"

ALERTING = AlertingSettings.model_validate(
    {
        "routes": {
            "team-slack": {"type": "slack", "webhook_url": "http://127.0.0.1:9/slack"},
            "retrain": {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s"},
        },
        "repeat_interval": "1h",
    }
)


@pytest.fixture(scope="module")
def alerts_pg_engine(migrated_pg) -> Iterator[Engine]:
    eng = make_engine(migrated_pg("alerts"))
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(migrated_sqlite(tmp_path / "alerts.db"))
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("alerts_pg_engine")
    # = TRUNCATE ... RESTART IDENTITY CASCADE
    empty_tables(eng, "notifications, silences, alert_events, alerts, drift_runs")
    yield eng


def feat(name: str, drifted: bool, statistic: float = 0.3) -> FeatureResult:
    return FeatureResult(
        name=name,
        kind="numeric",
        method="psi",
        statistic=statistic if drifted else 0.01,
        p_value=None,
        threshold=0.2,
        drifted=drifted,
        missing_share_reference=0.0,
        missing_share_current=0.0,
    )


class Runner:
    """Stores a drift run and applies its alerts in one transaction, like the scheduler."""

    def __init__(self, engine: Engine, rules: list[RuleSettings], alerting=ALERTING) -> None:
        self.engine, self.rules, self.alerting, self.n = engine, rules, alerting, 0

    def run(self, drifted: dict[str, bool] | None, at: datetime, **kw):
        """One run at `at`; `drifted=None` is an insufficient-data run."""
        start = T0 + self.n * RUN
        self.n += 1
        status = "insufficient_data" if drifted is None else "succeeded"
        features = tuple(feat(n, d) for n, d in (drifted or {}).items())
        share = sum(f.drifted for f in features) / len(features) if features else None
        with self.engine.begin() as conn:
            run_id = conn.execute(
                insert(drift_runs).values(
                    monitor="m",
                    window_start=start,
                    window_end=start + RUN,
                    status=status,
                    started_at=at,
                    finished_at=at,
                    dataset_drift=None if share is None else share >= 0.5,
                    drift_share=share,
                )
            ).inserted_primary_key[0]
            facts = RunFacts(
                monitor="m",
                model="churn",
                model_version="v3",
                run_id=run_id,
                window_start=start,
                window_end=start + RUN,
                status=status,
                dataset_drift=None if share is None else share >= 0.5,
                drift_share=share,
                drift_share_threshold=0.5,
                features=features,
                prediction_feature=PRED,
                current_rows=0 if drifted is None else 500,
                reference_rows=1000,
                report_url=f"http://127.0.0.1/reports/{run_id}.html",
                **kw,
            )
            hits = evaluate(self.rules, facts)
            return run_id, apply_run(conn, facts, hits, self.rules, self.alerting, at)


def outbox(engine: Engine) -> list[dict]:
    n = notifications.c
    with engine.connect() as conn:
        rows = conn.execute(select(notifications).order_by(n.id)).mappings()
        return [dict(r) for r in rows]


def test_pending_firing_repeat_resolved(engine) -> None:
    rule = RuleSettings(name="drift", condition="dataset_drift", severity="critical", **{"for": 2})
    r = Runner(engine, [rule])
    drifted = {"age": True, "city": True, "plan": False}

    id1, ch1 = r.run(drifted, T0)
    assert [(c.before, c.after, c.notify) for c in ch1] == [("inactive", "pending", None)]
    assert outbox(engine) == []

    id2, ch2 = r.run(drifted, T0 + RUN)
    assert [(c.before, c.after, c.notify, c.event) for c in ch2] == [
        ("pending", "firing", "firing", "drift.detected")
    ]
    rows = outbox(engine)
    assert sorted((x["route"], x["channel"]) for x in rows) == [
        ("retrain", "webhook"),
        ("team-slack", "slack"),
    ]
    assert sorted(ch2[0].delivery_ids) == sorted(x["delivery_id"] for x in rows)
    for x in rows:
        assert x["status"] == "pending" and x["attempts"] == 0
        assert x["next_attempt_at"] == T0 + RUN == x["created_at"]
        assert x["event"] == "drift.detected" and x["severity"] == "critical"
        assert x["fingerprint"] == fingerprint("m", "drift", "") == x["payload"]["fingerprint"]
        assert len(x["delivery_id"]) == 32 and int(x["delivery_id"], 16) >= 0

    # still firing: nothing new until repeat_interval (1h) has passed since the notice
    for i in range(2, 7):
        _, ch = r.run(drifted, T0 + i * RUN)
        assert ch == []
    assert len(outbox(engine)) == 2
    _, ch = r.run(drifted, T0 + RUN + timedelta(hours=1))
    assert [c.event for c in ch] == ["drift.repeated"]
    rows = outbox(engine)
    assert len(rows) == 4 and {x["event"] for x in rows[2:]} == {"drift.repeated"}

    id_last, ch = r.run({"age": False, "city": False, "plan": False}, T0 + timedelta(hours=2))
    assert [(c.before, c.after, c.event) for c in ch] == [("firing", "resolved", "drift.resolved")]
    rows = outbox(engine)
    assert len(rows) == 6 and {x["event"] for x in rows[4:]} == {"drift.resolved"}
    resolved = rows[-1]["payload"]
    assert resolved["resolved_at"] == (T0 + timedelta(hours=2)).isoformat()
    assert resolved["fired_at"] == (T0 + RUN).isoformat()
    assert resolved["dataset_drift"] is False and resolved["drifted_features"] == []

    [alert] = list_alerts(engine, monitor="m")
    assert alert.state == "resolved" and alert.resolved_at == T0 + timedelta(hours=2)
    assert alert.fired_at == T0 + RUN and alert.last_run_id == id_last
    assert [(e.state, e.at, e.run_id) for e in alert_history(engine, alert.id)] == [
        ("pending", T0, id1),
        ("firing", T0 + RUN, id2),
        ("resolved", T0 + timedelta(hours=2), id_last),
    ]
    assert alert_history(engine, alert.id)[1].detail["from"] == "pending"

    # a new episode is a new alert row; the old one stays as history
    r.run(drifted, T0 + timedelta(hours=3))
    r.run(drifted, T0 + timedelta(hours=3) + RUN)
    assert [a.state for a in list_alerts(engine)] == ["firing", "resolved"]
    assert [a.state for a in list_alerts(engine, state="open")] == ["firing"]
    assert list_alerts(engine, severity="warning") == []
    assert len(outbox(engine)) == 8


def test_pending_that_clears_is_closed_without_notice(engine) -> None:
    rule = RuleSettings(name="drift", condition="dataset_drift", **{"for": 3})
    r = Runner(engine, [rule])
    r.run({"age": True}, T0)
    _, ch = r.run({"age": False}, T0 + RUN)
    assert [(c.before, c.after, c.notify) for c in ch] == [("pending", "resolved", None)]
    assert outbox(engine) == []
    [alert] = list_alerts(engine)
    assert alert.fired_at is None and alert.resolved_at == T0 + RUN


def test_payload_shape(engine) -> None:
    rule = RuleSettings(name="features", condition="feature_drift", severity="warning")
    r = Runner(engine, [rule])
    run_id, _ = r.run({"age": True, "plan": False, PRED: True}, T0)
    rows = outbox(engine)
    assert len(rows) == 2  # one alert (age), two routes; the prediction is not a feature here
    p = rows[0]["payload"]
    assert p == rows[1]["payload"]
    with engine.connect() as conn:
        alert_id = conn.execute(select(alerts.c.id)).scalar_one()
    assert p == {
        "event": "drift.detected",
        "alert_id": alert_id,
        "fingerprint": fingerprint("m", "features", "age"),
        "monitor": "m",
        "model": "churn",
        "model_version": "v3",
        "rule": "features",
        "condition": "feature_drift",
        "subject": "age",
        "severity": "warning",
        "window": {"start": T0.isoformat(), "end": (T0 + RUN).isoformat()},
        "run_id": run_id,
        "dataset_drift": True,
        "drift_share": pytest.approx(2 / 3),
        "drift_share_threshold": 0.5,  # the run's dataset threshold (a feature rule here)
        "drifted_features": [
            {
                "name": name,
                "method": "psi",
                "statistic": 0.3,
                "p_value": None,
                "threshold": 0.2,
                "threshold_on": "statistic",
            }
            for name in ("age", PRED)
        ],
        "report_url": f"http://127.0.0.1/reports/{run_id}.html",
        "fired_at": T0.isoformat(),
        "resolved_at": None,
        "summary": "feature 'age' drifted (psi 0.3 ≥ 0.2)",
        "performance": None,
        "new_categories": None,
        "correction": None,  # the corrected dataset decision (auto thresholds), dataset rule
    }
    types = {k: type(v).__name__ for k, v in p.items()}
    assert types["alert_id"] == "int" and types["run_id"] == "int"
    assert types["drift_share"] == "float" and types["dataset_drift"] == "bool"


def test_performance_payload(engine) -> None:
    rule = RuleSettings(name="acc", condition="performance", metric="accuracy", max_drop=0.05)
    r = Runner(engine, [rule])
    r.run(
        {"age": False},
        T0,
        performance={"accuracy": 0.8},
        reference_performance={"accuracy": 0.9},
        labelled_rows=400,
    )
    p = outbox(engine)[0]["payload"]
    assert p["event"] == "performance.detected" and p["subject"] == ""
    assert p["performance"] == {
        "metric": "accuracy",
        "value": 0.8,
        "reference": 0.9,
        "threshold": pytest.approx(0.85),
    }


def test_per_feature_subjects_resolve_and_insufficient_data_holds(engine) -> None:
    rules = [
        RuleSettings(name="features", condition="feature_drift"),
        RuleSettings(name="short", condition="insufficient_data", **{"for": 2}),
    ]
    r = Runner(engine, rules)
    _, ch = r.run({"age": True, "city": True, "plan": False}, T0)
    assert sorted((c.subject, c.after) for c in ch) == [("age", "firing"), ("city", "firing")]

    # not enough data: feature alerts hold (no change, nothing sent); short goes pending
    _, ch = r.run(None, T0 + RUN)
    assert [(c.rule, c.after) for c in ch] == [("short", "pending")]
    assert {a.subject: a.state for a in list_alerts(engine, state="open")} == {
        "age": "firing",
        "city": "firing",
        "": "pending",
    }
    _, ch = r.run(None, T0 + 2 * RUN)
    assert [(c.rule, c.after, c.event) for c in ch] == [
        ("short", "firing", "insufficient_data.detected")
    ]

    # data again: age still drifts, city recovered, and `short` resolves
    _, ch = r.run({"age": True, "city": False, "plan": False}, T0 + 3 * RUN)
    assert sorted((c.rule, c.subject, c.after, c.event) for c in ch) == [
        ("features", "city", "resolved", "drift.resolved"),
        ("short", "", "resolved", "insufficient_data.resolved"),
    ]
    # the feature left the run (e.g. removed from the model): its alert resolves too
    _, ch = r.run({"city": False, "plan": False}, T0 + 4 * RUN)
    assert [(c.subject, c.after) for c in ch] == [("age", "resolved")]
    assert list_alerts(engine, state="open") == []


def test_silence_holds_then_the_owed_notice_is_sent(engine) -> None:
    rules = [
        RuleSettings(name="drift", condition="dataset_drift"),
        RuleSettings(name="share", condition="drift_share", threshold=0.5),
    ]
    r = Runner(engine, rules)
    add_silence(engine, "m", None, T0 + timedelta(minutes=25), "deploy", now=T0)  # until T0+25m
    add_silence(engine, "m", "share", T0 + 2 * RUN, None, now=T0)  # until T0+20m
    add_silence(engine, "other", None, T0 + timedelta(days=1), None, now=T0)

    _, ch = r.run({"age": True}, T0)
    assert sorted((c.rule, c.after, c.notify) for c in ch) == [
        ("drift", "firing", None),
        ("share", "firing", None),
    ]
    assert r.run({"age": True}, T0 + RUN)[1] == []
    assert r.run({"age": True}, T0 + 2 * RUN)[1] == []  # monitor-wide silence runs to 25m
    _, ch = r.run({"age": True}, T0 + 3 * RUN)  # every silence over: both notices owed
    assert sorted((c.rule, c.before, c.after, c.event) for c in ch) == [
        ("drift", "firing", "firing", "drift.detected"),
        ("share", "firing", "firing", "drift.detected"),
    ]
    assert len(outbox(engine)) == 4
    p = outbox(engine)[0]["payload"]
    assert p["fired_at"] == T0.isoformat()  # when it fired, not when the silence ended
    assert [a.last_notified_at for a in list_alerts(engine)] == [T0 + 3 * RUN] * 2


def test_resolved_during_a_silence_sends_nothing(engine) -> None:
    r = Runner(engine, [RuleSettings(name="drift", condition="dataset_drift")])
    add_silence(engine, "m", "drift", T0 + timedelta(hours=1), None, now=T0)
    r.run({"age": True}, T0)
    _, ch = r.run({"age": False}, T0 + RUN)
    assert [(c.after, c.notify) for c in ch] == [("resolved", None)]
    assert outbox(engine) == []


def test_open_alert_is_unique_per_fingerprint(engine) -> None:
    """The partial unique index: a second open alert for one fingerprint is refused."""
    from sqlalchemy.exc import IntegrityError

    r = Runner(engine, [RuleSettings(name="drift", condition="dataset_drift")])
    r.run({"age": True}, T0)
    row = {
        "fingerprint": fingerprint("m", "drift", ""),
        "monitor": "m",
        "rule": "drift",
        "subject": "",
        "state": "firing",
        "severity": "warning",
        "created_at": T0,
    }
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(alerts).values(**row))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alerts)).scalar_one() == 1
