"""A liveness file the serving loops touch, so a container healthcheck can tell a stuck process.

Why a file: the consumer-only role has no HTTP port yet, and a file check costs nothing.
The path comes from MONITOR_HEARTBEAT_FILE; with it unset, beating is a no-op.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV_VAR = "MONITOR_HEARTBEAT_FILE"


def heartbeat_path() -> Path | None:
    value = os.environ.get(ENV_VAR)
    return Path(value) if value else None


class Heartbeat:
    """Touches the file at most once per `every_s`, so a hot loop may call `beat()` freely."""

    def __init__(self, path: Path | None = None, every_s: float = 5.0) -> None:
        self.path = path if path is not None else heartbeat_path()
        self.every_s = every_s
        self._last = 0.0

    def beat(self) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self.path.touch()
            self._last = now


def age_seconds(path: Path) -> float | None:
    """Seconds since the last beat, or None when the file does not exist."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
