"""Slow real services started in the background when the session starts, so that their start-up
overlaps the tests that run before the ones needing them.

A test module registers a service under the name of the fixture that hands it out:
`register("mlflow", start, stop)`. The session fixture in tests/conftest.py calls `begin(...)`
with the collected items: the registered services that some item uses are started one after
the other (in the order tests first need them) in one background thread, each in its own
tmp_path_factory directory. The fixture then calls `result(name, tmp_path_factory)`, which
waits and hands back what `start` returned, or raises what `start` raised (a failed start
fails the tests that need it, exactly as when the fixture started the service itself); a
service never begun (the fixture used some other way) is started there and then.
`release(name)` stops it; `stop_all()` at the end of the session stops whatever is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class _Service:
    start: Callable[[Path], Any]
    stop: Callable[[Any], None]
    done: threading.Event = field(default_factory=threading.Event)
    begun: bool = False
    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0
    procs: list[subprocess.Popen] = field(default_factory=list)

    def run(self, tmp: Path) -> None:
        began = time.monotonic()
        _CURRENT.service = self
        try:
            self.value = self.start(tmp)
        except BaseException as exc:  # also pytest's skip/fail outcomes: re-raised in result()
            self.error = exc
        finally:
            self.seconds = time.monotonic() - began
            _CURRENT.service = None
            self.done.set()

    def kill(self) -> None:
        """A start still running at the end of the session: end its processes."""
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: the whole group
                except OSError:
                    proc.kill()


_SERVICES: dict[str, _Service] = {}
_LOCK = threading.Lock()
_CURRENT = threading.local()


def track(proc: subprocess.Popen) -> subprocess.Popen:
    """A start function hands its server process here, to be killed if the session ends
    while the start is still going on."""
    service = getattr(_CURRENT, "service", None)
    if service is not None:
        service.procs.append(proc)
    return proc


def register(name: str, start: Callable[[Path], Any], stop: Callable[[Any], None]) -> None:
    """Declare the service behind fixture `name` (at import of the module that uses it)."""
    _SERVICES.setdefault(name, _Service(start, stop))


def begin(items: Iterable[Any], tmp_path_factory: Any) -> list[str]:
    """Start, in one background thread, the registered services the items use (in the order
    of their first use). Returns their names."""
    order: list[str] = []
    for item in items:
        for name in getattr(item, "fixturenames", ()):
            if name in _SERVICES and name not in order:
                order.append(name)
    jobs = []
    with _LOCK:
        for name in order:
            service = _SERVICES[name]
            if not service.begun:
                service.begun = True
                jobs.append((service, tmp_path_factory.mktemp(name)))
    if jobs:
        threading.Thread(
            target=lambda: [service.run(tmp) for service, tmp in jobs],
            name="prestart",
            daemon=True,
        ).start()
    return order


def result(name: str, tmp_path_factory: Any) -> Any:
    """What the service's start returned (waiting for it), or its start's exception."""
    service = _SERVICES[name]
    with _LOCK:
        here = not service.begun
        service.begun = True
    if here:
        service.run(tmp_path_factory.mktemp(name))
    service.done.wait()
    if service.error is not None:
        raise service.error
    return service.value


def started_in(name: str) -> float:
    """How long the service's start took (background or not)."""
    return _SERVICES[name].seconds


def release(name: str) -> None:
    """Stop the service (once) when its tests are done."""
    service = _SERVICES[name]
    with _LOCK:
        value, service.value = service.value, None
    if value is not None:
        service.stop(value)


def stop_all() -> None:
    """End of session: kill starts still running, stop the services still up."""
    for name, service in _SERVICES.items():
        if service.begun:
            if not service.done.is_set():
                service.kill()
                service.done.wait(30)  # its wait loop sees the process gone
            release(name)
