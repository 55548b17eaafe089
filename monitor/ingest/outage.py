"""The consumer while its database is down: probing the database and waiting for it.

A running consumer retries its batch (writer.py); a starting one waits here with the same
backoff instead of exiting, so a service started before (or during an outage of) its
database comes up when the database does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from monitor.ingest.writer import backoff_s
from monitor.storage.db import StorageUnavailable, storage_errors

log = logging.getLogger("monitor.ingest.outage")

Probe = Callable[[], None]  # returns when the database answers, raises StorageUnavailable if not


def database_probe(engine: Any) -> Probe:
    """One cheap round trip (`SELECT 1`) on a pooled connection."""
    from sqlalchemy import text

    def probe() -> None:
        with storage_errors(engine, "database probe"), engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    return probe


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
