"""Local HTTP receivers for the demo: a Slack stand-in and a retraining-webhook endpoint.

They record what they get (and the webhook checks the HMAC signature the way a real
receiver should), so the demo can show exactly what was delivered. Loopback only.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.notify.signing import verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receivers:
    """One server, two endpoints: /slack (incoming-webhook style) and /retrain."""

    secret: bytes
    got: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> Receivers:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rec = Received(self.path, dict(self.headers.items()), body)
                if self.path == "/retrain":
                    rec.signature_ok = verify(
                        body, self.headers.get("X-Monitor-Signature"), owner.secret
                    )
                owner.got.append(rec)
                ok = rec.signature_ok is not False
                self.send_response(200 if ok else 401)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"bad signature")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
