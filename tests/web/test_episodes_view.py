"""The episodes card's HTML (monitor/web/episodes_view.py) from stored-row types: untrusted
names (version, rule, subject, route, the target's run id) are escaped, a target URL is a link
only when it is http(s), and the verdict follows the monitor's retraining_ineffective rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.rules.retraining import EpisodeWindow, PerformanceWindow, judge
from monitor.settings import parse_settings
from monitor.storage.deployments import (
    Deployment,
    Episode,
    EpisodeAlert,
    EpisodeRun,
    EpisodeTrigger,
)
from monitor.web.episodes_view import MonitorEpisode, safe_link, section

T0 = datetime(2026, 11, 2, 12, tzinfo=UTC)
H = timedelta(hours=1)
EVIL = '<img src=x onerror="alert(1)">'


def _monitor(**rule):
    rules = [{"name": "dataset", "condition": "dataset_drift"}]
    if rule:
        rules.append({"name": "ineffective", "condition": "retraining_ineffective", **rule})
    doc = {"monitors": [{"name": "mon", "model": "m", "reference": "r.parquet", "rules": rules}]}
    return parse_settings(doc).monitors[0]


def _run(i: int, drift: bool | None, status: str = "succeeded") -> EpisodeRun:
    return EpisodeRun(10 + i, "mon", T0 + i * H, T0 + (i + 1) * H, status, drift,
                      0.6 if drift else 0.1)  # fmt: skip


def _episode(m, runs, answer, perf_after=()) -> MonitorEpisode:
    dep = Deployment(3, "m", EVIL, "/data/v2.parquet", "d-1", 7, T0 + 2 * H, {"mon": 2}, [7])
    alert = EpisodeAlert(7, "mon", EVIL, EVIL, "critical", "resolved", T0 + H, T0 + 2 * H)
    trigger = EpisodeTrigger("d-1", EVIL, "drift.detected", "delivered", T0 + H, answer)
    before = [_run(0, False), _run(1, True)]
    windows = [EpisodeWindow(r.window_start, r.window_end, r.id,
                             r.dataset_drift if r.status == "succeeded" else None,
                             r.drift_share) for r in runs]  # fmt: skip
    rule = next((r for r in m.rules if r.condition == "retraining_ineffective"), None)
    j = judge(windows, list(perf_after), rule)
    return MonitorEpisode(Episode(dep, alert, trigger, runs, before), runs, before, [],
                          list(perf_after), j)  # fmt: skip


def test_untrusted_values_are_escaped_and_javascript_urls_are_not_links() -> None:
    m = _monitor()
    answer = {"run_id": EVIL, "url": "javascript:alert(1)"}
    html = section(m, [_episode(m, [_run(2, False), _run(3, False), _run(4, False)], answer)])
    assert EVIL not in html and "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert 'href="javascript' not in html
    assert "helped" in html and "dataset drift on 0 of 3 windows (fires at 2 of 3)" in html


def test_http_link_and_verdicts() -> None:
    assert safe_link("https://airflow.example/dags/d/runs/r?a=1&b=2", "run r") == (
        '<a href="https://airflow.example/dags/d/runs/r?a=1&amp;b=2" '
        'rel="noopener noreferrer" target="_blank">run r</a>'
    )
    assert safe_link("ftp://x", "run") == "run" and safe_link(None, "<b>") == "&lt;b&gt;"
    m = _monitor(windows=2, min_drifted=1)
    answer = {"run_id": "r1", "url": "http://airflow:8080/dags/d/runs/r1"}
    early = section(m, [_episode(m, [_run(2, True, "succeeded")], answer)])
    assert ">too early<" in early and "1 of 2 windows judged so far" in early
    bad = section(m, [_episode(m, [_run(2, False), _run(3, None, "insufficient_data"),
                                   _run(4, True)], answer)])  # fmt: skip
    assert ">did not help<" in bad and "dataset drift on 1 of 2 windows" in bad
    assert 'href="http://airflow:8080/dags/d/runs/r1"' in bad
    assert "#13 insufficient data" in bad


def test_performance_row_and_no_card_without_episodes() -> None:
    m = _monitor(windows=2, metric="accuracy", threshold=0.9)
    perf = [PerformanceWindow(T0 + 2 * H, T0 + 3 * H, 100, {"accuracy": 0.8}),
            PerformanceWindow(T0 + 3 * H, T0 + 4 * H, 300, {"accuracy": 0.6})]  # fmt: skip
    html = section(m, [_episode(m, [_run(2, False), _run(3, False)], {}, perf)])
    assert ">did not help<" in html  # pooled accuracy (80 + 180) / 400 = 0.65 < 0.9
    assert "0.65 on 400 labelled rows" in html and "target run (no id returned)" in html
    assert section(m, []) == ""
