"""Auto thresholds against a trailing/seasonal baseline (issue 14 item 4; docs/drift.md,
"Baselines").

A window compared with a moving baseline is judged like one compared with the fixed
reference (`comparison.judge_window`): each auto feature's statistic gets a p-value from a
null, the features' p-values go through the monitor's budget, guard and correction
(`auto_verdict.apply_auto`), and the payload says what decided. Only the null differs: a
predictive t on the statistic's square root (`drift.baseline_null.BaselineNull`) over one
value per baseline window — that window's statistic against its own baseline, the windows
it was (or would have been) compared with as the live window: as many windows, all older
than it, as in the live window's comparison (s22-seasonal; s21 used each window against
the rest of the baseline that first held it, one window fewer, which made the null too
narrow when consecutive windows share rows: bench/RESULTS.md).

Cost: each run keeps its window's own statistics (`remember`, per process in `LOO`, keyed
by reference version, window, feature and method), so a window that later sits in a
baseline costs nothing. A value the process lacks (another replica ran the window, a
restart) is computed from the window's own baseline read from storage (`baseline.own_parts`,
reusing the current baseline's sketches; the `adjusted` merge when the two differ by a few
windows); a window whose own baseline was insufficient falls back to leave-one-out against
this baseline. Payload names (`baseline_leave_one_out`) are kept for compatibility.
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from monitor.drift.auto_verdict import DECIDED_BY, AutoPlan, apply_auto
from monitor.drift.baseline_null import MIN_SAMPLE, BaselineNull
from monitor.drift.baseline_spread import adjusted, against_own, leave_out, score_statistic
from monitor.drift.calibration import AUTO_METHOD
from monitor.drift.options import DriftOptions
from monitor.drift.registry import METHODS
from monitor.drift.result import DriftReport, FeatureResult
from monitor.drift.sketch import Sketch, Spec, merge_all
from monitor.reference import Reference
from monitor.scheduler.baseline import Baseline, candidate_slots, own_parts, window_sketches
from monitor.scheduler.comparison import auto_options, auto_plan, compare_window, with_methods
from monitor.settings import MonitorSettings
from monitor.storage.db import Engine
from monitor.window import Window

__all__ = [
    "LAGGED_MOST",
    "LAGGED_SHARE",
    "LOO",
    "LooCache",
    "baseline_methods",
    "baseline_nulls",
    "gap_share",
    "judge_against_baseline",
    "lagged_nulls",
    "remember",
    "verdict",
]

Key = tuple[Hashable, str, str]  # (window key, feature, method)


class LooCache:
    """Leave-one-out values by engine, then (reference id, window start, end, feature,
    method); at most `size` values per engine, least recently used dropped first."""

    def __init__(self, size: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._stores: weakref.WeakKeyDictionary[Any, OrderedDict[Key, float]] = (
            weakref.WeakKeyDictionary()
        )
        self.computed = 0
        self.reused = 0

    def table(self, owner: Any) -> OrderedDict[Key, float]:
        with self._lock:
            return self._stores.setdefault(owner, OrderedDict())

    def trim(self, table: OrderedDict[Key, float]) -> None:
        with self._lock:
            while len(table) > self._size:
                table.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (what a restart does)."""
        with self._lock:
            self._stores = weakref.WeakKeyDictionary()
            self.computed = self.reused = 0


LOO = LooCache()


def baseline_methods(methods: Mapping[str, str], specs: Mapping[str, Spec]) -> dict[str, str]:
    """The auto features' methods against a baseline: a p-value test (`method: ks` with
    `threshold: auto`) is replaced by its kind's calibrated distance, because a test's
    p-value treats the baseline's rows as independent draws (docs/drift.md)."""
    return {
        name: AUTO_METHOD[specs[name].kind] if METHODS[method].is_p_value else method
        for name, method in methods.items()
    }


def remember(
    cache: OrderedDict[Key, float],
    key: Hashable,
    features: Sequence[FeatureResult | None],
    methods: Mapping[str, str],
) -> None:
    """Keep the live window's own statistics (each auto feature's `score_statistic` against
    its baseline): when the window later sits in a baseline, that value is its null value
    (`baseline_nulls`) at no extra comparison."""
    for f in features:
        method = methods.get(f.name) if f is not None else None
        if f is not None and method is not None and f.method == method:
            value = score_statistic(f)
            if math.isfinite(value):
                cache[(key, f.name, method)] = value


Own = Sequence[tuple[Hashable, Mapping[str, Sketch]]]  # a window's own baseline, keyed
OwnBaselines = Callable[[Sequence[Hashable]], Mapping[Hashable, Own]]


def baseline_nulls(
    specs: Mapping[str, Spec],
    total: Mapping[str, Sketch],
    parts: Sequence[tuple[Hashable, Mapping[str, Sketch]]],
    methods: Mapping[str, str],
    options: DriftOptions,
    cache: OrderedDict[Key, float] | None = None,
    own: OwnBaselines | None = None,
) -> dict[str, BaselineNull]:
    """Each auto feature's null from the baseline windows' values (`parts`: (key, sketches)
    per window, newest first; `total`: their merge), reusing `cache` by (key, feature,
    method) and adding what it lacks. A window's value is its statistic against its own
    baseline (`remember`ed when it was judged, else computed from `own(keys)`: each missing
    window's own baseline windows); a window without one (its own run was insufficient, or
    no `own`) falls back to leave-one-out against the rest of this baseline. Features with
    fewer than MIN_SAMPLE values: none."""
    cache = OrderedDict() if cache is None else cache
    window_keys = [key for key, _ in parts]
    methods = {
        n: m for n, m in methods.items() if n in total and all(n in p for _, p in parts)
    }  # features every window has: the others get no null (and no read every run)
    lacking = [k for k in window_keys if any((k, n, m) not in cache for n, m in methods.items())]
    owned = own(lacking) if own is not None and lacking else {}
    out: dict[str, BaselineNull] = {}
    for name, method in methods.items():
        keys = [(key, name, method) for key in window_keys]
        missing = [i for i, k in enumerate(keys) if k not in cache]
        sketches = [p[name] for _, p in parts]
        computed = _own_values(
            name, specs[name], total[name], sketches, window_keys, missing, owned, options
        )
        rest = [i for i in missing if i not in computed]
        computed |= leave_out(name, specs[name], total[name], sketches, rest, options)
        for i, value in computed.items():
            cache[keys[i]] = value
        LOO.computed += len(computed)
        LOO.reused += len(keys) - len(missing)
        sample: list[float] = []
        for k in keys:
            found = cache.get(k)
            if found is not None:
                sample.append(found)
                with contextlib.suppress(KeyError):  # trimmed by another thread meanwhile
                    cache.move_to_end(k)
        kind = specs[name].kind
        null = BaselineNull.from_sample(name, kind, method, sample, total[name].count)
        if null is not None:
            out[name] = null
    return out


def _own_values(
    name: str, spec: Spec, total: Sketch, sketches: Sequence[Sketch],
    window_keys: Sequence[Hashable], missing: Sequence[int], owned: Mapping[Hashable, Own],
    options: DriftOptions,
) -> dict[int, float]:  # fmt: skip
    """The missing windows' statistics against their own baselines (those that have one);
    an own baseline that shares most windows with this one is this one's merge adjusted
    (`adjusted`: a trailing baseline's newest window: minus itself, plus one older window)."""
    here = dict(zip(window_keys, sketches, strict=True))
    out: dict[int, float] = {}
    for i in missing:
        own = [(k, w[name]) for k, w in owned.get(window_keys[i], ()) if name in w]
        if not own:
            continue
        members = [sk for _, sk in own]
        mine = {k for k, _ in own}
        minus = [sk for k, sk in here.items() if k not in mine]
        plus = [sk for k, sk in own if k not in here]
        rest = (
            adjusted(total, minus, plus, members)
            if len(minus) + len(plus) <= len(own) // 4
            else None
        )
        out[i] = against_own(name, spec, sketches[i], members, options, rest)
    return out


# An alarm's aftermath (`lagged_nulls`): the live window's lags are taken into account when
# at least this share of its baseline's windows are not its first candidates. Fewer change
# the baseline's merge by at most that share of its mass (so a Lipschitz distance by at most
# that share of the distance between the swapped windows): a trailing 168 skipping one
# alarmed hour is judged with the kept values at no extra cost (bench/RESULTS.md, s23).
LAGGED_SHARE = 1 / 16
# baseline windows whose lagged values are computed: the newest ones, so that the windows
# read besides the baseline are the few beyond its oldest lagged window's reach
LAGGED_MOST = 12


def gap_share(offsets: Sequence[Any], first: Sequence[Any]) -> float:
    """The share of the live baseline's lags (`offsets`, back from the live window) that are
    not among its first candidates' (`first`): 0 when nothing was skipped."""
    if not offsets:
        return 0.0
    usual = set(first)
    return sum(o not in usual for o in offsets) / len(offsets)


Lagged = Mapping[Hashable, Sequence[tuple[Hashable, Mapping[str, Sketch]]]]


def lagged_nulls(
    specs: Mapping[str, Spec],
    parts: Sequence[tuple[Hashable, Mapping[str, Sketch]]],
    lagged: Lagged,
    methods: Mapping[str, str],
    options: DriftOptions,
    needed: int,
) -> dict[str, BaselineNull]:
    """The nulls when the live baseline skipped candidates (an alarmed window left out): each
    baseline window against the windows at the live window's lags from it (`lagged`, by
    window key: (key, sketches) pairs), so that the values describe the same gap as the live
    comparison; windows with fewer than `needed` of those give no value (not kept: only an
    alarm's aftermath). The newest LAGGED_MOST windows at most (`parts` are newest first),
    and consecutive lagged baselines that share most windows are merged by adjustment
    (`adjusted`): the cost is bounded whatever the baseline's size."""
    chosen = list(parts[:LAGGED_MOST])
    out: dict[str, BaselineNull] = {}
    for name, method in methods.items():
        if any(name not in p for _, p in parts):
            continue
        sample = _lagged_values(name, specs[name], chosen, lagged, options, needed)
        rows = sum(p[name].count for _, p in parts)
        null = BaselineNull.from_sample(name, specs[name].kind, method, sample, rows)
        if null is not None:
            out[name] = null
    return out


def _lagged_values(
    name: str, spec: Spec, chosen: Sequence[tuple[Hashable, Mapping[str, Sketch]]],
    lagged: Lagged, options: DriftOptions, needed: int,
) -> list[float]:  # fmt: skip
    """One feature's lagged values, each lagged merge adjusted from the previous one when
    they differ by at most a quarter of the windows."""
    sample: list[float] = []
    before: dict[Hashable, Sketch] = {}
    merged: Sketch | None = None
    for key, part in chosen:
        own = {k: w[name] for k, w in lagged.get(key, ()) if name in w}
        if len(own) < needed:
            continue
        members = list(own.values())
        minus = [sk for k, sk in before.items() if k not in own]
        plus = [sk for k, sk in own.items() if k not in before]
        if merged is not None and len(minus) + len(plus) <= len(own) // 4:
            merged = adjusted(merged, minus, plus, members)
        else:
            merged = merge_all(members)
        before = own
        sample.append(against_own(name, spec, part[name], members, options, merged))
    return sample


def verdict(
    report: DriftReport,
    prediction: FeatureResult | None,
    counts: Mapping[str, int],
    plan: AutoPlan,
    described: Mapping[str, Any],
) -> tuple[DriftReport, FeatureResult | None, dict[str, Any] | None]:
    """`apply_auto` over baseline nulls, each decision annotated with the baseline and the
    null that decided it (or why none could: too few baseline windows with values)."""
    report, prediction, decision = apply_auto(report, prediction, counts, plan)
    features = tuple(_annotated(f, plan) for f in report.features)
    prediction = _annotated(prediction, plan) if prediction is not None else None
    if decision is not None:
        decision = {**decision, "null": "baseline_leave_one_out", "baseline": dict(described)}
    return replace(report, features=features), prediction, decision


def _annotated(f: FeatureResult, plan: AutoPlan) -> FeatureResult:
    decided = f.quality.get(DECIDED_BY)
    if f.name not in plan.methods or not isinstance(decided, dict):
        return f
    null = plan.nulls.get(f.name)
    if isinstance(null, BaselineNull):
        decided = {**decided, "baseline": null.describe()}
    elif decided.get("rule") == "fixed":
        decided = {**decided, "reason": f"fewer than {MIN_SAMPLE} baseline windows with values"}
    return replace(f, quality={**f.quality, DECIDED_BY: decided})


def judge_against_baseline(
    engine: Engine,
    monitor: MonitorSettings,
    ref: Reference,
    base: Baseline,
    current: dict[str, Sketch],
    now: datetime,
) -> tuple[DriftReport, FeatureResult | None, dict[str, Any] | None]:
    """Compare the window with its baseline; auto features judged against the baseline's
    leave-one-out nulls through the monitor's budget and correction, the others by their
    fixed thresholds (None: no auto feature, the drift-share rule decided)."""
    options, methods = auto_options(monitor, ref)
    against = base.as_reference(ref)
    if not methods:
        report, prediction = compare_window(against, current, options)
        return report, prediction, None
    methods = baseline_methods(methods, ref.specs)
    options = with_methods(options, methods)
    report, prediction = compare_window(against, current, options)
    table = LOO.table(engine)
    parts = [((ref.id, w.start, w.end), sketches) for w, sketches in base.parts]
    windows: dict[Hashable, Window] = {(ref.id, w.start, w.end): w for w, _ in base.parts}

    def own(keys: Sequence[Hashable]) -> dict[Hashable, Own]:
        known = {(w.start, w.end): sketches for w, sketches in base.parts}
        found = own_parts(engine, monitor, ref, [windows[k] for k in keys], known)
        return {
            (ref.id, *span): [((ref.id, *s), sk) for s, sk in own] for span, own in found.items()
        }

    nulls = baseline_nulls(ref.specs, base.sketches, parts, methods, options, table, own)
    nulls |= _after_a_gap(engine, monitor, ref, base, methods, options)
    if base.of is not None:
        key = (ref.id, base.of.start, base.of.end)
        remember(table, key, [*report.features, prediction], methods)
    LOO.trim(table)
    counts = {n: s.count for n, s in current.items()}
    return verdict(report, prediction, counts, auto_plan(monitor, methods, nulls), base.describe())


def _after_a_gap(
    engine: Engine, monitor: MonitorSettings, ref: Reference, base: Baseline,
    methods: Mapping[str, str], options: DriftOptions,
) -> dict[str, BaselineNull]:  # fmt: skip
    """`lagged_nulls` when at least LAGGED_SHARE of the baseline's windows are not its first
    candidates (something was skipped); nothing otherwise. Reads only the lagged windows of
    the (newest LAGGED_MOST) baseline windows that get a value."""
    size = monitor.window.size
    if base.of is None or size is None or not base.parts:
        return {}
    start = base.of.start
    offsets = [start - w.start for w, _ in base.parts]
    first = candidate_slots(monitor.baseline, size, base.of)[: len(offsets)]
    if gap_share(offsets, [start - c.start for c in first]) < LAGGED_SHARE:
        return {}
    chosen = [w for w, _ in base.parts[:LAGGED_MOST]]
    at = {(w.start, w.end): [Window(w.start - o, w.end - o) for o in offsets] for w in chosen}
    known = {(w.start, w.end): sk for w, sk in base.parts}
    spans = {(x.start, x.end): x for ws in at.values() for x in ws if (x.start, x.end) not in known}
    found = known | window_sketches(engine, ref.id, list(spans.values()))
    lagged: dict[Hashable, list[tuple[Hashable, dict[str, Sketch]]]] = {
        (ref.id, *k): [
            ((ref.id, x.start, x.end), found[(x.start, x.end)])
            for x in ws
            if (x.start, x.end) in found
        ]
        for k, ws in at.items()
    }
    parts = [((ref.id, w.start, w.end), sk) for w, sk in base.parts]
    return lagged_nulls(ref.specs, parts, lagged, methods, options, base.needed)
