"""Airflow: trigger a DAG run through the stable REST API (Airflow 2) or the v2 API (Airflow 3).

Documented requests:
- Airflow 2, `POST /api/v1/dags/{dag_id}/dagRuns`, body `DAGRun`: `dag_run_id`, `conf`
  (`logical_date` optional, defaults to now). Answer 200 `DAGRun`; 409 "An existing resource
  conflicts with the request" for an existing `dag_run_id`.
- Airflow 3, `POST /api/v2/dags/{dag_id}/dagRuns`, body `TriggerDAGRunPostBody`:
  `dag_run_id`, `logical_date` (required, nullable), `conf`. Answer 200 `DAGRunResponse`;
  409 on a unique-constraint violation (existing `dag_run_id`).
Auth: basic (Airflow 2's basic_auth backend) or a bearer token (Airflow 3's JWT from
`POST /auth/token`, managed Airflows).

The `dag_run_id` is `<run_id_prefix><delivery id>`: a retried trigger reuses it, Airflow
refuses the second with 409, and that 409 is "delivered" (the first one started the run).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from monitor.notify.targets.base import (
    answer_json,
    delivered,
    json_body,
    json_headers,
    refused,
    trigger_facts,
)
from monitor.notify.targets.http import HttpAnswer, HttpRequest
from monitor.settings.targets import Airflow3Route, AirflowRoute

if TYPE_CHECKING:
    from monitor.notify.channels import Outgoing, SendResult


def dag_run_id(route: AirflowRoute, note: Outgoing) -> str:
    return route.run_id_prefix + note.delivery_id


class AirflowAdapter:
    idempotent = True

    def __init__(self, version: Literal[2, 3]) -> None:
        self.version = version
        self.name = f"Airflow {version}"

    def request(self, note: Outgoing, route: AirflowRoute) -> HttpRequest:
        api = "/api/v1" if self.version == 2 else "/api/v2"
        body: dict[str, object] = {
            "dag_run_id": dag_run_id(route, note),
            "conf": trigger_facts(note),
        }
        if isinstance(route, Airflow3Route):
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            body["logical_date"] = now if route.logical_date == "now" else None
        url = route.endpoint(f"{api}/dags/{quote(route.dag_id, safe='')}/dagRuns")
        return HttpRequest("POST", url, json_headers(), json_body(body))

    def run_url(self, route: AirflowRoute, run_id: str) -> str:
        base = (route.ui_url or route.url).rstrip("/")
        dag, run = quote(route.dag_id, safe=""), quote(run_id, safe="")
        if self.version == 2:
            return f"{base}/dags/{dag}/grid?dag_run_id={run}"
        return f"{base}/dags/{dag}/runs/{run}"

    def answer(self, ans: HttpAnswer, note: Outgoing, route: AirflowRoute) -> SendResult:
        run_id = dag_run_id(route, note)
        if 200 <= ans.status < 300:
            doc = answer_json(ans)
            got = str(doc.get("dag_run_id") or run_id)
            return delivered(got, self.run_url(route, got), ans, state=doc.get("state"))
        if ans.status == 409:
            text = ans.body.decode("utf-8", "replace")
            if run_id in text or "logical" not in text.lower():
                # our dag_run_id exists: an earlier attempt started the run
                return delivered(run_id, self.run_url(route, run_id), ans, duplicate=True)
        return refused(ans, self.idempotent, self.name)
