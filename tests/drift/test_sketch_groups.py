"""Grouped sketches (ingestion's per-bucket deltas) equal `sketch()` on each group."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from monitor.drift.sketch import (
    categorical_spec,
    fit_numeric,
    from_bytes,
    merge_all,
    pack_counts,
    sketch,
    to_bytes,
)
from monitor.drift.sketch_groups import group_blobs, sketch_groups


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


def test_group_blobs_equal_to_bytes_at_ingestion_sizes() -> None:
    """A poll's worth (5,000 values over 34 buckets, a 1,000-bin spec, counts up to a few
    hundred): the blobs built from counts are `to_bytes` of each bucket's sketch, byte for
    byte, in 1- and 2-byte count widths."""
    rng = np.random.default_rng(9)
    num, _ = fit_numeric(rng.normal(0, 1, 20_000))
    cat = categorical_spec(pd.Series(rng.choice(list("abcdefgh"), 5000)), top_k=5)
    groups = np.sort(rng.integers(0, 34, 5000))
    groups[groups == 7] = 0  # an empty bucket
    groups[-300:] = 33
    numbers = rng.normal(0.1, 1.2, 5000).tolist()
    numbers[::50] = [None] * len(numbers[::50])
    numbers[-300:] = [0.5] * 300  # one bucket with a count above 255 (2-byte counts)
    words = rng.choice(list("abcdefghij"), 5000).astype(object).tolist()
    words[::40] = [None] * len(words[::40])
    for spec, values in ((num, numbers), (cat, words)):
        blobs = group_blobs(spec, values, groups, 34)
        assert blobs is not None
        column = pd.Series(values, dtype=object)
        expected = [to_bytes(s) for s in sketch_groups(spec, column, groups, 34)]
        assert blobs == expected
        assert {b[6] for b in blobs} == ({1, 2} if spec is num else {1})  # count widths


def test_blobs_packed_with_zlibs_default_strategy_still_read() -> None:
    """Stored sketches written before counts were packed run-length only (`pack_counts`)."""
    spec, _ = fit_numeric(np.random.default_rng(2).normal(0, 1, 5000))
    s = sketch(spec, np.random.default_rng(3).normal(0, 1, 400))
    now = to_bytes(s)
    head = len(now) - len(pack_counts(s.counts.astype("<u1").tobytes()))
    old = now[:head] + zlib.compress(s.counts.astype("<u1").tobytes(), 6)
    assert old != now
    back = from_bytes(old)
    assert np.array_equal(back.counts, s.counts) and back.missing == s.missing
