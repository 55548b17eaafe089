"""Sketch deltas from a batch's columns equal the frame path's, byte for byte."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.bucketing import (
    coded_inputs,
    column_delta_rows,
    delta_inputs,
    frame_deltas,
    input_rows,
    predictions_frame,
)
from monitor.drift.sketch import categorical_spec, fit_numeric, to_bytes
from monitor.drift.sketch_groups import coded_blobs, column_codes, group_blobs, sketch_groups
from monitor.errors import DriftError
from monitor.event_columns import PredictionColumns, parse_prediction_batch
from monitor.events import Prediction
from monitor.reference import Reference
from monitor.storage.event_frames import PREDICTION_FEATURE

RNG = np.random.default_rng(5)
NUM = fit_numeric(RNG.normal(0, 1, 3000))[0]
CAT = categorical_spec(pd.Series(RNG.choice(["a", "b", "c", "1", "1.0", "true"], 3000)), top_k=4)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

numbers = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(-1e100, 1e100))
words = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "1", "1.0", "zz", ""]))


def frame_blobs(spec: Any, values: list, groups: np.ndarray, n: int) -> list[bytes]:
    series = pd.Series(values, dtype=object)
    return [to_bytes(s) for s in sketch_groups(spec, series, groups, n)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_group_blobs_are_the_grouped_sketches_bytes(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 5))
    size = data.draw(st.integers(1, 40))
    groups = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=size, max_size=size)))
    numeric = data.draw(st.lists(numbers, min_size=size, max_size=size))
    assert group_blobs(NUM, numeric, groups, n) == frame_blobs(NUM, numeric, groups, n)
    cats = data.draw(st.lists(words, min_size=size, max_size=size))
    assert group_blobs(CAT, cats, groups, n) == frame_blobs(CAT, cats, groups, n)
    objects = data.draw(st.lists(st.one_of(words, numbers), min_size=size, max_size=size))
    got = group_blobs(CAT, objects, groups, n, object_column=True)
    assert got == frame_blobs(CAT, objects, groups, n)
    for spec, values, obj in ((NUM, numeric, False), (CAT, cats, False), (CAT, objects, True)):
        coded = column_codes(spec, values, object_column=obj)  # what the delta worker gets
        assert coded is not None and coded_blobs(spec, coded, groups, n) == frame_blobs(
            spec, values, groups, n
        )


def test_group_blobs_of_a_column_the_events_lack() -> None:
    groups = np.array([0, 1, 1, 2])
    for spec in (NUM, CAT):
        assert group_blobs(spec, [None] * 4, groups, 3) == frame_blobs(spec, [None] * 4, groups, 3)


def test_group_blobs_refuse_values_whose_sketch_depends_on_pandas() -> None:
    groups = np.zeros(3, dtype=int)
    assert group_blobs(CAT, ["a", 1, None], groups, 1) is None  # a frame column makes 1 "1.0"
    assert group_blobs(NUM, [1.0, True, None], groups, 1) is None
    assert group_blobs(NUM, [1.0, "2", None], groups, 1) is None


def reference() -> Reference:
    specs = {"x": NUM, "n": NUM, "c": CAT, "absent": NUM, PREDICTION_FEATURE: NUM}
    return Reference(7, "mon", 1, T0, "test", 3000, specs, {})


def batch(n: int, c_values: list[Any], seed: int = 0) -> list[Prediction]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        features: dict[str, Any] = {"x": float(rng.normal()), "n": int(rng.integers(-3, 3))}
        if i % 7:
            features["c"] = c_values[i % len(c_values)]
        if i % 11 == 0:
            features["x"] = None
        ts = T0 + timedelta(minutes=int(rng.integers(-90, 90)), microseconds=i)
        out.append(Prediction(f"e{i}", "m", None, ts, features, 1, float(rng.uniform()), None))
    return out


def old_rows(events: list[Prediction], bucket: timedelta) -> list[tuple]:
    frame = predictions_frame(events, reference().features)
    return [tuple(d.row()) for d in frame_deltas("mon", reference(), frame, bucket)]


def test_column_deltas_equal_frame_deltas() -> None:
    events = batch(500, ["a", "b", "zz", None, "1"])
    for bucket in (timedelta(minutes=5), timedelta(hours=1)):
        got = column_delta_rows("mon", reference(), PredictionColumns.of(events), bucket)
        assert [tuple(r) for r in got] == old_rows(events, bucket)
        assert len(got) == 5 * len({r.bucket_start for r in got})


def test_column_deltas_fall_back_to_the_frame_path_for_mixed_types() -> None:
    events = batch(300, ["a", 1, None, 2.5, True])
    got = column_delta_rows("mon", reference(), PredictionColumns.of(events), timedelta(minutes=5))
    assert [tuple(r) for r in got] == old_rows(events, timedelta(minutes=5))


def test_coded_inputs_build_the_same_rows() -> None:
    """The delta worker's coded inputs (arrays instead of lists) give the rows of the lists."""
    events = batch(700, ["a", "b", "zz", None, "1"], seed=3)
    for bucket in (timedelta(minutes=5), timedelta(hours=1)):
        inputs = delta_inputs("mon", reference(), PredictionColumns.of(events), bucket)
        coded = coded_inputs(inputs)
        assert coded is not None
        assert all(isinstance(v, np.ndarray) for v in coded.values.values())
        assert input_rows(coded) == input_rows(inputs)
        assert [tuple(r) for r in input_rows(coded) or []] == old_rows(events, bucket)


def test_coded_inputs_refuse_columns_that_need_the_frame_path() -> None:
    events = batch(300, ["a", 1, None, 2.5, True])
    inputs = delta_inputs("mon", reference(), PredictionColumns.of(events), timedelta(minutes=5))
    assert input_rows(inputs) is None and coded_inputs(inputs) is None


def parsed(events: list[Prediction]) -> PredictionColumns:
    """The events through the batch parser (which builds the feature table)."""
    raws = [
        orjson.dumps(
            {
                "event_id": p.event_id,
                "model": "m",
                "timestamp": p.ts.isoformat(),
                "features": p.features,
                "prediction": p.prediction,
                "prediction_proba": p.prediction_proba,
            }
        )
        for p in events
    ]
    cols, rejected = parse_prediction_batch(raws, max_bytes=1 << 20)
    assert not rejected
    return cols


any_value = st.one_of(numbers, words, st.booleans())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(numbers, any_value), numbers, st.one_of(words, any_value)),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_rows_from_the_feature_table_equal_the_dict_walk(rows: list[tuple], absent: bool) -> None:
    """Columns (and float64 arrays) taken from the parse's feature table give the rows of
    the per-dict walk and of the frame path, in the writer and through coded inputs."""
    events = []
    for i, (x, n, c) in enumerate(rows):
        features = {"x": x, "n": n, "c": c} | ({"other": 1} if absent else {"absent": 2.5})
        ts = T0 + timedelta(minutes=7 * i)
        events.append(Prediction(f"e{i}", "m", None, ts, features, 1, 0.5, None))
    cols = parsed(events)
    assert cols.feature_table is not None
    walked = dataclasses.replace(cols, feature_table=None)
    bucket = timedelta(minutes=5)
    want = outcome(lambda: column_delta_rows("mon", reference(), walked, bucket))
    assert outcome(lambda: column_delta_rows("mon", reference(), cols, bucket)) == want
    if isinstance(want, list):
        assert [tuple(r) for r in want] == old_rows(list(walked), bucket)
        coded = coded_inputs(delta_inputs("mon", reference(), cols, bucket))
        if coded is not None:
            assert input_rows(coded) == want


def outcome(fn: Any) -> Any:
    """The rows, or the error (strings in a numeric feature fail either way)."""
    try:
        return fn()
    except DriftError as exc:
        return ("DriftError", str(exc))


def test_feature_table_on_real_batches() -> None:
    events = batch(600, ["a", "b", "zz", None, "1"], seed=4)
    for e in events:
        e.features.setdefault("c", None)  # same names in every event: the table is built
    cols = parsed(events)
    assert cols.feature_table is not None
    walked = dataclasses.replace(cols, feature_table=None)
    for bucket in (timedelta(minutes=5), timedelta(hours=1)):
        want = column_delta_rows("mon", reference(), walked, bucket)
        assert column_delta_rows("mon", reference(), cols, bucket) == want
        assert [tuple(r) for r in want] == old_rows(list(walked), bucket)
    assert parsed(batch(50, ["a"])).feature_table is None  # "c" missing in some events
