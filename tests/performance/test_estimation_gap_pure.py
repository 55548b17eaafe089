"""The estimate's error once labels arrive (`performance.estimation.gap`): the gap, whether
the band held the realised value (widened for partly labelled windows), and the
`estimation_gap` rule's M-of-N verdict, on hand-computed numbers; the rule's hit and payload."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from monitor.performance.estimation.gap import gap_verdict, metric_gap
from monitor.rules import RunFacts, evaluate
from monitor.settings import RuleSettings

T = datetime(2026, 11, 2, tzinfo=UTC)


def doc(value, realised, *, sd=0.02, ref=0.01, rows=400, labelled=400, task="classification"):
    lower, upper = max(0.0, value - 3 * sd), min(1.0, value + 3 * sd)
    entry = {"value": value, "lower": lower, "upper": upper, "sampling_error": sd,
             "reference_error": ref, "realised": realised, "reason": None}  # fmt: skip
    out = {"method": "cbpe", "task": task, "rows": rows, "metrics": {"accuracy": entry}}
    if labelled is not None:
        out["labelled"] = labelled
    return out


def test_gap_is_realised_minus_estimate_and_covered_reads_the_stored_band() -> None:
    g = metric_gap(doc(0.80, 0.75), "accuracy")
    assert g is not None
    assert g.gap == pytest.approx(-0.05) and g.covered is True  # band [0.74, 0.86]
    assert (g.lower, g.upper) == (pytest.approx(0.74), pytest.approx(0.86))
    out = metric_gap(doc(0.80, 0.73), "accuracy")
    assert (
        out is not None and out.covered is False and out.to_dict()["abs_gap"] == pytest.approx(0.07)
    )
    assert metric_gap(doc(0.80, None), "accuracy") is None  # no labels yet
    assert metric_gap(doc(0.80, 0.7), "f1") is None  # not estimated


def test_a_partly_labelled_window_is_judged_against_a_band_widened_for_its_labels() -> None:
    # 100 of 400 rows labelled: label part 0.02² − 0.01² = 3e-4, times 400/100 -> 1.2e-3;
    # plus the reference part 1e-4 -> sd' = sqrt(1.3e-3) = 0.03606; band 0.8 ± 0.10817
    g = metric_gap(doc(0.80, 0.71, labelled=100), "accuracy")
    assert g is not None
    sd = math.sqrt(0.01**2 + (0.02**2 - 0.01**2) * 4)
    assert g.lower == pytest.approx(0.8 - 3 * sd) and g.upper == pytest.approx(0.8 + 3 * sd)
    assert g.covered is True  # outside the stored band [0.74, 0.86], inside the widened one
    assert metric_gap(doc(0.80, 0.71, labelled=400), "accuracy").covered is False


def test_the_verdict_counts_band_misses_over_the_last_n_evaluable_windows() -> None:
    inside, outside = doc(0.8, 0.79), doc(0.8, 0.6)
    few = doc(0.8, 0.6, labelled=20)  # too few labels: not evaluable
    unlabelled = doc(0.8, None)
    docs = [outside, outside, inside, few, inside, unlabelled, outside, inside]
    v = gap_verdict(docs, "accuracy", windows=5, outside=3)
    # evaluable, oldest first: out, out, in, in, out, in -> the last 5: out, in, in, out, in
    assert v is not None and v.outside == 2 and not v.fires
    assert [g.covered for g in v.gaps] == [False, True, True, False, True]
    assert v.mean_abs_gap == pytest.approx((0.2 + 0.01 + 0.01 + 0.2 + 0.01) / 5)
    fires = gap_verdict([*docs, outside, outside], "accuracy", windows=5, outside=3)
    assert fires is not None and fires.outside == 3 and fires.fires
    assert gap_verdict(docs[:4], "accuracy", windows=5, outside=3) is None  # 3 evaluable < 5
    # counted with 20 labelled rows, the 0.6 window is judged against a band widened 20x in
    # label variance (sd sqrt(1e-4 + 3e-4 * 20) = 0.078, band [0.566, 1]): inside
    counted = gap_verdict(docs, "accuracy", windows=5, outside=2, min_labelled=10)
    assert counted is not None and [g.covered for g in counted.gaps] == [True] * 3 + [False, True]


def test_the_rule_fires_with_gap_band_and_windows_in_its_payload() -> None:
    rule = RuleSettings(name="gap", condition="estimation_gap", metric="accuracy",
                        windows=3, outside=2)  # fmt: skip
    history = tuple(
        {**d, "window_start": f"w{i}"}
        for i, d in enumerate([doc(0.8, 0.79), doc(0.8, 0.62), doc(0.8, 0.60)])
    )
    facts = RunFacts(monitor="m", model="m", model_version=None, run_id=None,
                     window_start=T, window_end=T, status="succeeded", kind="performance",
                     estimator="cbpe", estimate_history=history)  # fmt: skip
    (hit,) = evaluate([rule], facts)
    assert hit.condition is True and hit.subject == ""
    perf = hit.details["performance"]
    assert (perf["outside"], perf["needed"], perf["of"]) == (2, 2, 3)
    assert perf["gap"] == pytest.approx(-0.2) and perf["value"] == 0.6
    assert perf["band"] == {"lower": pytest.approx(0.74), "upper": pytest.approx(0.86)}
    assert [w["window_start"] for w in perf["windows"]] == ["w0", "w1", "w2"]
    assert hit.details["summary"].startswith("accuracy: realised outside the estimate's band on 2")
    # an estimated_performance run (no history) gives this rule no verdict
    plain = RunFacts(monitor="m", model="m", model_version=None, run_id=None, window_start=T,
                     window_end=T, status="succeeded", kind="performance")  # fmt: skip
    assert evaluate([rule], plain) == []


def test_the_rule_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="needs a metric"):
        RuleSettings(name="g", condition="estimation_gap")
    with pytest.raises(ValueError, match="outside must be at most windows"):
        RuleSettings(name="g", condition="estimation_gap", metric="f1", windows=2)
    with pytest.raises(
        ValueError, match="windows is an option of estimation_gap and retraining_ineffective"
    ):
        RuleSettings(name="g", condition="performance", metric="f1", threshold=0.5, windows=3)
