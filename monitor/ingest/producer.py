"""Synthetic but realistic prediction and label events, and producing them to Kafka.

Used by `monitor produce-sample`, the demo and the ingestion benchmark. Generation is
deterministic for a seed (ids, values, timestamps relative to `start`), so a demo or a
benchmark can be re-run and compared; `drift` shifts a few features so later drift runs
have something to find; malformed messages exercise the dead-letter path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson

from monitor.settings import KafkaSettings

# name -> (mean, std, low, high) of a clipped normal; the churn model has 15 numeric features.
CHURN_NUMERIC: dict[str, tuple[float, float, float, float]] = {
    "tenure_months": (30.0, 20.0, 0.0, 72.0),
    "monthly_charges": (65.0, 30.0, 18.0, 120.0),
    "total_charges": (2200.0, 1900.0, 0.0, 8700.0),
    "age": (45.0, 15.0, 18.0, 90.0),
    "support_calls_90d": (1.5, 1.3, 0.0, 15.0),
    "avg_session_minutes": (22.0, 12.0, 0.0, 180.0),
    "days_since_last_login": (7.0, 8.0, 0.0, 365.0),
    "data_usage_gb": (18.0, 10.0, 0.0, 200.0),
    "devices": (2.2, 1.1, 1.0, 10.0),
    "late_payments_12m": (0.4, 0.8, 0.0, 12.0),
    "discount_pct": (8.0, 7.0, 0.0, 50.0),
    "satisfaction_score": (7.0, 1.8, 1.0, 10.0),
    "referrals": (0.5, 0.9, 0.0, 20.0),
    "monthly_minutes": (300.0, 110.0, 0.0, 2000.0),
    "credit_score": (680.0, 60.0, 300.0, 850.0),
}
CHURN_CATEGORICAL: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "contract": (("month-to-month", "one_year", "two_year"), (0.55, 0.25, 0.20)),
    "payment_method": (
        ("card", "bank_transfer", "e_check", "mailed_check"),
        (0.35, 0.25, 0.3, 0.1),
    ),
    "internet_service": (("fiber", "dsl", "none"), (0.45, 0.35, 0.20)),
    "region": (("north", "south", "east", "west", "central"), (0.2, 0.25, 0.2, 0.2, 0.15)),
    "plan_tier": (("basic", "standard", "premium"), (0.5, 0.35, 0.15)),
}
# Features moved by `drift`: means shift by `drift` standard deviations, and the contract mix
# tilts towards month-to-month, as when a pricing change lands.
DRIFTED_NUMERIC = ("monthly_charges", "days_since_last_login", "support_calls_90d")
DRIFTED_CATEGORICAL = "contract"

# Malformed message kinds mixed in by `bad_share`, cycled in this order.
BAD_KINDS = ("not_json", "missing_field", "wrong_type", "nan_value", "unknown_model")


@dataclass(frozen=True)
class SampleSpec:
    """What to generate. `start` anchors timestamps; events are `step_s` apart."""

    model: str = "churn"
    model_version: str = "1"
    count: int = 1000
    seed: int = 0
    drift: float = 0.0
    bad_share: float = 0.0
    label_share: float = 0.0
    start: datetime | None = None  # default: now - count * step_s, so the events end now
    step_s: float = 1.0


@dataclass(frozen=True)
class Message:
    topic_kind: str  # "predictions" or "labels"
    key: bytes
    value: bytes


def _numeric(rng: np.random.Generator, n: int, drift: float) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for name, (mean, std, low, high) in CHURN_NUMERIC.items():
        shift = drift * std if name in DRIFTED_NUMERIC else 0.0
        cols[name] = np.clip(rng.normal(mean + shift, std, n), low, high).round(3)
    return cols


def _categorical(rng: np.random.Generator, n: int, drift: float) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for name, (levels, probs) in CHURN_CATEGORICAL.items():
        p = np.asarray(probs)
        if name == DRIFTED_CATEGORICAL and drift:
            tilt = min(abs(drift) / 4.0, 0.9)  # move this share of the other levels to level 0
            p = p * (1 - tilt)
            p[0] += tilt
        cols[name] = np.asarray(levels, dtype=object)[rng.choice(len(levels), n, p=p / p.sum())]
    return cols


def _churn_proba(num: dict[str, np.ndarray], cat: dict[str, np.ndarray]) -> np.ndarray:
    z = (
        -1.2
        - 0.04 * (num["tenure_months"] - 30)
        + 0.02 * (num["monthly_charges"] - 65)
        + 0.35 * (num["support_calls_90d"] - 1.5)
        + 0.05 * (num["days_since_last_login"] - 7)
        - 0.3 * (num["satisfaction_score"] - 7)
        + 0.9 * (cat["contract"] == "month-to-month")
    )
    return 1.0 / (1.0 + np.exp(-z.astype(float)))


def _event_ids(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 2**63 - 1, size=(n, 2), dtype=np.int64)
    return [f"{a:016x}{b:016x}" for a, b in raw.tolist()]


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _chunk(spec: SampleSpec, offset: int, n: int, start: datetime) -> Iterator[Message]:
    rng = np.random.default_rng([spec.seed, offset])
    num, cat = _numeric(rng, n, spec.drift), _categorical(rng, n, spec.drift)
    proba = _churn_proba(num, cat)
    outcome = rng.random(n) < proba
    labelled = rng.random(n) < spec.label_share
    bad = rng.random(n) < spec.bad_share
    ids = _event_ids(rng, n)
    num_rows = {k: v.tolist() for k, v in num.items()}
    cat_rows = {k: v.tolist() for k, v in cat.items()}
    for i in range(n):
        idx = offset + i
        ts = start + timedelta(seconds=idx * spec.step_s)
        if bad[i]:
            yield Message(
                "predictions", ids[i].encode(), malformed(BAD_KINDS[idx % len(BAD_KINDS)], ids[i])
            )
            continue
        event: dict[str, Any] = {
            "event_id": ids[i],
            "model": spec.model,
            "model_version": spec.model_version,
            "timestamp": _iso(ts),
            "features": {
                **{k: v[i] for k, v in num_rows.items()},
                **{k: v[i] for k, v in cat_rows.items()},
            },
            "prediction": int(proba[i] >= 0.5),
            "prediction_proba": round(float(proba[i]), 5),
            "segment": {"region": cat_rows["region"][i]},
        }
        yield Message("predictions", ids[i].encode(), orjson.dumps(event))
        if labelled[i]:
            label = {
                "event_id": ids[i],
                "model": spec.model,
                "label": int(outcome[i]),
                "timestamp": _iso(ts + timedelta(days=7)),
            }
            yield Message("labels", ids[i].encode(), orjson.dumps(label))


def generate(spec: SampleSpec, chunk: int = 5000) -> Iterator[Message]:
    """Yield prediction messages (and labels, and malformed ones) for `spec`, in order."""
    start = spec.start or datetime.now(UTC) - timedelta(seconds=spec.count * spec.step_s)
    for offset in range(0, spec.count, chunk):
        yield from _chunk(spec, offset, min(chunk, spec.count - offset), start)


def malformed(kind: str, event_id: str = "bad") -> bytes:
    """One malformed prediction message of the given kind (see BAD_KINDS)."""
    ts = "2024-01-01T00:00:00Z"
    if kind == "not_json":
        return b'{"event_id": "' + event_id.encode() + b'", "model": churn'
    if kind == "missing_field":
        return orjson.dumps({"event_id": event_id, "timestamp": ts, "features": {"x": 1}})
    if kind == "wrong_type":
        return orjson.dumps(
            {"event_id": event_id, "model": "churn", "timestamp": ts, "features": [1, 2]}
        )
    if kind == "nan_value":  # not valid JSON, but what Python's json.dumps writes for a NaN
        return (
            b'{"event_id": "%s", "model": "churn", "timestamp": "%s", "features": {"x": NaN}}'
            % (event_id.encode(), ts.encode())
        )
    if kind == "unknown_model":
        return orjson.dumps(
            {
                "event_id": event_id,
                "model": "no-such-model",
                "timestamp": ts,
                "features": {"x": 1.0},
            }
        )
    raise ValueError(f"unknown malformed kind {kind!r}; expected one of {', '.join(BAD_KINDS)}")


def make_producer(kafka: KafkaSettings, bootstrap: list[str] | None = None) -> Any:
    """A kafka-python producer tuned for throughput with acks=all (idempotent by default)."""
    from kafka import KafkaProducer

    opts = kafka.client_options()
    if bootstrap:
        opts["bootstrap_servers"] = bootstrap
    return KafkaProducer(
        acks="all", linger_ms=20, batch_size=1 << 20, max_request_size=8 << 20, **opts
    )


def send_all(
    producer: Any, messages: Iterator[Message], topics: dict[str, str], rate: float = 0.0
) -> int:
    """Send every message (at most `rate` per second when rate > 0); flush; return the count.

    Delivery errors surface from flush() through the futures: a failed send raises.
    """
    sent = 0
    futures = []
    began = time.monotonic()
    for msg in messages:
        futures.append(producer.send(topics[msg.topic_kind], key=msg.key, value=msg.value))
        sent += 1
        if rate > 0:
            ahead = sent / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
        if len(futures) >= 10_000:
            _check(producer, futures)
    _check(producer, futures)
    return sent


def _check(producer: Any, futures: list[Any]) -> None:
    producer.flush()
    for f in futures:
        f.get(timeout=0)  # raises the delivery error, if any
    futures.clear()


def training_frame(count: int, seed: int = 0) -> Any:
    """A churn training set like the events `generate` makes with drift 0: the feature
    columns, `prediction` (the positive-class probability, as events carry it) and `label`."""
    import pandas as pd

    rng = np.random.default_rng([seed, 7])
    num, cat = _numeric(rng, count, 0.0), _categorical(rng, count, 0.0)
    proba = _churn_proba(num, cat)
    frame = pd.DataFrame({**num, **cat})
    frame["prediction"] = proba.round(5)
    frame["label"] = (rng.random(count) < proba).astype(int)
    return frame
