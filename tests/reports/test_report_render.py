"""Report structure: sections, sampling statement, time-series figures, Evidently fallback."""

from __future__ import annotations

import html as htmllib
import json
import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from report_support import EVIL_FEATURE, ROWS, figures, parse

from monitor.drift import compare
from monitor.reports import HistoryPoint, render_report
from monitor.reports.evidently_section import harden_evidently_html
from monitor.reports.sample import sample_pair, sampling_note


def test_sections_present(hostile):
    doc = hostile.html
    assert doc.startswith("<!DOCTYPE html>")
    for section in ('id="summary"', 'id="history"', 'id="evidently"'):
        assert section in doc
    tags = parse(doc)
    iframes = [a for t, a in tags.tags if t == "iframe"]
    assert len(iframes) == 1 and iframes[0]["sandbox"] == "allow-scripts"
    assert "Dataset Drift" in iframes[0]["srcdoc"]  # Evidently's own page is inside
    # offline: no external script/link/img source anywhere in our page
    assert not [a for t, a in tags.tags if t in {"script", "img", "link"} and a.get("src")]
    csp = [a["content"] for t, a in tags.tags if t == "meta" and a.get("http-equiv")]
    assert csp and "default-src 'none'" in csp[0]  # any network fetch would be refused
    # our summary: one row per feature, verdict line with the real share
    assert doc.count("<tr") == len(hostile.drift.features) + 1
    assert f"share {hostile.drift.drift_share:.2f}" in doc
    # header: row counts and generation time added to the meta
    assert f"<dt>reference rows</dt><dd>{ROWS:,}</dd>" in doc
    assert "<dt>generated</dt>" in doc


def test_plotly_inlined_once(hostile):
    scripts = [t for attrs, t in parse(hostile.html).scripts if not attrs.get("type")]
    big = [t for t in scripts if len(t) > 1_000_000]
    assert len(big) == 1 and "plotly" in big[0][:2000].lower()


def test_no_sampling_sentence_when_small(hostile):
    assert "computed on a sample" not in hostile.html


def test_time_series_points_and_threshold_lines(hostile):
    figs = figures(hostile.html)
    assert set(figs) == set(hostile.history)
    for name, points in hostile.history.items():
        fig = figs[name]
        stat, thr = fig["data"]
        ordered = sorted(points, key=lambda p: p.window_end)
        assert stat["x"] == [p.window_end.isoformat() for p in ordered]
        assert thr["name"] == "threshold" and thr["line"]["dash"] == "dash"
        assert thr["y"] == pytest.approx([p.threshold for p in ordered])
        method = hostile.drift.feature(name).method
        expected = [p.p_value if method in {"ks", "chisquare"} else p.statistic for p in ordered]
        assert stat["y"] == pytest.approx(expected)
        assert stat["marker"]["color"].count("#d62728") == sum(bool(p.drifted) for p in points)


def test_statistic_plotted_for_distance_methods_and_gaps_for_missing():
    t = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    pts = [
        HistoryPoint(t[0], 0.1, 0.2, False, "psi", p_value=0.9),
        HistoryPoint(t[1], None, 0.2, None, "psi"),
        HistoryPoint(t[2], float("inf"), 0.25, True, "psi"),
    ]
    from monitor.reports.timeseries import feature_figure

    fig = feature_figure("f", pts)
    assert fig["data"][0]["y"] == [0.1, None, None]  # JSON has no NaN/inf: gaps
    assert fig["data"][1]["y"] == [0.2, 0.2, 0.25]


def test_no_history_no_plotly_and_no_summary_without_drift(hostile):
    doc = render_report(
        hostile.reference, hostile.current, title="t", meta={}, history={"x": []}, max_rows=ROWS
    )
    assert 'id="history"' not in doc and 'id="summary"' not in doc
    assert "Plotly.newPlot" in doc  # the boot script, harmless without figures
    assert not [t for a, t in parse(doc).scripts if len(t) > 1_000_000]  # no plotly.js
    assert 'id="evidently-frame"' in doc


def test_sampling_sentence_and_sample_sizes():
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=800), "c": rng.choice(["a", "b"], 800)})
    cur = pd.DataFrame({"x": rng.normal(0.3, 1, 5_000), "c": rng.choice(["a", "b"], 5_000)})
    doc = render_report(ref, cur, title="t", meta={}, drift=compare(ref, cur), max_rows=1_000)
    assert (
        "Evidently section computed on a sample of 1,000 of 5,000 current rows "
        "(seed 0, without replacement)" in doc
    )
    assert "reference rows (" not in doc  # 800 <= 1,000: the reference side is whole
    evidently = doc[doc.index('id="evidently"') :]
    assert "computed on a sample" in evidently.split("<iframe", 1)[0]  # stated above the frame


def test_sample_pair_seeded_without_replacement():
    ref = pd.DataFrame({"i": np.arange(50_000)})
    cur = pd.DataFrame({"i": np.arange(100)})
    a, b = sample_pair(ref, cur, 20_000, seed=3)
    again, _ = sample_pair(ref, cur, 20_000, seed=3)
    other, _ = sample_pair(ref, cur, 20_000, seed=4)
    assert (
        len(a.frame) == 20_000 and a.frame["i"].is_unique and a.frame["i"].is_monotonic_increasing
    )
    assert a.frame["i"].equals(again.frame["i"]) and not a.frame["i"].equals(other.frame["i"])
    assert b.frame is cur and not b.sampled
    assert sampling_note(a, b) == (
        "Evidently section computed on a sample of 20,000 of 50,000 reference rows."
    )
    assert sampling_note(b, b) is None


def test_evidently_failure_keeps_our_report():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(size=300), "empty": np.full(300, np.nan)})
    cur = pd.DataFrame({"x": rng.normal(1, 1, 300), "empty": np.full(300, np.nan)})
    drift = compare(ref, cur)
    doc = render_report(ref, cur, title="t", meta={"model": "m"}, drift=drift)
    assert "Evidently's section could not be computed (ValueError: An empty column" in doc
    assert "<iframe" not in doc and "Traceback" not in doc
    assert 'id="summary"' in doc and doc.count("<tr") == 3  # header + x + empty


def test_harden_evidently_json_lines():
    page = (
        "<script>\n    var metric_" + "a" * 32 + ' = {"n": "</script><img src=x>"};\n'
        "    var additional_graphs_metric_" + "a" * 32 + ' = {"k": "<!--"};\n</script>'
    )
    out = harden_evidently_html(page)
    assert out.count("</script>") == 1 and "<img" not in out and "<!--" not in out
    body = re.findall(r"= (.*);$", out, re.M)
    assert json.loads(body[0]) == {"n": "</script><img src=x>"}
    assert json.loads(body[1]) == {"k": "<!--"}


def test_feature_name_is_shown_escaped(hostile):
    assert f"<td>{htmllib.escape(EVIL_FEATURE)}</td>" in hostile.html


def test_new_categories_beyond_the_listed_cap_are_counted_and_the_cap_stated():
    from monitor.drift.result import DriftReport, FeatureResult
    from monitor.reports.summary import summary_html

    listed = {f"v{i:03d}": 0.005 for i in range(100)}
    f = FeatureResult(
        name="city",
        kind="categorical",
        method="chisquare",
        statistic=900.0,
        p_value=1e-30,
        threshold=0.05,
        drifted=True,
        missing_share_reference=0.0,
        missing_share_current=0.0,
        stats={
            "new_category_count": 150,
            "new_categories": listed,
            "new_categories_listed_max": 100,
        },
    )
    page = summary_html(DriftReport(100, 100, True, 1.0, 0.5, (f,)))
    assert "<td>150: <code>v000</code> (0.5%)" in page
    assert "… 145 more (names kept for the 100 largest)" in page
