"""Alert rules by table: each condition, thresholds at the boundary, "no data" holds."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from monitor.drift.engine import compare
from monitor.drift.result import FeatureResult
from monitor.rules import RunFacts, evaluate, event_family, lower_is_better
from monitor.settings import RuleSettings

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
PRED = "__prediction__"


def feat(
    name, *, drifted=False, statistic=0.1, threshold=0.2, kind="numeric", missing=0.0, **stats
):
    return FeatureResult(
        name=name,
        kind=kind,
        method="psi",
        statistic=statistic,
        p_value=None,
        threshold=threshold,
        drifted=drifted,
        missing_share_reference=0.0,
        missing_share_current=missing,
        stats=stats,
    )


def facts(*features, status="succeeded", share=None, threshold=0.5, **kw) -> RunFacts:
    n = len(features)
    share = (sum(f.drifted for f in features) / n if n else 0.0) if share is None else share
    base = dict(
        monitor="m",
        model="churn",
        model_version="v1",
        run_id=1,
        window_start=T0,
        window_end=T0 + timedelta(hours=1),
        status=status,
        dataset_drift=share >= threshold,
        drift_share=share,
        drift_share_threshold=threshold,
        features=tuple(features),
        prediction_feature=PRED,
        current_rows=500,
        reference_rows=1000,
    )
    base.update(kw)
    return RunFacts(**base)


def rule(condition, **kw) -> RuleSettings:
    return RuleSettings(name=kw.pop("name", condition), condition=condition, **kw)


def verdicts(r, f) -> dict[str, bool]:
    return {h.subject: h.condition for h in evaluate([r], f)}


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.39, False), (0.4, True), (0.41, True)],
)
def test_drift_share_fires_at_the_threshold(share, expected) -> None:
    assert verdicts(rule("drift_share", threshold=0.4), facts(share=share)) == {"": expected}


def test_dataset_drift_follows_the_engine_verdict_and_says_why() -> None:
    fs = [feat(f"f{i}", drifted=i < 5) for i in range(12)]
    [hit] = evaluate([rule("dataset_drift")], facts(*fs, threshold=0.4))
    assert hit.condition is True and hit.subject == ""
    assert hit.details["summary"] == "5 of 12 features drifted (share 0.42 >= 0.40)"
    [hit] = evaluate([rule("dataset_drift")], facts(*fs, threshold=0.5))
    assert hit.condition is False
    assert hit.details["summary"] == "5 of 12 features drifted (share 0.42 < 0.50)"


@pytest.mark.parametrize(("statistic", "expected"), [(0.19, False), (0.2, True), (0.5, True)])
def test_feature_statistic_boundary(statistic, expected) -> None:
    r = rule("feature_statistic", feature="age", threshold=0.2)
    f = facts(feat("age", statistic=statistic), feat("city", statistic=9.0))
    assert verdicts(r, f) == {"age": expected}


def test_feature_statistic_without_a_statistic_holds() -> None:
    r = rule("feature_statistic", feature="age", threshold=0.2)
    assert evaluate([r], facts(feat("age", statistic=math.nan))) == []
    assert evaluate([r], facts(feat("other"))) == []  # the feature is not in this run


def test_feature_drift_one_hit_per_feature_prediction_left_out() -> None:
    f = facts(feat("age", drifted=True), feat("city"), feat(PRED, drifted=True))
    assert verdicts(rule("feature_drift"), f) == {"age": True, "city": False}
    assert verdicts(rule("feature_drift", feature="city"), f) == {"city": False}
    assert verdicts(rule("feature_drift", feature=PRED), f) == {PRED: True}


def test_feature_drift_skips_features_without_a_verdict() -> None:
    f = facts(feat("age", drifted=True), feat("empty", statistic=math.nan))
    assert verdicts(rule("feature_drift"), f) == {"age": True}


def test_prediction_drift() -> None:
    r = rule("prediction_drift")
    assert verdicts(r, facts(feat("age"), feat(PRED, drifted=True))) == {"": True}
    assert verdicts(r, facts(feat("age", drifted=True), feat(PRED))) == {"": False}
    assert evaluate([r], facts(feat("age"), prediction_feature=None)) == []


@pytest.mark.parametrize(("missing", "expected"), [(0.099, False), (0.1, True), (0.3, True)])
def test_missing_share_boundary(missing, expected) -> None:
    r = rule("missing_share", threshold=0.1)
    assert verdicts(r, facts(feat("age", missing=missing), feat("city"))) == {
        "age": expected,
        "city": False,
    }


def test_missing_share_undefined_holds() -> None:
    r = rule("missing_share", threshold=0.1)
    assert verdicts(r, facts(feat("age", missing=math.nan), feat("city"))) == {"city": False}


@pytest.mark.parametrize(("share", "expected"), [(0.049, False), (0.05, True)])
def test_out_of_range_share_boundary(share, expected) -> None:
    r = rule("out_of_range_share", threshold=0.05)
    f = facts(
        feat("age", share_outside_reference_range=share),
        feat("city", kind="categorical", new_category_count=0, new_categories={}),
    )
    assert verdicts(r, f) == {"age": expected}


def test_new_category_exact_and_sketch_stats() -> None:
    r = rule("new_category")
    f = facts(
        feat(
            "city",
            kind="categorical",
            new_category_count=2,
            new_categories={"Oslo": 0.1, "Rome": 0.05},
        ),
        feat("plan", kind="categorical", new_category_count=0, new_categories={}),
        feat(  # a scheduled run: the exact share, the count, the largest names
            "sk_new",
            kind="categorical",
            new_category_share=0.5,
            new_category_count=3,
            new_categories={"x": 0.3, "y": 0.15, "z": 0.05},
        ),
        feat("sk_old", kind="categorical", new_category_share=0.0, new_category_count=0),
        feat("sk_unknown", kind="categorical", new_category_share=0.0),  # no count: no verdict
        feat("age", share_outside_reference_range=0.5),
    )
    hits = {h.subject: h for h in evaluate([r], f)}
    assert {s: h.condition for s, h in hits.items()} == {
        "city": True,
        "plan": False,
        "sk_new": True,
        "sk_old": False,
    }
    assert hits["sk_new"].details["summary"] == (
        "feature 'sk_new': 3 new categories ('x', 'y', 'z'), 50.0% of values"
    )
    assert hits["sk_new"].details["new_category_count"] == 3
    assert hits["sk_new"].details["new_categories_listed_max"] == 20
    assert hits["city"].details["new_categories"] == {"Oslo": 0.1, "Rome": 0.05}
    assert hits["city"].details["summary"] == (
        "feature 'city': 2 new categories ('Oslo', 'Rome'), 15.0% of values"
    )
    # with a threshold, the new categories' share must reach it
    r2 = rule("new_category", threshold=0.15)
    assert verdicts(r2, f)["city"] is True
    assert verdicts(rule("new_category", threshold=0.16), f)["city"] is False


def test_conditions_read_the_keys_the_real_engine_writes() -> None:
    """Tie the rules to the drift engine: new categories, out-of-range and missing shares."""
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 400), "c": rng.choice(["a", "b"], 400)})
    cur = pd.DataFrame(
        {
            "x": np.concatenate([rng.normal(0, 1, 360), np.full(20, 50.0), np.full(20, np.nan)]),
            "c": np.concatenate([rng.choice(["a", "b"], 370), np.full(30, "zz")]),
        }
    )
    report = compare(ref, cur)
    f = facts(*report.features)
    oor = {h.subject: h for h in evaluate([rule("out_of_range_share", threshold=0.05)], f)}
    x_ref, x_cur = ref["x"].to_numpy(), cur["x"].dropna().to_numpy()
    outside = ((x_cur < x_ref.min()) | (x_cur > x_ref.max())).sum()
    assert outside >= 20  # the 50.0s, plus whatever normal draws fall outside
    assert oor["x"].condition
    assert oor["x"].details["out_of_range_share"] == pytest.approx(outside / x_cur.size)
    new = {h.subject: h for h in evaluate([rule("new_category")], f)}
    assert new["c"].condition and new["c"].details["new_categories"] == {"zz": 30 / 400}
    miss = {h.subject: h for h in evaluate([rule("missing_share", threshold=0.05)], f)}
    assert miss["x"].condition and miss["x"].details["missing_share"] == pytest.approx(0.05)
    assert miss["c"].condition is False


DRIFT_RULES = [
    rule("dataset_drift"),
    rule("drift_share", threshold=0.1),
    rule("feature_statistic", feature="age", threshold=0.0),
    rule("feature_drift"),
    rule("prediction_drift"),
    rule("missing_share", threshold=0.0),
    rule("new_category"),
    rule("out_of_range_share", threshold=0.0),
]


def test_insufficient_data_holds_every_drift_rule() -> None:
    """Not enough rows: drift and data-quality rules neither fire nor resolve (no hits)."""
    f = facts(
        feat("age", drifted=True, share_outside_reference_range=0.9, missing=0.9),
        feat(PRED, drifted=True),
        status="insufficient_data",
        share=1.0,
        current_rows=12,
    )
    assert evaluate(DRIFT_RULES, f) == []
    [hit] = evaluate([*DRIFT_RULES, rule("insufficient_data", **{"for": 3})], f)
    assert (hit.rule.name, hit.subject, hit.condition) == ("insufficient_data", "", True)
    assert hit.details["summary"] == "12 rows in the window: not enough to compare"
    ok = facts(feat("age"))
    assert verdicts(rule("insufficient_data"), ok) == {"": False}


def test_a_run_without_drift_numbers_holds() -> None:
    f = facts(dataset_drift=None, drift_share=None)
    assert evaluate([rule("dataset_drift"), rule("drift_share", threshold=0.1)], f) == []


def test_every_drift_rule_evaluates_on_a_normal_run() -> None:
    f = facts(
        feat("age", drifted=True, share_outside_reference_range=0.5, missing=0.5),
        feat("city", kind="categorical", new_category_count=1, new_categories={"x": 1.0}),
        feat(PRED, drifted=True),
    )
    assert {h.rule.name for h in evaluate(DRIFT_RULES, f)} == {r.name for r in DRIFT_RULES}


def perf_facts(value, *, metric="accuracy", reference=None, labelled=1000, **kw):
    return facts(
        performance={metric: value},
        reference_performance=None if reference is None else {metric: reference},
        labelled_rows=labelled,
        **kw,
    )


@pytest.mark.parametrize(
    ("metric", "value", "kw", "expected"),
    [
        # higher is better: value < threshold fires, the threshold itself does not
        ("accuracy", 0.84, {"threshold": 0.85}, True),
        ("accuracy", 0.85, {"threshold": 0.85}, False),
        ("roc_auc", 0.9, {"threshold": 0.85}, False),
        # lower is better: value > threshold fires
        ("log_loss", 0.51, {"threshold": 0.5}, True),
        ("log_loss", 0.5, {"threshold": 0.5}, False),
        ("rmse", 0.3, {"threshold": 0.5}, False),
        # max_drop against the reference (0.90 for accuracy, 0.40 for mae)
        ("accuracy", 0.84, {"max_drop": 0.05}, True),
        ("accuracy", 0.86, {"max_drop": 0.05}, False),
        ("mae", 0.46, {"max_drop": 0.05}, True),
        ("mae", 0.44, {"max_drop": 0.05}, False),
        # both: the stricter bound decides
        ("accuracy", 0.87, {"threshold": 0.8, "max_drop": 0.02}, True),
        ("accuracy", 0.79, {"threshold": 0.8, "max_drop": 0.5}, True),
    ],
)
def test_performance_direction_and_boundaries(metric, value, kw, expected) -> None:
    reference = {"accuracy": 0.9, "roc_auc": 0.9, "log_loss": 0.3, "rmse": 0.2, "mae": 0.4}[metric]
    r = rule("performance", metric=metric, **kw)
    [hit] = evaluate([r], perf_facts(value, metric=metric, reference=reference))
    assert hit.condition is expected
    perf = hit.details["performance"]
    assert perf["metric"] == metric and perf["value"] == value and perf["reference"] == reference


def test_performance_payload_threshold_is_the_effective_bound() -> None:
    r = rule("performance", metric="accuracy", max_drop=0.05)
    [hit] = evaluate([r], perf_facts(0.8, reference=0.9))
    assert hit.details["performance"]["threshold"] == pytest.approx(0.85)
    assert hit.details["summary"] == "accuracy 0.8 < 0.85 (reference 0.9) on 1000 labelled rows"


def test_performance_holds_without_enough_labels_or_values() -> None:
    r = rule("performance", metric="accuracy", threshold=0.9, min_rows=200)
    assert verdicts(r, perf_facts(0.5, labelled=200)) == {"": True}
    assert evaluate([r], perf_facts(0.5, labelled=199)) == []
    assert evaluate([r], perf_facts(0.5, labelled=None)) == []
    assert evaluate([r], facts()) == []  # no performance numbers
    assert evaluate([r], perf_facts(math.nan)) == []
    drop_only = rule("performance", metric="accuracy", max_drop=0.05)
    assert evaluate([drop_only], perf_facts(0.5, reference=None)) == []


def test_performance_run_feeds_only_performance_rules() -> None:
    f = replace(perf_facts(0.5), kind="performance", status="insufficient_data")
    rules = [
        *DRIFT_RULES,
        rule("insufficient_data"),
        rule("performance", metric="accuracy", threshold=0.9),
    ]
    assert [(h.rule.name, h.condition) for h in evaluate(rules, f)] == [("performance", True)]


def test_performance_rule_settings_validate() -> None:
    with pytest.raises(ValueError, match="needs a metric"):
        rule("performance", threshold=0.9)
    with pytest.raises(ValueError, match="threshold or max_drop"):
        rule("performance", metric="accuracy")


def test_lower_is_better_metrics() -> None:
    assert [
        m
        for m in ("accuracy", "f1", "LOG_LOSS", "mae", "rmse", "mape", "ece")
        if lower_is_better(m)
    ] == [
        "LOG_LOSS",
        "mae",
        "rmse",
        "mape",
        "ece",
    ]


def test_event_family() -> None:
    assert [
        event_family(c)
        for c in ("feature_drift", "new_category", "insufficient_data", "performance")
    ] == [
        "drift",
        "data_quality",
        "insufficient_data",
        "performance",
    ]


def test_summaries_keep_untrusted_names_on_one_line() -> None:
    name = "evil\nname\x1b[31m" + "x" * 100
    [hit] = evaluate([rule("feature_drift")], facts(feat(name, drifted=True)))
    assert hit.subject == name  # the subject is the real name (hashed into the fingerprint)
    summary = hit.details["summary"]
    assert "\n" not in summary and "\x1b" not in summary and len(summary) < 120


# --- estimated_performance (issue 15) ---


def _estimated(value, lower, upper, metric="accuracy", **kw) -> RunFacts:
    est = {metric: {"value": value, "lower": lower, "upper": upper, "sampling_error": 0.01}}
    return facts(
        kind="performance",
        estimated=est,
        estimator="cbpe",
        reference_performance={"accuracy": 0.8, "mae": 1.0},
        **kw,
    )


def test_estimated_performance_compares_the_estimate_or_the_whole_band() -> None:
    plain = rule("estimated_performance", metric="accuracy", max_drop=0.1)
    outside = rule("estimated_performance", metric="accuracy", max_drop=0.1, band="outside")
    # estimate 0.65 below 0.8 - 0.1, band [0.6, 0.72] reaches above 0.7
    f = _estimated(0.65, 0.6, 0.72)
    (h,) = evaluate([plain], f)
    assert h.condition is True
    assert h.details["summary"] == (
        "estimated accuracy 0.65 [band 0.6, 0.72]: estimate < 0.7 (reference 0.8) on 500 predictions"
    )
    perf = h.details["performance"]
    assert perf["estimated"] is True and perf["method"] == "cbpe"
    assert perf["threshold"] == pytest.approx(0.7) and perf["band"]["upper"] == 0.72
    (o,) = evaluate([outside], f)
    assert o.condition is False and "band >= 0.7" in o.details["summary"]
    (o2,) = evaluate([outside], _estimated(0.62, 0.58, 0.66))
    assert o2.condition is True


def test_estimated_performance_lower_is_better_and_no_verdict_cases() -> None:
    r = rule("estimated_performance", metric="mae", threshold=1.5, band="outside")
    assert evaluate([r], _estimated(1.8, 1.6, 2.0, metric="mae"))[0].condition is True
    assert evaluate([r], _estimated(1.8, 1.4, 2.0, metric="mae"))[0].condition is False
    assert evaluate([r], _estimated(None, None, None, metric="mae")) == []  # undefined
    assert evaluate([r], facts(kind="performance")) == []  # no estimate
    # realised facts do not feed it, estimated facts do not feed a realised rule
    assert evaluate([r], facts(kind="performance", performance={"mae": 9.0})) == []
    realised = rule("performance", metric="mae", threshold=1.5)
    assert evaluate([realised], _estimated(1.8, 1.6, 2.0, metric="mae")) == []


def test_estimated_performance_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="estimated_performance needs a metric"):
        rule("estimated_performance", threshold=0.5)
    with pytest.raises(ValueError, match="needs a threshold or max_drop"):
        rule("estimated_performance", metric="f1")
    with pytest.raises(ValueError, match="band is an option of condition estimated_performance"):
        rule("performance", metric="f1", threshold=0.5, band="outside")
