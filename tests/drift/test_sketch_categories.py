"""Categorical statistics from sketches against the exact engine when the "other" bucket
pools several categories: many new categories, or a reference with more than top-K.

The chi-square statistic, TVD and Hellinger do not change when categories absent from the
reference are pooled (each such column adds a term linear in its count); the chi-square
p-value does (fewer degrees of freedom), and so do the floored PSI/KL/JS. Where the sketch
cannot equal the exact engine, its result says so and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.drift.categorical import CategoricalReference, categorical_stats
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.sketch import categorical_spec, sketch
from monitor.drift.sketch_report import sketch_feature
from monitor.drift.sketch_stats import categorical_sketch_stats
from monitor.reports.summary import summary_html

WANTED = frozenset({"chisquare", "psi", "jensenshannon", "hellinger", "kl", "tvd"})
POOLING_INVARIANT = ("tvd", "hellinger")


def _values(counts: dict[str, int]) -> pd.Series:
    return pd.Series([name for name, n in counts.items() for _ in range(n)], dtype=object)


def _both(ref: dict[str, int], cur: dict[str, int], top_k: int = 100, **kw):
    rv, cv = _values(ref), _values(cur)
    spec = categorical_spec(rv, top_k=top_k)
    sk = categorical_sketch_stats(spec, sketch(spec, rv), sketch(spec, cv), WANTED, **kw)
    exact, *_ = categorical_stats(CategoricalReference.fit(rv)[0], cv, WANTED)
    return sk, exact


@settings(max_examples=60, deadline=None)
@given(
    ref=st.lists(st.integers(5, 400), min_size=1, max_size=6),
    known=st.lists(st.integers(0, 300), min_size=6, max_size=6),
    new=st.lists(st.integers(1, 200), min_size=2, max_size=40),
)
def test_many_new_categories_sketch_vs_exact_engine(ref, known, new) -> None:
    ref_counts = {f"r{i}": n for i, n in enumerate(ref)}
    cur_counts = {f"r{i}": known[i] for i in range(len(ref)) if known[i]}
    cur_counts |= {f"new{j}": n for j, n in enumerate(new)}
    sk, exact = _both(ref_counts, cur_counts)

    # exact whatever the pooling: the chi-square statistic, TVD, Hellinger
    assert sk["chisquare"]["statistic"] == pytest.approx(exact["chisquare"]["statistic"], rel=1e-9)
    for name in POOLING_INVARIANT:
        assert sk[name] == pytest.approx(exact[name], rel=1e-9, abs=1e-12)
    # the p-value is not (fewer degrees of freedom): the result says so
    approx = sk["approximate"]
    assert "chisquare" in approx["methods"] and "psi" in approx["methods"]
    assert not set(POOLING_INVARIANT) & set(approx["methods"])
    assert f"{len(new)} new categories" not in approx["reason"]  # the sketch cannot know
    assert "new categories share one 'other' bucket" in approx["reason"]

    # the exact p-value lies between the pooled one and the bound for all-distinct values
    chi = sk["chisquare"]
    assert chi["p_value"] <= exact["chisquare"]["p_value"] * (1 + 1e-9) + 1e-300
    assert exact["chisquare"]["p_value"] <= chi["p_value_upper"] * (1 + 1e-9) + 1e-300

    # told how many distinct new categories there are, the p-value is exact
    told, _ = _both(ref_counts, cur_counts, new_category_count=len(new))
    assert told["chisquare"]["p_value"] == pytest.approx(
        exact["chisquare"]["p_value"], rel=1e-6, abs=1e-300
    )
    assert "chisquare" not in told["approximate"]["methods"]
    assert "p_value_upper" not in told["chisquare"]


def test_the_issue_numbers() -> None:
    """Two new categories: 3.57e-22 pooled (2 dof) vs 1.98e-21 exact (3 dof) on one table."""
    ref = {"a": 500, "b": 500}
    cur = {"a": 450, "b": 450, "x": 30, "y": 25}
    sk, exact = _both(ref, cur)
    assert sk["chisquare"]["statistic"] == pytest.approx(exact["chisquare"]["statistic"])
    assert sk["chisquare"]["p_value"] < exact["chisquare"]["p_value"] / 2
    assert sk["approximate"]["methods"] == ["chisquare", "jensenshannon", "kl", "psi"]


def test_no_or_one_known_new_category_is_exact_and_not_marked() -> None:
    sk, exact = _both({"a": 500, "b": 400}, {"a": 300, "b": 500})
    assert "approximate" not in sk
    assert sk["chisquare"] == pytest.approx(exact["chisquare"], rel=1e-12)
    # one new value: the sketch alone cannot tell one from several, so it says so ...
    unknown, _ = _both({"a": 500, "b": 400}, {"a": 300, "b": 500, "x": 40})
    assert "sketches do not say how many distinct" in unknown["approximate"]["reason"]
    # ... and is exact when told
    sk, exact = _both({"a": 500, "b": 400}, {"a": 300, "b": 500, "x": 40}, new_category_count=1)
    assert "approximate" not in sk
    for name in ("psi", "jensenshannon", "hellinger", "kl", "tvd"):
        assert sk[name] == pytest.approx(exact[name], rel=1e-12)
    assert sk["chisquare"]["p_value"] == pytest.approx(exact["chisquare"]["p_value"], rel=1e-9)


def test_reference_beyond_top_k_is_marked_approximate() -> None:
    ref = {f"r{i}": 50 + i for i in range(8)}
    cur = {f"r{i}": 50 + (7 - i) * 3 for i in range(8)}
    sk, exact = _both(ref, cur, top_k=3)
    approx = sk["approximate"]
    assert "reference has more than 3 categories" in approx["reason"]
    assert approx["methods"] == ["chisquare", "hellinger", "jensenshannon", "kl", "psi", "tvd"]
    assert sk["chisquare"]["p_value"] != pytest.approx(exact["chisquare"]["p_value"])


def test_feature_result_and_report_carry_the_reason() -> None:
    rv = _values({"a": 500, "b": 500})
    cv = _values({"a": 450, "b": 450, "x": 30, "y": 25})
    spec = categorical_spec(rv)
    opts = DriftOptions(per_feature={"plan": FeatureOptions(method="chisquare")})
    f = sketch_feature("plan", spec, sketch(spec, rv), sketch(spec, cv), opts)
    assert f.quality["approximate_from_sketch"] == ["chisquare", "jensenshannon", "kl", "psi"]
    reason = f.quality["approximate_reason"]
    assert "new categories share one 'other' bucket" in reason
    assert f.to_dict()["quality"]["approximate_reason"] == reason  # stored and served as is
    upper = f.stats["chisquare"]["p_value_upper"]  # if all 55 new values were distinct
    assert f.drifted and f.quality["sketch_undecided"] is (upper >= 0.05)

    from monitor.drift.engine import summarize

    html = summary_html(summarize((f,), 1000, 955, 0.5))
    assert "approximate p-value" in html and "share one &#x27;other&#x27; bucket" in html


def test_a_verdict_the_pooling_could_flip_is_marked_undecided() -> None:
    rv = _values({"a": 5000, "b": 5000})
    cv = _values({"a": 4940, "b": 4940} | {f"n{i}": 2 for i in range(8)})
    spec = categorical_spec(rv)
    opts = DriftOptions(per_feature={"plan": FeatureOptions(method="chisquare")})
    f = sketch_feature("plan", spec, sketch(spec, rv), sketch(spec, cv), opts)
    assert f.drifted and f.p_value < 0.05 < f.stats["chisquare"]["p_value_upper"]
    assert f.quality["sketch_undecided"] is True


def test_an_approximate_distance_not_chosen_leaves_the_verdict_unmarked() -> None:
    """A TVD verdict does not depend on the pooling: the report shows no note."""
    rv = _values({"a": 500, "b": 500})
    cv = _values({"a": 450, "b": 450, "x": 30, "y": 25})
    spec = categorical_spec(rv)
    opts = DriftOptions(per_feature={"plan": FeatureOptions(method="tvd")})
    f = sketch_feature("plan", spec, sketch(spec, rv), sketch(spec, cv), opts)
    from monitor.drift.engine import summarize

    assert "approximate" not in summary_html(summarize((f,), 1000, 955, 0.5))
    assert np.isfinite(f.statistic)
