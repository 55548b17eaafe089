"""The sequential_drift condition (pure): subjects, verdicts and what a hit states; one
window's step on the state (order, ceiling, new reference); its settings."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.drift.sequential import LEARN_QUIET, CusumConfig, CusumState, update
from monitor.errors import ConfigError
from monitor.notify.slack import render
from monitor.rules import RunFacts, evaluate
from monitor.scheduler.sequential import CEILING, advance, config_for, config_key, view
from monitor.settings import MonitorSettings, RuleSettings, parse_settings
from monitor.storage.sequential import SequentialState

T = datetime(2026, 11, 2, tzinfo=UTC)
CONFIG = CusumConfig(720.0, 3, k=1.0, warmup=10, delta=0.02, cap=3.0)


def _facts(seq) -> RunFacts:
    return RunFacts("mon", "m", None, 1, T, T + timedelta(hours=1), "succeeded", sequential=seq)


def _seq(stats: dict[str, float], warming: bool = False, applied: bool = True) -> dict:
    features = {
        n: {"statistic": s, "since": 12, "warmup_seen": 5 if warming else 10,
            "warming_up": warming, "z": 1.5, "restarts": 0}
        for n, s in stats.items()
    }  # fmt: skip
    return {"applied": applied, "bound": 5.0, "warmup": 10, "features": features,
            "expected_delay": {"shift": 2.0, "windows": 3.2}, "expected_run_length": 720.0}  # fmt: skip


def _rule(**kw) -> RuleSettings:
    return RuleSettings(name="seq", condition="sequential_drift", **kw)


def test_dataset_hit_fires_when_any_feature_is_over_the_bound() -> None:
    [hit] = evaluate([_rule()], _facts(_seq({"a": 6.0, "b": 1.0, "c": 5.0})))
    assert hit.subject == "" and hit.condition is True
    seq = hit.details["sequential"]
    assert seq["feature"] == "a" and seq["features_over"] == ["a"]  # 5.0 is not over 5.0
    assert (seq["statistic"], seq["bound"], seq["windows_since_start"]) == (6.0, 5.0, 12)
    assert seq["expected_delay"] == {"shift": 2.0, "windows": 3.2}
    assert hit.details["summary"].startswith("1 of 3 features over the sequential bound")
    assert "CUSUM 6.00 > bound 5.00" in hit.details["summary"]
    [quiet] = evaluate([_rule()], _facts(_seq({"a": 4.0, "b": 1.0})))
    assert quiet.condition is False and "no feature over" in quiet.details["summary"]


def test_per_feature_and_named_feature_subjects() -> None:
    seq = _seq({"a": 6.0, "b": 1.0})
    hits = evaluate([_rule(per_feature=True)], _facts(seq))
    assert [(h.subject, h.condition) for h in hits] == [("a", True), ("b", False)]
    [one] = evaluate([_rule(feature="b")], _facts(seq))
    assert (one.subject, one.condition) == ("b", False)
    assert evaluate([_rule(feature="zzz")], _facts(seq)) == []


def test_no_verdict_without_an_applied_window_and_none_while_warming_up() -> None:
    assert evaluate([_rule()], _facts(None)) == []
    assert evaluate([_rule()], _facts(_seq({"a": 9.0}, applied=False))) == []
    [warm] = evaluate([_rule()], _facts(_seq({"a": 9.0}, warming=True)))
    assert warm.condition is False and "warming up (5 of 10 windows)" in warm.details["summary"]


def test_slack_prints_the_sequential_numbers() -> None:
    [hit] = evaluate([_rule()], _facts(_seq({"a": 6.0})))
    payload = {"event": "drift.detected", "condition": "sequential_drift", "monitor": "mon",
               "summary": hit.details["summary"], "sequential": hit.details["sequential"]}  # fmt: skip
    fallback, blocks = render(payload)
    text = str(blocks)
    assert "Sequential (CUSUM)" in text and "6 vs bound 5" in text
    assert "12 windows since start" in text and "delay ≈ 3.2 windows for 2 sd" in text
    assert "CUSUM 6.00 &gt; bound 5.00" in fallback  # Slack-escaped


def _z(rng, n=3, shift=0.0):
    return {f"f{j}": float(rng.standard_normal() + (shift if j == 0 else 0.0)) for j in range(n)}


def test_advance_matches_the_pure_cusum_and_holds_the_sum_under_the_ceiling() -> None:
    config = CusumConfig(720.0, 3, k=1.0, warmup=30, delta=0.02, cap=3.0)
    ceiling = CEILING * config.bound
    rng = np.random.default_rng(1)
    state, pure = SequentialState("mon"), CusumState()
    acted = False
    for i in range(60):
        z = _z(rng, shift=4.0 if i >= 30 else 0.0)
        state, applied = advance(state, 7, z, T + timedelta(hours=i), i, config)
        pure, _ = update(pure, z, config, "7")
        acted |= any(s > ceiling for s in pure.sums.values())
        pure = replace(pure, sums={n: min(s, ceiling) for n, s in pure.sums.items()})
        assert applied
        sums = {n: pure.sums.get(n, 0.0) for n in state.features}  # absent: still warming up
        assert {n: f.statistic for n, f in state.features.items()} == pytest.approx(sums)
    assert state.windows == 60 and state.features["f0"].since == 60
    assert acted and state.features["f0"].statistic == pytest.approx(ceiling)
    assert max(state.features[n].statistic for n in ("f1", "f2")) < config.bound


def test_advance_refuses_older_windows_and_restarts_on_a_new_reference() -> None:
    rng = np.random.default_rng(2)
    state = SequentialState("mon")
    for i in range(12):
        state, _ = advance(state, 7, _z(rng), T + timedelta(hours=i), i, CONFIG)
    again, applied = advance(state, 7, _z(rng), T + timedelta(hours=11), 99, CONFIG)
    assert not applied and again is state
    older, applied = advance(state, 7, _z(rng), T + timedelta(hours=3), 98, CONFIG)
    assert not applied and older is state
    fresh, applied = advance(state, 8, _z(rng), T + timedelta(hours=3), 97, CONFIG)
    assert applied and fresh.reference_id == 8 and fresh.windows == 1
    assert {(f.statistic, f.since, f.warm_n) for f in fresh.features.values()} == {(0.0, 1, 1)}
    longer = CusumConfig(720.0, 3, k=1.0, warmup=20, delta=0.02, cap=3.0)
    changed, applied = advance(state, 7, _z(rng), T + timedelta(hours=12), 96, longer)
    assert applied and changed.windows == 1  # other settings: the sums restart too
    assert changed.config != state.config


def test_a_nan_score_leaves_the_feature_as_it_was() -> None:
    rng = np.random.default_rng(3)
    state = SequentialState("mon")
    for i in range(12):
        state, _ = advance(state, 7, _z(rng), T + timedelta(hours=i), i, CONFIG)
    z = {**_z(rng), "f1": math.nan}
    after, _ = advance(state, 7, z, T + timedelta(hours=12), 12, CONFIG)
    assert after.features["f1"] == state.features["f1"]
    assert after.features["f0"].since == state.features["f0"].since + 1
    v = view(after, True, z, CONFIG, 2.0)
    assert v["features"]["f1"]["z"] is None and v["bound"] == CONFIG.bound
    assert v["expected_delay"]["windows"] == pytest.approx(CONFIG.expected_delay(2.0))


def test_settings_defaults_and_errors() -> None:
    m = MonitorSettings(name="a", model="m")
    s = m.alarm.sequential
    assert (s.k, s.warmup, s.cap, s.shift, m.alarm.delta) == (1.0, 96, 3.0, 2.0, 0.02)
    # no delta: the budget on average (bench/RESULTS.md, s23-budget); learning: alarms run 3
    assert (s.learn, s.delta) == (True, None)
    config = config_for(m, 4)
    assert (config.learn, config.delta, config.k, config.warmup, config.cap) == (
        True, None, 1.0, 96, 3.0
    )  # fmt: skip
    for bad in ({"cap": 0.5}, {"delta": 0.5}, {"delta": 0}):
        doc = {"monitors": [{"name": "a", "model": "m", "alarm": {"sequential": bad}}]}
        with pytest.raises(ConfigError, match=next(iter(bad))):
            parse_settings(doc)
    rule = {"name": "s", "condition": "sequential_drift", "threshold": 3}
    with pytest.raises(ConfigError, match="expected_run_length"):
        parse_settings({"monitors": [{"name": "a", "model": "m", "rules": [rule]}]})
    rule = {"name": "s", "condition": "feature_drift", "per_feature": True}
    with pytest.raises(ConfigError, match="per_feature"):
        parse_settings({"monitors": [{"name": "a", "model": "m", "rules": [rule]}]})


def test_the_monitors_cusum_keeps_learning_after_the_warm_up() -> None:
    monitor = MonitorSettings(name="a", model="m", alarm={"sequential": {"warmup": 10}})
    config = config_for(monitor, 3)
    rng = np.random.default_rng(4)
    state, pure = SequentialState("mon"), CusumState()
    for i in range(30):
        z = _z(rng)
        state, _ = advance(state, 7, z, T + timedelta(hours=i), i, config)
        pure, _ = update(pure, z, config, "7")
    # healthy windows after the warm-up: those after LEARN_QUIET zero sums in a row learned
    for name, f in state.features.items():
        n, mean, m2 = pure.baseline[name]
        assert (f.warm_n, f.warm_mean, f.warm_m2) == (n, mean, m2)
        assert f.quiet == pure.quiet.get(name, 0)
    f0 = state.features["f0"]
    assert 10 < f0.warm_n <= 30 - LEARN_QUIET
    v = view(state, True, z, config, 2.0)
    assert (v["learn"], v["delta"]) == (True, None)
    assert v["features"]["f0"]["learned"] == f0.warm_n - 10
    assert v["features"]["f0"]["warmup_seen"] == 10 and not v["features"]["f0"]["warming_up"]
    [hit] = evaluate([_rule()], _facts(v))
    entry = hit.details["sequential"]
    assert (entry["learn"], entry["delta"], entry["k"], entry["cap"]) == (True, None, 1.0, 3.0)
    assert entry["learned_windows"] == state.features[entry["feature"]].warm_n - 10
    frozen = MonitorSettings(
        name="a", model="m", alarm={"sequential": {"warmup": 10, "learn": False}}
    )
    assert config_key(config_for(frozen, 3)) != config_key(config)  # learn off: a restart
    after, applied = advance(state, 7, z, T + timedelta(hours=30), 30, config_for(frozen, 3))
    assert applied and after.windows == 1
    assert {(f.warm_n, f.quiet) for f in after.features.values()} == {(1, 0)}


def test_learning_follows_a_slow_healthy_drift_the_frozen_cusum_alarms_on() -> None:
    """The healthy mean of z creeps up by 1.5 sd of the warm-up over 400 windows: the frozen
    warm-up takes it for drift, the learning CUSUM follows it (a reference draw's offset that
    the warm-up measured with error, seen as the estimate improves)."""
    rng = np.random.default_rng(5)
    alarms = {}
    for learn in (False, True):
        monitor = MonitorSettings(
            name="a", model="m", alarm={"sequential": {"warmup": 20, "learn": learn}}
        )
        config = config_for(monitor, 1)
        state, fired = SequentialState("mon"), 0
        for i in range(420):
            z = {"f0": float(rng.standard_normal() + 1.5 * max(0, i - 20) / 400)}
            state, _ = advance(state, 7, z, T + timedelta(hours=i), i, config)
            fired += state.features["f0"].statistic > config.bound
        alarms[learn] = fired
    assert alarms[False] > 20 and alarms[True] < alarms[False] / 4, alarms
