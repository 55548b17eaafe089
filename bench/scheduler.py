"""Scheduler benchmarks: one scheduled run over windows of 10k / 1M / 10M events (sketch
path), and end-to-end latency from the first drifted event produced to the webhook received.

Part A (`--sizes`): a fresh Postgres database per size; a 25-feature monitor (bench/drift.py's
columns: 20 numeric, 5 categorical) with a 100k-row reference; a 24-hour window of 288
five-minute buckets. The current window's bucket sketches are built from generated data
exactly as ingestion builds them (`bucketing.frame_deltas`), `--deltas-per-bucket` deltas
per bucket and feature (as consecutive consumer batches leave them before compaction); the
`predictions` table gets N rows of the window (server-side `generate_series`, empty features)
so the run's coverage check counts real rows. Then `run_window` is timed end to end: claim,
count, coverage check, load + merge of every delta, compare, rules, store. Reports off.

Part B (`--latency`): tansu + Postgres + `monitor serve --role all` as a subprocess with a
10 s tumbling window and a 10 s schedule; normal traffic at ~300 events/s, then drifted
traffic; the time from the first drifted event produced to the signed webhook received by a
local receiver.

    .venv/bin/python bench/scheduler.py --sizes 10000,1000000,10000000 --latency

Part C (`--alarms N`, bench/_sched_alarms.py): issue 14's costs, side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from drift import make_frames  # noqa: E402

from monitor.bucketing import frame_deltas  # noqa: E402
from monitor.reference import materialise  # noqa: E402
from monitor.scheduler.execute import run_window  # noqa: E402
from monitor.settings import parse_settings  # noqa: E402
from monitor.storage import make_engine, sketch_store, upgrade  # noqa: E402
from monitor.storage.event_frames import TS_COLUMN  # noqa: E402
from monitor.window import Window  # noqa: E402

SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
BUCKETS = 288


def _database() -> tuple[str, str]:
    name = f"bench_sched_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop(name: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill_window(engine, url: str, reference, n: int, deltas_per_bucket: int, start) -> None:  # type: ignore[no-untyped-def]
    """The 24-hour window's bucket sketches (as ingestion builds them) and its n rows."""
    per_bucket = n // BUCKETS
    for b in range(BUCKETS):
        rows = per_bucket + (1 if b < n % BUCKETS else 0)
        _, cur = make_frames(rows, seed=1000 + b)
        bucket_start = start + b * timedelta(minutes=5)
        parts = np.array_split(np.arange(rows), deltas_per_bucket)
        deltas = []
        for part in parts:
            frame = cur.iloc[part].copy()
            frame[TS_COLUMN] = [bucket_start] * len(frame)
            deltas += frame_deltas("bench", reference, frame, timedelta(minutes=5))
        sketch_store.append_deltas(engine, deltas)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute(
            "INSERT INTO predictions (model, event_id, ts, received_at, features) "
            "SELECT 'bench', 'e' || g, %s + (g * %s::interval), now(), '{}'::json "
            "FROM generate_series(0, %s - 1) g",
            (start, f"{86400 / n} seconds", n),
        )
        conn.execute("ANALYZE predictions")
        conn.commit()


def run_size(n: int, deltas_per_bucket: int, repeats: int) -> dict:
    name, url = _database()
    try:
        engine = make_engine(url)
        upgrade(engine)
        settings = parse_settings(
            {
                "database": {"url": url},
                "reports": {"enabled": False},
                "monitors": [
                    {
                        "name": "bench",
                        "model": "bench",
                        "window": {"size": "24h", "bucket": "5m", "min_events": 100},
                        "prediction_drift": False,
                        "rules": [{"name": "dataset", "condition": "dataset_drift"}],
                    }
                ],
            }
        )
        monitor = settings.monitors[0]
        ref, _ = make_frames(100_000, seed=1)
        reference = materialise(engine, monitor, frame=ref, source="bench")
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(hours=24)
        build = time.perf_counter()
        fill_window(engine, url, reference, n, deltas_per_bucket, start)
        build_s = time.perf_counter() - build
        times = []
        outcome = None
        for _ in range(repeats):
            with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
                conn.execute("DELETE FROM drift_runs")
                conn.commit()
            t = time.perf_counter()
            outcome = run_window(engine, settings, monitor, Window(start, end), now=end)
            times.append(time.perf_counter() - t)
            assert outcome is not None and outcome.status == "succeeded", outcome
            assert not outcome.rebuilt_sketches and outcome.current_rows == n
        rows = sum(sketch_store.bucket_counts(engine, reference.id).values())
        engine.dispose()
        return {
            "events": n,
            "delta_rows": rows,
            "run_median_s": statistics.median(times),
            "run_min_s": min(times),
            "build_sketches_s": build_s,
            "drifted": len(outcome.drifted) if outcome else None,
        }
    finally:
        _drop(name)


def _produce(producer, stop: threading.Event, state: dict) -> None:  # type: ignore[no-untyped-def]
    """~300 events/s stamped now; reference-like until state["drift"], then shifted."""
    seq = 0
    while not stop.is_set():
        ref_rows, cur_rows = make_frames(30, seed=seq)
        frame = cur_rows if state["drift"] else ref_rows
        if state["drift"] and state["t0"] is None:
            state["t0"] = time.time()
        now = datetime.now(UTC).isoformat()
        for i, row in enumerate(frame.to_dict("records")):
            event = {"event_id": f"{seq}-{i}", "model": "bench", "timestamp": now, "features": row}
            producer.send("predictions", orjson.dumps(event))
        seq += 1
        time.sleep(0.1)


def latency(repeats: int) -> list[float]:
    """Seconds from the first drifted event produced to the webhook received."""
    from kafka import KafkaProducer

    from monitor.demo_receivers import Receivers
    from monitor.ingest.broker import start_broker
    from monitor.ingest.topics import create_topics

    out = []
    for _ in range(repeats):
        name, url = _database()
        work = Path(tempfile.mkdtemp(prefix="bench-latency-"))
        secret = uuid.uuid4().hex
        receivers = Receivers(secret.encode()).start()
        try:
            with start_broker(work / "tansu.log") as broker:
                ref, _ = make_frames(20_000, seed=5)
                ref.to_parquet(work / "ref.parquet")
                config = {
                    "kafka": {
                        "bootstrap_servers": [broker.bootstrap],
                        "group_id": "bench",
                        "session_timeout_ms": 6000,
                        "heartbeat_interval_ms": 1000,
                        "poll_timeout_ms": 100,
                        "max_poll_records": 500,
                    },
                    "database": {"url": url},
                    "monitors": [
                        {
                            "name": "bench",
                            "model": "bench",
                            "reference": str(work / "ref.parquet"),
                            "window": {"size": "10s", "bucket": "1s", "min_events": 100},
                            "schedule": {"interval": "10s"},
                            # 9 of 25 columns shift: share ~0.45 drifted, ~0.2 by chance
                            # in these small windows
                            "drift": {"drift_share": 0.4},
                            "rules": [
                                {
                                    "name": "dataset",
                                    "condition": "dataset_drift",
                                    "severity": "critical",
                                }
                            ],
                        }
                    ],
                    "alerting": {
                        "routes": {
                            "hook": {
                                "type": "webhook",
                                "url": f"{receivers.base}/retrain",
                                "secret": secret,
                            }
                        },
                        "delivery": {"poll_interval": "0.5s"},
                    },
                    "reports": {"enabled": False},
                }
                (work / "c.yaml").write_bytes(orjson.dumps(config))
                kafka_cfg = parse_settings(config).kafka
                create_topics(kafka_cfg, ["predictions", "labels"], 2)
                engine = make_engine(url)
                upgrade(engine)
                materialise(engine, parse_settings(config).monitors[0])
                engine.dispose()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "monitor", "serve", "--config", str(work / "c.yaml")],
                    stdout=subprocess.DEVNULL,
                    stderr=open(work / "serve.log", "wb"),  # noqa: SIM115
                )
                try:
                    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], linger_ms=5)
                    stop = threading.Event()
                    state = {"drift": False, "t0": None}

                    thread = threading.Thread(
                        target=_produce, args=(producer, stop, state), daemon=True
                    )
                    thread.start()
                    time.sleep(35)  # normal traffic: group join, first windows computed
                    state["drift"] = True
                    deadline = time.time() + 120
                    while time.time() < deadline:
                        got = [r for r in receivers.got if r.path == "/retrain"]
                        fired = [r for r in got if r.json()["event"] == "drift.detected"]
                        if fired:
                            out.append(time.time() - state["t0"])  # received already
                            break
                        time.sleep(0.05)
                    stop.set()
                    thread.join(5)
                    producer.close()
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(30)
        finally:
            receivers.stop()
            _drop(name)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--deltas-per-bucket", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency", action="store_true")
    ap.add_argument(
        "--alarms", type=int, default=0, metavar="N",
        help="issue 14 costs: fixed vs auto vs auto + sequential on one window of N events, "
        "and null materialisation for a 1M-row reference (bench/_sched_alarms.py)",
    )  # fmt: skip
    args = ap.parse_args()
    if args.alarms:
        from _sched_alarms import main as alarms_main

        alarms_main(args.alarms, args.deltas_per_bucket, args.repeats)
        os._exit(0)
    if args.sizes:
        print(
            "| events in window | delta rows (25 features × 288 buckets × deltas) | "
            "run s (median) | run s (min) | drifted features |"
        )
        print("|---|---|---|---|---|")
        for n in [int(s) for s in args.sizes.split(",") if s]:
            r = run_size(n, args.deltas_per_bucket, args.repeats)
            print(
                f"| {r['events']:,} | {r['delta_rows']:,} | {r['run_median_s']:.3f} | "
                f"{r['run_min_s']:.3f} | {r['drifted']} |",
                flush=True,
            )
    if args.latency:
        lat = latency(2)
        print(f"\nlatency first drifted event -> webhook received: {[round(x, 1) for x in lat]} s")
    os._exit(0)


if __name__ == "__main__":
    main()
