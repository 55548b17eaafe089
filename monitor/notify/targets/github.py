"""GitHub Actions: `workflow_dispatch` of a workflow, asking for the run's id in the answer.

Documented request ("Create a workflow dispatch event", REST API version 2022-11-28):
`POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches`, headers
`Accept: application/vnd.github+json`, `X-GitHub-Api-Version`, `Authorization: Bearer`;
body `ref` (branch or tag), `inputs` (strings; every key must be an input the workflow
declares under `on.workflow_dispatch.inputs`, else 422), `return_run_details: true` (answer
200 with `workflow_run_id`, `run_url`, `html_url`; without it 204 No Content).

GitHub has no idempotency key: every accepted call starts a run. So this adapter is not
retried once the request may have reached GitHub: a lost answer (timeout, reset) or a 5xx
other than 503 ends the row `failed` with an error saying to look for the run carrying the
`delivery_id` input. Retried: connection failures before sending, 429/503, and 403 with a
rate-limit answer (`x-ratelimit-remaining: 0` or `retry-after`): GitHub did not start a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from monitor.notify import channels as ch
from monitor.notify.targets.base import (
    answer_json,
    as_text,
    delivered,
    flat_facts,
    json_body,
    refused,
)
from monitor.notify.targets.http import HttpAnswer, HttpRequest
from monitor.settings.targets import GithubActionsRoute

if TYPE_CHECKING:
    from monitor.notify.channels import Outgoing, SendResult


class GithubActionsAdapter:
    name = "GitHub Actions"
    idempotent = False

    def request(self, note: Outgoing, route: GithubActionsRoute) -> HttpRequest:
        inputs = {k: as_text(v) for k, v in flat_facts(note, list(route.inputs)).items()}
        body = {"ref": route.ref, "inputs": inputs, "return_run_details": True}
        path = (
            f"/repos/{route.owner}/{route.repo}/actions/workflows/"
            f"{quote(route.workflow, safe='')}/dispatches"
        )
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": route.api_version,
            "Content-Type": "application/json",
        }
        return HttpRequest("POST", route.endpoint(path), headers, json_body(body))

    def answer(self, ans: HttpAnswer, note: Outgoing, route: GithubActionsRoute) -> SendResult:
        if 200 <= ans.status < 300:
            doc = answer_json(ans)  # 204 (no run details on older servers): delivered, no id
            return delivered(
                doc.get("workflow_run_id"), doc.get("html_url"), ans, api_url=doc.get("run_url")
            )
        limited = ans.header("x-ratelimit-remaining") == "0" or ans.header("retry-after")
        if ans.status == 403 and limited:
            return ch.SendResult.retry("HTTP 403: rate limited", ans.header("retry-after"))
        return refused(ans, self.idempotent, self.name)
