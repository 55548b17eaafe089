"""The event contract: what is accepted, and every rejection with its reason and detail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.events import (
    MAX_FEATURES,
    MAX_NAME_CHARS,
    REASONS,
    DeadLetter,
    EventRejected,
    parse_label,
    parse_prediction,
)

LIMIT = 100_000
BASE = {
    "event_id": "e1",
    "model": "churn",
    "timestamp": "2024-05-01T12:00:00Z",
    "features": {"age": 42, "income": 1234.5, "plan": "pro", "active": True, "missing": None},
}


def parse(doc: dict | bytes, **kw):
    raw = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    return parse_prediction(raw, max_bytes=kw.pop("max_bytes", LIMIT), **kw)


def rejected(doc: dict | bytes, **kw) -> EventRejected:
    with pytest.raises(EventRejected) as info:
        parse(doc, **kw)
    assert info.value.reason in REASONS
    return info.value


def test_minimal_and_full_prediction() -> None:
    p = parse(BASE)
    assert (p.event_id, p.model, p.model_version) == ("e1", "churn", None)
    assert p.ts == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert p.features == BASE["features"]
    assert p.prediction is None and p.prediction_proba is None and p.segment is None
    full = parse(
        BASE
        | {
            "model_version": "v2",
            "prediction": "yes",
            "prediction_proba": {"yes": 0.7, "no": 0.3},
            "segment": {"country": "FR"},
            "unknown_extra": {"nested": [1, 2]},
        }
    )
    assert full.model_version == "v2" and full.prediction == "yes"
    assert full.prediction_proba == {"yes": 0.7, "no": 0.3}
    assert full.segment == {"country": "FR"}


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T07:30:00.250-04:30", datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01 12:00:00+00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1714564800123, datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)),
    ],
)
def test_timestamp_forms_normalise_to_utc(ts, expected) -> None:
    got = parse(BASE | {"timestamp": ts}).ts
    assert got == expected and got.utcoffset() == timedelta(0)


def test_zoned_timestamp_keeps_instant() -> None:
    local = datetime(2024, 1, 1, 9, tzinfo=timezone(timedelta(hours=9)))
    assert parse(BASE | {"timestamp": local.isoformat()}).ts == local


@pytest.mark.parametrize(
    ("ts", "detail"),
    [
        ("2024-05-01T12:00:00", "has no time zone"),
        ("2024-05-01", "has no time zone"),
        ("yesterday", "is not ISO 8601"),
        ("2024-13-01T00:00:00Z", "is not ISO 8601"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
        (-1, "out of range"),
        (10**16, "out of range"),
        ("2" * 100, "too long"),
    ],
)
def test_bad_timestamps(ts, detail) -> None:
    exc = rejected(BASE | {"timestamp": ts})
    assert exc.reason == "invalid_timestamp" and detail in exc.detail


@pytest.mark.parametrize("ts", [1714564800.5, True, [1], {"ms": 1}])
def test_timestamp_of_wrong_type(ts) -> None:
    exc = rejected(BASE | {"timestamp": ts})
    assert exc.reason == "wrong_type" and exc.detail.startswith("timestamp: expected")


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (b"hello", "invalid_json", "unexpected character"),
        (b'{"event_id": "e1",', "invalid_json", "unexpected end"),
        (b"\xff\xfe{}", "invalid_utf8", "byte 0 is not valid UTF-8"),
        (b"[1, 2]", "not_an_object", "got array"),
        (b'"text"', "not_an_object", "got string"),
        (b"null", "not_an_object", "got null"),
        (b"", "invalid_json", ""),
    ],
)
def test_undecodable_messages(raw, reason, detail) -> None:
    exc = rejected(raw)
    assert exc.reason == reason and detail in exc.detail


@pytest.mark.parametrize("field", ["event_id", "model", "timestamp", "features"])
def test_missing_required_field(field) -> None:
    doc = {k: v for k, v in BASE.items() if k != field}
    exc = rejected(doc)
    assert exc.reason == "missing_field" and exc.detail == f"{field} is required"
    assert rejected(BASE | {field: None}).reason == "missing_field"


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("event_id", 123, "event_id: expected a string, got number"),
        ("model", ["m"], "model: expected a string, got array"),
        ("model_version", 2, "model_version: expected a string, got number"),
        ("features", [1, 2], "features: expected an object, got array"),
        ("features", {"f": [1]}, "features['f']: expected number, string, bool or null, got array"),
        ("features", {"f": {"a": 1}}, "features['f']: expected number, string, bool or null"),
        ("prediction", True, "prediction: expected a number or string, got bool"),
        ("prediction", [1], "prediction: expected a number or string, got array"),
        ("prediction_proba", "0.5", "prediction_proba: expected a number or an object"),
        ("prediction_proba", True, "prediction_proba: expected a number or an object"),
        ("prediction_proba", {"a": "x"}, "prediction_proba['a']: expected a number, got string"),
        ("prediction_proba", {"a": False}, "prediction_proba['a']: expected a number, got bool"),
        ("segment", ["a"], "segment: expected an object of string -> string, got array"),
        ("segment", {"k": 1}, "segment['k']: expected a string, got number"),
        ("tags", {"k": None}, "tags['k']: expected a string, got null"),
    ],
)
def test_wrong_types_name_the_field(field, value, detail) -> None:
    exc = rejected(BASE | {field: value})
    assert exc.reason == "wrong_type"
    assert exc.detail.startswith(detail)


def test_bool_is_a_feature_value_but_not_a_number() -> None:
    assert parse(BASE | {"features": {"flag": False}}).features == {"flag": False}
    assert rejected(BASE | {"prediction": False}).reason == "wrong_type"
    assert rejected(BASE | {"prediction_proba": True}).reason == "wrong_type"


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b'{"features": {"x": NaN}}', "features['x']"),
        (b'{"features": {"x": Infinity}}', "features['x']"),
        (b'{"features": {"x": -Infinity}}', "features['x']"),
        (b'{"features": {"x": 1e400}}', "features['x']"),
        (b'{"prediction": NaN}', "prediction"),
        (b'{"prediction_proba": {"a": NaN}}', "prediction_proba['a']"),
    ],
)
def test_non_finite_numbers_are_rejected_with_their_field(raw, path) -> None:
    doc = orjson.dumps({k: v for k, v in BASE.items() if k != "features"})[:-1]
    body = raw.strip()[1:]  # splice the non-JSON literal in as Python's json would emit it
    exc = rejected(doc + b"," + body)
    assert exc.reason == "non_finite_number"
    assert exc.detail == f"{path}: NaN and Infinity are not allowed"


def test_python_json_nan_output_is_non_finite() -> None:
    raw = json.dumps(BASE | {"features": {"x": float("nan")}}).encode()
    assert rejected(raw).reason == "non_finite_number"


@pytest.mark.parametrize("p", [-0.01, 1.5, 2])
def test_probabilities_must_be_in_unit_interval(p) -> None:
    assert rejected(BASE | {"prediction_proba": p}).reason == "out_of_range"
    exc = rejected(BASE | {"prediction_proba": {"a": 0.5, "b": p}})
    assert exc.reason == "out_of_range" and exc.detail.startswith("prediction_proba['b']")


def test_probability_bounds_are_inclusive() -> None:
    assert parse(BASE | {"prediction_proba": {"a": 0, "b": 1.0}}).prediction_proba == {
        "a": 0,
        "b": 1.0,
    }


def test_size_bounds() -> None:
    raw = orjson.dumps(BASE)
    exc = rejected(raw, max_bytes=len(raw) - 1)
    assert exc.reason == "too_large" and str(len(raw)) in exc.detail
    assert parse(raw, max_bytes=len(raw)).event_id == "e1"
    huge = BASE | {"features": {f"f{i}": i for i in range(MAX_FEATURES + 1)}}
    assert rejected(huge).reason == "too_many_entries"
    assert (
        len(
            parse(huge | {"features": dict(list(huge["features"].items())[:MAX_FEATURES])}).features
        )
        == MAX_FEATURES
    )
    long_name = "x" * (MAX_NAME_CHARS + 1)
    assert rejected(BASE | {"event_id": long_name}).reason == "too_long"
    assert rejected(BASE | {"features": {long_name: 1}}).reason == "too_long"
    assert rejected(BASE | {"features": {"s": "v" * 5000}}).reason == "too_long"
    assert rejected(BASE | {"segment": {f"k{i}": "v" for i in range(65)}}).reason == (
        "too_many_entries"
    )
    assert parse(BASE | {"event_id": "x" * MAX_NAME_CHARS}).event_id == "x" * MAX_NAME_CHARS


def test_empty_names_are_rejected() -> None:
    assert rejected(BASE | {"model": ""}).reason == "empty_string"
    assert rejected(BASE | {"features": {"": 1}}).reason == "empty_string"


def test_nul_characters_are_rejected_where_stored() -> None:
    exc = rejected(BASE | {"features": {"x": "a\x00b"}})
    assert exc.reason == "invalid_string" and exc.detail.startswith("features['x']")
    exc = rejected(BASE | {"features": {"a\x00": 1}})
    assert exc.reason == "invalid_string" and "(name)" in exc.detail
    assert rejected(BASE | {"event_id": "\x00"}).reason == "invalid_string"
    # an ignored extra field may hold one; so may an escaped backslash followed by "u0000"
    assert parse(BASE | {"extra": "\x00"}).event_id == "e1"
    assert parse(BASE | {"features": {"x": "\\u0000"}}).features == {"x": "\\u0000"}


def test_unknown_model() -> None:
    assert parse(BASE, known_models=frozenset({"churn"})).model == "churn"
    exc = rejected(BASE, known_models=frozenset({"other"}))
    assert exc.reason == "unknown_model" and exc.detail == "model 'churn' has no monitor"
    assert parse(BASE, known_models=None).model == "churn"


def test_segment_and_tags_are_synonyms() -> None:
    assert parse(BASE | {"tags": {"a": "1"}}).segment == {"a": "1"}
    both = parse(BASE | {"tags": {"a": "1", "b": "2"}, "segment": {"a": "x"}})
    assert both.segment == {"a": "x", "b": "2"}


def test_untrusted_names_are_quoted_in_details() -> None:
    name = "bad\nname'; DROP"
    exc = rejected(BASE | {"features": {name: [1]}})
    assert "\n" not in exc.detail and repr(name) in exc.detail
    exc = rejected(BASE | {"features": {"y" * 500: [1]}})
    assert len(exc.detail) < 200


def test_labels() -> None:
    base = {"event_id": "e1", "model": "churn", "timestamp": 1714564800000}
    for value in (True, 0, 1.5, "spam"):
        lab = parse_label(orjson.dumps(base | {"label": value}), max_bytes=LIMIT)
        assert lab.label == value and type(lab.label) is type(value)
        assert lab.ts == datetime(2024, 5, 1, 12, tzinfo=UTC)
    cases = [
        ({}, "missing_field", "label is required"),
        ({"label": None}, "missing_field", "label is required"),
        ({"label": [1]}, "wrong_type", "label: expected a number, string or bool, got array"),
        ({"label": "x" * 2000}, "too_long", "label: string longer than"),
    ]
    for extra, reason, detail in cases:
        with pytest.raises(EventRejected) as info:
            parse_label(orjson.dumps(base | extra), max_bytes=LIMIT)
        assert info.value.reason == reason and info.value.detail.startswith(detail)
    with pytest.raises(EventRejected) as info:
        parse_label(b'{"event_id":"e","model":"m","timestamp":0,"label":NaN}', max_bytes=LIMIT)
    assert info.value.reason == "non_finite_number" and info.value.detail.startswith("label")
    with pytest.raises(EventRejected) as info:
        parse_label(orjson.dumps(base | {"label": 1}), max_bytes=LIMIT, known_models=frozenset())
    assert info.value.reason == "unknown_model"


def test_dead_letter_keeps_a_bounded_prefix() -> None:
    raw = b"x" * 10_000
    with pytest.raises(EventRejected) as info:
        parse(raw)
    now = datetime.now(UTC)
    dl = DeadLetter.from_rejection(
        info.value, topic="t", partition=3, offset=7, raw=raw, raw_limit=4096, received_at=now
    )
    assert dl.raw == raw[:4096] and (dl.reason, dl.partition, dl.offset) == ("invalid_json", 3, 7)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_event_rejected(raw) -> None:
    for parser in (parse_prediction, parse_label):
        try:
            parser(raw, max_bytes=200)
        except EventRejected as exc:
            assert exc.reason in REASONS


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            sorted(
                {
                    *BASE,
                    "label",
                    "prediction",
                    "prediction_proba",
                    "segment",
                    "tags",
                    "model_version",
                }
            )
        ),
        json_values,
    )
)
def test_arbitrary_json_objects_only_ever_raise_event_rejected(doc) -> None:
    raw = json.dumps(BASE | doc, allow_nan=True).encode()
    for parser in (parse_prediction, parse_label):
        try:
            parser(raw, max_bytes=LIMIT)
        except EventRejected as exc:
            assert exc.reason in REASONS
