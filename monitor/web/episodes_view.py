"""Retraining episodes on a monitor's page (issue 16): alert fired -> trigger sent (the
target's run id and link) -> deployment of version V -> V's first windows against the old
version's last ones, with a verdict "helped / did not help / too early".

The verdict is the rule `retraining_ineffective`'s (`monitor.rules.retraining.judge`) with the
monitor's own rule when it has one (its N, M, metric and threshold), else N = 3, M = 2 on drift
alone. Every value from events, the config or a target's answer passes through `e`; a
target's URL becomes a link only when it is http(s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.rules.retraining import (
    EpisodeWindow,
    Judgement,
    PerformanceWindow,
    judge,
    pooled_metric,
    window_counts,
)
from monitor.settings import MonitorSettings, RuleSettings
from monitor.storage.db import Engine
from monitor.storage.deployments import Episode, EpisodeRun, episodes
from monitor.storage.retraining import performance_around
from monitor.web.html import badge, e, fmt, fmt_share, fmt_ts
from monitor.web.pages import run_link

_STYLE = """<style>
ol.episode{list-style:none;margin:8px 0 18px;padding:0 0 0 18px;border-left:3px solid var(--line)}
ol.episode>li{position:relative;margin:0 0 10px;padding-left:6px}
ol.episode>li::before{content:"";position:absolute;left:-27px;top:4px;width:12px;height:12px;
border-radius:50%;background:#fff;border:3px solid var(--line)}
ol.episode>li.done::before{border-color:var(--green)}ol.episode>li.bad::before{border-color:var(--red)}
ol.episode>li.wait::before{border-color:var(--amber)}
ol.episode b.step{display:inline-block;min-width:118px}
table.episode-cmp{border-collapse:collapse;margin-top:4px}
table.episode-cmp th,table.episode-cmp td{border-bottom:1px solid var(--line);padding:3px 10px;
text-align:left}
</style>"""

VERDICT_KIND = {"helped": "ok", "did not help": "drift", "too early": "pending"}


@dataclass(frozen=True)
class MonitorEpisode:
    """One episode as this monitor saw it."""

    episode: Episode
    runs: list[EpisodeRun]  # the new version's first runs (this monitor's)
    before: list[EpisodeRun]  # the old version's last runs
    perf_before: list[PerformanceWindow]
    perf_after: list[PerformanceWindow]
    judgement: Judgement


def _rule(m: MonitorSettings) -> RuleSettings | None:
    return next((r for r in m.rules if r.condition == "retraining_ineffective"), None)


def load(engine: Engine, m: MonitorSettings, limit: int = 5) -> list[MonitorEpisode]:
    """The monitor's retraining episodes (its model's deployments that name a trigger and
    materialised a reference for it), newest first."""
    rule = _rule(m)
    n, _ = window_counts(rule)
    out = []
    for x in episodes(engine, m.model, first=2 * n, limit=limit):  # room for short windows
        if m.name not in x.deployment.reference_versions:
            continue
        runs = [r for r in x.runs if r.monitor == m.name]
        before = [r for r in x.before if r.monitor == m.name]
        perf_before, perf_after = performance_around(engine, m.name, x.deployment.deployed_at, n)
        windows = [EpisodeWindow(r.window_start, r.window_end, r.id,
                                 r.dataset_drift if r.status == "succeeded" else None,
                                 r.drift_share) for r in runs]  # fmt: skip
        j = judge(windows, perf_after, rule)
        out.append(MonitorEpisode(x, runs, before, perf_before, perf_after, j))
    return out


def section(m: MonitorSettings, found: Sequence[MonitorEpisode]) -> str:
    """The page's "Retraining episodes" card (empty string: no episode, no card)."""
    if not found:
        return ""
    items = "".join(_episode_html(m, x) for x in found)
    note = (
        "alert → retraining trigger → deployment → the new version's first windows against "
        "the old version's last ones"
    )
    return (
        f'<section class="card" id="episodes"><h2>Retraining episodes</h2>{_STYLE}'
        f'<p class="muted small">{e(note)}</p>{items}</section>'
    )


def _episode_html(m: MonitorSettings, x: MonitorEpisode) -> str:
    dep = x.episode.deployment
    steps = [_alert_step(x), _trigger_step(x), _deploy_step(m, x), _result_step(m, x)]
    return f'<ol class="episode" data-deployment="{int(dep.id)}">{"".join(steps)}</ol>'


def _li(css: str, step: str, body: str) -> str:
    return f'<li class="{css}"><b class="step">{e(step)}</b> {body}</li>'


def _alert_step(x: MonitorEpisode) -> str:
    a = x.episode.alert
    if a is None:
        return _li("", "Alert", '<span class="muted">no alert linked</span>')
    body = (
        f"{badge(a.severity, a.severity)} <b>{e(a.rule)}</b> {e(a.subject or '')} on "
        f"{e(a.monitor)} · alert #{int(a.id)} fired {e(fmt_ts(a.fired_at))} UTC · "
        f"{badge(a.state, a.state)}"
    )
    return _li("bad", "Alert fired", body)


def safe_link(url: Any, text: str) -> str:
    """`text` linked to `url` when it is an http(s) URL, else the text alone (escaped)."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return f'<a href="{e(url)}" rel="noopener noreferrer" target="_blank">{e(text)}</a>'
    return e(text)


def _trigger_step(x: MonitorEpisode) -> str:
    t = x.episode.trigger
    dep = x.episode.deployment
    if t is None:
        return _li("", "Trigger", e(f"delivery {dep.trigger_delivery_id} (no longer stored)"))
    answer = t.answer if isinstance(t.answer, dict) else {}
    run_id, link = answer.get("run_id"), answer.get("url")
    target = "target run " + (str(run_id) if run_id else "(no id returned)")
    body = (
        f"route <b>{e(t.route)}</b> {badge(t.status, t.status)} · "
        f"{safe_link(link, target)}"
        + (f" · {safe_link(link, 'open')}" if link and not run_id else "")
        + f" · delivered {e(fmt_ts(t.delivered_at, seconds=True))} UTC"
        f' · <span class="muted small">delivery {e(t.delivery_id)}</span>'
    )
    return _li("done" if t.status == "delivered" else "wait", "Trigger sent", body)


def _deploy_step(m: MonitorSettings, x: MonitorEpisode) -> str:
    dep = x.episode.deployment
    ref = dep.reference_versions.get(m.name)
    body = (
        f"version <b>{e(dep.version)}</b> · deployment {int(dep.id)} at "
        f"{e(fmt_ts(dep.deployed_at, seconds=True))} UTC · reference version {e(fmt(ref))}"
    )
    return _li("done", "Deployed", body)


def _result_step(m: MonitorSettings, x: MonitorEpisode) -> str:
    j = x.judgement
    verdict = j.verdict
    explain = f"dataset drift on {j.drifted} of {len(j.judged)} windows (fires at {j.min_drifted} of {j.windows})"
    if verdict == "too early":
        explain = f"{len(j.judged)} of {j.windows} windows judged so far"
    css = {"helped": "done", "did not help": "bad", "too early": "wait"}[verdict]
    body = (
        f'{badge(verdict, VERDICT_KIND[verdict])} <span class="muted">{e(explain)}</span>'
        f"{_compare_table(m, x)}"
    )
    return _li(css, "Did it help?", body)


def _runs_cell(runs: Sequence[EpisodeRun]) -> str:
    if not runs:
        return '<span class="muted">none yet</span>'
    return " ".join(f"{run_link(r.id, _run_mark(r))}" for r in runs)


def _run_mark(r: EpisodeRun) -> str:
    if r.status != "succeeded":
        return f"#{r.id} {r.status.replace('_', ' ')}"
    return f"#{r.id} {'drift' if r.dataset_drift else 'ok'} {fmt_share(r.drift_share)}"


def _mean_share(runs: Sequence[EpisodeRun]) -> str:
    shares = [r.drift_share for r in runs if r.drift_share is not None]
    return fmt_share(sum(shares) / len(shares)) if shares else fmt_share(None)


def _perf(windows: Sequence[PerformanceWindow], metric: str, n: int) -> str:
    pooled = pooled_metric(windows, metric, n)
    if pooled is None:
        return '<span class="muted">no labels yet</span>'
    return e(f"{fmt(pooled[0], 4)} on {pooled[1]:,} labelled rows")


def _compare_table(m: MonitorSettings, x: MonitorEpisode) -> str:
    rule = _rule(m)
    metric = rule.metric if rule is not None and rule.metric else "accuracy"
    n = x.judgement.windows
    drifted = sum(bool(r.dataset_drift) for r in x.before if r.status == "succeeded")
    rows = [
        ("windows", _runs_cell(x.before), _runs_cell(x.runs)),
        ("drifted windows", e(f"{drifted} of {len(x.before)}"),
         e(f"{x.judgement.drifted} of {len(x.judgement.judged)}")),
        ("mean drift share", e(_mean_share(x.before)), e(_mean_share(x.runs))),
    ]  # fmt: skip
    if m.performance_enabled or x.perf_before or x.perf_after:
        rows.append((metric, _perf(x.perf_before, metric, n), _perf(x.perf_after, metric, n)))
    body = "".join(f"<tr><th>{e(k)}</th><td>{a}</td><td>{b}</td></tr>" for k, a, b in rows)
    head = "<tr><th></th><th>old version, last windows</th><th>new version, first windows</th></tr>"
    return f'<table class="episode-cmp">{head}{body}</table>'


__all__ = ["MonitorEpisode", "load", "safe_link", "section"]
