"""Alertmanager channel: exact request bodies against a local receiver, re-sending while
firing, ordering of the resolution, and a real Alertmanager (Debian's
prometheus-alertmanager) routing to a local recording webhook receiver."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from notify_support import (
    T0,
    Receiver,
    Reply,
    enqueue,
    feature,
    firing_payload,
    resolved_payload,
    row,
)
from sqlalchemy import Engine, func, insert, select, update

from monitor.errors import ConfigError
from monitor.notify import routing
from monitor.notify.alertmanager import AlertmanagerSender, resend_firing
from monitor.notify.delivery import deliver_due
from monitor.settings import AlertingSettings, RuleSettings, parse_settings
from monitor.storage import make_engine, upgrade
from monitor.storage.tables import alerts, notifications

RULE = RuleSettings(name="share", condition="drift_share", threshold=0.4, severity="critical")


def am_route(url: str, **over: Any) -> dict[str, Any]:
    return {"type": "alertmanager", "url": url, **over}


def alerting(url: str, **over: Any) -> AlertingSettings:
    return AlertingSettings.model_validate({"routes": {"am": am_route(url, **over)}})


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def senders(clock: Callable[[], datetime]) -> dict[str, AlertmanagerSender]:
    return {"alertmanager": AlertmanagerSender(clock=clock)}


def iso(ts: datetime) -> str:
    return ts.isoformat()


# --- the request body ---------------------------------------------------------------------


def test_firing_body_exact(engine, receiver) -> None:
    recv = receiver()
    did = enqueue(engine, firing_payload(), channel="alertmanager", route="am")
    settings = alerting(
        f"{recv.url}/prefix/",
        resolve_timeout="5m",
        labels={"team": "risk", "env": "prod"},
        generator_url="https://monitor.example",
    )

    stats = deliver_due(engine, settings, now=T0, senders=senders(Clock(T0)))

    assert (stats.claimed, stats.delivered) == (1, 1)
    [req] = recv.requests
    assert (req.method, req.path) == ("POST", "/prefix/api/v2/alerts")
    assert req.headers["Content-Type"] == "application/json"
    assert req.json() == [
        {
            "labels": {
                "alertname": "share",
                "monitor": "churn-daily",
                "model": "churn",
                "severity": "critical",
                "rule": "share",
                "subject": "dataset",
                "team": "risk",
                "env": "prod",
            },
            "annotations": {
                "summary": "3 of 6 features drifted (share 0.50 >= 0.40)",
                "description": (
                    "Monitor churn-daily (model churn v3), window 2026-03-01T10:00:00+00:00"
                    " to 2026-03-01T11:00:00+00:00.\n"
                    "Rule share (drift_share) on dataset.\n"
                    "Drift share 0.5 ≥ 0.4.\n"
                    "Drifted features (3): age (ks p = 0.0003 < 0.05),"
                    " income (wasserstein 0.9 ≥ 0.1), plan (psi 0.25 ≥ 0.2)."
                ),
                "drifted_features": (
                    '[{"method":"ks","name":"age","p_value":0.0003,"statistic":0.21,'
                    '"threshold":0.05,"threshold_on":"p_value"},'
                    '{"method":"wasserstein","name":"income","p_value":null,"statistic":0.9,'
                    '"threshold":0.1,"threshold_on":"statistic"},'
                    '{"method":"psi","name":"plan","p_value":null,"statistic":0.25,'
                    '"threshold":0.2,"threshold_on":"statistic"}]'
                ),
                "report_url": "https://reports.example/runs/42.html",
            },
            "startsAt": "2026-03-01T11:00:05Z",
            "endsAt": "2026-03-01T12:05:00Z",  # send time + resolve_timeout
            "generatorURL": "https://reports.example/runs/42.html",
        }
    ]
    assert row(engine, did)["status"] == "delivered"


def test_resolved_body_ends_at_resolution(sqlite_engine, receiver) -> None:
    recv = receiver()
    enqueue(sqlite_engine, resolved_payload(subject=""), channel="alertmanager", route="am")
    later = T0 + timedelta(hours=3)
    deliver_due(sqlite_engine, alerting(recv.url), now=later, senders=senders(Clock(later)))
    [alert] = recv.requests[0].json()
    assert alert["labels"] == {
        "alertname": "share",
        "monitor": "churn-daily",
        "model": "churn",
        "severity": "critical",
        "rule": "share",
    }  # an empty subject is no label
    assert (alert["startsAt"], alert["endsAt"]) == ("2026-03-01T11:00:05Z", "2026-03-01T13:00:02Z")
    assert alert["annotations"]["summary"] == "0 of 6 features drifted (share 0.00 < 0.40)"
    assert "Drifted features" not in alert["annotations"]["description"]


def test_generator_url_and_untrusted_names(sqlite_engine, receiver) -> None:
    recv = receiver()
    evil = "age\nInjected: line\t<b>"
    feats = [feature(evil, "ks", 0.3, 0.05, p_value=0.001)]
    common = {"subject": evil, "drifted_features": feats}
    enqueue(
        sqlite_engine,
        firing_payload(report_url="file:///srv/reports/42.html", **common),
        channel="alertmanager",
        route="am",
    )
    enqueue(sqlite_engine, firing_payload(report_url=None), channel="alertmanager", route="bare")
    settings = AlertingSettings.model_validate(
        {
            "routes": {
                "am": am_route(recv.url, generator_url="https://monitor.example/"),
                "bare": am_route(recv.url),
            }
        }
    )
    deliver_due(sqlite_engine, settings, now=T0, senders=senders(Clock(T0)))
    first, second = (r.json()[0] for r in recv.requests)
    # a file:// report is no link for Alertmanager users: the alert in the monitor's API is
    assert first["generatorURL"] == "https://monitor.example/api/v1/alerts/7"
    assert first["annotations"]["report_url"] == "file:///srv/reports/42.html"
    assert first["labels"]["subject"] == evil  # label values are data, JSON-encoded as is
    assert "age Injected: line <b> (ks p = 0.001 < 0.05)" in first["annotations"]["description"]
    assert first["annotations"]["description"].count("\n") == 3
    assert "generatorURL" not in second and "report_url" not in second["annotations"]


@pytest.mark.parametrize(
    ("reply", "state", "error"),
    [
        (Reply(400, b"bad alert"), "failed", "HTTP 400: bad alert"),
        (Reply(503, b"", {"Retry-After": "7"}), "pending", "HTTP 503"),
    ],
)
def test_status_classification(sqlite_engine, receiver, reply, state, error) -> None:
    recv = receiver([reply])
    did = enqueue(sqlite_engine, firing_payload(), channel="alertmanager", route="am")
    deliver_due(sqlite_engine, alerting(recv.url), now=T0, senders=senders(Clock(T0)))
    r = row(sqlite_engine, did)
    assert (r["status"], r["last_error"]) == (state, error)
    if state == "pending":
        assert r["next_attempt_at"] == T0 + timedelta(seconds=7)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"resend_interval": "5m"}, "resend_interval must be shorter than resolve_timeout"),
        ({"labels": {"severity": "x"}}, "label 'severity' is set by the monitor"),
        ({"labels": {"team-name": "x"}}, "label name 'team-name' is not a valid"),
        ({"url": "alertmanager:9093"}, "alerting.routes.am.alertmanager.url"),
    ],
)
def test_settings_validation(route, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings({"alerting": {"routes": {"am": {**am_route("http://am:9093"), **route}}}})


def test_defaults() -> None:
    r = parse_settings({"alerting": {"routes": {"am": am_route("http://am:9093")}}})
    am = r.alerting.routes["am"]
    assert (am.resend_interval, am.resolve_timeout, am.timeout) == (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(seconds=10),
    )


# --- re-sending while firing --------------------------------------------------------------


def open_alert(engine: Engine, fired_at: datetime, severity: str = "critical") -> dict[str, Any]:
    """An alert row firing since `fired_at` and its payload, queued through routing.enqueue."""
    fp = f"fp-{severity}"
    with engine.begin() as conn:
        alert_id = conn.execute(
            insert(alerts).values(
                fingerprint=fp,
                monitor="churn-daily",
                rule="share",
                subject="dataset",
                state="firing",
                severity=severity,
                created_at=fired_at,
                fired_at=fired_at,
                last_notified_at=fired_at,
            )
        ).inserted_primary_key[0]
    return firing_payload(
        alert_id=int(alert_id), fingerprint=fp, severity=severity, fired_at=iso(fired_at)
    )


def route_and_queue(engine: Engine, al: AlertingSettings, payload: dict, now: datetime) -> None:
    rule = RULE.model_copy(update={"severity": payload["severity"]})
    with engine.begin() as conn:
        routing.enqueue(conn, payload=payload, rule=rule, alerting=al, now=now)


def resolve(engine: Engine, payload: dict, al: AlertingSettings, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(alerts)
            .where(alerts.c.id == payload["alert_id"])
            .values(state="resolved", resolved_at=at)
        )
    done = {**payload, "event": "drift.resolved", "resolved_at": iso(at), "drifted_features": []}
    route_and_queue(engine, al, done, at)


def events(engine: Engine, route: str) -> list[str]:
    with engine.connect() as conn:
        stmt = select(notifications.c.event).where(notifications.c.route == route)
        return list(conn.execute(stmt.order_by(notifications.c.id)).scalars())


def test_firing_alert_is_resent_every_interval_until_resolved(engine, receiver) -> None:
    recv = receiver()
    al = AlertingSettings.model_validate(
        {
            "routes": {
                "am": am_route(recv.url, resend_interval="1m", resolve_timeout="5m"),
                "picky": am_route(recv.url, min_severity="critical"),
                "retrain": {"type": "webhook", "url": f"{recv.url}/hook", "secret": "k"},
            }
        }
    )
    clock = Clock(T0)
    critical, warning = open_alert(engine, T0, "critical"), open_alert(engine, T0, "warning")
    route_and_queue(engine, al, critical, T0)
    route_and_queue(engine, al, warning, T0)

    def pass_at(t: datetime) -> int:
        clock.at = t
        return deliver_due(engine, al, now=t, senders=senders(clock)).delivered

    assert resend_firing(engine, al, T0) == 0  # just queued (and still pending)
    assert pass_at(T0) == 3  # am x2 and picky x1 (the warning is not for picky)
    assert pass_at(T0 + timedelta(seconds=59)) == 0
    assert pass_at(T0 + timedelta(seconds=60)) == 3  # queued and sent in the same pass
    assert events(engine, "am") == ["drift.detected"] * 2 + ["drift.repeated"] * 2
    assert events(engine, "picky") == ["drift.detected", "drift.repeated"]
    assert events(engine, "retrain") == ["drift.detected"] * 2  # webhooks are not re-sent
    latest = [r.json()[0] for r in recv.requests[-3:]]
    assert {a["endsAt"] for a in latest} == {"2026-03-01T12:06:00Z"}  # pushed forward
    assert {a["startsAt"] for a in latest} == {"2026-03-01T12:00:00Z"}  # still the firing time

    # a re-send that is still being retried is not re-sent again
    recv.default = Reply(500, b"")
    assert pass_at(T0 + timedelta(seconds=120)) == 0
    with engine.connect() as conn:
        pending = conn.execute(
            select(func.count()).where(notifications.c.status == "pending")
        ).scalar()
    assert pending == 3
    assert resend_firing(engine, al, T0 + timedelta(seconds=400)) == 0

    # resolved: never re-sent again
    recv.default = Reply()
    resolve(engine, critical, al, T0 + timedelta(seconds=401))
    resolve(engine, warning, al, T0 + timedelta(seconds=401))
    pass_at(T0 + timedelta(hours=1))
    before = len(recv.requests)
    assert resend_firing(engine, al, T0 + timedelta(hours=2)) == 0
    assert pass_at(T0 + timedelta(hours=2)) == 0
    assert len(recv.requests) == before
    assert recv.requests[-1].json()[0]["endsAt"] == "2026-03-01T12:06:41Z"


def test_resolution_waits_for_an_older_pending_firing_row(engine, receiver) -> None:
    """Alertmanager keeps state: a firing post after the resolution would re-open it."""
    recv = receiver([Reply(503, b"", {"Retry-After": "30"})])
    al = alerting(recv.url)
    payload = open_alert(engine, T0)
    route_and_queue(engine, al, payload, T0)
    clock = Clock(T0)
    deliver_due(engine, al, now=T0, senders=senders(clock))  # 503: firing row due at T0+30s

    resolve(engine, payload, al, T0 + timedelta(seconds=1))
    clock.at = T0 + timedelta(seconds=2)
    assert deliver_due(engine, al, now=clock.at, senders=senders(clock)).claimed == 0
    clock.at = T0 + timedelta(seconds=30)
    assert deliver_due(engine, al, now=clock.at, senders=senders(clock)).delivered == 2
    ends = [r.json()[0]["endsAt"] for r in recv.requests]
    assert ends == ["2026-03-01T12:05:00Z", "2026-03-01T12:05:30Z", "2026-03-01T12:00:01Z"]


# --- the real Alertmanager ----------------------------------------------------------------

AM_BINARY = "prometheus-alertmanager"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def am_binary() -> str:
    path = shutil.which(AM_BINARY) or (
        f"/usr/bin/{AM_BINARY}" if Path(f"/usr/bin/{AM_BINARY}").exists() else None
    )
    if path is None:
        pytest.fail(
            f"{AM_BINARY} is not installed: install the Debian package `prometheus-alertmanager`"
            " (`make test` does: apt-get install -y prometheus-alertmanager)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory) -> Iterator[tuple[str, Receiver]]:
    """A real Alertmanager on a free port; every alert goes to a local recording receiver."""
    binary = am_binary()
    work = tmp_path_factory.mktemp("alertmanager")
    hook = Receiver()
    config = {
        "route": {
            "receiver": "recorder",
            "group_by": ["..."],  # one group per alert
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "24h",
        },
        "receivers": [
            {
                "name": "recorder",
                "webhook_configs": [{"url": f"{hook.url}/am", "send_resolved": True}],
            }
        ],
    }
    (work / "alertmanager.yml").write_text(orjson.dumps(config).decode())  # JSON is YAML
    port = free_port()
    log = work / "alertmanager.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={work / 'alertmanager.yml'}",
                f"--storage.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, proc, log)
        yield url, hook
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        hook.stop()


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"alertmanager exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"alertmanager not ready within {timeout} s: {log.read_text()[-2000:]}")


def _webhooks(hook: Receiver, status: str) -> list[dict[str, Any]]:
    return [r.json() for r in hook.requests if r.json().get("status") == status]


def _wait_webhook(hook: Receiver, status: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = _webhooks(hook, status)
        if got:
            return got[0]
        time.sleep(0.05)
    seen = [r.json().get("status") for r in hook.requests]
    raise AssertionError(f"no {status!r} webhook from Alertmanager within {timeout} s: {seen}")


def _active(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts?active=true", timeout=5) as resp:
        return orjson.loads(resp.read())


def test_real_alertmanager_fires_stays_firing_and_resolves(alertmanager, tmp_path) -> None:
    url, hook = alertmanager
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    # a short resolve_timeout: without re-sending, Alertmanager resolves it within the test
    al = AlertingSettings.model_validate(
        {
            "routes": {
                "am": am_route(
                    url, resend_interval="1s", resolve_timeout="3s", labels={"team": "risk"}
                )
            }
        }
    )
    fired = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    payload = open_alert(engine, fired)
    route_and_queue(engine, al, payload, datetime.now(UTC))

    assert deliver_due(engine, al).delivered == 1
    firing = _wait_webhook(hook, "firing")
    [alert] = firing["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"] == {
        "alertname": "share",
        "monitor": "churn-daily",
        "model": "churn",
        "severity": "critical",
        "rule": "share",
        "subject": "dataset",
        "team": "risk",
    }
    assert alert["annotations"]["summary"] == payload["summary"]
    assert alert["annotations"]["report_url"] == payload["report_url"]
    assert alert["generatorURL"] == payload["report_url"]
    assert datetime.fromisoformat(alert["startsAt"]) == fired

    # twice the resolve timeout: the outbox passes keep re-sending, Alertmanager keeps it firing
    until = time.monotonic() + 6
    while time.monotonic() < until:
        deliver_due(engine, al)
        time.sleep(0.25)
    assert _webhooks(hook, "resolved") == [], "Alertmanager resolved an alert still firing"
    [active] = [a for a in _active(url) if a["labels"].get("monitor") == "churn-daily"]
    assert active["status"]["state"] == "active"
    assert events(engine, "am").count("drift.repeated") >= 4

    resolved_at = datetime.now(UTC).replace(microsecond=0)
    resolve(engine, payload, al, resolved_at)
    assert deliver_due(engine, al).delivered == 1
    done = _wait_webhook(hook, "resolved")
    [alert] = done["alerts"]
    assert alert["status"] == "resolved"
    assert alert["labels"]["subject"] == "dataset"
    assert datetime.fromisoformat(alert["endsAt"]) == resolved_at
    assert resend_firing(engine, al, datetime.now(UTC) + timedelta(minutes=1)) == 0
    engine.dispose()


def test_an_estimated_performance_description_says_estimated_and_shows_the_band() -> None:
    from notify_support import firing_payload

    from monitor.notify.alertmanager import describe

    perf = {"metric": "accuracy", "value": 0.52, "reference": 0.75, "threshold": 0.65}
    est = {**perf, "estimated": True, "band": {"lower": 0.46, "upper": 0.58}}
    plain = describe(firing_payload(performance=perf)).splitlines()[-1]
    assert plain == "accuracy 0.52 (reference 0.75, threshold 0.65)."
    line = describe(firing_payload(performance=est)).splitlines()[-1]
    assert line == "Estimated accuracy 0.52 (band 0.46 to 0.58, reference 0.75, threshold 0.65)."
