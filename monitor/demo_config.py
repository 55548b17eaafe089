"""The demo's configuration: built in, and written to `<workdir>/monitor.yaml` for afterwards.

The written file is the config the demo ran with, so `monitor status|runs|report|serve
--config demo-data/monitor.yaml` read what it stored. Two things differ from what ran: the
retraining hook's secret (made for the run, not kept: a `${VAR:-placeholder}` stands in, as
secrets do in real configs), and nothing else. Its broker and receivers ran only during the
demo. Each demo starts from an empty workdir: only files the demo writes are removed, and a
monitor.yaml the demo did not write is never overwritten.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import DemoError
from monitor.settings import Settings, parse_settings

DEMO_DIR = Path("demo-data")
CONFIG_NAME = "monitor.yaml"
CONFIG_HEADER = "# Written by `monitor demo`"
SECRET_REF = "${MONITOR_DEMO_WEBHOOK_SECRET:-not-kept-the-demo-receiver-is-stopped}"
MONITORS = ("churn-prod", "churn-challenger")
WORK_FILES = (
    "monitor.db",
    "monitor.db-wal",
    "monitor.db-shm",
    "monitor.db-journal",
    "tansu.log",
    "churn_training.parquet",
)


def _monitor(name: str, version: str, reference: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": "churn",
        "model_version": version,
        "reference": reference,
        "window": {"size": "5m", "bucket": "1m", "min_events": 200},
        "schedule": {"interval": "10s"},
        "drift": {"drift_share": 0.2},
        "performance": {"enabled": True},  # labels arrive: metrics per window
    }


def demo_config(bootstrap: str, workdir: Path, receivers_base: str, secret: str) -> dict:
    """Local broker, SQLite under workdir, short sessions for a fast join; the production
    version of the churn model with rules routed to the local Slack stand-in and retraining
    hook, and a challenger version (same training set, no rules) so the dashboard's compare
    page has a pair: two versions of one model."""
    reference = str((workdir / "churn_training.parquet").resolve())
    prod = _monitor(MONITORS[0], "3", reference)
    prod["rules"] = [
        {"name": "dataset-drift", "condition": "dataset_drift", "severity": "critical"},
        {
            "name": "prediction-drift",
            "condition": "prediction_drift",
            "severity": "warning",
            "routes": ["slack"],
        },
    ]
    return {
        "kafka": {
            "bootstrap_servers": [bootstrap],
            "group_id": "monitor-demo",
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 1000,
            "poll_timeout_ms": 200,
        },
        "database": {"url": f"sqlite:///{(workdir / 'monitor.db').resolve()}"},
        "monitors": [prod, _monitor(MONITORS[1], "4", reference)],
        "alerting": {
            "routes": {
                "slack": {"type": "slack", "webhook_url": f"{receivers_base}/slack"},
                "retrain": {
                    "type": "webhook",
                    "url": f"{receivers_base}/retrain",
                    "secret": secret,
                    "min_severity": "critical",
                    "cooldown": "1h",
                },
            }
        },
        "reports": {"directory": str((workdir / "reports").resolve())},
    }


def demo_settings(config: dict) -> Settings:
    return parse_settings(config)


def write_config(config: dict, workdir: Path) -> Path:
    """`<workdir>/monitor.yaml`: the config as run, with the webhook secret left out."""
    kept = copy.deepcopy(config)
    kept["alerting"]["routes"]["retrain"]["secret"] = SECRET_REF
    header = (
        f"{CONFIG_HEADER} (replaced by the next demo): the config the demo ran with.\n"
        "# Its broker and its Slack / retraining receivers ran only during the demo and are\n"
        "# stopped; use it to read what the demo stored (monitor status|runs|report, and\n"
        "# monitor serve --role api for the dashboard). The retraining hook's secret was made\n"
        "# for the run and is not kept.\n"
    )
    path = workdir / CONFIG_NAME
    path.write_text(header + yaml.safe_dump(kept, sort_keys=False), encoding="utf-8")
    return path


def fresh_workdir(workdir: Path) -> None:
    """Remove what a previous demo left (only the demo's own files), so every run starts
    empty; refuse, before touching anything, to replace a monitor.yaml it did not write."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / CONFIG_NAME
    if config.exists():
        with config.open(encoding="utf-8", errors="replace") as f:
            if not f.readline().startswith(CONFIG_HEADER):
                raise DemoError(
                    f"{config} exists and was not written by the demo; move it or pick "
                    "another --workdir"
                )
        config.unlink()
    for name in WORK_FILES:
        (workdir / name).unlink(missing_ok=True)
    reports = workdir / "reports"
    for monitor in MONITORS:
        for path in [*reports.glob(f"{monitor}-*.html"), *reports.glob(".report-*.tmp")]:
            path.unlink(missing_ok=True)
    if reports.is_dir() and not any(reports.iterdir()):
        reports.rmdir()
