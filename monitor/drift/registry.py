"""The drift methods, in one explicit table: each row holds a method's code and metadata.

A method is either a p-value test (drift when p_value < threshold) or a distance (drift when
statistic >= threshold). A method's name is the key of its entry in `FeatureResult.stats`.
Its row says which kinds it accepts, its default threshold, when it is the default method,
whether it is computed for every feature, and how it is computed on each path:

- `counts(r, c)`: from two aligned count vectors (reference bins or categories). Exact on
  every path: the engine passes raw counts, the sketch path merged ones.
- `samples(reference, current)`: numeric, from the fitted reference and the sorted finite
  current values (exact path only).
- `sketch(spec, ref, cur, decides)`: numeric, from two sketches: an interval whose least
  alarming end is the statistic; `sketch_end(stats)` gives the other end's numbers.

The engine, the columnar path, the sketch path and the default-method rule loop over this
table, so a new statistic is one function and one row (docs/architecture.md). The table is a
read-only mapping (`MethodTable`) that callers and tests can replace with their own
(`DriftOptions.methods`; any mapping of rows is accepted); nothing registers itself on import. Code is named by import path and loaded on first use, so this module (and
the settings that validate method names through it) stays free of numpy and scipy.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import (
    Callable,
    Collection,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from dataclasses import dataclass
from typing import Any, Literal

from monitor.errors import DriftError

Kind = Literal["numeric", "categorical"]
Verdict = Literal["p_value", "distance"]

NUMERIC: frozenset[Kind] = frozenset({"numeric"})
CATEGORICAL: frozenset[Kind] = frozenset({"categorical"})
BOTH: frozenset[Kind] = NUMERIC | CATEGORICAL


class Lazy:
    """The function at `module:name`, imported on its first call (keeps this table light)."""

    __slots__ = ("_fn", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._fn: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        fn = self._fn
        if fn is None:
            module, _, name = self.path.partition(":")
            fn = self._fn = getattr(importlib.import_module(module), name)
        return fn(*args)

    def __repr__(self) -> str:
        return f"Lazy({self.path!r})"


def _lazy(module: str, name: str) -> Lazy:
    return Lazy(f"monitor.drift.{module}:{name}")


@dataclass(frozen=True)
class Default:
    """When a method is the default: for `kind`, at small (<= `small_sample`) or large sizes,
    and, if set, only for exactly `n_categories` categories (a rule with it wins)."""

    kind: Kind
    small: bool
    n_categories: int | None = None


@dataclass(frozen=True)
class Method:
    """One drift method: what it accepts, how its number becomes a verdict, how it is computed."""

    name: str
    kinds: frozenset[Kind]
    verdict: Verdict
    default_threshold: float
    description: str
    always: frozenset[Kind] = frozenset()  # computed for every feature of these kinds
    defaults: tuple[Default, ...] = ()
    counts: Callable[..., Any] | None = None  # (r, c) -> stats entry, None: undefined here
    samples: Callable[..., Any] | None = None  # (NumericReference, sorted current) -> entry
    sketch: Callable[..., dict[str, Any]] | None = None  # -> entries (its own and companions)
    sketch_end: Callable[[dict[str, Any]], tuple[float, float | None]] | None = None

    @property
    def is_p_value(self) -> bool:
        return self.verdict == "p_value"

    @property
    def binned(self) -> bool:
        """Computed from bin/category counts (exact from sketches too)."""
        return self.counts is not None

    def from_sketches(self, kind: Kind) -> bool:
        """Whether sketches give it for `kind` (exactly from counts, or as an interval)."""
        return self.counts is not None or (kind == "numeric" and self.sketch is not None)


class MethodTable(Mapping[str, Method]):
    """Rows by name, in order, with what every feature asks of them worked out once.

    Any mapping of rows works where a table is taken (`table` turns it into one); the
    module's `METHODS` and `DriftOptions.methods` are tables, so the per-feature questions
    (which methods always, which default, which intervals) are dictionary lookups.
    """

    def __init__(self, rows: Iterable[Method]) -> None:
        self._rows = {m.name: m for m in rows}
        kinds: tuple[Kind, ...] = ("numeric", "categorical")
        self.always = {
            k: frozenset(n for n, m in self._rows.items() if k in m.always) for k in kinds
        }
        self.approximate = frozenset(n for n, m in self._rows.items() if m.sketch is not None)
        self.from_sketches_always = {
            k: self.always[k] | {n for n in self.approximate if k in self._rows[n].kinds}
            for k in kinds
        }
        self.defaults: dict[tuple[Kind, bool, int | None], str] = {}
        for name, m in self._rows.items():
            for d in m.defaults:
                self.defaults.setdefault((d.kind, d.small, d.n_categories), name)

    def __getitem__(self, name: str) -> Method:
        return self._rows[name]

    # the dict's own views and lookups: the paths loop over the rows for every feature
    def items(self) -> ItemsView[str, Method]:
        return self._rows.items()

    def values(self) -> ValuesView[Method]:
        return self._rows.values()

    def keys(self) -> KeysView[str]:
        return self._rows.keys()

    def get(self, name: str, default: Any = None) -> Any:
        return self._rows.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"MethodTable({list(self._rows)})"


def table(methods: Mapping[str, Method]) -> MethodTable:
    """`methods` as a MethodTable (itself when it is one)."""
    return methods if isinstance(methods, MethodTable) else MethodTable(methods.values())


# the order of the rows is the order of the entries in `FeatureResult.stats`
METHODS: MethodTable = MethodTable(
    (
        Method(
            "ks",
            NUMERIC,
            "p_value",
            0.05,
            "two-sample Kolmogorov–Smirnov (scipy)",
            defaults=(Default("numeric", small=True),),
            samples=_lazy("numeric", "ks_entry"),
            sketch=_lazy("sketch_stats", "ks_entries"),
            sketch_end=_lazy("sketch_stats", "ks_alarming_end"),
        ),
        Method(
            "wasserstein_normed",
            NUMERIC,
            "distance",
            0.1,
            "Wasserstein-1 distance / reference population std",
            always=NUMERIC,
            defaults=(Default("numeric", small=False),),
            samples=_lazy("numeric", "wasserstein_normed_entry"),
            sketch=_lazy("sketch_stats", "wasserstein_normed_entries"),
            sketch_end=_lazy("sketch_stats", "wasserstein_normed_alarming_end"),
        ),
        Method(
            "chisquare",
            CATEGORICAL,
            "p_value",
            0.05,
            "chi-square test of homogeneity on the 2×K table",
            always=CATEGORICAL,
            defaults=(Default("categorical", small=True),),
            counts=_lazy("count_stats", "chisquare_entry"),
        ),
        Method(
            "z",
            CATEGORICAL,
            "p_value",
            0.05,
            "two-proportion z-test (binary only)",
            always=CATEGORICAL,
            defaults=(Default("categorical", small=True, n_categories=2),),
            counts=_lazy("count_stats", "z_entry"),
        ),
        Method(
            "psi",
            BOTH,
            "distance",
            0.1,
            "Population Stability Index",
            always=BOTH,
            counts=_lazy("count_stats", "psi"),
        ),
        Method(
            "jensenshannon",
            BOTH,
            "distance",
            0.1,
            "Jensen–Shannon distance, base 2",
            always=BOTH,
            defaults=(Default("categorical", small=False),),
            counts=_lazy("count_stats", "jensenshannon"),
        ),
        Method(
            "hellinger",
            BOTH,
            "distance",
            0.1,
            "Hellinger distance",
            always=BOTH,
            counts=_lazy("count_stats", "hellinger"),
        ),
        Method(
            "kl",
            BOTH,
            "distance",
            0.1,
            "Kullback–Leibler divergence KL(ref || cur)",
            always=BOTH,
            counts=_lazy("count_stats", "kl"),
        ),
        Method(
            "tvd",
            CATEGORICAL,
            "distance",
            0.1,
            "total variation distance",
            always=CATEGORICAL,
            counts=_lazy("count_stats", "tvd"),
        ),
        Method(
            "anderson",
            NUMERIC,
            "p_value",
            0.05,
            "Anderson–Darling k-sample (scipy)",
            samples=_lazy("numeric", "anderson_entry"),
        ),
        Method(
            "cramer_von_mises",
            NUMERIC,
            "p_value",
            0.05,
            "two-sample Cramér–von Mises (scipy)",
            samples=_lazy("numeric", "cramer_von_mises_entry"),
        ),
    )
)


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


def always(kind: Kind, methods: Mapping[str, Method] = METHODS) -> frozenset[str]:
    """The methods computed for every feature of `kind` (cheap once the column is counted)."""
    return table(methods).always[kind]


def approximate(methods: Mapping[str, Method] = METHODS) -> frozenset[str]:
    """The methods that sketches give as intervals (the verdict takes the least alarming end)."""
    return table(methods).approximate


def counted(
    kind: Kind,
    wanted: Collection[str],
    r: Any,
    c: Any,
    methods: Mapping[str, Method] = METHODS,
    out: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The entries of every wanted count-based method of `kind` on aligned counts `r`, `c`.

    The one categorical dispatch: the exact engine passes raw category counts, the sketch
    path the sketches' merged ones. A method whose `counts` returns None is left out.
    """
    out = {} if out is None else out
    for name, m in methods.items():
        if m.counts is not None and name in wanted and kind in m.kinds:
            value = m.counts(r, c)
            if value is not None:
                out[name] = value
    return out


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
