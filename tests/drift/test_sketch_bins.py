"""Table-driven numeric binning equals `np.searchsorted(edges, x, "left")` bin for bin; delta
counts packed at a small zlib memory level equal `pack_counts` byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.drift import sketch_groups as sketch_groups_module
from monitor.drift.sketch import NumericSpec, fit_numeric, pack_counts, sketch, to_bytes
from monitor.drift.sketch_bins import MIN_VALUES, bin_table, cached_table, search_bins
from monitor.drift.sketch_groups import SMALL_PAYLOAD, group_blobs, pack_small, sketch_groups
from monitor.drift.sketch_report import fit_reference
from monitor.events import parse_prediction
from monitor.ingest.producer import SampleSpec, generate, training_frame


def _same_as_search(edges: np.ndarray, x: np.ndarray) -> None:
    x = np.asarray(x, dtype=np.float64)
    table = bin_table(edges)
    assert table is not None
    want = np.searchsorted(edges, x, "left")
    assert np.array_equal(search_bins(edges, x, table), want)


def _around(edges: np.ndarray) -> np.ndarray:
    """Every edge, its float neighbours, the cell starts' neighbours and far values."""
    near = np.concatenate(
        [
            edges,
            np.nextafter(edges, -np.inf),
            np.nextafter(edges, np.inf),
            (edges[:-1] + edges[1:]) / 2,
        ]
    )
    table = bin_table(edges)
    assert table is not None
    starts = table.lo + np.arange(len(table.first)) / table.scale
    far = [-1.7e308, 1.7e308, edges[0] - 1, edges[-1] + 1, 0.0, -0.0, 5e-324, -5e-324]
    return np.concatenate(
        [near, starts, np.nextafter(starts, -np.inf), np.nextafter(starts, np.inf), far]
    )


def test_real_specs_and_events_bin_as_searchsorted() -> None:
    frame = training_frame(20_000).drop(columns=["label"])
    specs, _ = fit_reference(frame, {})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        parse_prediction(m.value, max_bytes=1 << 20)
        for m in generate(SampleSpec(count=6000, seed=3, step_s=2.0, start=start))
        if m.topic_kind == "predictions"
    ]
    numeric = {k: s for k, s in specs.items() if isinstance(s, NumericSpec)}
    assert len(numeric) >= 15
    for name, spec in numeric.items():
        values = [e.features.get(name) for e in events]
        x = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        _same_as_search(spec.edges, x[np.isfinite(x)])
        _same_as_search(spec.edges, _around(spec.edges))
        _same_as_search(spec.edges, frame[name].to_numpy(dtype=np.float64))


def test_edges_ties_and_far_values() -> None:
    rng = np.random.default_rng(5)
    tied = np.sort(np.concatenate([rng.integers(0, 20, 300).astype(float), [3.0] * 50]))
    for edges in (
        tied,
        np.array([0.0, 1.0]),
        np.array([-1e300, 0.0, 1e300]),
        np.array([1.0, 1.0, 1.0, 2.0]),
        np.sort(rng.lognormal(0, 3, 900)),
    ):
        _same_as_search(edges, _around(edges))
        _same_as_search(edges, rng.choice(edges, 5000))  # values equal to edges
        _same_as_search(edges, rng.normal(edges.mean(), edges.std() + 1, 5000))


def test_no_table_when_it_cannot_help() -> None:
    assert bin_table(np.array([1.0])) is None
    assert bin_table(np.array([2.0, 2.0])) is None  # no span
    assert bin_table(np.array([0.0, np.inf])) is None
    assert bin_table(np.array([0.0, np.nan, 1.0])) is None
    assert bin_table(np.array([1.0, 0.0])) is None  # unsorted
    assert bin_table(np.array([-1.7e308, 1.7e308])) is None  # span overflows
    x = np.array([0.5, 1.0, 3.0])
    assert np.array_equal(search_bins(np.array([1.0, 2.0]), x, None), [0, 0, 2])


def test_table_cached_by_spec_id() -> None:
    spec, _ = fit_numeric(np.random.default_rng(1).normal(size=2000))
    first = cached_table(spec.spec_id, spec.edges)
    assert first is not None and cached_table(spec.spec_id, spec.edges) is first


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=60),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=MIN_VALUES, max_size=300),
)
def test_any_finite_values(edges: list[float], values: list[float]) -> None:
    e = np.sort(np.array(edges))
    table = bin_table(e)
    x = np.concatenate([np.array(values), e])
    assert np.array_equal(search_bins(e, x, table), np.searchsorted(e, x, "left"))


def test_blobs_with_nan_inf_and_edges_as_with_searchsorted(monkeypatch) -> None:
    """Delta bytes with the table equal those of the plain binary search (the code before),
    and `to_bytes` of the grouped sketches; counts equal `sketch()` of each group."""
    rng = np.random.default_rng(8)
    spec, _ = fit_numeric(rng.normal(size=5000).round(1))
    values = rng.choice(np.concatenate([spec.edges, rng.normal(size=50)]), 4000).tolist()
    for i in range(0, 4000, 37):
        values[i] = [None, float("nan"), float("inf"), float("-inf")][i % 4]
    groups = rng.integers(0, 5, 4000)
    blobs = group_blobs(spec, values, groups, 5)
    series = pd.Series(values, dtype=object)
    grouped = sketch_groups(spec, series, groups, 5)
    assert blobs == [to_bytes(s) for s in grouped]
    for g in range(5):
        one = sketch(spec, series[groups == g].reset_index(drop=True))
        assert np.array_equal(grouped[g].counts, one.counts)
        assert (grouped[g].missing, grouped[g].infinite) == (one.missing, one.infinite)
    monkeypatch.setattr(sketch_groups_module, "search_bins", lambda e, x, t: np.searchsorted(e, x))
    assert group_blobs(spec, values, groups, 5) == blobs


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 300), max_size=1004),
    st.sampled_from([1, 2]),
    st.integers(0, 60),
)
def test_small_packing_equals_pack_counts(counts: list[int], width: int, zeros: int) -> None:
    """Delta payloads (sparse counts, runs of zeros, 1- and 2-byte widths) and any bytes up
    to the size limit pack to the same bytes as `pack_counts` (memory level 8)."""
    payload = (np.array(counts + [0] * zeros) % (1 << 8 * width)).astype(f"<u{width}").tobytes()
    payload = payload[:SMALL_PAYLOAD]
    assert pack_small(payload) == pack_counts(payload)


def test_small_packing_at_every_size_and_beyond() -> None:
    rng = np.random.default_rng(11)
    sparse = rng.poisson(0.3, 3000).astype("<u1").tobytes()
    noise = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    for size in [*range(0, 64), *range(64, 2400, 7), SMALL_PAYLOAD, SMALL_PAYLOAD + 1, 3000]:
        for data in (sparse[:size], noise[:size], bytes(size)):
            assert pack_small(data) == pack_counts(data)


def test_all_zero_rows_packed_once_equal_to_bytes() -> None:
    """A column the events lack (all None) and empty groups: every row's counts are zero,
    packed once per call; still `to_bytes` of each group's sketch."""
    rng = np.random.default_rng(12)
    spec, _ = fit_numeric(rng.normal(size=3000))
    groups = rng.integers(0, 6, 2000)
    groups[groups == 2] = 1
    values = [None] * 2000
    blobs = group_blobs(spec, values, groups, 6)
    series = pd.Series(values, dtype=object)
    assert blobs == [to_bytes(s) for s in sketch_groups(spec, series, groups, 6)]
    mixed = rng.normal(size=2000).tolist()
    blobs = group_blobs(spec, mixed, groups, 6)
    assert blobs == [to_bytes(s) for s in sketch_groups(spec, pd.Series(mixed), groups, 6)]


def test_small_packing_checks_itself_against_the_linked_zlib(monkeypatch) -> None:
    """At import the fast path is proved on probe payloads (here: on); a zlib that packs
    them differently (simulated by a memory level whose blocks split) turns it off."""
    assert sketch_groups_module._SMALL_SAME
    probes = sketch_groups_module._probe_payloads()
    monkeypatch.setattr(sketch_groups_module, "_SMALL_MEM_LEVEL", 1)
    assert not all(sketch_groups_module._pack_small(p) == pack_counts(p) for p in probes)
    monkeypatch.setattr(sketch_groups_module, "_SMALL_SAME", False)
    assert pack_small(probes[-1]) == pack_counts(probes[-1])
