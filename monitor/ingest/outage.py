"""The consumer while its database is down: probing the database and waiting for it.

A running consumer retries its batch (writer.py); a starting one waits here with the same
backoff instead of exiting, so a service started before (or during an outage of) its
database comes up when the database does.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

from monitor.ingest.writer import backoff_s, is_transient
from monitor.storage.db import Engine, StorageUnavailable
from monitor.storage.ingest_store import ping

log = logging.getLogger("monitor.ingest.outage")

Probe = Callable[[], None]  # returns when the database answers, raises StorageUnavailable if not


def database_probe(engine: Engine) -> Probe:
    """One cheap round trip (`SELECT 1`) on a pooled connection."""
    return functools.partial(ping, engine)


def wait_for_database(probe: Probe, stop: threading.Event, cap_s: float) -> bool:
    """Probe until the database answers (True) or `stop` is set (False), logging each failed
    attempt; the delays are writer.backoff_s, capped at `cap_s`."""
    attempt = 0
    while not stop.is_set():
        try:
            probe()
        except StorageUnavailable as exc:
            delay = backoff_s(attempt, cap_s)
            attempt += 1
            log.warning(
                "database_unavailable",
                extra={"attempt": attempt, "retry_in_s": round(delay, 2), "error": str(exc)[:300]},
            )
            stop.wait(delay)
            continue
        if attempt:
            log.info("database_available", extra={"attempts": attempt + 1})
        return True
    return False


class OutageClock:
    """How long the consumer has been unable to store, and whether that is too long to keep
    its partitions. `failed` runs on the writer thread, the rest on the consumer thread."""

    def __init__(self, probe: Probe | None, leave_after_s: float | None, cap_s: float) -> None:
        self._probe = probe
        self._leave_after = leave_after_s if probe is not None else None  # None: never leave
        self._cap_s = cap_s
        self._since: float | None = None  # first failed store of this outage

    def failed(self, exc: BaseException) -> None:
        if is_transient(exc) and self._since is None:
            self._since = time.monotonic()

    def stored(self) -> None:
        self._since = None

    def down_for(self) -> float:
        since = self._since
        return 0.0 if since is None else time.monotonic() - since

    def too_long(self) -> bool:
        return (
            self._leave_after is not None
            and self._since is not None
            and (self.down_for() >= self._leave_after)
        )

    def wait_back(self, stop: threading.Event, tick: Callable[[], None]) -> bool:
        """Probe until the database answers (True) or `stop` (False); `tick` between tries."""
        probe = self._probe
        assert probe is not None  # too_long() is never true without a probe

        def ticking_probe() -> None:
            tick()
            probe()

        back = wait_for_database(ticking_probe, stop, self._cap_s)
        if back:
            self._since = None
        return back
