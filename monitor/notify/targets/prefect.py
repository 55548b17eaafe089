"""Prefect: create a flow run from a deployment, idempotent by our delivery id.

Documented request (Prefect REST API, "Create Flow Run From Deployment"):
`POST {api_url}/deployments/{id}/create_flow_run`, body `DeploymentFlowRunCreate`:
`parameters`, `idempotency_key`, `tags` (optional `name`, `state`, ...). Answer 201/200: the
`FlowRun` (`id`, `name`). A repeated `idempotency_key` for the same deployment returns the
flow run created the first time instead of a new one, so retries are safe. `url` is the API
URL as in `PREFECT_API_URL` (self-hosted `http://host:4200/api`; Prefect Cloud
`https://api.prefect.cloud/api/accounts/{account}/workspaces/{workspace}` with a bearer key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from monitor.notify.targets.base import (
    answer_json,
    delivered,
    flat_facts,
    json_body,
    json_headers,
    refused,
)
from monitor.notify.targets.http import HttpAnswer, HttpRequest
from monitor.settings.targets import PrefectRoute

if TYPE_CHECKING:
    from monitor.notify.channels import Outgoing, SendResult


class PrefectAdapter:
    name = "Prefect"
    idempotent = True

    def request(self, note: Outgoing, route: PrefectRoute) -> HttpRequest:
        body = {
            "parameters": flat_facts(note, list(route.parameters)),
            "idempotency_key": note.delivery_id,
            "tags": list(route.tags),
        }
        path = f"/deployments/{quote(route.deployment_id, safe='')}/create_flow_run"
        return HttpRequest("POST", route.endpoint(path), json_headers(), json_body(body))

    def answer(self, ans: HttpAnswer, note: Outgoing, route: PrefectRoute) -> SendResult:
        if 200 <= ans.status < 300:
            doc = answer_json(ans)
            run_id = doc.get("id")
            url = f"{route.ui_url.rstrip('/')}/runs/flow-run/{run_id}" if route.ui_url else None
            return delivered(run_id, url if run_id else None, ans, name=doc.get("name"))
        return refused(ans, self.idempotent, self.name)
