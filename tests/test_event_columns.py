"""The batch parser equals the per-event parser on any batch, malformed messages included."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.event_columns import PredictionColumns, parse_prediction_batch
from monitor.events import EventRejected, Prediction, parse_prediction

LIMIT = 2_000
KNOWN = frozenset({"churn", "fraud"})
VALID = {
    "event_id": "e1",
    "model": "churn",
    "model_version": "v1",
    "timestamp": "2024-05-01T12:00:00.123Z",
    "features": {"age": 42, "income": 1234.5, "plan": "pro", "active": True, "none": None},
    "prediction": 1,
    "prediction_proba": 0.7,
    "segment": {"region": "north"},
}

names = st.sampled_from(["e1", "churn", "fraud", "", "x" * 257, "x" * 256, "a\x00b", "ünï"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.sampled_from(["x" * 1025, ""]),
)
values: Any = st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(names, scalars))
FIELD_VALUES: dict[str, Any] = {
    "event_id": st.one_of(names, values),
    "model": st.one_of(st.sampled_from(["churn", "fraud", "other"]), names, values),
    "model_version": st.one_of(st.none(), names, values),
    "timestamp": st.one_of(
        st.sampled_from(
            [
                "2024-05-01T12:00:00Z",
                "2024-05-01T14:00:00+02:00",
                "2024-05-01T12:00:00+00:00",
                "2024-05-01T12:00:00.5-00:00",
                "2024-05-01T12:00:00",
                "2024-13-01T12:00:00Z",
                "0001-01-01T00:00:00+01:00",
                "x" * 65,
            ]
        ),
        st.integers(-5, 253_402_300_800_000),
        values,
    ),
    "features": st.one_of(
        st.dictionaries(st.one_of(names, st.text(max_size=3)), scalars, max_size=6), values
    ),
    "prediction": st.one_of(scalars, values),
    "prediction_proba": st.one_of(
        st.floats(-0.5, 1.5),
        st.integers(-1, 2),
        st.dictionaries(names, st.one_of(st.floats(-0.1, 1.1), scalars), max_size=3),
        values,
    ),
    "segment": st.one_of(st.dictionaries(names, st.one_of(names, scalars), max_size=3), values),
    "tags": st.one_of(st.dictionaries(names, st.one_of(names, scalars), max_size=3), values),
}


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    doc = dict(VALID)
    for key in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=3)):
        doc[key] = draw(FIELD_VALUES[key])
    for key in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=1)):
        doc.pop(key, None)
    raw = orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)
    damage = draw(st.sampled_from(["none"] * 6 + ["cut", "nan", "array", "bytes", "pad", "empty"]))
    if damage == "cut":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if damage == "nan":
        return raw.replace(b'"income":1234.5', b'"income":NaN')
    if damage == "array":
        return b"[" + raw + b"]"
    if damage == "bytes":
        return raw[:5] + b"\xff\xfe" + raw[5:]
    if damage == "pad":
        return raw[:-1] + b',"extra":"' + b"y" * 1100 + b'"}'
    if damage == "empty":
        return b""
    return raw


def per_event(raws: list[bytes], known: frozenset[str] | None) -> list[Any]:
    out: list[Any] = []
    for raw in raws:
        try:
            out.append(parse_prediction(raw, max_bytes=LIMIT, known_models=known))
        except EventRejected as exc:
            out.append((exc.reason, exc.detail))
    return out


def batched(raws: list[bytes], known: frozenset[str] | None) -> list[Any]:
    cols, rejected = parse_prediction_batch(raws, max_bytes=LIMIT, known_models=known)
    reasons = {i: (exc.reason, exc.detail) for i, exc in rejected}
    rows = iter(cols)
    return [reasons[i] if i in reasons else next(rows) for i in range(len(raws))]


def strict(item: Any) -> str:
    """repr tells 1 from 1.0 from True, which == does not."""
    if isinstance(item, Prediction):
        return repr([getattr(item, f) for f in PredictionColumns.FIELDS])
    return repr(item)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages(), min_size=1, max_size=12), st.sampled_from([None, KNOWN]))
def test_batch_parse_equals_per_event_parse(raws: list[bytes], known: Any) -> None:
    want = per_event(raws, known)
    got = batched(raws, known)
    assert [strict(x) for x in got] == [strict(x) for x in want]


def test_all_valid_batch_takes_no_slow_path() -> None:
    raws = [orjson.dumps(VALID | {"event_id": f"e{i}"}) for i in range(50)]
    cols, rejected = parse_prediction_batch(raws, max_bytes=LIMIT, known_models=KNOWN)
    assert rejected == [] and len(cols) == 50
    assert cols.event_id == [f"e{i}" for i in range(50)]
    assert [strict(p) for p in cols] == [strict(x) for x in per_event(raws, KNOWN)]


def test_malformed_messages_keep_their_place_and_reason() -> None:
    good = [orjson.dumps(VALID | {"event_id": f"e{i}"}) for i in range(4)]
    raws = [good[0], b'{"event_id": "x", "model": churn', good[1], b"[1]", good[2], good[3]]
    raws.insert(3, orjson.dumps(VALID | {"model": "nope"}))
    cols, rejected = parse_prediction_batch(raws, max_bytes=LIMIT, known_models=KNOWN)
    assert cols.event_id == ["e0", "e1", "e2", "e3"]
    assert [(i, e.reason) for i, e in rejected] == [
        (1, "invalid_json"),
        (3, "unknown_model"),
        (4, "not_an_object"),
    ]


def test_a_message_cannot_swallow_its_neighbour() -> None:
    """Joined as one JSON array these two would parse as one valid string element."""
    raws = [b'{"event_id":"', b'","model":"churn"}']
    cols, rejected = parse_prediction_batch(raws, max_bytes=LIMIT)
    assert len(cols) == 0 and [e.reason for _, e in rejected] == ["invalid_json", "invalid_json"]


def test_columns_round_trip_predictions() -> None:
    events = [parse_prediction(orjson.dumps(VALID), max_bytes=LIMIT)]
    cols = PredictionColumns.of(events)
    assert PredictionColumns.of(cols) is cols
    assert list(cols) == events and len(cols) == 1


segment_maps = st.dictionaries(
    st.sampled_from(["region", "", "k" * 256, "k" * 257, "ä"]),
    st.one_of(st.sampled_from(["west", "", "v" * 256, "v" * 257]), scalars),
    max_size=3,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "segment": st.one_of(st.none(), segment_maps, values),
                "tags": st.one_of(st.none(), segment_maps),
            },
        ),
        min_size=1,
        max_size=8,
    )
)
def test_segment_column_equals_per_event_parse(extras: list[dict[str, Any]]) -> None:
    """Batches that differ only in segment/tags, so the column-wide segment check decides
    (it takes a batch only when every segment is a plain, in-limit string map)."""
    base = {k: v for k, v in VALID.items() if k != "segment"}
    raws = [orjson.dumps(base | {"event_id": f"e{i}"} | x) for i, x in enumerate(extras)]
    assert [strict(x) for x in batched(raws, KNOWN)] == [strict(x) for x in per_event(raws, KNOWN)]


NUL_CASES = [
    b'"a\\u0000b"',  # a NUL in a stored string
    b'"a\\\\u0000b"',  # an escaped backslash, then plain text: no NUL
    b'"a\\nb"',  # a backslash, no NUL escape
    b'"a\\u00001"',
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["event_id", "model_version", "extra", "segment", "features"]),
            st.sampled_from([*NUL_CASES, b'"plain"']),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_nul_escapes_are_found_in_any_batch(edits: list[tuple[str, bytes]]) -> None:
    """The batch-wide backslash test only lets a batch skip the per-message NUL search when
    no message has a backslash at all; NULs anywhere in the batch are still rejected."""
    raws = []
    for i, (key, text) in enumerate(edits):
        doc = orjson.dumps(VALID | {"event_id": f"e{i}"})
        if key in ("segment", "features"):
            raw = doc.replace(b'"north"' if key == "segment" else b'"pro"', text)
        else:
            raw = doc[:-1] + b',"' + key.encode() + b'":' + text + b"}"
            if key != "extra":
                raw = doc.replace(b'"e%d"' % i if key == "event_id" else b'"v1"', text)
        raws.append(raw)
    assert [strict(x) for x in batched(raws, KNOWN)] == [strict(x) for x in per_event(raws, KNOWN)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FIELD_VALUES["features"], min_size=1, max_size=6), st.booleans())
def test_feature_table_is_the_features_by_name(features: list[Any], same: bool) -> None:
    """When the parse keeps a feature table, each column is that feature over the events and
    its type set is exactly the values' types; the batch equals the per-event parse."""
    if same:  # the names of the first in every event: the table is likely kept
        first = features[0] if isinstance(features[0], dict) else {}
        features = [
            dict.fromkeys(first, f) if isinstance(f, int) else dict(first) for f in features
        ]
    raws = [
        orjson.dumps(VALID | {"event_id": f"e{i}", "features": f}) for i, f in enumerate(features)
    ]
    assert [strict(x) for x in batched(raws, KNOWN)] == [strict(x) for x in per_event(raws, KNOWN)]
    cols, _ = parse_prediction_batch(raws, max_bytes=LIMIT, known_models=KNOWN)
    if cols.feature_table is None:
        return
    names = set().union(*cols.features)
    assert set(cols.feature_table) == names
    for name, (values, types) in cols.feature_table.items():
        assert strict(values) == strict([f[name] for f in cols.features])
        assert types == set(map(type, values))
