"""The drift methods, in one explicit table: name, accepted kinds, verdict rule, threshold.

A method is either a p-value test (drift when p_value < threshold) or a distance (drift when
statistic >= threshold). A method's name is also the key of its statistic in
`FeatureResult.stats`. The table is a plain mapping so callers (and tests) can pass their
own; nothing registers itself on import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from monitor.errors import DriftError

Kind = Literal["numeric", "categorical"]
Verdict = Literal["p_value", "distance"]

NUMERIC: frozenset[Kind] = frozenset({"numeric"})
CATEGORICAL: frozenset[Kind] = frozenset({"categorical"})
BOTH: frozenset[Kind] = NUMERIC | CATEGORICAL


@dataclass(frozen=True)
class Method:
    """One drift method: what it accepts and how its number becomes a verdict."""

    name: str
    kinds: frozenset[Kind]
    verdict: Verdict
    default_threshold: float
    binned: bool  # computed from bin/category counts (exact from sketches too)
    description: str

    @property
    def is_p_value(self) -> bool:
        return self.verdict == "p_value"


def _m(name: str, kinds: frozenset[Kind], verdict: Verdict, thr: float, binned: bool, d: str):
    return Method(name, kinds, verdict, thr, binned, d)


METHODS: Mapping[str, Method] = {
    m.name: m
    for m in (
        _m("ks", NUMERIC, "p_value", 0.05, False, "two-sample Kolmogorov–Smirnov (scipy)"),
        _m(
            "wasserstein_normed",
            NUMERIC,
            "distance",
            0.1,
            False,
            "Wasserstein-1 distance / reference population std",
        ),
        _m("anderson", NUMERIC, "p_value", 0.05, False, "Anderson–Darling k-sample (scipy)"),
        _m(
            "cramer_von_mises",
            NUMERIC,
            "p_value",
            0.05,
            False,
            "two-sample Cramér–von Mises (scipy)",
        ),
        _m(
            "chisquare",
            CATEGORICAL,
            "p_value",
            0.05,
            True,
            "chi-square test of homogeneity on the 2×K table",
        ),
        _m("z", CATEGORICAL, "p_value", 0.05, True, "two-proportion z-test (binary only)"),
        _m("psi", BOTH, "distance", 0.1, True, "Population Stability Index"),
        _m("jensenshannon", BOTH, "distance", 0.1, True, "Jensen–Shannon distance, base 2"),
        _m("hellinger", BOTH, "distance", 0.1, True, "Hellinger distance"),
        _m("kl", BOTH, "distance", 0.1, True, "Kullback–Leibler divergence KL(ref || cur)"),
        _m("tvd", CATEGORICAL, "distance", 0.1, True, "total variation distance"),
    )
}


def get_method(
    name: str, kind: Kind | None = None, methods: Mapping[str, Method] = METHODS
) -> Method:
    """Look a method up by name (and check it accepts `kind`); DriftError lists valid names."""
    method = methods.get(name)
    if method is None:
        valid = ", ".join(sorted(methods))
        raise DriftError(f"unknown drift method {name!r}; valid methods: {valid}")
    if kind is not None and kind not in method.kinds:
        valid = ", ".join(sorted(n for n, m in methods.items() if kind in m.kinds))
        raise DriftError(
            f"drift method {name!r} does not apply to {kind} features; valid for {kind}: {valid}"
        )
    return method


def decide(
    method: Method | str,
    statistic: float | None,
    p_value: float | None,
    threshold: float | None = None,
    methods: Mapping[str, Method] = METHODS,
) -> bool:
    """The verdict: p_value < threshold for tests, statistic >= threshold for distances.

    `threshold` None means the method's default. An undefined number (None/NaN) is no
    evidence of drift and gives False; +inf (e.g. a constant reference that moved) is drift.
    """
    m = get_method(method, methods=methods) if isinstance(method, str) else method
    thr = m.default_threshold if threshold is None else threshold
    value = p_value if m.is_p_value else statistic
    if value is None or math.isnan(value):
        return False
    return bool(value < thr) if m.is_p_value else bool(value >= thr)
