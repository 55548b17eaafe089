"""The report's estimated-performance section: each window's estimate and band, the realised
value beside it once labelled with the gap and whether the band held it (table and chart),
hostile stored strings (method, metric, note) kept as text, and the section inside a full
report. Seeded through the real scheduler path in tests/scheduler/test_estimation_gap_sched.py."""

from __future__ import annotations

import html as htmllib
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from report_support import EVIL_CATEGORY, EVIL_FEATURE, figures, parse

from monitor.reports import render_report
from monitor.reports.estimate_section import estimate_section

T = datetime(2026, 11, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _window(i: int, value: float, realised: float | None, *, method: str = "cbpe", **extra):
    entry = {"value": value, "lower": value - 0.06, "upper": value + 0.06,
             "sampling_error": 0.02, "reference_error": 0.01, "realised": realised,
             "reason": None}  # fmt: skip
    doc = {"method": method, "task": "classification", "rows": 400, "metrics": {
        "accuracy": entry, "roc_auc": {"value": None, "reason": "one class", "realised": None}},
        "notes": [], **extra}  # fmt: skip
    if realised is not None:
        doc["labelled"] = 400
    return {"window_start": T + i * HOUR, "window_end": T + (i + 1) * HOUR, "estimate": doc}


ROWS = [_window(0, 0.80, 0.79), _window(1, 0.78, 0.60), _window(2, 0.81, None)]


def _cells(fragment: str) -> list[list[str]]:
    """The body rows of the windows table as unescaped cell texts."""
    start = fragment.index('id="estimate-windows"')
    body = fragment[start : fragment.index("</table>", start)]
    return [
        [htmllib.unescape(c.split(">", 1)[1].split("</td>")[0]) for c in part.split("<td")[1:]]
        for part in body.split("<tr>")[2:]  # the header row first
    ]


def test_the_table_puts_realised_gap_and_band_verdict_beside_each_estimate() -> None:
    html = estimate_section(list(reversed(ROWS)), main_metric="accuracy")
    assert html.startswith('<section id="estimates"><h2>Estimated performance</h2>')
    rows = _cells(html)
    # newest first: unlabelled, then outside (0.60 < 0.72), then inside
    assert [r[0] for r in rows] == [f"2026-11-02 0{i}:00 UTC" for i in (2, 1, 0)]
    assert rows[0][5:] == ["–", "–", "–"]
    assert rows[1][3:] == ["0.78", "[0.72, 0.84]", "0.6", "-0.1800", "outside"]
    assert rows[2][5:] == ["0.79", "-0.0100", "inside"]
    assert "realised outside the band in 1, mean |gap| 0.0950" in html
    fig = figures(html)["accuracy: estimate, band and realised"]
    traces = {t["name"]: t for t in fig["data"]}
    assert traces["band"]["fill"] == "tonexty" and traces["band"]["y"][1] == pytest.approx(0.72)
    assert traces["estimate"]["y"] == [0.80, 0.78, 0.81]
    assert traces["realised"]["y"] == [0.79, 0.60]
    assert traces["realised"]["marker"]["color"] == ["#2ca02c", "#d62728"]
    assert "roc_auc: estimate, band and realised" not in figures(html)  # never defined


def test_hostile_stored_strings_stay_text() -> None:
    rows = [
        _window(0, 0.8, 0.79, method=EVIL_FEATURE, notes=[EVIL_CATEGORY]),
        _window(1, 0.8, 0.5, method=EVIL_FEATURE, notes=[EVIL_CATEGORY]),
    ]
    for r in rows:
        r["estimate"]["metrics"][EVIL_CATEGORY] = r["estimate"]["metrics"]["accuracy"]
    html = estimate_section(rows, main_metric=EVIL_CATEGORY)
    tags = parse(html)
    assert not [a for a, _ in tags.scripts if a.get("type") != "application/json"]
    assert "<script>alert" not in html and "<img" not in html
    assert htmllib.escape(EVIL_FEATURE) in html and htmllib.escape(EVIL_CATEGORY) in html
    assert f"{EVIL_CATEGORY}: estimate, band and realised" in figures(html)


def test_the_section_sits_in_a_full_report_and_pulls_in_the_charts() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    doc = render_report(
        frame, frame, title="t", meta={"monitor": "m"},
        performance_html=estimate_section(ROWS),
    )  # fmt: skip
    assert '<section id="estimates">' in doc and "Plotly" in doc
    assert "accuracy: estimate, band and realised" in figures(doc)
    assert estimate_section([]) == ""


def test_the_section_draws_in_chromium(tmp_path) -> None:
    """The report with the section in headless Chromium: every chart drawn, the realised
    diamonds coloured by the band's verdict, no script error (screenshot:
    tests/screenshots/report-estimates.png)."""
    import base64
    import json
    import time
    from pathlib import Path

    from cdp import Browser, find_chromium

    chromium = find_chromium()
    if chromium is None:  # `make test` installs Debian's chromium; missing fails, never skips
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    # realised 0.01 under the estimate in windows 0-2 (inside), 0.1 under in 3-5 (outside)
    rows = [_window(i, 0.8 - 0.01 * i, 0.79 - 0.01 * i - 0.09 * (i >= 3)) for i in range(6)]
    doc = render_report(
        frame, frame, title="estimates", meta={"monitor": "m"},
        performance_html=estimate_section([*rows, _window(6, 0.8, None)]),
    )  # fmt: skip
    path = tmp_path / "report.html"
    path.write_text(doc, encoding="utf-8")
    browser = Browser(chromium, tmp_path / "profile")
    probe = "document.querySelectorAll('#estimates .js-plotly-plot .main-svg').length"
    try:
        session = browser.open(path.as_uri(), settle=1.0)
        deadline = time.monotonic() + 20
        while browser.evaluate(probe, session) == 0 and time.monotonic() < deadline:
            browser.pump(0.5)
        drawn = browser.evaluate(
            "document.querySelectorAll('#estimates .js-plotly-plot').length", session
        )
        points = json.loads(
            browser.evaluate(
                "JSON.stringify([...document.querySelectorAll('#estimates .js-plotly-plot')]"
                ".map(d => d.data.find(t => t.name === 'realised').marker.color))",
                session,
            )
        )
        browser.evaluate("document.getElementById('estimates').scrollIntoView()", session)
        shot = browser.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True,
             "clip": {"x": 0, "y": 0, "width": 1400, "height": 1400, "scale": 1}},
            session=session,
        )  # fmt: skip
        browser.pump(0.3)
    finally:
        browser.close()
    out = Path(__file__).resolve().parents[1] / "screenshots" / "report-estimates.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(shot["data"]))
    assert drawn == 1  # accuracy (roc_auc is never defined)
    assert points == [["#2ca02c"] * 3 + ["#d62728"] * 3]
    methods = [e.get("method") for e in browser.events]
    assert "Runtime.exceptionThrown" not in methods
