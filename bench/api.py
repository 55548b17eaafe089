"""API and /metrics under load: 100k stored runs x 25 features in Postgres.

Seeds a fresh database server-side (generate_series): 50 monitors x 2,000 hourly runs =
100,000 finished drift runs, 25 feature rows each (2.5M `drift_feature_results` rows), then
starts `monitor serve --role api` as a subprocess and drives it from this process with
`--clients` keep-alive HTTP connections on loopback for `--seconds` per endpoint:
- the runs list of one monitor (newest first, limit 50), and the next page by cursor;
- one feature's statistic history (last 500 points);
then times single `/metrics` scrapes (50 monitors, stored-state collectors read Postgres).

    .venv/bin/python bench/api.py --clients 8 --seconds 15
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import orjson
import psycopg

SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TOKEN = "bench-read-token-" + uuid.uuid4().hex
MONITORS, RUNS_PER_MONITOR, FEATURES = 50, 2000, 25

SEED = """
INSERT INTO drift_runs (monitor, window_start, window_end, status, reference_rows, current_rows,
    dataset_drift, drift_share, n_features, n_drifted, summary, started_at, finished_at,
    heartbeat_at, duration_s, kind)
SELECT 'mon-' || m, t0 + (r - 1) * interval '1 hour', t0 + r * interval '1 hour', 'succeeded',
       100000, 10000, (r % 17 = 0), (r % 17 = 0)::int * 0.6 + 0.04, 25, (r % 17 = 0)::int * 15,
       '{}'::jsonb, t0 + r * interval '1 hour', t0 + r * interval '1 hour',
       t0 + r * interval '1 hour', 0.05, 'drift'
FROM generate_series(1, %(monitors)s) m, generate_series(1, %(runs)s) r,
     (SELECT timestamptz '2026-01-01 00:00+00' AS t0) c;
INSERT INTO drift_feature_results (run_id, feature, kind, method, statistic, p_value,
    threshold, drifted, stats)
SELECT d.id, 'f' || lpad(f::text, 2, '0'), 'numeric', 'wasserstein_normed',
       abs(sin(d.id * f)) * 0.2, NULL, 0.1, abs(sin(d.id * f)) * 0.2 >= 0.1,
       '{"stats": {}, "quality": {}}'::jsonb
FROM drift_runs d, generate_series(1, %(features)s) f;
ANALYZE;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def load(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    """Closed-loop load: each client sends its next request when the last one returned."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, n = [], 0
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            status, _ = _get(conn, paths[(i + n) % len(paths)])
            mine.append(time.perf_counter() - t)
            n += 1
            if status != 200:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "errors": errors[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    name = f"bench_api_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    proc = None
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from monitor.storage import make_engine, upgrade

        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        t = time.perf_counter()
        sizes = {"monitors": MONITORS, "runs": RUNS_PER_MONITOR, "features": FEATURES}
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            for statement in SEED.split(";"):
                if statement.strip():  # constants only: no untrusted text in this SQL
                    for key, value in sizes.items():
                        statement = statement.replace(f"%({key})s", str(value))
                    conn.execute(statement)
        seed_s = time.perf_counter() - t
        port = _free_port()
        config = {
            "database": {"url": url},
            "api": {"host": "127.0.0.1", "port": port, "read_tokens": [TOKEN]},
            "monitors": [{"name": f"mon-{m}", "model": f"model-{m}"} for m in range(1, 51)],
        }
        work = Path(tempfile.mkdtemp(prefix="bench-api-"))
        (work / "c.yaml").write_bytes(orjson.dumps(config))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "serve",
                "--role",
                "api",
                "--config",
                str(work / "c.yaml"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(work / "serve.log", "wb"),  # noqa: SIM115
        )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for _ in range(600):
            try:
                if _get(conn, "/healthz")[0] == 200:
                    break
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                time.sleep(0.1)
        status, body = _get(conn, "/api/v1/monitors/mon-7/runs?limit=50")
        assert status == 200, body[:300]
        cursor = orjson.loads(body).get("next_cursor")
        runs = [f"/api/v1/monitors/mon-{m}/runs?limit=50" for m in range(1, 51)]
        pages = [f"/api/v1/monitors/mon-7/runs?limit=50&cursor={cursor}"] if cursor else runs
        history = [
            f"/api/v1/monitors/mon-{m}/features/f{f:02d}/history?limit=500"
            for m in range(1, 51, 7)
            for f in (1, 13, 25)
        ]
        status, body = _get(conn, history[0])
        assert status == 200, body[:300]
        results = {
            "runs list (limit 50)": load(port, runs, args.clients, args.seconds),
            "runs list, next page (cursor)": load(port, pages, args.clients, args.seconds),
            "feature history (500 points)": load(port, history, args.clients, args.seconds),
        }
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        scrapes = []
        for _ in range(10):
            t = time.perf_counter()
            status, body = _get(conn, "/metrics")
            scrapes.append(time.perf_counter() - t)
            assert status == 200
        conn.close()
        print(
            f"seeded {MONITORS * RUNS_PER_MONITOR:,} runs x {FEATURES} features in {seed_s:.0f} s"
        )
        print(f"clients {args.clients}, {args.seconds:g} s per endpoint, loopback keep-alive\n")
        print("| endpoint | requests | req/s | p50 ms | p95 ms | errors |")
        print("|---|---|---|---|---|---|")
        for name_, r in results.items():
            print(
                f"| {name_} | {r['requests']:,} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
                f"{r['p95_ms']:.1f} | {r['errors']} |"
            )
        print(
            f"\n/metrics scrape, 50 monitors: median {statistics.median(scrapes) * 1000:.0f} ms, "
            f"max {max(scrapes) * 1000:.0f} ms, {len(body):,} bytes"
        )
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    os._exit(0)


if __name__ == "__main__":
    main()
