"""GitHub Actions workflow_dispatch: exact request; no idempotency, so no blind retries."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from notify_support import T0, Reply, enqueue, firing_payload, row
from target_fakes import TOKEN, FakeGithub

from monitor.errors import ConfigError
from monitor.notify.delivery import deliver_due
from monitor.settings import AlertingSettings, parse_settings

DECLARED = {"delivery_id", "alert_id", "monitor", "window_start", "window_end"}
DECLARED |= {"drifted_features", "report_url"}


@pytest.fixture(autouse=True)
def gh_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", TOKEN)


def route(url: str, **kw: object) -> dict[str, object]:
    return {
        "type": "github_actions",
        "url": url,
        "owner": "acme",
        "repo": "churn-model",
        "workflow": "retrain.yml",
        "ref": "main",
        "auth": {"type": "bearer", "token_env": "GH_TOKEN"},
        **kw,
    }


def alerting(url: str, **kw: object) -> AlertingSettings:
    return AlertingSettings.model_validate(
        {"routes": {"retrain": route(url, **kw)}, "delivery": {"backoff_initial": "1s"}}
    )


def test_request_is_the_documented_workflow_dispatch(engine, receiver) -> None:
    fake = FakeGithub(DECLARED)
    recv = receiver(default=fake)
    payload = firing_payload()
    did = enqueue(engine, payload, channel="github_actions")

    assert deliver_due(engine, alerting(recv.url), now=T0).delivered == 1

    [req] = recv.requests
    assert req.method == "POST"
    assert req.path == "/repos/acme/churn-model/actions/workflows/retrain.yml/dispatches"
    assert req.headers["Accept"] == "application/vnd.github+json"
    assert req.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    body = req.json()
    assert body == {
        "ref": "main",
        "return_run_details": True,
        "inputs": {
            "delivery_id": did,
            "alert_id": "7",
            "monitor": "churn-daily",
            "window_start": payload["window"]["start"],
            "window_end": payload["window"]["end"],
            "drifted_features": "age,income,plan",
            "report_url": payload["report_url"],
        },
    }
    r = row(engine, did)
    assert (r["status"], r["external_id"]) == ("delivered", "1000")
    assert r["answer"]["url"] == "https://github.com/acme/churn-model/actions/runs/1000"


def test_lost_answer_is_not_retried(pg_engine, receiver) -> None:
    """GitHub started the run but the answer was lost: a retry would start a second run."""
    fake = FakeGithub(DECLARED, lose=1)
    recv = receiver(default=fake)
    did = enqueue(pg_engine, firing_payload(), channel="github_actions")
    settings = alerting(recv.url)

    assert deliver_due(pg_engine, settings, now=T0).failed == 1
    assert deliver_due(pg_engine, settings, now=T0 + timedelta(minutes=10)).claimed == 0

    assert len(fake.runs) == 1 and len(recv.requests) == 1
    error = row(pg_engine, did)["last_error"]
    assert "not retried" in error and did in error


@pytest.mark.parametrize(
    ("status", "outcome"), [(500, "failed"), (503, "retried"), (429, "retried")]
)
def test_server_errors_retried_only_when_no_run_started(engine, receiver, status, outcome):
    fake = FakeGithub(DECLARED)
    fake.status = status
    recv = receiver(default=fake)
    enqueue(engine, firing_payload(), channel="github_actions")

    stats = deliver_due(engine, alerting(recv.url), now=T0)

    assert getattr(stats, outcome) == 1


def test_rate_limited_403_is_retried_after_its_delay(engine, receiver) -> None:
    limited = Reply(
        403,
        b'{"message": "API rate limit exceeded"}',
        {"x-ratelimit-remaining": "0", "retry-after": "30"},
    )
    fake = FakeGithub(DECLARED)
    recv = receiver([limited], default=fake)
    did = enqueue(engine, firing_payload(), channel="github_actions")

    assert deliver_due(engine, alerting(recv.url), now=T0).retried == 1
    assert row(engine, did)["next_attempt_at"] == T0 + timedelta(seconds=30)
    assert deliver_due(engine, alerting(recv.url), now=T0 + timedelta(seconds=30)).delivered == 1
    assert len(fake.runs) == 1


def test_connection_refused_is_retried(engine) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    did = enqueue(engine, firing_payload(), channel="github_actions")

    assert deliver_due(engine, alerting(f"http://127.0.0.1:{port}"), now=T0).retried == 1
    assert row(engine, did)["last_error"].startswith("connection error (not sent)")


def test_undeclared_input_is_terminal(engine, receiver) -> None:
    recv = receiver(default=FakeGithub(DECLARED - {"report_url"}))
    did = enqueue(engine, firing_payload(), channel="github_actions")

    assert deliver_due(engine, alerting(recv.url), now=T0).failed == 1
    assert "Unexpected inputs" in row(engine, did)["last_error"]


def test_inputs_must_carry_the_delivery_id() -> None:
    data = {"alerting": {"routes": {"gh": route("https://api.github.com", inputs=["monitor"])}}}
    with pytest.raises(
        ConfigError, match=r"alerting\.routes\.gh\.github_actions\.inputs.*delivery_id"
    ):
        parse_settings(data)


def test_auth_is_required_and_never_a_literal_token() -> None:
    bad = route("https://api.github.com", auth={"type": "bearer", "token_env": "ghp_abc-123.x"})
    with pytest.raises(ConfigError) as exc:
        parse_settings({"alerting": {"routes": {"gh": bad}}})
    assert "token_env" in str(exc.value) and "ghp_abc" not in str(exc.value)
