"""What every retraining target shares: auth headers from the environment, facts, the sender.

The route settings (`TargetRoute` and one model per target) are in `monitor.settings.targets`.
An adapter builds the one request its target documents and classifies the answer; the
`TargetSender` around it adds auth and User-Agent, makes the single attempt and maps
transport failures. Targets that refuse duplicates of our id (Airflow's `dag_run_id`,
Prefect's `idempotency_key`, Argo's workflow `name`) are retried after a lost answer; the
others (GitHub Actions, Kubeflow Pipelines) are not: a lost answer or an ambiguous 5xx may
already have started a run, so the row fails with an error saying to check the target.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from monitor.errors import NoAnswer, NotSent, TargetConfigError
from monitor.notify import channels as ch
from monitor.notify.channels import Outgoing, SendResult
from monitor.notify.targets.http import HttpAnswer, HttpRequest, exchange
from monitor.settings.targets import (
    BasicAuth,
    BearerAuth,
    TargetRoute,
)


def _env(name: str, key: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise TargetConfigError(f"auth.{key}: environment variable {name} is not set")
    return value


def auth_headers(auth: BearerAuth | BasicAuth | None) -> dict[str, str]:
    if auth is None:
        return {}
    if isinstance(auth, BearerAuth):
        return {"Authorization": "Bearer " + _env(auth.token_env, "token_env")}
    user = _env(auth.username_env, "username_env")
    password = _env(auth.password_env, "password_env")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": "Basic " + token}


def json_body(doc: Mapping[str, Any]) -> bytes:
    """Sorted keys: the same bytes on every retry."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json", "Accept": "application/json"}


def trigger_facts(note: Outgoing) -> dict[str, Any]:
    """What a retraining run needs to know about the alert (values are event data: untrusted)."""
    p = note.payload
    window = p.get("window") or {}
    return {
        "monitor": p.get("monitor"),
        "model": p.get("model"),
        "model_version": p.get("model_version"),
        "window": {"start": window.get("start"), "end": window.get("end")},
        "drifted_features": [
            f.get("name") for f in p.get("drifted_features") or [] if isinstance(f, Mapping)
        ],
        "report_url": p.get("report_url"),
        "alert_id": p.get("alert_id"),
        "delivery_id": note.delivery_id,
        "event": note.event,
        "rule": p.get("rule"),
        "severity": p.get("severity"),
    }


def flat_facts(note: Outgoing, names: list[str]) -> dict[str, Any]:
    """The chosen facts, flat (workflow inputs and template parameters have no nesting)."""
    facts = trigger_facts(note)
    window = facts.pop("window")
    facts["window_start"], facts["window_end"] = window["start"], window["end"]
    return {name: facts[name] for name in names}


def as_text(value: Any) -> str:
    """A fact as one string (workflow inputs and template parameters are strings)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return str(value)


def answer_json(ans: HttpAnswer) -> dict[str, Any]:
    try:
        doc = orjson.loads(ans.body or b"{}")
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def delivered(run_id: Any, url: str | None, ans: HttpAnswer, **more: Any) -> SendResult:
    """Delivered, with the target's answer recorded on the outbox row (and shown on the alert)."""
    rid = None if run_id is None else str(run_id)
    answer = {"run_id": rid, "url": url, "status": ans.status, **more}
    return ch.SendResult.delivered(external_id=rid, answer=answer)


def refused(ans: HttpAnswer, idempotent: bool, target: str) -> SendResult:
    """A non-2xx answer. Without idempotency only "not now" answers (429, 503) are retried."""
    result = ch.classify_http(ans.status, ans.body, ans.header("Retry-After"))
    if result.outcome == "retry" and not idempotent and ans.status not in (429, 503):
        return ch.SendResult.failed(
            f"{result.error}; not retried: {target} has no idempotency key and the run may"
            " have started (check the target's runs for this delivery id)"
        )
    return result


class Adapter(Protocol):
    """Builds the documented request and classifies the answer for one target."""

    name: str  # shown in errors
    idempotent: bool  # the target refuses a duplicate of our id: safe to retry a lost answer

    def request(self, note: Outgoing, route: Any) -> HttpRequest: ...

    def answer(self, ans: HttpAnswer, note: Outgoing, route: Any) -> SendResult: ...


class TargetSender:
    """One attempt at a retraining target through its adapter (the channel contract)."""

    def __init__(self, adapter: Adapter, route_type: type[TargetRoute]) -> None:
        self.adapter = adapter
        self.route_type = route_type

    def send(self, note: Outgoing, route: Any) -> SendResult:
        if not isinstance(route, self.route_type):
            return ch.SendResult.failed(f"route {note.route!r} is not a {self.adapter.name} route")
        try:
            req = self.adapter.request(note, route)
            headers = {"User-Agent": ch.USER_AGENT, **req.headers, **auth_headers(route.auth)}
        except TargetConfigError as exc:
            return ch.SendResult.failed(f"route {note.route!r}: {exc}")
        req = HttpRequest(req.method, req.url, headers, req.body)
        try:
            ans = exchange(req, route.timeout.total_seconds())
        except NotSent as exc:
            return ch.SendResult.retry(f"connection error (not sent): {ch.one_line(str(exc))}")
        except NoAnswer as exc:
            if self.adapter.idempotent:
                return ch.SendResult.retry(f"no answer: {ch.one_line(str(exc))}")
            return ch.SendResult.failed(
                f"no answer after the request was sent ({ch.one_line(str(exc))}); not retried:"
                f" {self.adapter.name} has no idempotency key and the run may have started"
                f" (check its runs for delivery id {note.delivery_id})"
            )
        return self.adapter.answer(ans, note, route)
