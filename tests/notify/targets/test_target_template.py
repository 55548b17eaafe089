"""The generic template webhook: sandboxed Jinja2 body, errors at load naming the key."""

from __future__ import annotations

import pytest
from notify_support import T0, Reply, enqueue, firing_payload, row

from monitor.errors import ConfigError
from monitor.notify.delivery import deliver_due
from monitor.settings import AlertingSettings, parse_settings

BODY = (
    '{"job": "retrain", "model": {{ payload.model|tojson }},'
    ' "features": {{ facts.drifted_features|tojson }}, "trigger": {{ delivery_id|tojson }}}'
)


def alerting(url: str, body: str = BODY, **kw: object) -> AlertingSettings:
    route = {"type": "template_webhook", "url": f"{url}/jobs", "body": body, **kw}
    return AlertingSettings.model_validate({"routes": {"retrain": route}})


def test_rendered_body_headers_and_answer(engine, receiver) -> None:
    recv = receiver(default=Reply(201, b'{"job_id": "j-9", "link": "https://ci.example/j-9"}'))
    did = enqueue(engine, firing_payload(), channel="template_webhook")
    settings = alerting(recv.url, headers={"X-Team": "ml"}, run_id_field="job_id", url_field="link")

    assert deliver_due(engine, settings, now=T0).delivered == 1

    [req] = recv.requests
    assert (req.method, req.path) == ("POST", "/jobs")
    assert req.json() == {
        "job": "retrain",
        "model": "churn",
        "features": ["age", "income", "plan"],
        "trigger": did,
    }
    assert req.headers["Idempotency-Key"] == did
    assert req.headers["X-Team"] == "ml"
    r = row(engine, did)
    assert (r["external_id"], r["answer"]["url"]) == ("j-9", "https://ci.example/j-9")


def test_hostile_values_stay_json_strings(engine, receiver) -> None:
    recv = receiver()
    evil = 'x", "admin": true, "y": "'
    enqueue(engine, firing_payload(model=evil), channel="template_webhook")

    assert deliver_due(engine, alerting(recv.url), now=T0).delivered == 1
    assert recv.requests[0].json()["model"] == evil


def test_syntax_error_fails_at_load_naming_the_key() -> None:
    route = {"type": "template_webhook", "url": "http://h/x", "body": '{"a": {{ payload.model }'}
    with pytest.raises(
        ConfigError, match=r"alerting\.routes\.hook\.template_webhook\.body: template syntax error"
    ):
        parse_settings({"alerting": {"routes": {"hook": route}}})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{{ payload.__class__.__mro__ }}", "template error"),  # the sandbox refuses internals
        ('{"a": {{ payload.no_such_key|tojson }}}', "StrictUndefined"),
        ("model={{ payload.model }}", "not JSON"),
    ],
)
def test_render_errors_are_terminal_and_send_nothing(engine, receiver, body, error) -> None:
    recv = receiver()
    did = enqueue(engine, firing_payload(), channel="template_webhook")

    assert deliver_due(engine, alerting(recv.url, body), now=T0).failed == 1
    assert recv.requests == []
    assert error in row(engine, did)["last_error"]


def test_credentials_cannot_be_static_headers() -> None:
    route = {
        "type": "template_webhook",
        "url": "http://h/x",
        "body": "{}",
        "headers": {"Authorization": "Bearer abc"},
    }
    with pytest.raises(ConfigError, match=r"headers.*use auth") as exc:
        parse_settings({"alerting": {"routes": {"hook": route}}})
    assert "Bearer abc" not in str(exc.value)
