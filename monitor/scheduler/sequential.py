"""The sequential rule in scheduled runs: advance each feature's CUSUM once per window.

Called inside the transaction that stores a succeeded run, its alerts and their outbox rows
(`monitor.scheduler.execute._store`), for monitors with a `sequential_drift` rule:

1. `judge` locks the monitor's state row (`monitor.storage.sequential.lock`), so replicas
   computing two windows of one monitor at once apply them one after the other;
2. a window whose end is not after the newest applied one (a catch-up or retried run of an
   older window that finished after a newer one) is **not applied**: the state is unchanged,
   the sequential rule gives no verdict for that run and its alerts hold. Each window is
   therefore counted at most once and the sums never go backwards;
   On a sliding window only every n-th run is judged (`calibrate.sequential_judges`,
   disjoint windows): the others leave the state as it is and repeat its verdict;
3. otherwise the window's null-standardised scores (`z_scores`) go through
   `monitor.drift.sequential.update` (self-starting, winsorised, guaranteed bound, and by
   default learning: after the warm-up each feature's mean/sd keep learning from windows
   that follow `LEARN_QUIET` zero sums in a row, `alarm.sequential.learn`) and the new
   state is written, quiet counts included; a new reference (a refresh, a deployment's) or
   other CUSUM settings (`config_key`) restart everything, warm-up included. Against a
   trailing/seasonal baseline the scores are those the verdict read from the baseline's
   leave-one-out null (`decided_by.z`, `monitor.scheduler.baseline_verdict`);
4. after the alerts were stepped, `restart_resolved` restarts (sum 0, warm-up kept) the
   features whose sequential alert resolved in this run: the feature's own alert, or every
   feature when the dataset's alert resolved.

While over its bound a sum is held at most at `CEILING` times the bound, so that once a
shift ends the alert resolves within about bound/k windows instead of draining a sum that
grew for as long as the shift lasted. The ceiling only acts above the bound: it does not
change when the CUSUM first alarms, hence not its false-alarm rate.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from monitor.calibrate import sequential_config, sequential_judges
from monitor.drift.calibration import AUTO_METHOD, FeatureNull
from monitor.drift.registry import Kind
from monitor.drift.result import FeatureResult
from monitor.drift.sequential import (
    CusumConfig,
    CusumState,
    largest_reference_share,
    update,
    window_values,
)
from monitor.errors import MonitorError
from monitor.reference import Reference
from monitor.reference_nulls import materialise_nulls
from monitor.rules import RuleHit, RunFacts, evaluate
from monitor.settings import MonitorSettings, RuleSettings
from monitor.storage import sequential as store
from monitor.storage.db import Connection, Engine
from monitor.storage.nulls import load_null_table
from monitor.storage.sequential import FeatureCusum, SequentialState

log = logging.getLogger("monitor.scheduler")

CONDITION = "sequential_drift"
CEILING = 2.0  # a sum over the bound is held at most at CEILING x bound

__all__ = [
    "CEILING",
    "advance",
    "clear_cache",
    "config_for",
    "feature_nulls",
    "judge",
    "restart_resolved",
    "view",
    "z_scores",
]


def rules_of(monitor: MonitorSettings) -> list[RuleSettings]:
    return [r for r in monitor.rules if r.condition == CONDITION]


def config_for(
    monitor: MonitorSettings, features: int, reference_share: float | None = None
) -> CusumConfig:
    """The monitor's CUSUM (`monitor.calibrate.sequential_config`, shared with the
    backtest): the sequential rule's share of the budget; `reference_share`
    (`largest_reference_share` of the window) picks the bound."""
    return sequential_config(monitor, features, reference_share)


# --- the features' null-standardised scores ---------------------------------------------------

_NULLS: dict[int, Mapping[str, FeatureNull]] = {}
_NULLS_LOCK = threading.Lock()


def feature_nulls(
    engine: Engine, monitor: MonitorSettings, ref: Reference, now: datetime
) -> Mapping[str, FeatureNull]:
    """Each input feature's null for this reference version: the one the auto thresholds
    store with the reference (`monitor.storage.nulls`, the default statistic per kind:
    Wasserstein/std for numerics, Jensen–Shannon for categoricals); those not stored yet
    (features judged by a p-value test, references stored before nulls existed) are
    calibrated once from the reference rows and stored (first writer among replicas wins).
    Cached per reference version and process (a version never changes)."""
    with _NULLS_LOCK:
        cached = _NULLS.get(ref.id)
        if cached is not None:
            return cached
        table = load_null_table(engine, ref.id)
        wanted = {n: (ref.specs[n].kind, AUTO_METHOD[ref.specs[n].kind]) for n in ref.features}
        missing = {n: km for n, km in wanted.items() if (n, km[1]) not in table}
        if missing:
            table = _calibrate(engine, monitor, ref, missing, now) or table
        cached = {n: table[(n, m)] for n, (_, m) in wanted.items() if (n, m) in table}
        _NULLS[ref.id] = cached
        return cached


def clear_cache() -> None:
    """Forget the cached nulls (what a process restart does)."""
    with _NULLS_LOCK:
        _NULLS.clear()


def _calibrate(
    engine: Engine,
    monitor: MonitorSettings,
    ref: Reference,
    missing: Mapping[str, tuple[Kind, str]],
    now: datetime,
) -> dict[tuple[str, str], FeatureNull] | None:
    from monitor.reference import reference_frame

    try:
        frame, _ = reference_frame(engine, monitor)
    except MonitorError as exc:
        log.warning("sequential_nulls_not_calibrated", extra={"monitor": monitor.name,
                    "reference_id": ref.id, "error": str(exc)})  # fmt: skip
        return None
    stored = materialise_nulls(engine, monitor, ref.id, frame, ref.specs, now, missing)
    return None if stored is None else stored.nulls


def _statistic(value: Any) -> float | None:
    """A stats entry's point value (a float, or a dict with "statistic")."""
    if isinstance(value, Mapping):
        value = value.get("statistic")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def z_scores(
    nulls: Mapping[str, FeatureNull],
    features: Sequence[FeatureResult],
    current_rows: int,
) -> dict[str, float]:
    """Each feature's score: its calibrated statistic read against its null for the window's
    non-missing count (NaN when it cannot be computed: no null, no statistic, < 2 values)."""
    out: dict[str, float] = {}
    for f in features:
        null = nulls.get(f.name)
        stat = None if null is None else _statistic(f.stats.get(null.method))
        m = window_values(f, current_rows)
        if null is None or stat is None or not math.isfinite(stat) or m < 2:
            out[f.name] = math.nan
            continue
        out[f.name] = null.z_score(stat, m)
    return out


def baseline_z_scores(features: Sequence[FeatureResult]) -> dict[str, float]:
    """Against a moving baseline: each feature's score its verdict read from the baseline's
    null (`decided_by.z`; NaN for a feature without one): the reference's null does not
    describe a statistic measured against the baseline."""
    return {f.name: _baseline_z(f) for f in features}


def _baseline_z(f: FeatureResult) -> float:
    decided = f.quality.get("decided_by")
    if not isinstance(decided, Mapping) or "baseline" not in decided:
        return math.nan
    z = _statistic(decided.get("z"))
    return math.nan if z is None else z


# --- one window applied to the state (pure) ---------------------------------------------------


def config_key(config: CusumConfig) -> str:
    """What the sums depend on: another key (a changed setting or budget, a feature added or
    removed) restarts everything, warm-up included."""
    key = (
        f"arl0={config.arl0:g};p={config.features};k={config.k:g};warmup={config.warmup};"
        f"delta={config.delta};cap={config.cap};learn={int(config.learn)}"
    )
    # a sliding window's cadence (tumbling keys unchanged: their states do not restart)
    return key if config.judged_every == 1 else f"{key};every={config.judged_every}"


def _cusum_state(state: SequentialState, reference_id: int, same: bool) -> CusumState:
    """The stored rows as the pure CUSUM's state (empty when restarting)."""
    if not same:
        return CusumState(reference_id=str(reference_id))
    return CusumState(
        reference_id=str(reference_id),
        sums={n: c.statistic for n, c in state.features.items()},
        windows=state.windows,
        baseline={n: (float(c.warm_n), c.warm_mean, c.warm_m2) for n, c in state.features.items()},
        quiet={n: c.quiet for n, c in state.features.items() if c.quiet},
    )


def advance(
    state: SequentialState,
    reference_id: int,
    z: Mapping[str, float],
    window_end: datetime,
    run_id: int | None,
    config: CusumConfig,
) -> tuple[SequentialState, bool]:
    """(the state after this window, whether it was applied). A window ending at or before
    the newest applied one of the same reference and settings is not applied (state
    returned as is); another reference or other settings restart everything."""
    key = config_key(config)
    same = state.reference_id == reference_id and state.config == key
    if same and state.last_window_end is not None and window_end <= state.last_window_end:
        return state, False
    old = state.features if same else {}
    new, _ = update(_cusum_state(state, reference_id, same), z, config, str(reference_id))
    ceiling = CEILING * config.bound
    features: dict[str, FeatureCusum] = {}
    for name in sorted(set(old) | set(new.sums) | set(new.baseline)):
        before = old.get(name, FeatureCusum())
        scored = name in z and z[name] is not None and not math.isnan(z[name])
        n, mean, m2 = new.baseline.get(name, (before.warm_n, before.warm_mean, before.warm_m2))
        features[name] = replace(
            before,
            statistic=min(float(new.sums.get(name, 0.0)), ceiling),
            since=before.since + int(scored),
            warm_n=int(n),
            warm_mean=float(mean),
            warm_m2=float(m2),
            quiet=int(new.quiet.get(name, 0)),
        )
    after = SequentialState(
        state.monitor, reference_id, new.windows, window_end, run_id, features, key
    )
    return after, True


def view(
    state: SequentialState,
    applied: bool,
    z: Mapping[str, float],
    config: CusumConfig,
    shift: float,
    judged: bool = True,
) -> dict[str, Any]:
    """`RunFacts.sequential`: what the rule judges and the payload states (JSON-safe).
    `judged` False: a sliding window's run between two judged ones (the state as it is)."""
    bound = config.bound
    features = {
        name: {
            "statistic": c.statistic,
            "since": c.since,
            "warmup_seen": min(c.warm_n, config.warmup),
            "warming_up": c.warm_n < config.warmup,
            "learned": max(0, c.warm_n - config.warmup),  # windows learned after the warm-up
            "z": None if name not in z or not math.isfinite(z[name]) else float(z[name]),
            "restarts": c.restarts,
        }
        for name, c in state.features.items()
    }
    return {
        "applied": applied,
        "bound": bound,
        "k": config.k,
        "warmup": config.warmup,
        "cap": config.cap,
        "delta": config.delta,
        "learn": config.learn,
        # the bound's size: for the learned estimates (rho <= 0.9) or the warm-up's
        "bound_for": config.bound_for,
        "reference_share": config.reference_share,
        "expected_run_length": config.arl0,
        "budget_share": config.budget_share,  # of the monitor's budget (AlarmSettings.budgets)
        "features_monitored": config.features,
        "windows": state.windows,
        "last_window_end": state.last_window_end.isoformat() if state.last_window_end else None,
        "expected_delay": {"shift": shift, "windows": config.expected_delay(shift)},
        "features": features,
        # sliding windows only (tumbling payloads unchanged): judged every n-th run
        **({} if config.judged_every == 1 else {"judged": judged,
                                                 "judged_every": config.judged_every}),
    }  # fmt: skip


# --- the hooks in the run's transaction -------------------------------------------------------


def judge(
    conn: Connection,
    engine: Engine,
    monitor: MonitorSettings,
    ref: Reference,
    facts: RunFacts,
    hits: list[RuleHit],
    now: datetime,
) -> tuple[RunFacts, list[RuleHit]]:
    """Advance the monitor's CUSUM by this run's window (locked, in order, once) and add the
    sequential rules' hits. Monitors without a sequential rule: unchanged, no state."""
    rules = rules_of(monitor)
    if not rules or facts.status != "succeeded":
        return facts, hits
    inputs = facts.input_features()
    if facts.baseline is not None:  # a trailing/seasonal baseline: its own nulls' scores
        z = baseline_z_scores(inputs)
        share = None  # the warm-up's bound (measured on baseline scores: bench/RESULTS.md)
    else:
        nulls = feature_nulls(engine, monitor, ref, now)
        z = z_scores(nulls, inputs, facts.current_rows)
        share = largest_reference_share(
            (window_values(f, facts.current_rows), nulls[f.name].reference_rows)
            for f in inputs
            if f.name in nulls
        )
    config = config_for(monitor, len(ref.features), share)
    state = store.lock(conn, monitor.name, now)
    if not sequential_judges(monitor, facts.window_end):
        return _not_judged(conn, monitor, ref, facts, hits, rules, state, z, config)
    after, applied = advance(state, ref.id, z, facts.window_end, facts.run_id, config)
    if applied:
        store.save(conn, after, now)
    if facts.run_id is not None:
        store.log_window(conn, monitor.name, facts.run_id, ref.id, facts.window_end, applied, z)
    else:
        log.info(
            "sequential_window_not_applied",
            extra={"monitor": monitor.name, "run_id": facts.run_id,
                   "window_end": facts.window_end.isoformat()},
        )  # fmt: skip
    facts = replace(
        facts, sequential=view(after, applied, z, config, monitor.alarm.sequential.shift)
    )
    return facts, [*hits, *evaluate(rules, facts)]


def _not_judged(
    conn: Connection,
    monitor: MonitorSettings,
    ref: Reference,
    facts: RunFacts,
    hits: list[RuleHit],
    rules: Sequence[RuleSettings],
    state: SequentialState,
    z: Mapping[str, float],
    config: CusumConfig,
) -> tuple[RunFacts, list[RuleHit]]:
    """A sliding window's run that is not judged (its window overlaps the judged ones): the
    state is not advanced. Its CUSUM (same reference and settings, window newer than the
    last judged one) is evaluated as it is, so its alerts keep the last judged verdict (no
    resolve, no re-fire) and their payloads say `judged: false`; otherwise (a stale or older
    state) the rule gives no verdict and its alerts hold."""
    if facts.run_id is not None:
        store.log_window(conn, monitor.name, facts.run_id, ref.id, facts.window_end, False, z)
    current = (
        state.reference_id == ref.id
        and state.config == config_key(config)
        and state.last_window_end is not None
        and facts.window_end > state.last_window_end
    )
    if not current:
        return facts, hits
    seq = view(state, False, z, config, monitor.alarm.sequential.shift, judged=False)
    facts = replace(facts, sequential=seq)
    return facts, [*hits, *evaluate(rules, facts)]


def restart_resolved(
    conn: Connection,
    monitor: MonitorSettings,
    ref: Reference,
    changes: Sequence[Any],
    now: datetime,
) -> None:
    """Restart the features whose sequential alert resolved in this run (`AlertChange`s):
    the alert's feature, or all of them for a dataset alert (subject "")."""
    names = {r.name for r in rules_of(monitor)}
    resolved = [c for c in changes if c.rule in names and c.after == "resolved"]
    if not resolved:
        return
    every = any(c.subject == "" for c in resolved)
    features = None if every else {c.subject for c in resolved}
    store.restart(conn, monitor.name, ref.id, features, now)
