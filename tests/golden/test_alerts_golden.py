"""Golden files: the exact JSON the alert path emits (issue 13: pinned before code moves).

One SQLite store, two rules (a dataset rule and a feature rule), two runs (drift, then no
drift: firing, then resolved), delivered to local receivers (signed webhook, Slack incoming
webhook, Alertmanager v2). Pinned byte for byte (key order included) against
tests/golden/alerts/*.json: every webhook, Slack and Alertmanager body, the API's alert
list and detail, and `monitor alerts list/show --json`. Values that change from run to run
(delivery ids, wall-clock times of sends and acknowledgements) are replaced by placeholders
after checking their type. `MONITOR_UPDATE_GOLDEN=1` rewrites the files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from notify.notify_support import Receiver
from sqlalchemy import insert

from monitor.alerts import apply_run
from monitor.api import create_app
from monitor.cli import main
from monitor.drift.result import FeatureResult
from monitor.notify.delivery import deliver_due
from monitor.rules import RunFacts, evaluate
from monitor.settings import RuleSettings, Settings, parse_settings
from monitor.storage import make_engine, upgrade
from monitor.storage.db import Engine
from monitor.storage.tables import drift_runs

GOLDEN = Path(__file__).parent / "alerts"
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
UUID_HEX = re.compile(r"^[0-9a-f]{32}$")


def feature(
    name: str, method: str, statistic: float, p: float | None, threshold: float, drifted: bool
) -> FeatureResult:
    return FeatureResult(
        name=name,
        kind="numeric",
        method=method,
        statistic=statistic,
        p_value=p,
        threshold=threshold,
        drifted=drifted,
        missing_share_reference=0.0,
        missing_share_current=0.0,
    )


DRIFTED = (
    feature("age", "ks", 0.1525, 0.0003, 0.05, True),
    feature("income", "ks", 0.08, 0.41, 0.05, False),
    feature("plan", "psi", 0.21, None, 0.1, True),
    feature("city", "psi", 0.02, None, 0.1, False),
)
SECOND = (  # only age still drifts: the dataset rule resolves, the feature rule fires on
    DRIFTED[0],
    *(
        feature(f.name, f.method, 0.01, None if f.p_value is None else 0.9, f.threshold, False)
        for f in DRIFTED[1:]
    ),
)
RULES = [
    RuleSettings(name="dataset", condition="dataset_drift", severity="critical"),
    RuleSettings(name="features", condition="feature_drift", feature="age"),
]


def facts(run_id: int, start: datetime, features: tuple[FeatureResult, ...]) -> RunFacts:
    drifted = sum(f.drifted for f in features)
    return RunFacts(
        monitor="churn-daily",
        model="churn",
        model_version="3",
        run_id=run_id,
        window_start=start,
        window_end=start + HOUR,
        status="succeeded",
        dataset_drift=drifted / len(features) >= 0.4,
        drift_share=drifted / len(features),
        drift_share_threshold=0.4,
        features=features,
        current_rows=1000,
        reference_rows=4000,
        report_url=f"https://reports.example/runs/{run_id}.html",
    )


def settings_for(url: str, hook: Receiver, slack: Receiver, am: Receiver) -> Settings:
    return parse_settings(
        {
            "database": {"url": url, "auto_upgrade": False},
            "alerting": {
                "routes": {
                    "retrain": {"type": "webhook", "url": f"{hook.url}/h", "secret": "golden"},
                    "chat": {"type": "slack", "webhook_url": f"{slack.url}/services/T/B/x"},
                    "am": {
                        "type": "alertmanager",
                        "url": am.url,
                        "labels": {"team": "ml"},
                        "generator_url": "https://monitor.example",
                    },
                }
            },
            "monitors": [
                {
                    "name": "churn-daily",
                    "model": "churn",
                    "reference": "ref.parquet",
                    "rules": [r.model_dump(by_alias=True, exclude_defaults=True) for r in RULES],
                }
            ],
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{tmp_path / 'golden.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield engine, url
    engine.dispose()


def _placeholder(doc: Any, key: str, kind: str) -> Any:
    """Replace every value under `key` (at any depth) after checking it is of `kind`."""
    if isinstance(doc, list):
        return [_placeholder(v, key, kind) for v in doc]
    if not isinstance(doc, dict):
        return doc
    out = {}
    for k, v in doc.items():
        if k == key and v is not None:
            if kind == "uuid":
                assert UUID_HEX.match(v), v
            elif kind == "time":
                assert datetime.fromisoformat(v.replace("Z", "+00:00")).tzinfo is not None, v
            out[k] = f"<{kind}>"
        else:
            out[k] = _placeholder(v, key, kind)
    return out


def _acked(doc: Any) -> Any:
    """The acknowledgement's wall-clock time (`acknowledged_at`, its history row's `at`)."""
    if isinstance(doc, list):
        return [_acked(v) for v in doc]
    if not isinstance(doc, dict):
        return doc
    out = {k: _acked(v) for k, v in doc.items()}
    if out.get("acknowledged_at") is not None:
        out = _placeholder(out, "acknowledged_at", "time")
    if out.get("state") == "acknowledged" and "at" in out:
        out["at"] = _placeholder({"at": out["at"]}, "at", "time")["at"]
    return out


def check(name: str, doc: Any) -> None:
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("MONITOR_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name}: differs from {path}"


def test_alert_json_is_pinned(store, tmp_path, capsys) -> None:
    engine, url = store
    hook, slack, am = Receiver(), Receiver(), Receiver()
    try:
        settings = settings_for(url, hook, slack, am)
        alerting = settings.alerting
        for run_id, start, features in ((1, T0, DRIFTED), (2, T0 + HOUR, SECOND)):
            f = facts(run_id, start, features)
            with engine.begin() as conn:
                conn.execute(
                    insert(drift_runs).values(
                        id=run_id,
                        monitor="churn-daily",
                        window_start=start,
                        window_end=start + HOUR,
                        status="succeeded",
                        started_at=start + HOUR,
                        finished_at=start + HOUR,
                        dataset_drift=f.dataset_drift,
                        drift_share=f.drift_share,
                    )
                )
                apply_run(conn, f, evaluate(RULES, f), RULES, alerting, start + HOUR)
            deliver_due(engine, alerting, now=start + HOUR)
        webhook = [r.json() for r in hook.requests]
        slack_bodies = [r.json() for r in slack.requests]
        am_bodies = [_placeholder(r.json(), "endsAt", "time") for r in am.requests]
    finally:
        for r in (hook, slack, am):
            r.stop()
    assert (len(webhook), len(slack_bodies), len(am_bodies)) == (
        3,
        3,
        4,
    )  # Alertmanager: a re-send of the firing one
    check("webhook", webhook)
    check("slack", slack_bodies)
    check("alertmanager", am_bodies)

    with TestClient(create_app(engine, settings)) as client:
        r = client.post("/api/v1/alerts/1/ack", json={"by": "alice", "comment": "on it"})
        assert r.status_code == 409  # resolved: nothing to acknowledge
        acked = client.post("/api/v1/alerts/2/ack", json={"by": "alice", "comment": "on it"})
        assert acked.status_code == 200
        listed = client.get("/api/v1/alerts").json()
        detail = client.get("/api/v1/alerts/1").json()
        page = client.get("/api/v1/alerts", params={"limit": 1}).json()
        assert page["next_cursor"]
        rest = client.get("/api/v1/alerts", params={"cursor": page["next_cursor"]}).json()
        schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    names = ("AckIn", "AlertDetail", "AlertEventOut", "AlertOut", "AlertPage", "DeliveryOut")
    check("openapi_alerts", {name: schemas[name] for name in names})
    check("api_list", _acked(listed))
    check("api_detail", _placeholder(detail, "delivery_id", "uuid"))
    check("api_ack", _placeholder(_acked(acked.json()), "delivery_id", "uuid"))
    check("api_pages", [_acked(page), _acked(rest)])

    config = tmp_path / "monitor.yaml"
    config.write_text(
        yaml.safe_dump(
            {"database": {"url": url, "auto_upgrade": False}, "reports": {"enabled": False}}
        )
    )
    assert main(["alerts", "list", "--json", "--config", str(config)]) == 0
    cli_list = json.loads(capsys.readouterr().out)
    assert main(["alerts", "show", "1", "--json", "--config", str(config)]) == 0
    cli_show = json.loads(capsys.readouterr().out)
    assert main(["alerts", "show", "2", "--json", "--config", str(config)]) == 0
    cli_show_acked = json.loads(capsys.readouterr().out)
    check("cli_list", cli_list)
    check("cli_show", _placeholder(cli_show, "delivery_id", "uuid"))
    check("cli_show_acked", _placeholder(_acked(cli_show_acked), "delivery_id", "uuid"))
