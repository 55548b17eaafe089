"""Issue 11 item 3: the report's "drift statistic over recent runs" charts.

A scheduled run's report ends with the run being reported (highlighted, red when drifted),
although the report is written before the run is stored; an on-demand report of window W
shows no run after W.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from datetime import timedelta
from pathlib import Path

import yaml
from scheduler_support import T0, put, traffic, training

from monitor.cli import main
from monitor.scheduler.ticks import tick
from monitor.settings import parse_settings

HOUR = timedelta(hours=1)
_FIG = re.compile(r'<script type="application/json" data-figure="[^"]+">(.*?)</script>', re.S)


def figures(page: str) -> dict[str, dict]:
    """Embedded plotly figures by chart title (the feature name)."""
    out = {}
    for raw in _FIG.findall(page):
        fig = json.loads(raw)
        if fig.get("layout", {}).get("title"):
            out[htmllib.unescape(fig["layout"]["title"]["text"])] = fig
    return out


def _doc(tmp_path: Path, url: str) -> dict:
    return {
        "database": {"url": url},
        "reports": {
            "enabled": True,
            "directory": str(tmp_path / "reports"),
            "write_on": "every_run",
            "max_rows": 500,
        },
        "monitors": [
            {
                "name": "mon",
                "model": "m",
                "reference": str(training(tmp_path / "ref.parquet")),
                "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                "rules": [{"name": "dataset", "condition": "dataset_drift"}],
            }
        ],
    }


def _three_runs(pg_engine, tmp_path) -> tuple[dict, list]:
    doc = _doc(tmp_path, pg_engine.url.render_as_string(hide_password=False))
    settings = parse_settings(doc)
    monitor = settings.monitors[0]
    put(pg_engine, traffic(600, T0, HOUR, seed=11))
    put(pg_engine, traffic(600, T0 + HOUR, HOUR, seed=12))
    put(pg_engine, traffic(600, T0 + 2 * HOUR, HOUR, seed=13, shift=1.5))
    outcomes = []
    for i in (1, 2, 3):
        (out,) = tick(pg_engine, settings, monitor, now=T0 + i * HOUR + timedelta(seconds=1))
        outcomes.append(out)
    return doc, outcomes


def _highlighted(fig: dict) -> list[int]:
    """Indexes of the points drawn as the reported run (outlined, larger than the others)."""
    marker = fig["data"][0]["marker"]
    widths = (marker.get("line") or {}).get("width")
    if not isinstance(widths, list):
        return []
    return [i for i, w in enumerate(widths) if w > 0 and marker["size"][i] > 7]


def test_scheduled_report_ends_with_the_reported_run_highlighted(pg_engine, tmp_path) -> None:
    _, outcomes = _three_runs(pg_engine, tmp_path)
    assert [o.dataset_drift for o in outcomes] == [False, False, True]
    page = Path(outcomes[2].report_path).read_text()
    figs = figures(page)
    ends = [(T0 + i * HOUR).isoformat() for i in (1, 2, 3)]
    for name in ("x", "c", "prediction"):  # the prediction by its display name
        fig = figs[name]
        assert fig["data"][0]["x"] == ends, name  # the reported run is the last point
        assert _highlighted(fig) == [2], name
    x = figs["x"]["data"][0]
    assert x["marker"]["color"][-1] == "#d62728"  # run 3 drifted: a red point
    # auto thresholds judge x by its normed Wasserstein distance at every window size
    assert x["y"][-1] is not None and x["y"][-1] > 1.0  # about 1.5 for a 1.5σ shift
    # the first run's report has one point: itself
    first = figures(Path(outcomes[0].report_path).read_text())
    assert first["x"]["data"][0]["x"] == ends[:1] and _highlighted(first["x"]) == [0]


def test_on_demand_report_history_is_bounded_by_its_window(pg_engine, tmp_path, capsys) -> None:
    doc, _ = _three_runs(pg_engine, tmp_path)
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    out = tmp_path / "w1.html"
    window = f"{T0.isoformat()}..{(T0 + HOUR).isoformat()}"

    code = main(
        ["report", "--monitor", "mon", "--window", window, "--config", str(cfg), "-o", str(out)]
    )

    assert code == 0, capsys.readouterr().err
    figs = figures(out.read_text())
    assert figs["x"]["data"][0]["x"] == [(T0 + HOUR).isoformat()]  # nothing after W
    assert _highlighted(figs["x"]) == [0]
    out2 = tmp_path / "w2.html"
    window = f"{(T0 + HOUR).isoformat()}..{(T0 + 2 * HOUR).isoformat()}"
    assert (
        main(
            [
                "report",
                "--monitor",
                "mon",
                "--window",
                window,
                "--config",
                str(cfg),
                "-o",
                str(out2),
            ]
        )
        == 0
    )
    figs = figures(out2.read_text())
    assert figs["x"]["data"][0]["x"] == [(T0 + i * HOUR).isoformat() for i in (1, 2)]
    assert _highlighted(figs["x"]) == [1]
