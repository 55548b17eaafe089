"""Benchmark of the event contract and the storage writes (not a timed test).

Measures (1) parse_prediction throughput on a 20-feature event (15 numeric, 5 categorical)
and (2) store_batch throughput of such predictions into Postgres in batches of 2,000
(and into SQLite for reference). Usage:
    .venv/bin/python bench/storage.py [--n 200000] [--pg-url postgresql+psycopg://...]
Without --pg-url it uses MONITOR_TEST_DATABASE_URL or the local server (database `test`),
in a throwaway database it creates and drops.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import psycopg

from monitor.events import parse_prediction
from monitor.storage import make_engine, store_batch, upgrade

BATCH = 2_000


def sample_events(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for i in range(n):
        features: dict[str, object] = {f"num_{j}": rng.gauss(0, 1) for j in range(15)}
        features |= {f"cat_{j}": rng.choice(["a", "b", "c", "d"]) for j in range(5)}
        doc = {
            "event_id": f"ev-{i}",
            "model": "churn",
            "model_version": "v1",
            "timestamp": (t0 + timedelta(milliseconds=i)).isoformat(),
            "features": features,
            "prediction": rng.random(),
            "segment": {"country": rng.choice(["FR", "DE", "US"])},
        }
        out.append(orjson.dumps(doc))
    return out


def bench_parse(raws: list[bytes]) -> float:
    """Parse batch by batch, dropping each, as the consumer does (holding all 200k parsed
    events at once would time the garbage collector's full passes instead)."""
    known = frozenset({"churn"})
    start = time.perf_counter()
    for i in range(0, len(raws), BATCH):
        [parse_prediction(r, max_bytes=1_000_000, known_models=known) for r in raws[i : i + BATCH]]
    return len(raws) / (time.perf_counter() - start)


def bench_store(url: str, parsed: list) -> float:
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    for i in range(0, len(parsed), BATCH):
        store_batch(engine, parsed[i : i + BATCH], [], [])
    rate = len(parsed) / (time.perf_counter() - start)
    engine.dispose()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--pg-url", default=os.environ.get("MONITOR_TEST_DATABASE_URL"))
    args = ap.parse_args()
    raws = sample_events(args.n)
    rate = bench_parse(raws)
    parsed = [parse_prediction(r, max_bytes=1_000_000) for r in raws]
    print(f"parse_prediction: {rate:,.0f} events/s ({len(raws[0])} bytes/event, 20 features)")
    name = f"bench_storage_{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    url = args.pg_url
    if url is None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        print(
            f"store_batch postgres: {bench_store(url, parsed):,.0f} predictions/s "
            f"(batches of {BATCH})"
        )
    finally:
        if args.pg_url is None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with tempfile.TemporaryDirectory() as tmp:
        rate = bench_store(f"sqlite:///{tmp}/bench.db", parsed[:50_000])
        print(f"store_batch sqlite: {rate:,.0f} predictions/s (50,000 events)")


if __name__ == "__main__":
    main()
