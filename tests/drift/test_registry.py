"""The method table, the verdict rule, the default-method rule and option validation."""

import math

import pytest
from pydantic import ValidationError

from monitor.drift.defaults import default_method
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.registry import METHODS, decide, get_method
from monitor.errors import DriftError
from monitor.settings import DriftSettings


def test_unknown_method_lists_the_valid_names():
    with pytest.raises(DriftError) as err:
        get_method("wasserstein")
    for name in METHODS:
        assert name in str(err.value)


def test_method_of_the_wrong_kind_lists_the_valid_ones_for_that_kind():
    with pytest.raises(DriftError, match="valid for categorical: chisquare"):
        get_method("ks", "categorical")


def test_table_is_consistent():
    for name, m in METHODS.items():
        assert m.name == name and m.kinds and m.default_threshold > 0
        assert m.verdict in {"p_value", "distance"}


@pytest.mark.parametrize(
    ("method", "statistic", "p_value", "threshold", "drifted"),
    [
        ("ks", 0.3, 0.049, None, True),
        ("ks", 0.3, 0.05, None, False),  # p < threshold, strictly
        ("ks", 0.3, 0.2, 0.25, True),
        ("psi", 0.1, None, None, True),  # statistic >= threshold
        ("psi", 0.0999, None, None, False),
        ("wasserstein_normed", math.inf, None, None, True),
        ("wasserstein_normed", math.nan, None, None, False),
        ("chisquare", 1.0, None, None, False),
        ("chisquare", 1.0, math.nan, None, False),
    ],
)
def test_decide(method, statistic, p_value, threshold, drifted):
    assert decide(method, statistic, p_value, threshold) is drifted


@pytest.mark.parametrize(
    ("kind", "n_ref", "n_cur", "k", "expected"),
    [
        ("numeric", 1000, 10**6, 0, "ks"),
        ("numeric", 10**6, 1000, 0, "ks"),
        ("numeric", 1001, 1001, 0, "wasserstein_normed"),
        ("categorical", 500, 500, 2, "z"),
        ("categorical", 500, 500, 3, "chisquare"),
        ("categorical", 500, 500, 1, "chisquare"),
        ("categorical", 5000, 5000, 2, "jensenshannon"),
    ],
)
def test_default_method_rule(kind, n_ref, n_cur, k, expected):
    assert default_method(kind, n_ref, n_cur, k) == expected


def test_defaults_accept_their_kind():
    for kind in ("numeric", "categorical"):
        for n in (10, 10**6):
            for k in (1, 2, 3):
                assert kind in get_method(default_method(kind, n, n, k)).kinds


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "nope"},
        {"threshold": -1.0},
        {"threshold": math.nan},
        {"drift_share": 0.0},
        {"drift_share": 1.5},
        {"bins": 1},
        {"workers": 0},
        {"extra": ("nope",)},
        {"per_feature": {"x": FeatureOptions(method="chisquare", kind="numeric")}},
    ],
)
def test_bad_options_fail_when_built(kwargs):
    with pytest.raises(DriftError):
        DriftOptions(**kwargs)


def test_options_from_settings():
    settings = DriftSettings(
        method="psi",
        threshold=0.2,
        ignore=["id"],
        drift_share=0.3,
        bins=20,
        per_feature={"x": {"method": "ks", "threshold": 0.01, "kind": "numeric"}},
    )
    opts = DriftOptions.from_settings(settings)
    assert (opts.method, opts.threshold, opts.ignore, opts.drift_share, opts.bins) == (
        "psi",
        0.2,
        ("id",),
        0.3,
        20,
    )
    assert opts.per_feature["x"] == FeatureOptions(method="ks", threshold=0.01, kind="numeric")


@pytest.mark.parametrize(
    ("per_feature", "path"),
    [
        ({"x": {"methd": "ks"}}, "per_feature.x.methd"),
        ({"x": {"kind": "text"}}, "per_feature.x.kind"),
        ({"x": {"method": "nope"}}, "per_feature.x.method"),
        ({"x": {"threshold": "high"}}, "per_feature.x.threshold"),
    ],
)
def test_bad_per_feature_settings_fail_when_parsed(per_feature, path):
    """Bad options never reach DriftOptions: DriftSettings refuses them (see test_settings)."""
    with pytest.raises(ValidationError) as info:
        DriftSettings(per_feature=per_feature)
    assert ".".join(map(str, info.value.errors()[0]["loc"])) == path


def test_bad_global_method_in_settings_fails_when_parsed():
    with pytest.raises(ValidationError, match="unknown drift method 'nope'"):
        DriftSettings(method="nope")
