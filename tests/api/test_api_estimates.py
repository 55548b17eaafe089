"""GET /api/v1/monitors/{name}/estimates on the seeded Postgres database: the stored window
estimates, newest window first, each metric's band and (after the labels) its realised value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.storage.estimators import store_estimator, store_window_estimate
from monitor.storage.references import store_reference

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
URL = "/api/v1/monitors/mon2/estimates"


def _metric(value, lower, upper, se, realised=None, reason=None):
    return {
        "value": value,
        "lower": lower,
        "upper": upper,
        "sampling_error": se,
        "reference_error": 0.01 if value is not None else None,
        "realised": realised,
        "reason": reason,
    }


def _store(engine) -> None:
    # a reference version of a monitor nobody reads, so the seeded monitors' latest is unchanged
    ref = store_reference(
        engine, "zz-estimates", created_at=NOW, source="frame", row_count=10, spec={}, sketch=b""
    )
    est = store_estimator(engine, ref.id, "cbpe", {"method": "cbpe"}, NOW)
    docs = [
        {"f1": _metric(0.8, 0.7, 0.9, 0.033, realised=0.76)},
        {"f1": _metric(0.6, 0.45, 0.75, 0.05), "roc_auc": _metric(None, None, None, None, None,
                                                                    "one class in the window")},
    ]  # fmt: skip
    for i, metrics in enumerate(docs):
        doc = {"method": "cbpe", "task": "classification", "rows": 100 + i, "metrics": metrics}
        store_window_estimate(
            engine, "mon2", NOW + i * HOUR, NOW + (i + 1) * HOUR,
            estimator_id=est.id, rows=100 + i, estimate={**doc, "notes": []}, now=NOW + 2 * HOUR,
        )  # fmt: skip


def test_estimates_newest_window_first_with_band_and_realised(client, engine, read) -> None:
    _store(engine)
    body = client.get(URL, headers=read).json()
    assert body["monitor"] == "mon2"
    newer, older = body["items"]
    assert (newer["window_start"], newer["window_end"]) == (
        (NOW + HOUR).isoformat().replace("+00:00", "Z"),
        (NOW + 2 * HOUR).isoformat().replace("+00:00", "Z"),
    )
    assert (newer["method"], newer["task"], newer["rows"]) == ("cbpe", "classification", 101)
    f1, auc = newer["metrics"]
    assert f1 == {
        "name": "f1",
        "value": 0.6,
        "lower": 0.45,
        "upper": 0.75,
        "sampling_error": 0.05,
        "reference_error": 0.01,
        "realised": None,
        "reason": None,
        "gap": None,
        "abs_gap": None,
        "covered": None,
    }
    assert (
        auc["value"] is None and auc["lower"] is None and auc["reason"] == "one class in the window"
    )
    (old_f1,) = older["metrics"]
    assert (old_f1["value"], old_f1["realised"], older["rows"]) == (0.8, 0.76, 100)
    # labelled: the realised value beside the estimate, its gap, and the band held it
    assert old_f1["gap"] == pytest.approx(0.76 - 0.8) and old_f1["abs_gap"] == pytest.approx(0.04)
    assert old_f1["covered"] is True and older["labelled"] is None  # no count stored
    missed = body["items"][0]["metrics"][0]
    assert missed["covered"] is None  # not labelled yet
    limited = client.get(URL, params={"limit": 1}, headers=read).json()["items"]
    assert [x["rows"] for x in limited] == [101]


def test_estimates_of_an_unknown_monitor_are_404(client, read) -> None:
    r = client.get("/api/v1/monitors/nope/estimates", headers=read)
    assert r.status_code == 404
    assert r.json() == {"detail": "no monitor with this name is configured"}


def test_estimates_need_a_token(client) -> None:
    assert client.get(URL).status_code == 401
