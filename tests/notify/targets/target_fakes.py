"""Local stand-ins for retraining targets: each answers as the real system's API documents.

They check what the real server would refuse (method, path, required fields, auth) and keep
the runs they started, so a test can count runs after retries.
"""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from notify_support import Recorded, Reply

TOKEN = "tok-for-tests-0123456789"
USER, PASSWORD = "airflow-user", "airflow-pass-123"


def _json(status: int, doc: Any) -> Reply:
    return Reply(status, orjson.dumps(doc), {"Content-Type": "application/json"})


@dataclass
class Fake:
    """Base: runs by idempotency id; `lose` = the first N created runs lose their answer."""

    lose: int = 0
    runs: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def created(self, key: str, doc: Any, reply: Reply) -> Reply:
        self.runs[key] = doc
        if self.lose > 0:
            self.lose -= 1
            return Reply(drop=True)  # the run started, the answer never arrives
        return reply


class FakeAirflow(Fake):
    """POST /api/v{1,2}/dags/{dag_id}/dagRuns; 409 for an existing dag_run_id."""

    def __init__(self, version: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.version = version

    def __call__(self, rec: Recorded, n: int) -> Reply:
        api = "v1" if self.version == 2 else "v2"
        m = re.fullmatch(rf"/api/{api}/dags/([^/]+)/dagRuns", rec.path)
        if rec.method != "POST" or not m:
            return _json(404, {"title": "Not Found"})
        auth = rec.headers.get("Authorization", "")
        want = (
            "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.version == 2
            else f"Bearer {TOKEN}"
        )
        if auth != want:
            return _json(401, {"title": "Unauthorized"})
        body = rec.json()
        allowed = {"dag_run_id", "conf", "logical_date", "note"}
        if self.version == 3:
            allowed |= {"data_interval_start", "data_interval_end", "run_after"}
            if "logical_date" not in body:  # required (nullable) in TriggerDAGRunPostBody
                return _json(422, {"detail": [{"loc": ["body", "logical_date"]}]})
        if set(body) - allowed or not isinstance(body.get("conf", {}), dict):
            return _json(400, {"title": "Bad Request"})
        rid = body["dag_run_id"]
        with self._lock:
            if rid in self.runs:
                detail = f"DAGRun with DAG ID: '{m.group(1)}' and DAGRun ID: '{rid}' already exists"
                return _json(409, {"title": "Conflict", "status": 409, "detail": detail})
            doc = {"dag_id": m.group(1), "dag_run_id": rid, "state": "queued", "conf": body["conf"]}
            return self.created(rid, doc, _json(200, doc))


def _bearer_ok(rec: Recorded) -> bool:
    return rec.headers.get("Authorization") == f"Bearer {TOKEN}"


class FakeGithub(Fake):
    """workflow_dispatch: every accepted call starts a run (no idempotency)."""

    def __init__(self, declared: set[str], **kw: Any) -> None:
        super().__init__(**kw)
        self.declared = declared
        self.status: int | None = None  # answer this status instead, without a run

    def __call__(self, rec: Recorded, n: int) -> Reply:
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)/dispatches", rec.path)
        if rec.method != "POST" or not m:
            return _json(404, {"message": "Not Found"})
        if not _bearer_ok(rec):
            return _json(401, {"message": "Bad credentials"})
        if rec.headers.get("X-GitHub-Api-Version") != "2022-11-28":
            return _json(400, {"message": "Unsupported API version"})
        body = rec.json()
        if set(body) - {"ref", "inputs", "return_run_details"} or "ref" not in body:
            return _json(422, {"message": "Invalid request"})
        inputs = body.get("inputs", {})
        extra = sorted(set(inputs) - self.declared)
        if extra or len(inputs) > 25 or not all(isinstance(v, str) for v in inputs.values()):
            return _json(422, {"message": f"Unexpected inputs provided: {extra}"})
        if self.status is not None:
            return _json(self.status, {"message": "Server Error"})
        with self._lock:
            run_id = 1000 + len(self.runs)
            api = f"https://api.github.com/repos/{m.group(1)}/{m.group(2)}/actions/runs/{run_id}"
            html = f"https://github.com/{m.group(1)}/{m.group(2)}/actions/runs/{run_id}"
            doc = {"workflow_run_id": run_id, "run_url": api, "html_url": html}
            if not body.get("return_run_details"):
                return self.created(str(run_id), inputs, Reply(204, b""))
            return self.created(str(run_id), inputs, _json(200, doc))


class FakeArgo(Fake):
    """Argo Server submit: 409 AlreadyExists (gRPC code 6) for an existing workflow name."""

    def __init__(self, templates: dict[str, set[str]], **kw: Any) -> None:
        super().__init__(**kw)
        self.templates = templates  # template name -> declared parameters

    def __call__(self, rec: Recorded, n: int) -> Reply:
        m = re.fullmatch(r"/api/v1/workflows/([a-z0-9-]+)/submit", rec.path)
        if rec.method != "POST" or not m:
            return _json(404, {"code": 5, "message": "Not Found"})
        if not _bearer_ok(rec):
            return _json(401, {"code": 16, "message": "token not valid"})
        body = rec.json()
        opts = body.get("submitOptions") or {}
        if set(body) != {"namespace", "resourceKind", "resourceName", "submitOptions"}:
            return _json(400, {"code": 3, "message": "bad request"})
        if body["namespace"] != m.group(1) or body["resourceKind"] != "WorkflowTemplate":
            return _json(400, {"code": 3, "message": "bad resource"})
        declared = self.templates.get(body["resourceName"])
        if declared is None:
            name = body["resourceName"]
            return _json(404, {"code": 5, "message": f'workflowtemplates "{name}" not found'})
        params = opts.get("parameters", [])
        names = [p.split("=", 1)[0] for p in params]
        if any("=" not in p for p in params) or set(names) - declared:
            return _json(400, {"code": 3, "message": "invalid parameters"})
        labels = opts.get("labels", "")
        if not all(
            re.fullmatch(r"[a-z0-9./-]+=[A-Za-z0-9._-]{0,63}", kv) for kv in labels.split(",")
        ):
            return _json(400, {"code": 3, "message": "invalid labels"})
        name = opts["name"]
        with self._lock:
            if name in self.runs:
                msg = f'workflows.argoproj.io "{name}" already exists'
                return _json(409, {"code": 6, "message": msg})
            doc = {"metadata": {"name": name, "namespace": m.group(1), "uid": f"uid-{n}"}}
            return self.created(name, {"parameters": params, "labels": labels}, _json(200, doc))


class FakeKubeflow(Fake):
    """KFP v2beta1 CreateRun: no idempotency, every accepted call is a new run."""

    def __call__(self, rec: Recorded, n: int) -> Reply:
        if rec.method != "POST" or rec.path != "/apis/v2beta1/runs":
            return _json(404, {"error": "Not Found"})
        if not _bearer_ok(rec):
            return _json(401, {"error": "Unauthenticated"})
        body = rec.json()
        allowed = {
            "display_name",
            "description",
            "pipeline_version_reference",
            "runtime_config",
            "experiment_id",
        }
        ref = body.get("pipeline_version_reference") or {}
        if set(body) - allowed or not body.get("display_name") or not ref.get("pipeline_id"):
            return _json(400, {"error": "Invalid input error"})
        if not isinstance((body.get("runtime_config") or {}).get("parameters", {}), dict):
            return _json(400, {"error": "Invalid input error"})
        with self._lock:
            run_id = f"run-{len(self.runs) + 1}"
            doc = {"run_id": run_id, "display_name": body["display_name"], "state": "PENDING"}
            return self.created(run_id, body, _json(200, doc))


class FakePrefect(Fake):
    """create_flow_run: the same idempotency_key returns the flow run created first."""

    def __call__(self, rec: Recorded, n: int) -> Reply:
        m = re.fullmatch(r"/api/deployments/([0-9a-f-]{36})/create_flow_run", rec.path)
        if rec.method != "POST" or not m:
            return _json(404, {"detail": "Not Found"})
        body = rec.json()
        allowed = {"parameters", "idempotency_key", "tags", "name", "state", "context"}
        if set(body) - allowed or not isinstance(body.get("parameters", {}), dict):
            return _json(422, {"detail": "validation error"})
        key = body.get("idempotency_key")
        with self._lock:
            if key is not None and key in self.runs:
                return _json(201, self.runs[key])
            flow_run_id = f"00000000-0000-4000-8000-{len(self.runs) + 1:012d}"
            doc = {"id": flow_run_id, "name": f"flow-run-{n}", "deployment_id": m.group(1)}
            return self.created(key or flow_run_id, doc, _json(201, doc))
