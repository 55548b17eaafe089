"""Stored estimators and window estimates: once per reference version, replaced on change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.storage.estimators import (
    load_estimator,
    store_estimator,
    store_window_estimate,
    window_estimate_rows,
)
from monitor.storage.references import store_reference

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _reference(engine) -> int:
    row = store_reference(
        engine, "mon", created_at=NOW, source="frame", row_count=10, spec={"order": []}, sketch=b""
    )
    return row.id


def test_an_estimator_is_stored_once_per_reference_version_and_method(engine) -> None:
    ref_id = _reference(engine)
    assert load_estimator(engine, ref_id, "cbpe") is None
    state = {"method": "cbpe", "classes": [0, 1], "calibrators": [[0.0, 0.5], [1.0, 0.7]]}
    first = store_estimator(engine, ref_id, "cbpe", {"state": state}, NOW)
    again = store_estimator(engine, ref_id, "cbpe", {"state": {"other": 1}}, NOW + HOUR)
    assert first.created and not again.created and again.id == first.id
    loaded = load_estimator(engine, ref_id, "cbpe")
    assert loaded is not None and loaded.state == {"state": state} and loaded.created_at == NOW
    assert load_estimator(engine, ref_id, "ac") is None


def test_a_window_estimate_is_replaced_only_when_its_document_changes(engine) -> None:
    est = store_estimator(engine, _reference(engine), "ac", {"state": {}}, NOW)
    doc = {"method": "ac", "metrics": {"accuracy": {"value": 0.7, "lower": 0.6, "upper": 0.8}}}

    def put(rows: int, value: float, at: datetime, realised: float | None = None):
        metric = {"value": value, "realised": realised}
        body = {**doc, "rows": rows, "metrics": {"accuracy": metric}}
        return store_window_estimate(
            engine, "mon", NOW, NOW + HOUR, estimator_id=est.id, rows=rows, estimate=body, now=at
        )

    first = put(100, 0.7, NOW)
    same = put(100, 0.7, NOW + HOUR)
    assert first.created and not same.created and not same.relabelled
    assert same.computed_at == NOW
    # late labels: the same rows, the realised value beside the estimate
    relabelled = put(100, 0.7, NOW + HOUR, realised=0.69)
    assert relabelled.relabelled and not relabelled.created
    assert relabelled.estimate["metrics"]["accuracy"]["realised"] == 0.69
    changed = put(120, 0.6, NOW + 2 * HOUR)
    assert changed.created and changed.id == first.id and changed.rows == 120
    rows = window_estimate_rows(engine, "mon")
    assert [(r.rows, r.estimate["metrics"]["accuracy"]["value"]) for r in rows] == [(120, 0.6)]
    assert rows[0].computed_at == NOW + 2 * HOUR
