"""Argo Workflows: submit a workflow from a WorkflowTemplate (or ClusterWorkflowTemplate).

Documented request (Argo Server API, `WorkflowService.SubmitWorkflow`):
`POST /api/v1/workflows/{namespace}/submit`, body `WorkflowSubmitRequest`: `namespace`,
`resourceKind` ("WorkflowTemplate" | "ClusterWorkflowTemplate"), `resourceName`,
`submitOptions` (`SubmitOpts`): `name`, `parameters` (a list of "name=value" strings),
`labels` (one "k=v,k2=v2" string). Answer 200: the created `Workflow` (`metadata.name`,
`metadata.uid`). Auth: `Authorization: Bearer <service-account token>`.

The workflow `name` is `<name_prefix><delivery id>`, fixed across retries: Kubernetes refuses
a second object of that name with 409 AlreadyExists (gRPC code 6), which is "delivered".
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from monitor.notify.targets.base import (
    answer_json,
    as_text,
    delivered,
    flat_facts,
    json_body,
    json_headers,
    refused,
)
from monitor.notify.targets.http import HttpAnswer, HttpRequest
from monitor.settings.targets import ArgoWorkflowsRoute

if TYPE_CHECKING:
    from monitor.notify.channels import Outgoing, SendResult

DELIVERY_LABEL = "driftwatch.io/delivery-id"


def workflow_name(route: ArgoWorkflowsRoute, note: Outgoing) -> str:
    return route.name_prefix + note.delivery_id.lower()


class ArgoWorkflowsAdapter:
    name = "Argo Workflows"
    idempotent = True

    def request(self, note: Outgoing, route: ArgoWorkflowsRoute) -> HttpRequest:
        facts = flat_facts(note, list(route.parameters))
        body = {
            "namespace": route.namespace,
            "resourceKind": "ClusterWorkflowTemplate"
            if route.cluster_template
            else "WorkflowTemplate",
            "resourceName": route.template,
            "submitOptions": {
                "name": workflow_name(route, note),
                "parameters": [f"{k}={as_text(v)}" for k, v in facts.items()],
                "labels": f"{DELIVERY_LABEL}={note.delivery_id}",
            },
        }
        url = route.endpoint(f"/api/v1/workflows/{quote(route.namespace, safe='')}/submit")
        return HttpRequest("POST", url, json_headers(), json_body(body))

    def answer(self, ans: HttpAnswer, note: Outgoing, route: ArgoWorkflowsRoute) -> SendResult:
        name = workflow_name(route, note)
        link = f"{(route.ui_url or route.url).rstrip('/')}/workflows/{route.namespace}/{name}"
        if 200 <= ans.status < 300:
            meta = answer_json(ans).get("metadata") or {}
            got = str(meta.get("name") or name)
            return delivered(got, link, ans, uid=meta.get("uid"))
        if ans.status == 409 and "already exists" in ans.body.decode("utf-8", "replace"):
            return delivered(name, link, ans, duplicate=True)  # an earlier attempt submitted it
        return refused(ans, self.idempotent, self.name)
