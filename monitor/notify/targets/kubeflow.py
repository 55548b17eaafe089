"""Kubeflow Pipelines: create a run of a pipeline version (KFP API v2beta1).

Documented request (`RunService.CreateRun`): `POST /apis/v2beta1/runs`, body `V2beta1Run`:
`display_name`, `description`, `pipeline_version_reference` (`pipeline_id`,
`pipeline_version_id`; without a version id KFP takes the pipeline's latest version),
`runtime_config.parameters` (name -> value), `experiment_id` (optional). Answer 200: the
`V2beta1Run` with its `run_id`. Auth: a bearer token (e.g. a Kubeflow service-account token).

KFP has no idempotency key: like GitHub Actions, a request that may have reached the server
is not retried (the display name carries the delivery id, to find the run by hand).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.notify.targets.base import (
    answer_json,
    delivered,
    flat_facts,
    json_body,
    json_headers,
    refused,
)
from monitor.notify.targets.http import HttpAnswer, HttpRequest
from monitor.settings.targets import KubeflowPipelinesRoute

if TYPE_CHECKING:
    from monitor.notify.channels import Outgoing, SendResult


class KubeflowPipelinesAdapter:
    name = "Kubeflow Pipelines"
    idempotent = False

    def request(self, note: Outgoing, route: KubeflowPipelinesRoute) -> HttpRequest:
        facts = flat_facts(note, list(route.parameters))
        version: dict[str, str] = {"pipeline_id": route.pipeline_id}
        if route.pipeline_version_id:
            version["pipeline_version_id"] = route.pipeline_version_id
        body: dict[str, object] = {
            "display_name": route.display_name_prefix + note.delivery_id,
            "description": f"retraining trigger of {note.event} (delivery {note.delivery_id})",
            "pipeline_version_reference": version,
            "runtime_config": {"parameters": facts},
        }
        if route.experiment_id:
            body["experiment_id"] = route.experiment_id
        return HttpRequest(
            "POST", route.endpoint("/apis/v2beta1/runs"), json_headers(), json_body(body)
        )

    def answer(self, ans: HttpAnswer, note: Outgoing, route: KubeflowPipelinesRoute) -> SendResult:
        if 200 <= ans.status < 300:
            run_id = answer_json(ans).get("run_id")
            base = (route.ui_url or route.url).rstrip("/")
            return delivered(run_id, f"{base}/#/runs/details/{run_id}" if run_id else None, ans)
        return refused(ans, self.idempotent, self.name)
