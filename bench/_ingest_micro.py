"""CPU per event of each stage of the service's batch path, without Kafka or Postgres.

One poll-sized batch (5,000 churn events as `bench/ingest.py` produces them, 2 s apart so a
batch spans ~34 five-minute buckets, ~700 delta rows as in the real runs) is pushed through
each stage many times; the thread CPU time of each pass is taken, and the median and the
minimum are printed in us/event. The stages are what the writer thread and the delta worker
do per batch (bench/RESULTS.md), so a change to one of them can be A/B'd here in one run
with far less noise than the end-to-end benchmark on a shared box.

    .venv/bin/python bench/_ingest_micro.py [--events 5000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def _batch(events: int) -> list[bytes]:
    from monitor.ingest.producer import SampleSpec, generate

    start = datetime(2026, 1, 1, tzinfo=UTC)
    spec = SampleSpec(count=events, seed=3, step_s=2.0, start=start)
    return [m.value for m in generate(spec) if m.topic_kind == "predictions"]


def _plan() -> Any:
    from monitor.bucketing import DeltaPlan
    from monitor.drift.sketch_report import fit_reference
    from monitor.ingest.producer import training_frame
    from monitor.reference import Reference, drift_options
    from monitor.settings import parse_settings

    settings = parse_settings(
        {"database": {"url": "sqlite://"}, "monitors": [{"name": "churn", "model": "churn"}]}
    )
    monitor = settings.monitors[0]
    frame = training_frame(20_000).drop(columns=["label"])
    specs, _ = fit_reference(frame, drift_options(monitor))
    ref = Reference(1, "churn", 1, datetime.now(UTC), "bench", len(frame), specs, {})
    plan: DeltaPlan = [(monitor, ref)]
    return plan


def _time(fn: Callable[[], Any], repeat: int, events: int) -> tuple[float, float, float]:
    """Median and minimum thread CPU us/event, and minor page faults per event."""
    out = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        out.append((time.thread_time() - t0) / events * 1e6)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return statistics.median(out), min(out), faults / repeat / events


def stages(events: int) -> dict[str, Callable[[], Any]]:
    """Each stage as a no-argument call on a prepared batch."""
    import orjson

    import monitor.bucketing as bucketing
    from monitor.bucketing import plan_inputs, plan_rows
    from monitor.event_columns import parse_prediction_batch
    from monitor.ingest.store import delta_job
    from monitor.storage.bulk import prediction_copy

    raws = _batch(events)
    plan = _plan()
    cols, rejected = parse_prediction_batch(raws, max_bytes=1 << 20)
    assert not rejected and len(cols) == len(raws)
    inputs = plan_inputs(plan, cols)
    blob = pickle.dumps(inputs, pickle.HIGHEST_PROTOCOL)
    rows = delta_job(inputs)
    assert isinstance(rows, list)
    coded_inputs = getattr(bucketing, "coded_inputs", None)  # None: code before s23-deltas
    coded: Any = list(map(coded_inputs, inputs)) if coded_inputs else None
    assert coded is None or delta_job(coded) == rows
    at = datetime.now(UTC)
    out: dict[str, Callable[[], Any]] = {
        "orjson.loads per message (bare)": lambda: list(map(orjson.loads, raws)),
        "parse_prediction_batch": lambda: parse_prediction_batch(raws, max_bytes=1 << 20),
        "COPY text (incl. JSON columns)": lambda: prediction_copy(cols, at),
        "gather delta inputs (plan_inputs)": lambda: plan_inputs(plan, cols),
        "pickle inputs: dumps (writer side)": lambda: pickle.dumps(inputs, pickle.HIGHEST_PROTOCOL),
        "pickle inputs: loads (worker side)": lambda: pickle.loads(blob),
        f"delta worker: bin + serialise ({len(rows)} rows)": lambda: delta_job(inputs),
        "pickle result (dumps + loads)": lambda: pickle.loads(
            pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)
        ),
        "deltas in the writer thread (gather + build)": lambda: plan_rows(plan, cols),
        f"  (pickled inputs {len(blob) / events:.0f} B/event)": lambda: None,
    }
    if coded is not None:
        out["code the inputs as arrays (writer side)"] = lambda: list(map(coded_inputs, inputs))
        out["pickle coded inputs (dumps + loads)"] = lambda: pickle.loads(
            pickle.dumps(coded, pickle.HIGHEST_PROTOCOL)
        )
        out["delta worker from coded inputs"] = lambda: delta_job(coded)
        size = len(pickle.dumps(coded, pickle.HIGHEST_PROTOCOL)) / events
        out[f"  (pickled coded inputs {size:.0f} B/event)"] = lambda: None
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args()
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, fn in stages(args.events).items():
        med, best, faults = _time(fn, args.repeat, args.events)
        print(f"{name:48s} median {med:6.2f}  min {best:6.2f} us/event, {faults:.2f} faults")


if __name__ == "__main__":
    main()
