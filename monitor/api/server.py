"""Run an ASGI app with uvicorn in a background thread (serve's roles run beside it).

The socket is bound here, before the thread starts, so "address in use" or "not allowed"
becomes one ConfigError at start instead of a log line from a dying thread. Uvicorn installs
no signal handlers off the main thread; `serve` owns SIGTERM/SIGINT and calls `stop()`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import uvicorn

from monitor.errors import ConfigError

log = logging.getLogger("monitor.api")


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class ServerThread:
    """One uvicorn server on an already bound socket, in a daemon thread."""

    def __init__(self, app: Any, host: str, port: int, *, name: str = "api") -> None:
        self.sock = bind(host, port)
        self.host, self.port = host, self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5
        )
        self.server = uvicorn.Server(config)
        self.name = name
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name=name, daemon=True
        )

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(
                    f"the {self.name} server on {self.host}:{self.port} did not start"
                )
            time.sleep(0.01)
        log.info(f"{self.name}_listening", extra={"host": self.host, "port": self.port})
        return self

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
