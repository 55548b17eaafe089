"""The event contract: parse untrusted Kafka message bytes into typed, validated events.

Pure (no I/O). Validation is hand-written checks on the orjson-decoded dict rather than a
schema library, because it runs once per message on the ingestion hot path.

Contract (documented in the README):
- prediction: `event_id` (str), `model` (str), `model_version` (str | null, optional),
  `timestamp` (ISO 8601 string *with* a zone, or epoch milliseconds as an integer),
  `features` (object: name -> number | string | bool | null), `prediction` (number | string |
  null, optional), `prediction_proba` (number in [0, 1], or object class -> number in [0, 1],
  optional), `segment` and/or `tags` (optional object string -> string; synonyms, merged,
  `segment` wins on a key clash). Unknown extra fields are ignored.
- label: `event_id`, `model`, `label` (number | string | bool), `timestamp`.

Decisions: a bool is not a number (`prediction: true` is `wrong_type`; a bool *feature* or
*label* is fine); NaN and +-Infinity are rejected wherever they appear (`non_finite_number`):
JSON has no such literals, but Python's json module emits `NaN`, so we recognise them to give
the precise reason instead of `invalid_json`; a NUL character (U+0000) is rejected in any
string (`invalid_string`) because Postgres text and JSONB cannot hold it, and one such event
must not make a whole batch fail; timestamps are normalised to UTC; a timestamp without a zone
is rejected (we will not guess the producer's zone).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

# Re-exported: the event contract's rejection (defined with the other exceptions).
from monitor.errors import REASONS as REASONS
from monitor.errors import EventRejected as EventRejected

MAX_NAME_CHARS = 256  # event_id, model, model_version, feature/segment/class names
MAX_STRING_VALUE_CHARS = 1024  # string feature values, string predictions and labels
MAX_FEATURES = 2000
MAX_SEGMENT_ENTRIES = 64
MAX_CLASSES = 1000
MAX_TIMESTAMP_CHARS = 64
_DETAIL_NAME_CHARS = 80  # how much of an untrusted name is quoted in a detail message

FeatureValue = float | int | str | bool | None

_STORED_FIELDS = (
    "event_id",
    "model",
    "model_version",
    "features",
    "prediction",
    "prediction_proba",
    "segment",
    "tags",
    "label",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


@dataclass(frozen=True, slots=True)
class Prediction:
    event_id: str
    model: str
    model_version: str | None
    ts: datetime  # UTC-aware
    features: dict[str, FeatureValue]
    prediction: float | int | str | None = None
    prediction_proba: float | int | dict[str, float | int] | None = None
    segment: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Label:
    event_id: str
    model: str
    label: float | int | str | bool
    ts: datetime  # UTC-aware


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected message, kept with a bounded prefix of its raw bytes and where it came from."""

    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    raw: bytes
    received_at: datetime

    @classmethod
    def from_rejection(
        cls,
        exc: EventRejected,
        *,
        topic: str,
        partition: int,
        offset: int,
        raw: bytes,
        raw_limit: int,
        received_at: datetime,
    ) -> DeadLetter:
        return cls(topic, partition, offset, exc.reason, exc.detail, raw[:raw_limit], received_at)


def _name(key: str) -> str:
    """Quote an untrusted name for a detail message (repr escapes control characters)."""
    if len(key) > _DETAIL_NAME_CHARS:
        return repr(key[:_DETAIL_NAME_CHARS]) + "..."
    return repr(key)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _wrong(field: str, expected: str, value: Any) -> EventRejected:
    return EventRejected("wrong_type", f"{field}: expected {expected}, got {_type_name(value)}")


def _decode(raw: bytes, max_bytes: int) -> dict[str, Any]:
    if len(raw) > max_bytes:
        raise EventRejected("too_large", f"message is {len(raw)} bytes, limit is {max_bytes}")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _diagnose(raw, str(exc)) from None
    if not isinstance(doc, dict):
        raise EventRejected("not_an_object", f"expected a JSON object, got {_type_name(doc)}")
    return doc


def _diagnose(raw: bytes, orjson_msg: str) -> EventRejected:
    """Explain a message orjson refused. Only ever used to name a better reason: a message
    orjson refuses is never accepted."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return EventRejected("invalid_utf8", f"byte {exc.start} is not valid UTF-8")
    try:  # Python's json accepts NaN/Infinity and overflows 1e400 to inf: find where
        doc = json.loads(text)
    except (ValueError, RecursionError):
        doc = None
    bad = _find(doc, _is_non_finite) if doc is not None else None
    if bad is not None:
        return EventRejected("non_finite_number", f"{bad}: NaN and Infinity are not allowed")
    return EventRejected("invalid_json", orjson_msg[:200])


def _is_non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _has_nul(value: Any) -> bool:
    return isinstance(value, str) and "\x00" in value


def _find(value: Any, bad: Callable[[Any], bool], path: str = "", depth: int = 0) -> str | None:
    """Path of the first value (or object key, marked "(name)") that is `bad`; error paths
    only, so plain recursion is fine (depth-capped)."""
    if bad(value):
        return path or "<root>"
    if depth > 8 or not isinstance(value, dict | list):
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for k, v in items:
        where = f"{path}[{k}]" if isinstance(k, int) else f"{path}[{_name(k)}]" if path else k
        if bad(k):
            return f"{where} (name)"
        hit = _find(v, bad, where, depth + 1)
        if hit:
            return hit
    return None


def _name_field(doc: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    value = doc.get(field)
    if value is None:
        if required:
            raise EventRejected("missing_field", f"{field} is required")
        return None
    if type(value) is not str:
        raise _wrong(field, "a string", value)
    if not value:
        raise EventRejected("empty_string", f"{field} must not be empty")
    if len(value) > MAX_NAME_CHARS:
        raise EventRejected("too_long", f"{field} is longer than {MAX_NAME_CHARS} characters")
    return value


def parse_timestamp(doc: dict[str, Any]) -> datetime:
    """The event's required `timestamp`, parsed (shared with the columnar parser)."""
    value = doc.get("timestamp")
    if value is None:
        raise EventRejected("missing_field", "timestamp is required")
    kind = type(value)
    if kind is int:
        if not 0 <= value <= _MAX_EPOCH_MS:
            raise EventRejected("invalid_timestamp", f"timestamp: epoch ms {value} out of range")
        return _EPOCH + timedelta(milliseconds=value)
    if kind is not str:
        raise _wrong("timestamp", "an ISO 8601 string or integer epoch milliseconds", value)
    if len(value) > MAX_TIMESTAMP_CHARS:
        raise EventRejected("invalid_timestamp", "timestamp: too long for an ISO 8601 time")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise EventRejected("invalid_timestamp", f"timestamp: {value!r} is not ISO 8601") from None
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise EventRejected(
            "invalid_timestamp", f"timestamp: {value!r} has no time zone (add Z or +HH:MM)"
        )
    try:
        return ts.astimezone(UTC)
    except OverflowError:
        raise EventRejected("invalid_timestamp", f"timestamp: {value!r} out of range") from None


def _string_value(value: str, field: str) -> str:
    if len(value) > MAX_STRING_VALUE_CHARS:
        raise EventRejected(
            "too_long", f"{field}: string longer than {MAX_STRING_VALUE_CHARS} characters"
        )
    return value


_SCALAR_TYPES = frozenset({float, int, str, bool, type(None)})


def _features(doc: dict[str, Any], raw_len: int) -> dict[str, FeatureValue]:
    features = doc.get("features")
    if features is None:
        raise EventRejected("missing_field", "features is required")
    if type(features) is not dict:
        raise _wrong("features", "an object", features)
    if len(features) > MAX_FEATURES:
        raise EventRejected(
            "too_many_entries", f"features has {len(features)} entries, limit is {MAX_FEATURES}"
        )
    # Fast path in C (map/max) for the common valid event; the loop below names the culprit.
    # No string in a message can be longer than the message; orjson never yields NaN/inf.
    if (
        _SCALAR_TYPES.issuperset(map(type, features.values()))
        and "" not in features
        and max(map(len, features), default=0) <= MAX_NAME_CHARS
        and raw_len <= MAX_STRING_VALUE_CHARS
    ):
        return features
    for name, value in features.items():
        _check_feature(name, value)
    return features


def _check_feature(name: str, value: Any) -> None:
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise EventRejected("non_finite_number", f"features[{_name(name)}] is not finite")
    elif kind is str:
        _string_value(value, f"features[{_name(name)}]")
    elif kind is not int and kind is not bool and value is not None:
        raise _wrong(f"features[{_name(name)}]", "number, string, bool or null", value)
    if not name or len(name) > MAX_NAME_CHARS:
        reason = "empty_string" if not name else "too_long"
        raise EventRejected(reason, f"feature name {_name(name)} is empty or too long")


def _prediction(doc: dict[str, Any]) -> float | int | str | None:
    value = doc.get("prediction")
    kind = type(value)
    if value is None or kind is int or kind is float:
        return value
    if kind is str:
        return _string_value(value, "prediction")
    raise _wrong("prediction", "a number or string", value)


def _probability(value: Any, field: str) -> float | int:
    kind = type(value)
    if kind is not float and kind is not int:
        raise _wrong(field, "a number", value)
    if not 0 <= value <= 1:
        raise EventRejected("out_of_range", f"{field}: probability {value} is not in [0, 1]")
    return value


def _proba(doc: dict[str, Any]) -> float | int | dict[str, float | int] | None:
    value = doc.get("prediction_proba")
    if value is None:
        return None
    if type(value) is not dict:
        if type(value) in (float, int):
            return _probability(value, "prediction_proba")
        raise _wrong("prediction_proba", "a number or an object of class -> probability", value)
    if len(value) > MAX_CLASSES:
        raise EventRejected("too_many_entries", f"prediction_proba has over {MAX_CLASSES} classes")
    for cls, p in value.items():
        if not cls or len(cls) > MAX_NAME_CHARS:
            raise EventRejected("too_long", f"prediction_proba class {_name(cls)} empty/too long")
        _probability(p, f"prediction_proba[{_name(cls)}]")
    return value


def _string_map(doc: dict[str, Any], field: str) -> dict[str, str] | None:
    value = doc.get(field)
    if value is None:
        return None
    if type(value) is not dict:
        raise _wrong(field, "an object of string -> string", value)
    if len(value) > MAX_SEGMENT_ENTRIES:
        raise EventRejected(
            "too_many_entries", f"{field} has {len(value)} entries, limit is {MAX_SEGMENT_ENTRIES}"
        )
    for k, v in value.items():
        if type(v) is not str:
            raise _wrong(f"{field}[{_name(k)}]", "a string", v)
        if not k or len(k) > MAX_NAME_CHARS or len(v) > MAX_NAME_CHARS:
            raise EventRejected("too_long", f"{field}[{_name(k)}]: key or value empty/too long")
    return value


def parse_segment(doc: dict[str, Any]) -> dict[str, str] | None:
    """The event's `segment` merged over its `tags` (string maps); None when it has neither."""
    tags = _string_map(doc, "tags")
    segment = _string_map(doc, "segment")
    if tags is None or segment is None:
        return segment if tags is None else tags
    merged = {**tags, **segment}
    if len(merged) > MAX_SEGMENT_ENTRIES:
        raise EventRejected("too_many_entries", f"segment and tags exceed {MAX_SEGMENT_ENTRIES}")
    return merged


def _check_nul(raw: bytes, doc: dict[str, Any]) -> None:
    """Reject U+0000 in any string we store. Only walks the document when the raw bytes hold
    the escape, so the common case costs one bytes search."""
    if b"\\u0000" not in raw:
        return
    stored = {k: doc[k] for k in _STORED_FIELDS if k in doc}
    path = _find(stored, _has_nul)
    if path is not None:
        raise EventRejected("invalid_string", f"{path}: contains NUL (U+0000), not storable")


def _check_model(model: str, known_models: frozenset[str] | None) -> None:
    if known_models is not None and model not in known_models:
        raise EventRejected("unknown_model", f"model {_name(model)} has no monitor")


def parse_prediction(
    raw: bytes, *, max_bytes: int, known_models: frozenset[str] | None = None
) -> Prediction:
    """Validate one prediction message; raise EventRejected with a precise reason."""
    doc = _decode(raw, max_bytes)
    event_id = _name_field(doc, "event_id")
    model = _name_field(doc, "model")
    version = _name_field(doc, "model_version", required=False)
    ts = parse_timestamp(doc)
    features = _features(doc, len(raw))
    prediction = _prediction(doc)
    proba = _proba(doc)
    segment = parse_segment(doc)
    _check_nul(raw, doc)
    _check_model(model, known_models)  # type: ignore[arg-type]
    return Prediction(event_id, model, version, ts, features, prediction, proba, segment)  # type: ignore[arg-type]


def parse_label(raw: bytes, *, max_bytes: int, known_models: frozenset[str] | None = None) -> Label:
    """Validate one label (ground truth) message; raise EventRejected with a precise reason."""
    doc = _decode(raw, max_bytes)
    event_id = _name_field(doc, "event_id")
    model = _name_field(doc, "model")
    ts = parse_timestamp(doc)
    if "label" not in doc or doc["label"] is None:
        raise EventRejected("missing_field", "label is required")
    label = doc["label"]
    kind = type(label)
    if kind is str:
        _string_value(label, "label")
    elif kind is not int and kind is not float and kind is not bool:
        raise _wrong("label", "a number, string or bool", label)
    _check_nul(raw, doc)
    _check_model(model, known_models)  # type: ignore[arg-type]
    return Label(event_id, model, label, ts)  # type: ignore[arg-type]
