"""The size- and kind-aware default method, and why.

Evidently's rule (legacy/calculations/stattests/registry.py, `_get_default_stattest`) picks
p-value tests when the reference has at most 1,000 rows and distances above. We keep the
idea and change two things:

- Size is the smaller of the two windows' non-missing counts, not the reference's alone:
  a p-value test's power grows with both samples, and a distance estimated from a small
  current window is noisy (JS over 10 bins from 50 rows often exceeds 0.1 with no drift),
  while a p-value test is calibrated at any size.
- Small categorical samples use the two-sample chi-square test of homogeneity (or the
  equivalent two-proportion z-test for two categories), never Evidently's goodness-of-fit
  chi-square against reference proportions taken as exact, which flags about half of
  unshifted columns on real data.

At large sizes every p-value test detects shifts too small to matter (KS at 1M rows flags a
0.005σ mean shift), so distances with fixed thresholds take over: the normed Wasserstein
distance (0.1 = the distributions are on average a tenth of a reference std apart) for
numerics and the Jensen–Shannon distance (0.1) for categoricals.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.drift.registry import METHODS, Kind, Method, table
from monitor.errors import DriftError

SMALL_SAMPLE = 1000


def default_method(
    kind: Kind,
    n_reference: int,
    n_current: int,
    n_categories: int = 0,
    small_sample: int = SMALL_SAMPLE,
    methods: Mapping[str, Method] = METHODS,
) -> str:
    """Method name for a feature: p-value tests up to `small_sample` rows, distances above.

    `n_reference`/`n_current` count non-missing values; `n_categories` is the size of the
    union of categories (categoricals only). The rule is the table's `Method.defaults`: the
    first row whose `Default` matches the kind, the size and the number of categories, else
    the first that matches the kind and size for any number (ks, wasserstein_normed; z for
    two categories, else chisquare; jensenshannon).
    """
    small = min(n_reference, n_current) <= small_sample
    defaults = table(methods).defaults
    name = defaults.get((kind, small, n_categories)) or defaults.get((kind, small, None))
    if name is None:
        size = "small" if small else "large"
        raise DriftError(f"no default drift method for {size} {kind} features")
    return name
