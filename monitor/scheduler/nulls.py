"""The scheduler's view of stored null quantiles: loaded once per reference version.

A reference version's nulls never change once stored, so each process keeps them by
reference id (`NULLS`): a run reads them from memory, the first run of a version (or the
first after a restart) from storage, and only a version stored without them (before this
feature, or before the config asked for another method) calibrates, once, through
`monitor.reference_nulls.ensure_nulls`. A run never refits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from monitor.drift.calibration import FeatureNull
from monitor.reference import Reference
from monitor.reference_nulls import ensure_nulls, wanted_nulls
from monitor.settings import MonitorSettings
from monitor.storage.db import Engine

__all__ = ["NULLS", "NullCache"]


class NullCache:
    """Nulls by reference id, at most `size` versions; counts its loads and calibrations."""

    def __init__(self, size: int = 64) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._by_ref: OrderedDict[int, dict[tuple[str, str], FeatureNull]] = OrderedDict()
        self._tried: dict[int, set[tuple[str, str]]] = {}
        self.loads = 0  # reads from storage
        self.calibrations = 0  # lazy calibrations (references stored without nulls)

    def clear(self) -> None:
        """Forget everything (what a restart does)."""
        with self._lock:
            self._by_ref.clear()
            self._tried.clear()
            self.loads = self.calibrations = 0

    def get(
        self, engine: Engine, monitor: MonitorSettings, ref: Reference, now: datetime
    ) -> dict[str, FeatureNull]:
        """Feature -> null of the monitor's auto features that have one for this version."""
        wanted = wanted_nulls(monitor, ref.specs)
        if not wanted:
            return {}
        keys = {(n, method) for n, (_, method) in wanted.items()}
        with self._lock:
            table = self._by_ref.get(ref.id)
            tried = self._tried.setdefault(ref.id, set())
            if table is None or not keys <= set(table) | tried:
                self.loads += 1
                table, calibrated = ensure_nulls(engine, monitor, ref.id, ref.specs, now)
                self.calibrations += int(calibrated)
                tried |= keys  # what is still missing stays missing in this process
            self._by_ref[ref.id] = table
            self._by_ref.move_to_end(ref.id)
            while len(self._by_ref) > self._size:
                old, _ = self._by_ref.popitem(last=False)
                self._tried.pop(old, None)
        return {n: table[(n, m)] for n, (_, m) in wanted.items() if (n, m) in table}


NULLS = NullCache()
