"""Grouped sketches (ingestion's per-bucket deltas) equal `sketch()` on each group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor.drift.sketch import categorical_spec, fit_numeric, merge_all, sketch
from monitor.drift.sketch_groups import sketch_groups


def _same(a, b) -> None:
    assert type(a) is type(b) and a.spec_id == b.spec_id
    assert np.array_equal(a.counts, b.counts) and a.missing == b.missing
    if hasattr(a, "infinite"):
        assert a.infinite == b.infinite and a.min == b.min and a.max == b.max
        assert a.sum == pytest.approx(b.sum, rel=1e-9, abs=1e-9)
        assert a.sumsq == pytest.approx(b.sumsq, rel=1e-9, abs=1e-9)


def test_numeric_groups_match_per_group_sketches() -> None:
    rng = np.random.default_rng(3)
    spec, _ = fit_numeric(rng.lognormal(0, 1, 5000))
    values = rng.lognormal(0.2, 1.1, 3000).astype(object)
    values[::97] = None
    values[::131] = np.inf
    values[::151] = -np.inf
    values[::173] = np.nan
    groups = rng.integers(0, 7, 3000)
    groups[groups == 5] = 4  # group 5 stays empty
    got = sketch_groups(spec, pd.Series(values), groups, 7)
    for g in range(7):
        _same(got[g], sketch(spec, pd.Series(values[groups == g])))
    assert got[5].count == 0 and got[5].min == np.inf
    _same(merge_all(got), sketch(spec, pd.Series(values)))


def test_categorical_groups_match_per_group_sketches() -> None:
    rng = np.random.default_rng(4)
    spec = categorical_spec(pd.Series(rng.choice(["a", "b", "c", "ünï", "<x>"], 2000)), top_k=3)
    values = rng.choice(["a", "b", "c", "ünï", "<x>", "new"], 1500).astype(object)
    values[::11] = None
    values[::13] = np.nan
    values[::17] = True
    values[::19] = 1
    groups = rng.integers(0, 4, 1500)
    got = sketch_groups(spec, pd.Series(values, dtype=object), groups, 4)
    for g in range(4):
        _same(got[g], sketch(spec, pd.Series(values[groups == g], dtype=object)))
