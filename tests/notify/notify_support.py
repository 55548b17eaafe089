"""A scripted HTTP receiver on 127.0.0.1 (webhook receiver and Slack stand-in) and outbox helpers.

The receiver records method, path, headers and the raw body of every request and answers
with the next scripted reply (then the default one). `delay_s` makes it slow, to widen races.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select

from monitor.storage.tables import notifications

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering (RemoteDisconnected)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # as sent (last value wins)
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Receiver:
    def __init__(
        self,
        script: list[Reply] | None = None,
        default: Reply | Callable[[Recorded, int], Reply] = Reply(),
        delay_s: float = 0.0,
    ) -> None:
        self.script = list(script or [])
        self.default = default
        self.delay_s = delay_s
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                rec = Recorded(
                    "POST", self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                with outer._lock:
                    outer.requests.append(rec)
                    n = len(outer.requests)
                    reply = outer.script.pop(0) if outer.script else outer.default
                if callable(reply):
                    reply = reply(rec, n)
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                if reply.drop:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def enqueue(
    engine: Engine,
    payload: dict[str, Any],
    *,
    channel: str = "webhook",
    route: str = "retrain",
    created_at: datetime = T0,
    delivery_id: str | None = None,
) -> str:
    """Insert a pending outbox row the way routing.enqueue does (the other side's contract)."""
    delivery_id = delivery_id or uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            insert(notifications).values(
                delivery_id=delivery_id,
                alert_id=None,
                channel=channel,
                route=route,
                event=payload["event"],
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=created_at,
                created_at=created_at,
                fingerprint=payload.get("fingerprint"),
                severity=payload.get("severity"),
            )
        )
    return delivery_id


def row(engine: Engine, delivery_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        r = conn.execute(
            select(notifications).where(notifications.c.delivery_id == delivery_id)
        ).one()
    return dict(r._mapping)


def feature(
    name: str, method: str, statistic: float | None, threshold: float, p_value: float | None = None
) -> dict[str, Any]:
    """A drifted-feature entry as `monitor.verdict.feature_entry` writes it."""
    on = (
        "p_value"
        if method in ("ks", "chisquare", "z", "anderson", "cramer_von_mises")
        else "statistic"
    )
    return {
        "name": name,
        "method": method,
        "statistic": statistic,
        "p_value": p_value,
        "threshold": threshold,
        "threshold_on": on,
    }


def firing_payload(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "event": "drift.detected",
        "alert_id": 7,
        "fingerprint": "fp-churn-share",
        "monitor": "churn-daily",
        "model": "churn",
        "model_version": "3",
        "rule": "share",
        "condition": "drift_share",
        "subject": "dataset",
        "severity": "critical",
        "window": {"start": "2026-03-01T10:00:00+00:00", "end": "2026-03-01T11:00:00+00:00"},
        "run_id": 42,
        "dataset_drift": True,
        "drift_share": 0.5,
        "drift_share_threshold": 0.4,
        "drifted_features": [
            feature("age", "ks", 0.21, 0.05, p_value=0.0003),
            feature("income", "wasserstein", 0.9, 0.1),
            feature("plan", "psi", 0.25, 0.2),
        ],
        "report_url": "https://reports.example/runs/42.html",
        "fired_at": "2026-03-01T11:00:05+00:00",
        "resolved_at": None,
        "summary": "3 of 6 features drifted (share 0.50 >= 0.40)",
        "performance": None,
        "new_categories": None,
    }
    p.update(over)
    return p


def resolved_payload(**over: Any) -> dict[str, Any]:
    return firing_payload(
        event="drift.resolved",
        resolved_at="2026-03-01T13:00:02+00:00",
        dataset_drift=False,
        drift_share=0.0,
        drifted_features=[],
        summary="0 of 6 features drifted (share 0.00 < 0.40)",
        **over,
    )
