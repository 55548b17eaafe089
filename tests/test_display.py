"""The prediction pseudo-feature has one display name wherever a person reads it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from monitor.display import PREDICTION_FEATURE, PREDICTION_LABEL, feature_label
from monitor.notify import alertmanager, slack
from monitor.reports import HistoryPoint
from monitor.reports.timeseries import feature_figure
from monitor.storage.event_frames import PREDICTION_FEATURE as STORED_NAME
from monitor.web import charts

PAYLOAD = {
    "event": "drift.detected",
    "severity": "warning",
    "monitor": "churn-prod",
    "model": "churn",
    "rule": "prediction-drift",
    "condition": "prediction_drift",
    "window": {"start": "2026-12-04T16:20:00+00:00", "end": "2026-12-04T16:25:00+00:00"},
    "summary": "prediction drifted (wasserstein_normed 1.117, threshold 0.1)",
    "drifted_features": [
        {
            "name": "monthly_charges",
            "method": "wasserstein_normed",
            "statistic": 0.9,
            "threshold": 0.1,
        },
        {"name": STORED_NAME, "method": "wasserstein_normed", "statistic": 1.117, "threshold": 0.1},
    ],
}


def test_one_stored_name_and_one_display_name() -> None:
    assert STORED_NAME == PREDICTION_FEATURE == "__prediction__"
    assert feature_label(PREDICTION_FEATURE) == PREDICTION_LABEL == "prediction"
    assert feature_label("monthly_charges") == "monthly_charges"
    assert charts.label(PREDICTION_FEATURE) == PREDICTION_LABEL  # the dashboard's


def test_slack_and_alertmanager_show_the_display_name() -> None:
    fallback, blocks = slack.render(PAYLOAD)
    text = fallback + json.dumps(blocks)
    assert PREDICTION_FEATURE not in text
    assert f"`{PREDICTION_LABEL}`" in text and "`monthly_charges`" in text
    described = alertmanager.describe(PAYLOAD)
    assert PREDICTION_FEATURE not in described
    assert f"{PREDICTION_LABEL} (wasserstein_normed" in described


def test_report_history_chart_is_titled_with_the_display_name() -> None:
    point = HistoryPoint(
        window_end=datetime(2026, 12, 4, 16, 25, tzinfo=UTC),
        statistic=1.117,
        threshold=0.1,
        drifted=True,
        method="wasserstein_normed",
        p_value=None,
    )
    fig = feature_figure(PREDICTION_FEATURE, [point])
    assert fig["layout"]["title"]["text"] == PREDICTION_LABEL
