"""Prometheus metrics of the service: one registry per app, from three collectors.

Two kinds, and the difference matters for PromQL:
- Process metrics (`monitor_ingest_*`, `prometheus_ingest.py`): what *this* consumer process
  did since it started (counters reset on restart). Sum them across replicas:
  `sum by (topic) (rate(...[5m]))`.
- Stored-state metrics (`monitor_run_*`, `monitor_runs_total`, `monitor_alerts_firing`, ...,
  `prometheus_state.py`): read from the database on each scrape, so every replica reports the
  same numbers and a restart forgets nothing. Aggregate them with `max by (...)`, never `sum`.

Label sets are bounded: monitor names come from the config, reasons from the fixed REASONS
set, models outside the config are reported as model="_other", and per-feature gauges exist
only for monitors listed in `api.feature_metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.api.prometheus_ingest import IngestCollector, IngestObserver
from monitor.api.prometheus_state import StoredStateCollector, expected_interval
from monitor.settings import Settings
from monitor.storage.db import Engine

__all__ = ["IngestObserver", "build_registry", "expected_interval"]


class BuildInfoCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "monitor_build_info", "The running version (always 1).", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info


def build_registry(
    engine: Engine | None,
    settings: Settings,
    ingest: IngestObserver | None = None,
    *,
    process: bool = True,
) -> CollectorRegistry:
    """A registry of its own per app (tests run several apps in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BuildInfoCollector())
    if engine is not None:
        registry.register(StoredStateCollector(engine, settings))
    if ingest is not None:
        registry.register(IngestCollector(ingest, settings.known_models()))
    if process:
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
    return registry
