"""The sequential rule's warm-up on sliding windows (issue 14, s23-warmup): the default
counts the default's 96 RUNS (ceil(96 / n) judged windows, at least SLIDING_WARMUP_MIN),
not 96 judged windows (96 days on a 24 h / 1 h monitor); an explicit `warmup` counts judged
windows as set; the short warm-up's bound is the warm-up's guaranteed one (`bound_for:
warmup`), stated in payloads; tumbling monitors are unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.calibrate import plan_for, sequential_config
from monitor.drift.alarm_guarantee import average_bound, guaranteed_bound
from monitor.drift.sequential import FALLBACK_DELTA
from monitor.rules import RunFacts, evaluate
from monitor.scheduler.sequential import advance, view
from monitor.settings import RuleSettings, parse_settings
from monitor.settings.alarm import SLIDING_WARMUP_MIN
from monitor.storage.sequential import SequentialState

SLIDING = {"kind": "sliding", "size": "24h", "step": "1h", "bucket": "1h"}
RHO = 504 / (504 + 3000)  # a 504-row window next to a 3,000-row reference
T = datetime(2026, 11, 2, tzinfo=UTC)


def _monitor(window: dict, sequential: dict | None = None):
    mon = {
        "name": "mon", "model": "m", "reference": "/tmp/ref.parquet", "window": window,
        "rules": [{"name": "seq", "condition": "sequential_drift"},
                  {"name": "ds", "condition": "dataset_drift"}],
    }  # fmt: skip
    if sequential is not None:
        mon["alarm"] = {"sequential": sequential}
    doc = {"database": {"url": "postgresql+psycopg://u:p@127.0.0.1:5432/x"}, "monitors": [mon]}
    return parse_settings(doc).monitors[0]


def test_sliding_default_warmup_counts_the_default_in_runs_with_a_floor() -> None:
    cfg = sequential_config(_monitor(SLIDING), 10, RHO)
    assert cfg.judged_every == 24
    assert cfg.warmup == SLIDING_WARMUP_MIN == 20  # ceil(96 / 24) = 4, floored: 20 days
    six = sequential_config(_monitor({**SLIDING, "size": "6h"}), 10, RHO)
    assert (six.judged_every, six.warmup) == (6, 20)  # ceil(96 / 6) = 16, floored
    two = sequential_config(_monitor({**SLIDING, "size": "2h"}), 10, RHO)
    assert (two.judged_every, two.warmup) == (2, 48)  # ceil(96 / 2) = 48 judged windows


def test_the_simulation_plan_uses_the_same_warmup() -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": np.arange(200.0), "b": np.arange(200.0) % 7})
    plan = plan_for(_monitor(SLIDING), frame, None, 50)
    assert plan.judged_every == 24 and plan.sequential.warmup == 20


def test_short_sliding_warmup_uses_the_warmups_guaranteed_bound_and_says_so() -> None:
    cfg = sequential_config(_monitor(SLIDING), 10, RHO)
    assert cfg.bound_for == "warmup"
    expected = guaranteed_bound(cfg.arl0, cfg.k, 20, FALLBACK_DELTA, 10)
    assert cfg.bound == pytest.approx(expected)
    # conservative next to the average bound a 96-window warm-up gets
    assert cfg.bound > average_bound(cfg.arl0, cfg.k, cfg.cap, 10)
    # the payload states it
    rng = np.random.default_rng(3)
    state = SequentialState("mon")
    for i in range(25):
        z = {f"f{j}": float(rng.standard_normal()) for j in range(10)}
        state, _ = advance(state, 7, z, T + timedelta(days=i), i, cfg)
    v = view(state, True, z, cfg, 2.0)
    assert (v["warmup"], v["bound_for"]) == (20, "warmup")
    assert not v["features"]["f0"]["warming_up"]
    v["features"]["f0"]["statistic"] = v["bound"] + 1.0  # a crossing: the payload's entry
    facts = RunFacts("mon", "m", None, 1, T, T + timedelta(hours=1), "succeeded", sequential=v)
    [hit] = evaluate([RuleSettings(name="seq", condition="sequential_drift")], facts)
    entry = hit.details["sequential"]
    assert (entry["warmup"], entry["bound_for"]) == (20, "warmup")


@pytest.mark.parametrize("warmup", [12, 96, 150])
def test_an_explicit_warmup_counts_judged_windows_as_set(warmup: int) -> None:
    cfg = sequential_config(_monitor(SLIDING, {"warmup": warmup}), 10, RHO)
    assert (cfg.judged_every, cfg.warmup) == (24, warmup)
    plan_seq = _monitor(SLIDING, {"warmup": warmup}).alarm.sequential
    assert plan_seq.judged_warmup(24) == warmup


def test_tumbling_monitors_keep_the_96_window_warmup_and_average_bound() -> None:
    cfg = sequential_config(_monitor({"size": "1h", "bucket": "1h"}), 10, RHO)
    assert (cfg.judged_every, cfg.warmup, cfg.bound_for) == (1, 96, "average")
    count = sequential_config(_monitor({"events": 500}), 10, RHO)
    assert (count.judged_every, count.warmup) == (1, 96)
