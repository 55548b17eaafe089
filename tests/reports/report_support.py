"""Helpers for the report tests: hostile inputs, deterministic history, an HTML tag parser."""

from __future__ import annotations

import html as htmllib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import numpy as np
import pandas as pd

from monitor.drift.result import DriftReport
from monitor.reports import HistoryPoint

EVIL_FEATURE = "<script>alert(1)</script>"
EVIL_CATEGORY = "</script><img src=x onerror=alert(1)>"
EVIL_MODEL = '"><img src=x onerror=alert(2)>'
EVIL_META = "<!-- </script><script>alert(3)</script>"
ROWS = 500
END = datetime(2026, 3, 1, tzinfo=UTC)


def hostile_frames(rows: int = ROWS, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows),
            EVIL_FEATURE: rng.normal(0, 1, rows),
            "cat": rng.choice(["a", "b", "c"], rows),
        }
    )
    cur = pd.DataFrame(
        {
            "age": rng.normal(45, 10, rows),
            EVIL_FEATURE: rng.normal(0.5, 1, rows),
            "cat": rng.choice(["a", "b", EVIL_CATEGORY], rows),
        }
    )
    return ref, cur


def make_history(report: DriftReport, runs: int = 6) -> dict[str, list[HistoryPoint]]:
    """Deterministic points, given newest first (the renderer must sort them)."""
    out = {}
    for j, f in enumerate(report.features):
        out[f.name] = [
            HistoryPoint(
                window_end=END - timedelta(hours=k),
                statistic=0.01 * (k + 1) + j,
                threshold=f.threshold + 0.001 * k,
                drifted=k % 2 == 0,
                method=f.method,
                p_value=0.5 / (k + 1),
            )
            for k in range(runs)
        ]
    return out


@dataclass(frozen=True)
class Rendered:
    html: str
    reference: pd.DataFrame
    current: pd.DataFrame
    drift: DriftReport
    history: dict[str, list[HistoryPoint]]


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)

    def handle_data(self, data):
        if self._in_script is not None:
            self.scripts.append((self._in_script, data))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def parse(doc: str) -> Tags:
    p = Tags()
    p.feed(doc)
    return p


def figures(doc: str) -> dict[str, dict]:
    """Embedded figure JSON by chart title (the HTML-unescaped feature name)."""
    out = {}
    for attrs, text in parse(doc).scripts:
        if attrs.get("type") == "application/json" and "data-figure" in attrs:
            fig = json.loads(text)
            out[htmllib.unescape(fig["layout"]["title"]["text"])] = fig
    return out
