"""Golden files: the notification JSON of an estimated_performance alert (issue 15).

The webhook body (`build_payload`) and the Slack blocks of an alert fired on an estimated
drop, pinned byte for byte against tests/golden/estimation/*.json (key order included).
`MONITOR_UPDATE_GOLDEN=1` rewrites the files.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.alerts import build_payload
from monitor.notify.slack import render
from monitor.rules import RunFacts, evaluate
from monitor.settings import RuleSettings

GOLDEN = Path(__file__).parent / "estimation"
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _pinned(name: str, doc: Any) -> None:
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("MONITOR_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name}: differs from {path}"


def test_estimated_performance_payload_is_pinned() -> None:
    rule = RuleSettings(
        name="est-f1",
        condition="estimated_performance",
        metric="f1",
        max_drop=0.05,
        band="outside",
        severity="critical",
    )
    estimate = {
        "name": "f1",
        "value": 0.61,
        "lower": 0.55,
        "upper": 0.67,
        "sampling_error": 0.02,
        "reference_error": 0.008,
        "realised": None,
        "reason": None,
    }
    facts = RunFacts(
        monitor="churn",
        model="churn",
        model_version="3",
        run_id=None,
        window_start=T0,
        window_end=T0 + timedelta(hours=1),
        status="succeeded",
        current_rows=1200,
        reference_rows=5000,
        reference_performance={"f1": 0.78},
        kind="performance",
        estimated={"f1": estimate},
        estimator="cbpe",
    )
    (hit,) = evaluate([rule], facts)
    payload = build_payload(
        event="performance.detected",
        alert_id=11,
        fingerprint="fp-churn-est-f1",
        facts=facts,
        hit=hit,
        fired_at=T0 + timedelta(hours=1, seconds=5),
        resolved_at=None,
    )
    _pinned("webhook", payload)
    text, blocks = render(payload)
    _pinned("slack", {"text": text, "blocks": blocks})
