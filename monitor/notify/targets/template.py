"""A generic webhook whose body is a Jinja2 template over the alert payload (sandboxed).

The template is compiled when the config loads (a syntax error names the route's `body`
key) and rendered per attempt in Jinja2's `SandboxedEnvironment` with `StrictUndefined`:
templates come from config, values from events, and neither may reach Python internals.
Context: `payload` (the notification payload), `facts` (monitor, window, drifted feature
names, report URL, alert and delivery ids), `delivery_id`, `event`. With a JSON content type
the rendered body must parse as JSON (use `|tojson` for values). The delivery id also goes
in `idempotency_header`, for receivers that dedupe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from monitor.errors import TargetConfigError
from monitor.notify.targets.base import (
    answer_json,
    delivered,
    refused,
    trigger_facts,
)
from monitor.notify.targets.http import HttpAnswer, HttpRequest
from monitor.settings.targets import TemplateWebhookRoute, compile_template

if TYPE_CHECKING:
    from monitor.notify.channels import Outgoing, SendResult


def render(route: TemplateWebhookRoute, note: Outgoing) -> bytes:
    context: dict[str, Any] = {
        "payload": dict(note.payload),
        "facts": trigger_facts(note),
        "delivery_id": note.delivery_id,
        "event": note.event,
    }
    try:
        text = compile_template(route.body).render(context)
    except Exception as exc:  # UndefinedError, SecurityError, a filter's TypeError (`|tojson`
        # of an undefined value): all fail the same way on every retry, so the row fails now
        raise TargetConfigError(f"body: template error: {type(exc).__name__}: {exc}") from None
    if "json" in route.content_type:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise TargetConfigError(f"body: the rendered template is not JSON ({exc})") from None
    return text.encode("utf-8")


class TemplateWebhookAdapter:
    name = "template webhook"
    idempotent = True  # the receiver dedupes on the idempotency header, as for plain webhooks

    def request(self, note: Outgoing, route: TemplateWebhookRoute) -> HttpRequest:
        headers = {**route.headers, "Content-Type": route.content_type}
        if route.idempotency_header:
            headers[route.idempotency_header] = note.delivery_id
        return HttpRequest(route.method, route.url, headers, render(route, note))

    def answer(self, ans: HttpAnswer, note: Outgoing, route: TemplateWebhookRoute) -> SendResult:
        if 200 <= ans.status < 300:
            doc = answer_json(ans)
            run_id = doc.get(route.run_id_field) if route.run_id_field else None
            url = doc.get(route.url_field) if route.url_field else None
            return delivered(run_id, str(url) if url else None, ans)
        return refused(ans, self.idempotent, self.name)
