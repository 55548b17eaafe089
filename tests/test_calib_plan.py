"""The calibration plan read from a monitor's settings, including the settings other
branches add (threshold `auto`, `drift.correction`, a `sequential_drift` rule), read with
defaults so that the plan works before and after they exist."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine

from monitor.calibrate import plan_for
from monitor.drift.simulate import simulate
from monitor.settings import MonitorSettings, RuleSettings


def _frame() -> pd.DataFrame:
    frame = load_wine(as_frame=True).frame
    frame["target"] = np.array(["a", "b", "c"])[frame["target"]]
    return frame[["alcohol", "malic_acid", "magnesium", "target"]]


def _monitor(**extra) -> MonitorSettings:
    return MonitorSettings.model_validate(
        {
            "name": "wine",
            "model": "w",
            "window": {"size": "2h", "bucket": "5m"},
            "rules": [
                {"name": "data", "condition": "dataset_drift"},
                {"name": "feat", "condition": "feature_drift", "for": 2},
                {"name": "nulls", "condition": "missing_share", "threshold": 0.2},
            ],
            **extra,
        }
    )


def test_plan_follows_the_engine_choices_and_the_budget():
    psi = {"per_feature": {"magnesium": {"method": "psi", "threshold": 0.3}}}
    # the default threshold is auto: the scheduler's `DriftSettings.auto_method` decides
    by = {f.name: f for f in plan_for(_monitor(drift=psi), _frame(), None, 120).features}
    assert (by["alcohol"].method, by["target"].method) == ("wasserstein_normed", "jensenshannon")
    assert by["alcohol"].auto and by["target"].auto and by["alcohol"].threshold is None
    assert (by["magnesium"].method, by["magnesium"].threshold) == ("psi", 0.3)
    assert not by["magnesium"].auto  # a number set for the feature wins
    # a fixed monitor threshold: the engine's size- and kind-aware choice
    m = _monitor(drift={**psi, "threshold": 0.05})
    plan = plan_for(m, _frame(), None, 120)
    by = {f.name: f for f in plan.features}
    assert (by["alcohol"].method, by["target"].method) == ("ks", "chisquare")  # small windows
    assert (by["magnesium"].method, by["magnesium"].threshold) == ("psi", 0.3)
    assert by["target"].kind == "categorical" and not any(f.auto for f in plan.features)
    assert plan.budget_runs == 1080 and plan.run_every_s == 7200  # 90 days of 2-hour runs
    assert [r.for_runs for r in plan.rules] == [1, 2, 1]
    assert plan.correction == "holm"  # the default since auto thresholds (issue 14)
    # the engine's rule looks at the smaller side: a 178-row reference keeps the tests
    big = {f.name: f.method for f in plan_for(m, _frame(), None, 5000).features}
    assert (big["alcohol"], big["target"]) == ("ks", "chisquare")
    tall = pd.concat([_frame()] * 10, ignore_index=True)
    big = {f.name: f.method for f in plan_for(m, tall, None, 5000).features}
    assert (big["alcohol"], big["target"]) == ("wasserstein_normed", "jensenshannon")


def test_auto_thresholds_correction_and_sequential_rules_are_read_when_present():
    m = _monitor(alarm={"expected_run_length": timedelta(days=60)})
    drift = m.drift.model_copy(update={"threshold": "auto", "correction": "holm"})
    seq = RuleSettings.model_construct(
        name="seq", condition="sequential_drift", threshold=None, feature=None, for_runs=1
    )
    m = m.model_copy(update={"drift": drift, "rules": [*m.rules, seq]})
    plan = plan_for(m, _frame(), None, 60)
    assert all(f.auto and f.threshold is None for f in plan.features)
    by = {f.name: f.method for f in plan.features}
    assert (by["alcohol"], by["target"]) == ("wasserstein_normed", "jensenshannon")
    assert plan.correction == "holm" and plan.budget_runs == 720
    assert plan.rules[-1].condition == "sequential_drift"
    out = simulate(_frame(), plan, windows=600, seed=1)
    rules = {r["name"]: r for r in out["rules"]}
    assert rules["seq"]["bound"] > 0 and rules["seq"]["warmup"] == 96
    assert "not simulated" in rules["nulls"]["note"]
    # auto thresholds as the scheduler sets them (auto_verdict.auto_level): near the budget
    assert rules["feat"]["per_30d"] < 5 * out["budget"]["per_30d"]
    assert rules["data"]["per_30d"] < 5 * out["budget"]["per_30d"]
    assert all(f["auto"] and f["threshold"] > 0 for f in out["features"])
