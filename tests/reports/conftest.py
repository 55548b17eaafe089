"""Report fixtures: one hostile report rendered once per session (Evidently is slow to
import and run), reused by the structure, escaping and browser tests."""

from __future__ import annotations

import pytest
from report_support import EVIL_META, EVIL_MODEL, Rendered, hostile_frames, make_history

from monitor.drift import compare
from monitor.reports import render_report


@pytest.fixture(scope="session")
def hostile() -> Rendered:
    ref, cur = hostile_frames()
    drift = compare(ref, cur)
    history = make_history(drift)
    html = render_report(
        ref,
        cur,
        title=f"Drift for {EVIL_MODEL}",
        meta={"monitor": "m<1>", "model": EVIL_MODEL, "window": EVIL_META},
        drift=drift,
        history=history,
    )
    return Rendered(html, ref, cur, drift, history)
