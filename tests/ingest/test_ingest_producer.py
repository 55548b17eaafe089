"""The sample generator: deterministic, contract-valid, drift where asked, malformed on purpose."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import orjson
import pytest

from monitor.events import EventRejected, parse_prediction
from monitor.ingest.producer import (
    BAD_KINDS,
    CHURN_CATEGORICAL,
    CHURN_NUMERIC,
    DRIFTED_NUMERIC,
    SampleSpec,
    generate,
    malformed,
)
from monitor.ingest.writer import backoff_s

START = datetime(2024, 1, 1, tzinfo=UTC)


def _values(spec: SampleSpec) -> list[bytes]:
    return [m.value for m in generate(spec)]


def test_same_seed_same_events_other_seed_other_events():
    spec = SampleSpec(count=300, seed=5, label_share=0.3, bad_share=0.1, start=START)
    assert _values(spec) == _values(spec)
    other = _values(SampleSpec(count=300, seed=6, label_share=0.3, bad_share=0.1, start=START))
    assert other != _values(spec)


def test_events_follow_the_contract_with_15_numeric_and_5_categorical_features():
    assert len(CHURN_NUMERIC) == 15 and len(CHURN_CATEGORICAL) == 5
    spec = SampleSpec(count=500, seed=1, start=START, step_s=60)
    events = [
        parse_prediction(v, max_bytes=1 << 20, known_models=frozenset({"churn"}))
        for v in _values(spec)
    ]
    assert len({e.event_id for e in events}) == 500
    assert events[0].ts == START and events[-1].ts == datetime(2024, 1, 1, 8, 19, tzinfo=UTC)
    for e in events:
        numeric = [k for k, v in e.features.items() if isinstance(v, float | int)]
        categorical = [k for k, v in e.features.items() if isinstance(v, str)]
        assert sorted(numeric) == sorted(CHURN_NUMERIC) and sorted(categorical) == sorted(
            CHURN_CATEGORICAL
        )
        assert 0 <= e.prediction_proba <= 1 and e.prediction == int(e.prediction_proba >= 0.5)


def test_drift_shifts_the_named_features_by_about_that_many_standard_deviations():
    def means(drift: float) -> dict[str, float]:
        docs = [
            orjson.loads(v)
            for v in _values(SampleSpec(count=4000, seed=2, drift=drift, start=START))
        ]
        return {k: float(np.mean([d["features"][k] for d in docs])) for k in CHURN_NUMERIC}

    base, shifted = means(0.0), means(1.0)
    for name, (_, std, _, _) in CHURN_NUMERIC.items():
        delta = (shifted[name] - base[name]) / std
        if name in DRIFTED_NUMERIC:
            assert delta > 0.4, name  # +1 std before clipping at the feature's bounds
        else:
            assert abs(delta) < 0.1, name


def test_malformed_kinds_are_rejected_for_the_reason_they_stand_for():
    expected = {
        "not_json": "invalid_json",
        "missing_field": "missing_field",
        "wrong_type": "wrong_type",
        "nan_value": "non_finite_number",
        "unknown_model": "unknown_model",
    }
    assert set(expected) == set(BAD_KINDS)
    for kind, reason in expected.items():
        with pytest.raises(EventRejected) as info:
            parse_prediction(malformed(kind), max_bytes=1 << 20, known_models=frozenset({"churn"}))
        assert info.value.reason == reason


def test_bad_share_mixes_in_about_that_share_of_malformed_messages():
    reasons = Counter()
    for v in _values(SampleSpec(count=2000, seed=3, bad_share=0.2, start=START)):
        try:
            parse_prediction(v, max_bytes=1 << 20, known_models=frozenset({"churn"}))
        except EventRejected as exc:
            reasons[exc.reason] += 1
    assert 340 <= sum(reasons.values()) <= 460  # 400 expected; binomial sd ~18
    assert len(reasons) == len(BAD_KINDS)


@pytest.mark.parametrize(
    ("attempt", "cap", "low", "high"),
    [
        (0, 30.0, 0.1, 0.2),
        (1, 30.0, 0.2, 0.4),
        (4, 30.0, 1.6, 3.2),
        (10, 30.0, 15.0, 30.0),
        (100, 5.0, 2.5, 5.0),
    ],
)
def test_backoff_is_exponential_with_jitter_and_capped(attempt, cap, low, high):
    draws = [backoff_s(attempt, cap) for _ in range(200)]
    assert all(low <= d <= high for d in draws)
    assert max(draws) - min(draws) > (high - low) / 4  # jittered, not constant
