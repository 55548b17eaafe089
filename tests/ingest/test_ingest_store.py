"""The writer's store step: rows and sketch deltas in one transaction, deltas only for a batch
stored in full, and a delta that cannot be written never costs the events."""

from __future__ import annotations

import dataclasses
import gc
import logging
import pickle
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest_support import Kit
from sqlalchemy import delete, func, select

from monitor.bucketing import BucketSketcher, coded_inputs, plan_inputs
from monitor.drift.sketch import CategoricalSpec
from monitor.ingest.batch import parse_records
from monitor.ingest.consumer import parse_rules
from monitor.ingest.producer import SampleSpec, generate, training_frame
from monitor.ingest.store import batch_store, delta_job
from monitor.reference import materialise
from monitor.storage.tables import feature_sketches, predictions, reference_datasets

TP = namedtuple("TP", "topic partition")
Rec = namedtuple("Rec", "offset value")
T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def messages(kit: Kit, count: int, seed: int = 0, bad_share: float = 0.0) -> list[bytes]:
    spec = SampleSpec(model=kit.model, count=count, seed=seed, start=T0, bad_share=bad_share)
    return [m.value for m in generate(spec)]


def polled(kit: Kit, values: list[bytes]) -> Any:
    records = {TP(kit.topics[0], 0): [Rec(i, v) for i, v in enumerate(values)]}
    return parse_records(records, parse_rules(kit.settings()), generation=0)


def counts(kit: Kit, ref_id: int) -> tuple[int, int, int]:
    """(stored predictions, delta rows, events the deltas cover per feature)."""
    fs = feature_sketches.c
    with kit.engine.connect() as conn:
        n_pred = conn.execute(
            select(func.count()).where(predictions.c.model == kit.model)
        ).scalar_one()
        n_delta = conn.execute(select(func.count()).where(fs.reference_id == ref_id)).scalar_one()
        covered = conn.execute(
            select(func.coalesce(func.sum(fs.row_count), 0)).where(
                fs.reference_id == ref_id, fs.feature == "tenure_months"
            )
        ).scalar_one()
    return n_pred, n_delta, covered


def setup(kit: Kit) -> tuple[Any, int]:
    settings = kit.settings()
    ref = materialise(kit.engine, settings.monitors[0], frame=training_frame(2000), source="t")
    return BucketSketcher(kit.engine, settings), ref.id


def test_deltas_only_for_batches_stored_in_full(kit: Kit) -> None:
    sketcher, ref_id = setup(kit)
    store = batch_store(kit.engine, sketcher)
    values = messages(kit, 900, bad_share=0.05)
    first = polled(kit, values[:600])  # 600 s: two or three 5-minute buckets
    assert first.dead_letters and len(first.predictions) < 600
    result = store(first)
    assert result.predictions_inserted == len(first.predictions)
    n_pred, n_delta, covered = counts(kit, ref_id)
    features = len(sketcher.references()[kit.model].specs)
    assert (n_pred, covered) == (len(first.predictions), len(first.predictions))
    assert n_delta == features * len(
        {
            ts.replace(minute=ts.minute // 5 * 5, second=0, microsecond=0)
            for ts in first.predictions.ts
        }
    )

    store(polled(kit, values[:600]))  # redelivered: nothing new, no delta
    overlap = polled(kit, values)  # partly stored already: no delta
    assert 0 < store(overlap).predictions_inserted < len(overlap.predictions)
    assert counts(kit, ref_id) == (len(overlap.predictions), n_delta, len(first.predictions))


def test_the_start_up_heap_is_frozen_out_of_the_collector(kit: Kit) -> None:
    gc.unfreeze()
    batch_store(kit.engine)
    assert gc.get_freeze_count() > 10_000  # the imported modules' objects, at least


def test_a_refused_delta_write_keeps_the_events(kit: Kit, caplog) -> None:
    sketcher, ref_id = setup(kit)
    sketcher.references()  # cached: the sketcher still believes in the reference below
    with kit.engine.begin() as conn:
        conn.execute(delete(reference_datasets).where(reference_datasets.c.id == ref_id))
    with caplog.at_level(logging.WARNING, logger="monitor.bucketing"):
        result = batch_store(kit.engine, sketcher)(polled(kit, messages(kit, 300, seed=3)))
    assert result.predictions_inserted == 300
    assert counts(kit, ref_id) == (300, 0, 0)
    assert "sketch_deltas_skipped" in caplog.text


def test_a_batch_spanning_a_day_of_buckets(kit: Kit) -> None:
    sketcher, ref_id = setup(kit)
    spec = SampleSpec(model=kit.model, count=2000, seed=4, start=T0, step_s=45.0)
    records = {TP(kit.topics[0], 0): [Rec(i, m.value) for i, m in enumerate(generate(spec))]}
    batch = parse_records(records, parse_rules(kit.settings()), generation=0)
    batch_store(kit.engine, sketcher)(batch)
    n_pred, n_delta, covered = counts(kit, ref_id)
    assert (n_pred, covered) == (2000, 2000)
    assert n_delta == len(sketcher.references()[kit.model].specs) * (2000 * 45 // 300)
    assert timedelta(seconds=45 * 1999) > timedelta(hours=24)


def test_deltas_built_in_a_worker_process_are_the_in_process_ones(kit: Kit) -> None:
    """The worker gets each column coded as an array (`coded_inputs`): same rows, same bytes."""
    sketcher, ref_id = setup(kit)
    spec = SampleSpec(model=kit.model, count=1500, seed=5, start=T0, step_s=7.0, bad_share=0.05)
    records = {TP(kit.topics[0], 0): [Rec(i, m.value) for i, m in enumerate(generate(spec))]}
    batch = parse_records(records, parse_rules(kit.settings()), generation=0)
    assert batch.dead_letters
    inputs = plan_inputs(sketcher.plan(), batch.predictions)
    assert delta_job(pickle.loads(pickle.dumps(inputs))) == sketcher.rows(batch.predictions)
    coded = [coded_inputs(one) for one in inputs]
    assert delta_job(pickle.loads(pickle.dumps(coded))) == sketcher.rows(batch.predictions)
    store = batch_store(kit.engine, sketcher, delta_process=True)
    try:
        result = store(batch)
    finally:
        store.close()  # type: ignore[attr-defined]
    assert result.predictions_inserted == len(batch.predictions)
    fs = feature_sketches.c
    with kit.engine.connect() as conn:
        stored = conn.execute(
            select(
                fs.monitor, fs.reference_id, fs.feature, fs.bucket_start, fs.row_count, fs.sketch
            )
            .where(fs.reference_id == ref_id)
            .order_by(fs.id)
        ).all()
    assert [tuple(r) for r in stored] == [tuple(r) for r in sketcher.rows(batch.predictions)]


def test_a_dead_delta_worker_is_replaced_and_the_batch_gets_its_deltas(kit: Kit) -> None:
    sketcher, ref_id = setup(kit)
    store = batch_store(kit.engine, sketcher, delta_process=True)
    try:
        first = polled(kit, messages(kit, 200, seed=6))
        store(first)
        worker = store._worker._pool  # type: ignore[attr-defined]
        for proc in list(worker._processes.values()):
            proc.kill()
            proc.join()
        second = polled(kit, messages(kit, 200, seed=7))
        assert store(second).predictions_inserted == 200
        third = polled(kit, messages(kit, 200, seed=8))
        assert store(third).predictions_inserted == 200
    finally:
        store.close()  # type: ignore[attr-defined]
    assert counts(kit, ref_id)[2] == 600


def test_the_worker_hands_back_batches_that_need_the_frame_path(kit: Kit) -> None:
    sketcher, _ = setup(kit)
    batch = polled(kit, messages(kit, 50, seed=9))
    inputs = plan_inputs(sketcher.plan(), batch.predictions)
    name = next(n for n, s in inputs[0].specs.items() if isinstance(s, CategoricalSpec))
    odd = dataclasses.replace(inputs[0], values={**inputs[0].values, name: [1, None] * 25})
    assert delta_job([odd]) is None  # ints beside None: pandas' inference decides the sketch
    assert coded_inputs(odd) is None  # the writer builds such a batch's deltas itself:


def test_a_batch_that_needs_the_frame_path_gets_its_deltas_from_the_writer(kit: Kit) -> None:
    sketcher, ref_id = setup(kit)
    batch = polled(kit, messages(kit, 60, seed=10))
    name = next(n for n, s in sketcher.plan()[0][1].specs.items() if isinstance(s, CategoricalSpec))
    for i, row in enumerate(batch.predictions.features):
        row[name] = [1, None, "a"][i % 3]  # ints beside None and strings: the frame path
    expected = sketcher.rows(batch.predictions)
    store = batch_store(kit.engine, sketcher, delta_process=True)
    try:
        assert store(batch).predictions_inserted == 60
    finally:
        store.close()  # type: ignore[attr-defined]
    fs = feature_sketches.c
    with kit.engine.connect() as conn:
        stored = conn.execute(
            select(fs.feature, fs.bucket_start, fs.row_count, fs.sketch)
            .where(fs.reference_id == ref_id)
            .order_by(fs.id)
        ).all()
    assert [tuple(r) for r in stored] == [(r[2], r[3], r[4], r[5]) for r in expected]
