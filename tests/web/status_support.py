"""A store that holds a drift run of every status, made the real way (scheduler ticks and the
run claim), for the dashboard's walk over every page.

Besides web_support's churn-v1 (drift, then resolved) and churn-v2 (no drift):
- churn-v3-sparse: one full window, then 20 events, then none: its newest runs are
  `insufficient_data`, and its drift-share chart has a single point;
- churn-v4-broken: its reference file does not exist: every run `failed`;
- churn-v5-catchup: `schedule.max_catch_up: 1`, ticked after windows 1 and 4: a `skipped` row
  for windows 2-3 between two succeeded runs; one feature has a 241-character name;
- churn-v6-idle: never ticked, no run at all;
- and churn-v2's fifth window is claimed but not finished: a `running` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from web_support import HOUR, T0, Seeded, monitor_config, seed, traffic

from monitor.scheduler.ticks import tick
from monitor.settings import Settings
from monitor.storage import runs as run_store
from monitor.storage.tables import drift_runs
from monitor.storage.writes import store_batch

LONG = ("a_very_long_feature_name_from_a_generated_schema_" * 5)[:241]
SPARSE, BROKEN, CATCHUP, IDLE = (
    "churn-v3-sparse",
    "churn-v4-broken",
    "churn-v5-catchup",
    "churn-v6-idle",
)
STATUSES = ("succeeded", "insufficient_data", "failed", "skipped", "running")


def status_monitors(ref: Path, long_ref: Path, missing: Path) -> list[dict[str, Any]]:
    return [
        monitor_config(SPARSE, "3", ref),
        monitor_config(BROKEN, "4", missing),
        monitor_config(CATCHUP, "5", long_ref, schedule={"max_catch_up": 1}),
        monitor_config(IDLE, "6", ref),
    ]


@dataclass(frozen=True)
class StatusStore:
    base: Seeded
    runs: dict[int, tuple[str, str]]  # run id -> (monitor, status), every row stored
    running: int


def seed_statuses(engine: Any, settings: Settings) -> StatusStore:
    base = seed(engine, settings)
    by_name = {m.name: m for m in settings.monitors}
    for n, start, version, seed_n, extra in (
        (500, T0, "3", 31, None),
        (20, T0 + HOUR, "3", 32, None),
        (500, T0, "5", 51, LONG),
        (500, T0 + 3 * HOUR, "5", 54, LONG),
    ):
        preds, labels = traffic(n, start, version, seed=seed_n, extra=extra)
        store_batch(engine, preds, labels, [])
    for i in range(1, 5):
        at = T0 + i * HOUR + timedelta(seconds=1)
        tick(engine, settings, by_name[SPARSE], now=at)
        tick(engine, settings, by_name[BROKEN], now=at)
        if i in (1, 4):
            tick(engine, settings, by_name[CATCHUP], now=at)
    at = T0 + 5 * HOUR + timedelta(seconds=1)
    running = run_store.claim(
        engine, "churn-v2", T0 + 4 * HOUR, T0 + 5 * HOUR, at, settings.scheduler.lease
    )
    assert running is not None
    r = drift_runs.c
    with engine.connect() as conn:
        rows = conn.execute(select(r.id, r.monitor, r.status)).all()
    return StatusStore(base, {row.id: (row.monitor, row.status) for row in rows}, running)
