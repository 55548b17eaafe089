"""The baseline a window is compared with, when it is not the fixed reference (issue 14
item 4; docs/drift.md, "Baselines").

Candidate windows ("slots") go back from the window's start: a trailing baseline's are the
window-sized slots right before it, a seasonal one's the same slot one period (1d or 1w)
earlier, two periods earlier, ... A candidate is left out when it overlaps an `exclude`
range, when a stored run of this monitor whose window overlaps it alarmed (a data rule held
at that run; `exclude_alarmed`), or when the bucket sketches hold fewer than
`window.min_events` of its events. The first `count` usable candidates among the last
`candidates` make the baseline: the merge of their bucket sketches (the reference version's
specs, so the comparison is the same code as against the reference). Fewer usable than
`needed`: the run is insufficient_data with the reason, never drift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.drift.baseline_spread import FeatureSpread, leave_one_out
from monitor.drift.sketch import Sketch, merge_all
from monitor.reference import Reference, drift_options
from monitor.rules import RuleHit
from monitor.settings import MonitorSettings
from monitor.settings.baseline import BaselineSettings
from monitor.storage import baselines as store
from monitor.storage.db import Engine
from monitor.window import Window

# Rule conditions that are not about the window's data: holding them is not an alarm.
_NOT_DATA = frozenset({"insufficient_data", "performance", "estimated_performance"})


@dataclass(frozen=True)
class Baseline:
    """The windows a run is compared with, and why the other candidates were left out."""

    kind: str
    wanted: int  # windows of a full baseline
    needed: int  # fewer usable: insufficient
    windows: tuple[Window, ...]  # used, newest first
    rows: int
    sketches: dict[str, Sketch] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)  # range | alarmed | empty
    candidates: int = 0
    reason: str | None = None  # set when insufficient
    parts: tuple[tuple[Window, dict[str, Sketch]], ...] = ()  # each used window's sketches
    of: Window | None = None  # the window judged against it

    @property
    def insufficient(self) -> bool:
        return self.reason is not None

    def as_reference(self, ref: Reference) -> Reference:
        """The reference to compare with: its specs and version, the baseline's counts."""
        return replace(ref, sketches=self.sketches, row_count=self.rows)

    def describe(self) -> dict[str, Any]:
        """What the run summary and alert payloads say about the baseline."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "windows_wanted": self.wanted,
            "windows_used": len(self.windows),
            "excluded": sum(self.excluded.values()),
            "excluded_by": dict(self.excluded),
            "candidates": self.candidates,
            "rows": self.rows,
        }
        if self.windows:
            out["from"] = min(w.start for w in self.windows).isoformat()
            out["to"] = max(w.end for w in self.windows).isoformat()
        if self.reason:
            out["reason"] = self.reason
        return out


def candidate_slots(settings: BaselineSettings, size: timedelta, window: Window) -> list[Window]:
    """Candidate windows, newest first: `settings.candidates` of them."""
    step = settings.step or size
    return [
        Window(window.start - i * step, window.start - i * step + size)
        for i in range(1, settings.candidates + 1)
    ]


def _overlaps(slot: Window, start: datetime, end: datetime) -> bool:
    return slot.start < end and start < slot.end


def _choose(
    monitor: MonitorSettings, slots: list[Window], rows: dict[tuple[datetime, datetime], int],
    alarmed: Sequence[store.AlarmedRun],
) -> tuple[list[Window], dict[str, int]]:  # fmt: skip
    """The usable candidates (newest first, at most `count`) and the left-out ones by why."""
    b = monitor.baseline
    excluded = {"range": 0, "alarmed": 0, "empty": 0}
    used: list[Window] = []
    for slot in slots:
        if len(used) == b.count:
            break
        if any(_overlaps(slot, r.start, r.end) for r in b.exclude):
            excluded["range"] += 1
        elif b.exclude_alarmed and any(
            _overlaps(slot, a.window_start, a.window_end) for a in alarmed
        ):
            excluded["alarmed"] += 1
        elif rows.get((slot.start, slot.end), 0) < monitor.window.min_events:
            excluded["empty"] += 1
        else:
            used.append(slot)
    return used, excluded


def usable_windows(
    engine: Engine, monitor: MonitorSettings, ref: Reference, window: Window
) -> tuple[list[Window], dict[str, int], int]:
    """The baseline's windows for `window`, the left-out counts, and candidates examined."""
    size = monitor.window.size
    assert size is not None  # settings: a baseline needs a time window
    slots = candidate_slots(monitor.baseline, size, window)
    spans = [(s.start, s.end) for s in slots]
    rows = store.saved_rows(engine, ref.id, spans)
    rows |= store.slot_rows(engine, ref.id, [s for s in spans if s not in rows])
    alarmed = (
        store.alarmed_runs(engine, monitor.name, slots[-1].start, window.start)
        if monitor.baseline.exclude_alarmed
        else []
    )
    used, excluded = _choose(monitor, slots, rows, alarmed)
    examined = slots.index(used[-1]) + 1 if len(used) == monitor.baseline.count else len(slots)
    return used, excluded, examined


def build(
    engine: Engine, monitor: MonitorSettings, ref: Reference, window: Window
) -> Baseline | None:
    """The window's baseline; None for the fixed reference (`baseline.kind: reference`)."""
    b = monitor.baseline
    if b.fixed:
        return None
    used, excluded, examined = usable_windows(engine, monitor, ref, window)
    base = Baseline(b.kind, b.count, b.needed, tuple(used), 0, {}, excluded, examined, of=window)
    if len(used) < b.needed:
        reason = (
            f"baseline: {len(used)} usable window(s), {b.needed} needed "
            f"(of the last {examined} candidates, {excluded['range']} in exclude ranges, "
            f"{excluded['alarmed']} alarmed, {excluded['empty']} with fewer than "
            f"{monitor.window.min_events} events)"
        )
        return replace(base, reason=reason)
    per_slot = window_sketches(engine, ref.id, used)
    merged = {
        name: merge_all(parts[name] for parts in per_slot.values() if name in parts)
        for name in ref.specs
        if any(name in parts for parts in per_slot.values())
    }
    rows = sum(_rows(parts) for parts in per_slot.values())
    parts = tuple((w, per_slot[(w.start, w.end)]) for w in used if (w.start, w.end) in per_slot)
    return replace(base, sketches=merged, rows=rows, parts=parts)


Span = tuple[datetime, datetime]


def own_parts(
    engine: Engine,
    monitor: MonitorSettings,
    ref: Reference,
    windows: Sequence[Window],
    known: Mapping[Span, dict[str, Sketch]] | None = None,
) -> dict[Span, list[tuple[Span, dict[str, Sketch]]]]:
    """Each window's own baseline, (span, sketches) per window, newest first: what it was,
    or would have been, compared with as the live window (`build`'s choice, with today's
    knowledge of alarmed runs); windows whose own baseline is insufficient are left out.
    What a baseline window's null value is measured against (`baseline_verdict`).

    Cheap when most of it is `known` (the current baseline's windows, usable by
    construction: a trailing baseline's newest window shares all but one of its own): only
    the other candidates are read. Candidates: the first `count` + max(2, count/8), not the
    whole lookback (a window with more exclusions than that among its candidates gets a
    shorter own baseline, at least `needed`, else none)."""
    size = monitor.window.size
    if not windows or size is None or monitor.baseline.fixed:
        return {}
    known = known or {}
    want = monitor.baseline.count + max(2, monitor.baseline.count // 8)
    slots = {(w.start, w.end): candidate_slots(monitor.baseline, size, w)[:want] for w in windows}
    spans = sorted({(c.start, c.end) for cands in slots.values() for c in cands} - set(known))
    rows = dict.fromkeys(known, max(monitor.window.min_events, 1))
    if spans:
        rows |= store.saved_rows(engine, ref.id, spans)
        rows |= store.slot_rows(engine, ref.id, [s for s in spans if s not in rows])
    earliest = min(c.start for cands in slots.values() for c in cands)
    alarmed = (
        store.alarmed_runs(engine, monitor.name, earliest, max(w.start for w in windows))
        if monitor.baseline.exclude_alarmed and spans
        else []
    )
    chosen = {k: _choose(monitor, cands, rows, alarmed)[0] for k, cands in slots.items()}
    chosen = {k: u for k, u in chosen.items() if len(u) >= monitor.baseline.needed}
    wanted = {
        (w.start, w.end): w for u in chosen.values() for w in u if (w.start, w.end) not in known
    }
    per_slot = dict(known) | window_sketches(engine, ref.id, list(wanted.values()))
    return {
        k: [
            ((w.start, w.end), per_slot[(w.start, w.end)])
            for w in u
            if (w.start, w.end) in per_slot
        ]
        for k, u in chosen.items()
    }


def window_sketches(
    engine: Engine, reference_id: int, windows: Sequence[Window]
) -> dict[tuple[datetime, datetime], dict[str, Sketch]]:
    """Each window's sketches: stored by its run, else merged from its bucket deltas."""
    spans = [(w.start, w.end) for w in windows]
    out = store.saved_sketches(engine, reference_id, spans)
    out |= store.slot_sketches(engine, reference_id, [s for s in spans if s not in out])
    return out


def save(
    engine: Engine,
    monitor: MonitorSettings,
    ref: Reference,
    window: Window,
    rows: int,
    current: dict[str, Sketch],
    now: datetime,
) -> None:
    """Keep a run's merged window sketches for the baselines of later runs (one row)."""
    if not monitor.baseline.fixed:
        store.save_window(
            engine, monitor.name, ref.id, (window.start, window.end), rows, current, now
        )


def _rows(parts: dict[str, Sketch]) -> int:
    return max((s.count + s.missing + getattr(s, "infinite", 0) for s in parts.values()), default=0)


def alarmed_rules(hits: Sequence[RuleHit]) -> list[str]:
    """Names of the rules about the window's data (drift, data quality) that held at a run:
    a non-empty list marks the run's window as alarmed (left out of later baselines)."""
    return sorted({h.rule.name for h in hits if h.condition and h.rule.condition not in _NOT_DATA})


def spread(
    engine: Engine, monitor: MonitorSettings, ref: Reference, window: Window
) -> dict[str, FeatureSpread]:
    """Per feature, the statistic of each of `window`'s baseline windows against the rest of
    the baseline (`drift.baseline_spread.leave_one_out`): the baseline's own variability,
    for null calibration (auto thresholds, sequential statistics). Empty for the fixed
    reference or fewer than two usable windows."""
    if monitor.baseline.fixed:
        return {}
    used, _, _ = usable_windows(engine, monitor, ref, window)
    per_slot = window_sketches(engine, ref.id, used)
    windows = [per_slot[(w.start, w.end)] for w in used if (w.start, w.end) in per_slot]
    return leave_one_out(ref.specs, windows, drift_options(monitor))
