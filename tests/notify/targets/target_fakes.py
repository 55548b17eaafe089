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
