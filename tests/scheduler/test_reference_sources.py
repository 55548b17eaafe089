"""References taken from stored traffic, and segment monitors, end to end on Postgres.

Events go in as the consumer stores them (raw JSON -> parse_prediction -> store_batch -> the
consumer's BucketSketcher); the scheduler's tick materialises the reference and runs the
window. Each reference is checked to hold exactly the intended events: the stored reference
sketches must equal the sketches of those events under the same specs, and a `seq` feature
(the event's position) pins which rows they are.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from monitor.bucketing import BucketSketcher
from monitor.display import PREDICTION_FEATURE
from monitor.drift.sketch_report import sketch_frame
from monitor.events import Prediction, parse_prediction
from monitor.reference import latest
from monitor.scheduler.ticks import tick
from monitor.settings import Settings, parse_settings
from monitor.storage.event_frames import prediction_value
from monitor.storage.writes import store_batch

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # an hour boundary: the current window starts
MAX_BYTES = 1 << 20


def event(
    seq: int,
    ts: datetime,
    *,
    model: str = "m",
    version: str = "1",
    shift: float = 0.0,
    segment: dict[str, str] | None = None,
    event_id: str | None = None,
    rng: np.random.Generator,
) -> bytes:
    doc: dict[str, Any] = {
        "event_id": event_id or f"{model}-{seq}",
        "model": model,
        "model_version": version,
        "timestamp": ts.isoformat(),
        "features": {
            "seq": seq,
            "x": float(rng.normal(shift, 1)),
            "c": str(rng.choice(["a", "b", "c"], p=[0.8, 0.1, 0.1] if shift else [0.5, 0.3, 0.2])),
        },
        "prediction_proba": float(np.clip(rng.uniform(0, 1) + 0.3 * shift, 0, 1)),
    }
    if segment is not None:
        doc["segment"] = segment
    return orjson.dumps(doc)


def ingest(engine: Any, settings: Settings, raws: list[bytes]) -> list[Prediction]:
    """What the consumer does with one batch: parse, store, then sketch a fully stored batch."""
    batch = [parse_prediction(r, max_bytes=MAX_BYTES) for r in raws]
    result = store_batch(engine, batch, [], [])
    assert result.predictions_inserted == len(batch)
    BucketSketcher(engine, settings, refresh_s=0)(batch)
    return batch


def settings(url: str, *monitors: dict[str, Any]) -> Settings:
    base = {"window": {"size": "1h", "bucket": "5m", "min_events": 50}}
    return parse_settings(
        {
            "database": {"url": url},
            "reports": {"enabled": False},
            "monitors": [{**base, "model": "m", **m} for m in monitors],
        }
    )


def assert_reference_is(engine: Any, monitor: str, intended: list[Prediction]) -> None:
    """The materialised reference holds exactly `intended`: row count, the seq set, and
    every feature's sketch equal to the sketch of those events under the stored specs."""
    ref = latest(engine, monitor)
    assert ref is not None
    assert ref.row_count == len(intended)
    frame = pd.DataFrame([p.features for p in intended])
    frame[PREDICTION_FEATURE] = [
        prediction_value(p.prediction, p.prediction_proba) for p in intended
    ]
    expected = sketch_frame(ref.specs, frame)
    for name, spec_sketch in ref.sketches.items():
        got, want = spec_sketch, expected[name]
        assert np.array_equal(got.counts, want.counts), name
        assert got.missing == want.missing, name
        if hasattr(got, "min"):
            assert (got.min, got.max) == (want.min, want.max), name
            assert got.sum == pytest.approx(want.sum, rel=1e-9, abs=1e-6), name
    seq = ref.sketches["seq"]
    seqs = [p.features["seq"] for p in intended]
    assert (seq.min, seq.max, seq.count) == (min(seqs), max(seqs), len(seqs))


def current(n: int, first_seq: int, *, shift: float = 0.0, seed: int = 9, **kw: Any) -> list[bytes]:
    """n events spread over the current window [T0, T0 + 1h)."""
    rng = np.random.default_rng(seed)
    step = timedelta(hours=1) / n
    return [event(first_seq + i, T0 + step * i, shift=shift, rng=rng, **kw) for i in range(n)]


def run_at_window_end(engine: Any, s: Settings, name: str) -> Any:
    [outcome] = tick(engine, s, s.monitor(name), T0 + timedelta(hours=1, seconds=5))
    return outcome


def test_time_range_reference_takes_exactly_the_events_in_start_to_end(pg_engine, sched_pg_url):
    start, end = T0 - timedelta(hours=3), T0 - timedelta(hours=2)
    s = settings(
        sched_pg_url,
        {"name": "ranged", "reference": {"start": start.isoformat(), "end": end.isoformat()}},
    )
    rng = np.random.default_rng(1)
    step = timedelta(hours=1) / 300
    inside = [event(i, start + step * i, rng=rng) for i in range(300)]  # the first at `start`
    outside = [
        event(1000, start - timedelta(microseconds=1), rng=rng, shift=3),  # just before
        event(1001, end, rng=rng, shift=3),  # at `end`: the range is half-open
        event(1002, end + timedelta(minutes=10), rng=rng, shift=3),
        event(1003, start + timedelta(minutes=5), rng=rng, shift=3, model="other"),
    ]
    stored = ingest(pg_engine, s, outside[:2] + inside + outside[2:])
    intended = [p for p in stored if start <= p.ts < end and p.model == "m"]
    assert len(intended) == 300
    ingest(pg_engine, s, current(200, 2000))
    outcome = run_at_window_end(pg_engine, s, "ranged")
    assert outcome.status == "succeeded" and outcome.current_rows == 200
    assert_reference_is(pg_engine, "ranged", intended)
    # auto thresholds + Holm (the default): only the event counter `seq`, outside the
    # reference's range by construction, drifts, and one drifted feature is dataset drift
    assert outcome.drifted == ("seq",)


def test_first_n_events_reference_takes_the_earliest_n_of_the_model_version(
    pg_engine, sched_pg_url
):
    s = settings(
        sched_pg_url,
        {"name": "first-n", "model_version": "1", "reference": {"first_events": 250}},
    )
    rng = np.random.default_rng(2)
    begin = T0 - timedelta(hours=5)
    # the model's traffic, arriving out of time order in two batches; other versions and
    # models earlier still must not count
    late_first = [event(i, begin + timedelta(seconds=10 * i), rng=rng) for i in range(100)]
    rest = [event(i, begin + timedelta(seconds=10 * i), rng=rng) for i in range(100, 400)]
    noise = [
        event(5000 + i, begin - timedelta(minutes=30) + timedelta(seconds=i), rng=rng, shift=3,
              version="2")
        for i in range(50)
    ] + [event(6000, begin - timedelta(hours=1), rng=rng, shift=3, model="other")]  # fmt: skip
    ingest(pg_engine, s, rest + noise)
    ingest(pg_engine, s, late_first)
    stored = [parse_prediction(r, max_bytes=MAX_BYTES) for r in late_first + rest]
    intended = sorted(stored, key=lambda p: p.ts)[:250]
    ingest(pg_engine, s, current(200, 3000))
    outcome = run_at_window_end(pg_engine, s, "first-n")
    assert outcome.status == "succeeded" and outcome.current_rows == 200
    assert_reference_is(pg_engine, "first-n", intended)


def test_first_n_events_with_equal_timestamps_are_taken_in_event_id_order(pg_engine, sched_pg_url):
    """Events that share a timestamp (a batch scored at once) are ordered by event_id, so
    the first N are the same whichever plan Postgres picks (arrival order is not stored)."""
    s = settings(sched_pg_url, {"name": "ties", "reference": {"first_events": 150}})
    rng = np.random.default_rng(3)
    at = T0 - timedelta(hours=2)
    raws = [event(i, at, rng=rng, event_id=f"e{(i * 7919) % 1000:04d}") for i in range(400)]
    stored = []
    for chunk in range(0, 400, 50):
        stored += ingest(pg_engine, s, raws[chunk : chunk + 50])
    ingest(pg_engine, s, current(200, 3000))
    outcome = run_at_window_end(pg_engine, s, "ties")
    assert outcome.status == "succeeded"
    assert_reference_is(pg_engine, "ties", sorted(stored, key=lambda p: p.event_id)[:150])


def test_first_days_reference_takes_d_days_from_the_first_event(pg_engine, sched_pg_url):
    s = settings(sched_pg_url, {"name": "first-d", "reference": {"first_days": 1.5}})
    rng = np.random.default_rng(4)
    first = T0 - timedelta(days=3) + timedelta(minutes=7, seconds=3)  # not aligned to anything
    end = first + timedelta(days=1.5)
    step = timedelta(days=1.5) / 360
    inside = [event(i, first + step * i, rng=rng) for i in range(360)]
    outside = [
        event(1000, end, rng=rng, shift=3),  # exactly D days after the first: excluded
        event(1001, end + timedelta(hours=3), rng=rng, shift=3),
        event(1002, first - timedelta(days=1), rng=rng, shift=3, model="other"),
    ]
    stored = ingest(pg_engine, s, outside + inside)
    intended = [p for p in stored if p.model == "m" and first <= p.ts < end]
    assert len(intended) == 360
    ingest(pg_engine, s, current(200, 3000))
    outcome = run_at_window_end(pg_engine, s, "first-d")
    assert outcome.status == "succeeded" and outcome.current_rows == 200
    assert_reference_is(pg_engine, "first-d", intended)


def test_segment_monitors_see_only_their_segment_through_the_scheduler(store):
    """Three monitors of one model split by segment: EU traffic is normal, US traffic drifted,
    and a segment key full of quotes. The reference (a time range) and the window both keep
    only matching events, and the consumer's sketch deltas cover the segment exactly (no
    rebuild from raw events). On Postgres and on SQLite (the demo's store)."""
    start, end = T0 - timedelta(hours=2), T0 - timedelta(hours=1)
    ref = {"start": start.isoformat(), "end": end.isoformat()}
    hostile = {"re'gion\"; --": "x') OR 1=1 --"}
    s = settings(
        store.url.render_as_string(hide_password=False),
        {"name": "eu", "segment": {"region": "eu"}, "reference": ref},
        {"name": "us", "segment": {"region": "us"}, "reference": ref},
        {"name": "hostile", "segment": hostile, "reference": ref},
    )
    segments = {"eu": {"region": "eu"}, "us": {"region": "us"}, "hostile": hostile}

    def mine(name: str, events: list[Prediction]) -> list[Prediction]:
        """Every key of the monitor's segment matches (extra keys are fine)."""
        want = segments[name]
        return [p for p in events if all((p.segment or {}).get(k) == v for k, v in want.items())]

    rng = np.random.default_rng(5)
    step = timedelta(hours=1) / 450
    history = [
        event(i, start + step * i, rng=rng, segment=list(segments.values())[i % 3])
        for i in range(450)
    ]
    stored_ref = ingest(store, s, history)
    for name in segments:
        tick(store, s, s.monitor(name), T0 + timedelta(seconds=1))  # materialises
        assert_reference_is(store, name, mine(name, stored_ref))
    rng = np.random.default_rng(6)
    step = timedelta(hours=1) / 600
    window: list[bytes] = []
    for i in range(600):
        seg = ({"region": "eu"}, {"region": "us"}, {"region": "EU"}, None, hostile)[i % 5]
        if seg is not None and i % 2:
            seg = {**seg, "channel": "web"}  # more keys than the filter: still a match
        shift = 3 if seg is not None and seg.get("region") == "us" else 0
        window.append(event(10_000 + i, T0 + step * i, rng=rng, segment=seg, shift=shift))
    stored = ingest(store, s, window)
    at = T0 + timedelta(hours=1, seconds=5)
    out = {name: tick(store, s, s.monitor(name), at)[0] for name in segments}
    for name, o in out.items():
        assert o.status == "succeeded", (name, o.error)
        assert o.current_rows == len(mine(name, stored)) == 120, name
        assert not o.rebuilt_sketches, name
    # `seq` (an event counter beyond the reference's range) drifts in every segment
    assert set(out["eu"].drifted) == {"seq"} and out["us"].dataset_drift
    assert "x" in out["us"].drifted and "x" not in out["eu"].drifted


def test_a_reference_still_being_collected_skips_the_window_with_the_reason(
    pg_engine, sched_pg_url
):
    """During the first D days there is nothing to compare with: the window is recorded as
    skipped with the reason (not failed: nothing is broken), and once the days are over the
    reference is taken and windows run."""
    s = settings(sched_pg_url, {"name": "young", "reference": {"first_days": 1}})
    rng = np.random.default_rng(7)
    first = T0 - timedelta(hours=12)
    step = timedelta(days=1) / 300
    stored = ingest(pg_engine, s, [event(i, first + step * i, rng=rng) for i in range(300)])
    [early] = tick(pg_engine, s, s.monitor("young"), T0 + timedelta(seconds=5))
    assert early.status == "skipped"
    assert "first 1 days are not over yet" in early.error
    assert latest(pg_engine, "young") is None
    done = first + timedelta(days=1)
    stored += ingest(pg_engine, s, current(200, 3000))  # the window [T0, T0 + 1h): day one
    runs = tick(pg_engine, s, s.monitor("young"), done + timedelta(seconds=5))
    [later] = [o for o in runs if o.window.start == T0]
    in_window = sum(T0 <= p.ts < T0 + timedelta(hours=1) for p in stored)
    assert later.status == "succeeded" and later.current_rows == in_window > 200
    assert_reference_is(pg_engine, "young", [p for p in stored if p.ts < done])


def test_a_time_range_reference_waits_for_late_events_like_a_window(pg_engine, sched_pg_url):
    """`window.lateness` holds a window open for stragglers; a reference range gets the same
    grace, so an event of the range stored late is in the reference, not lost from it."""
    start, end = T0 - timedelta(hours=3), T0 - timedelta(hours=2)
    s = settings(
        sched_pg_url,
        {
            "name": "patient",
            "reference": {"start": start.isoformat(), "end": end.isoformat()},
            "window": {"size": "1h", "bucket": "5m", "min_events": 50, "lateness": "10m"},
        },
    )
    rng = np.random.default_rng(8)
    step = timedelta(hours=1) / 300
    on_time = ingest(pg_engine, s, [event(i, start + step * i, rng=rng) for i in range(299)])
    [early] = tick(pg_engine, s, s.monitor("patient"), end + timedelta(minutes=5))
    assert early.status == "skipped" and latest(pg_engine, "patient") is None
    late = ingest(pg_engine, s, [event(299, end - timedelta(seconds=1), rng=rng)])
    ingest(pg_engine, s, current(200, 3000))
    runs = tick(pg_engine, s, s.monitor("patient"), T0 + timedelta(hours=1, minutes=11))
    [outcome] = [o for o in runs if o.window.start == T0]
    assert outcome.status == "succeeded" and outcome.current_rows == 200
    assert_reference_is(pg_engine, "patient", on_time + late)


@pytest.mark.parametrize(
    ("source", "n_ref"), [({"first_days": 1}, 240), ({"first_events": 180}, 180)]
)
def test_labelled_traffic_gives_the_reference_its_performance(
    pg_engine, sched_pg_url, source, n_ref
):
    """A reference of stored traffic carries the model's metrics on it (what performance
    rules with max_drop compare against), like a labelled range or training file does:
    accuracy over exactly the reference's labelled events, as scikit-learn computes it."""
    from sklearn.metrics import accuracy_score

    from monitor.events import Label

    s = settings(
        sched_pg_url, {"name": "perf", "reference": source, "performance": {"enabled": True}}
    )
    rng = np.random.default_rng(10)
    first = T0 - timedelta(days=2)
    step = timedelta(days=1) / 240  # 240 events in the first day, 120 after it
    raws = []
    for i in range(360):
        doc = orjson.loads(event(i, first + step * i, rng=rng))
        doc["prediction"] = int(doc["prediction_proba"] >= 0.5)
        raws.append(orjson.dumps(doc))
    stored = ingest(pg_engine, s, raws)
    truth = rng.integers(0, 2, len(stored))
    labelled = [
        (p, int(y)) for p, y, keep in zip(stored, truth, rng.random(360) < 0.7, strict=True) if keep
    ]
    store_batch(pg_engine, [], [Label(p.event_id, "m", y, p.ts) for p, y in labelled], [])
    ingest(pg_engine, s, current(200, 3000))
    outcome = run_at_window_end(pg_engine, s, "perf")
    assert outcome.status == "succeeded"
    intended = {p.event_id for p in sorted(stored, key=lambda p: (p.ts, p.event_id))[:n_ref]}
    assert_reference_is(pg_engine, "perf", [p for p in stored if p.event_id in intended])
    mine = [(p.prediction, y) for p, y in labelled if p.event_id in intended]
    ref = latest(pg_engine, "perf")
    assert ref.performance is not None
    assert ref.performance["accuracy"] == pytest.approx(
        accuracy_score([y for _, y in mine], [yp for yp, _ in mine]), abs=1e-12
    )
