"""Issue 11 item 5: every feature entry says what decided it, end to end.

A drift run with a KS feature (a p-value test: drifted because p < 0.05 although its
statistic 0.1525 means nothing against 0.05) and a PSI feature (a distance), plus two that
did not drift, goes through the rules, the alert store and the outbox to three local HTTP
receivers (signed webhook, Slack incoming webhook, Alertmanager v2). The exact bodies are
pinned: method, statistic, p-value, threshold and `threshold_on` per feature, the dataset
rule's drift-share threshold as a number, "p = 0.0003 < 0.05" and "0.21 ≥ 0.1" in text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import Engine, insert

from monitor.alerts import apply_run, fingerprint
from monitor.drift.result import FeatureResult
from monitor.notify.delivery import deliver_due
from monitor.notify.signing import verify
from monitor.rules import RunFacts, evaluate
from monitor.settings import AlertingSettings, RuleSettings
from monitor.storage.tables import drift_runs

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECRET = "payload-verdict-secret"


def feature(name, method, statistic, p_value, threshold, drifted) -> FeatureResult:
    return FeatureResult(
        name=name,
        kind="numeric",
        method=method,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=drifted,
        missing_share_reference=0.0,
        missing_share_current=0.0,
    )


FEATURES = (
    feature("age", "ks", 0.1525, 0.0003, 0.05, True),
    feature("income", "ks", 0.08, 0.41, 0.05, False),  # statistic above 0.05, no drift
    feature("plan", "psi", 0.21, None, 0.1, True),
    feature("city", "psi", 0.02, None, 0.1, False),
)


def _run(engine: Engine, alerting: AlertingSettings, rule: RuleSettings) -> int:
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(drift_runs).values(
                monitor="churn-daily",
                window_start=T0,
                window_end=T0 + HOUR,
                status="succeeded",
                started_at=T0 + HOUR,
                finished_at=T0 + HOUR,
                dataset_drift=True,
                drift_share=0.5,
            )
        ).inserted_primary_key[0]
        facts = RunFacts(
            monitor="churn-daily",
            model="churn",
            model_version="3",
            run_id=run_id,
            window_start=T0,
            window_end=T0 + HOUR,
            status="succeeded",
            dataset_drift=True,
            drift_share=0.5,
            drift_share_threshold=0.4,
            features=FEATURES,
            current_rows=1000,
            reference_rows=4000,
        )
        apply_run(conn, facts, evaluate([rule], facts), [rule], alerting, T0 + HOUR)
    return int(run_id)


def test_bodies_carry_what_decided_each_feature(engine, receiver) -> None:
    hook, slack, am = receiver(), receiver(), receiver()
    alerting = AlertingSettings.model_validate(
        {
            "routes": {
                "retrain": {"type": "webhook", "url": f"{hook.url}/h", "secret": SECRET},
                "chat": {"type": "slack", "webhook_url": f"{slack.url}/services/T/B/x"},
                "am": {"type": "alertmanager", "url": am.url},
            }
        }
    )
    rule = RuleSettings(name="dataset", condition="dataset_drift", severity="critical")
    run_id = _run(engine, alerting, rule)
    stats = deliver_due(engine, alerting, now=T0 + HOUR)
    assert stats.delivered == 3

    [h] = hook.requests
    assert verify(h.body, h.headers["X-Monitor-Signature"], SECRET.encode())
    body = h.json()
    assert body == {
        "event": "drift.detected",
        "alert_id": body["alert_id"],
        "fingerprint": fingerprint("churn-daily", "dataset", ""),
        "monitor": "churn-daily",
        "model": "churn",
        "model_version": "3",
        "rule": "dataset",
        "condition": "dataset_drift",
        "subject": "",
        "severity": "critical",
        "window": {"start": T0.isoformat(), "end": (T0 + HOUR).isoformat()},
        "run_id": run_id,
        "dataset_drift": True,
        "drift_share": 0.5,
        "drift_share_threshold": 0.4,
        "drifted_features": [
            {
                "name": "age",
                "method": "ks",
                "statistic": 0.1525,
                "p_value": 0.0003,
                "threshold": 0.05,
                "threshold_on": "p_value",
            },
            {
                "name": "plan",
                "method": "psi",
                "statistic": 0.21,
                "p_value": None,
                "threshold": 0.1,
                "threshold_on": "statistic",
            },
        ],
        "report_url": None,
        "fired_at": (T0 + HOUR).isoformat(),
        "resolved_at": None,
        "summary": "2 of 4 features drifted (share 0.50 >= 0.40)",
        "performance": None,
        "new_categories": None,
        "correction": None,  # fixed thresholds here: the drift-share rule decided
    }
    assert h.body == orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    [s] = slack.requests
    blocks = s.json()["blocks"]
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert fields[-1] == "*Dataset drift*\nyes (drift share 0.5 ≥ 0.4)"
    assert blocks[3] == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*Top drifted features*\n"
            "• `age` — ks p = 0.0003 &lt; 0.05\n"  # mrkdwn escaping: Slack shows "<"
            "• `plan` — psi 0.21 ≥ 0.1",
        },
    }

    [a] = am.requests
    [alert] = a.json()
    assert alert["annotations"]["description"].splitlines()[2:] == [
        "Drift share 0.5 ≥ 0.4.",
        "Drifted features (2): age (ks p = 0.0003 < 0.05), plan (psi 0.21 ≥ 0.1).",
    ]
    assert orjson.loads(alert["annotations"]["drifted_features"]) == body["drifted_features"]


def test_feature_rule_summaries_name_the_p_value() -> None:
    rule = RuleSettings(name="features", condition="feature_drift")
    facts = RunFacts(
        monitor="m",
        model="churn",
        model_version=None,
        run_id=None,
        window_start=T0,
        window_end=T0 + HOUR,
        status="succeeded",
        features=FEATURES,
    )
    got = {h.subject: h for h in evaluate([rule], facts)}
    assert got["age"].details["summary"] == "feature 'age' drifted (ks p = 0.0003 < 0.05)"
    assert got["income"].details["summary"] == "feature 'income' did not drift (ks p = 0.41 ≥ 0.05)"
    assert got["plan"].details["summary"] == "feature 'plan' drifted (psi 0.21 ≥ 0.1)"
    assert got["city"].details["summary"] == "feature 'city' did not drift (psi 0.02 < 0.1)"
    assert got["age"].details["threshold_on"] == "p_value"
    assert got["plan"].details["threshold_on"] == "statistic"


def test_new_category_alert_bodies_agree(engine, receiver) -> None:
    """Issue 11 item 2: the count, share and names reach every receiver alike."""
    hook, slack, am = receiver(), receiver(), receiver()
    alerting = AlertingSettings.model_validate(
        {
            "routes": {
                "retrain": {"type": "webhook", "url": f"{hook.url}/h", "secret": SECRET},
                "chat": {"type": "slack", "webhook_url": f"{slack.url}/services/T/B/x"},
                "am": {"type": "alertmanager", "url": am.url},
            }
        }
    )
    plan = FeatureResult(
        name="plan",
        kind="categorical",
        method="chisquare",
        statistic=812.0,
        p_value=1e-40,
        threshold=0.05,
        drifted=True,
        missing_share_reference=0.0,
        missing_share_current=0.0,
        stats={
            "new_category_count": 7,
            "new_category_share": 0.3,
            "new_categories": {"<b>x": 0.2, "gold": 0.05},  # the run listed two of seven
            "new_categories_listed_max": 100,
        },
    )
    rule = RuleSettings(name="new-plans", condition="new_category", feature="plan")
    with engine.begin() as conn:
        facts = RunFacts(
            monitor="churn-daily",
            model="churn",
            model_version="3",
            run_id=None,
            window_start=T0,
            window_end=T0 + HOUR,
            status="succeeded",
            dataset_drift=False,
            drift_share=0.0,
            drift_share_threshold=0.4,
            features=(plan,),
        )
        apply_run(conn, facts, evaluate([rule], facts), [rule], alerting, T0 + HOUR)
    assert deliver_due(engine, alerting, now=T0 + HOUR).delivered == 3

    body = hook.requests[0].json()
    assert body["new_categories"] == {
        "count": 7,
        "share": 0.3,
        "categories": [{"name": "<b>x", "share": 0.2}, {"name": "gold", "share": 0.05}],
        "listed_max": 20,
    }
    assert (
        body["summary"] == "feature 'plan': 7 new categories ('<b>x', 'gold', ...), 30.0% of values"
    )
    fields = [f["text"] for f in slack.requests[0].json()["blocks"][2]["fields"]]
    assert "*New categories*\n7 (30.0% of values): `&lt;b&gt;x`, `gold`, …" in fields
    [alert] = am.requests[0].json()
    assert (
        "New categories: 7 (30.0% of values): <b>x, gold, …."
        in alert["annotations"]["description"].splitlines()
    )
