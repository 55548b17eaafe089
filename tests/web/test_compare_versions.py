"""The compare page's champion/challenger card, on Postgres with shadow traffic: versions 1 and 2
of one model score the same requests (the same event ids, one label each), both monitors are
ticked by the real scheduler, and the page shows McNemar's test (pinned to statsmodels) and the
bootstrap intervals, over HTTP and rendered in headless Chromium. The SQLite site (split
traffic: each version its own requests) shows the unpaired two-proportion test."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportions_ztest
from tab import Tab, find_chromium
from web_support import HOUR, SCREENSHOTS, T0, login, make_settings, traffic, training

from monitor.api.server import ServerThread
from monitor.app import create_app
from monitor.scheduler.ticks import tick
from monitor.storage import make_engine
from monitor.storage.tables import labels, predictions
from monitor.storage.writes import store_batch
from monitor.web.html import fmt

N = 400


@dataclasses.dataclass(frozen=True)
class Shadow:
    app: Any
    url: str
    token: str
    runs: list[int]  # churn-v1 run ids, oldest first
    correct: list[tuple[np.ndarray, np.ndarray]]  # per window: (v1 right, v2 right)


@pytest.fixture(scope="module")
def shadow(migrated_pg, tmp_path_factory) -> Iterator[Shadow]:
    tmp = tmp_path_factory.mktemp("shadow")
    token = "read-" + secrets.token_hex(16)
    settings = make_settings(
        migrated_pg("compare_versions"), training(tmp / "ref.parquet"), tmp / "reports",
        slack_url="http://127.0.0.1:9/unused", read_token=token, admin_token="admin-" + token,
    )  # fmt: skip
    engine = make_engine(settings.database.url.get_secret_value())
    rng = np.random.default_rng(3)
    correct = []
    for w in range(2):
        preds, labs = traffic(N, T0 + w * HOUR, "1", seed=40 + w)
        truth = np.array([lab.label for lab in labs])
        better = np.where(rng.random(N) < 0.95, truth, 1 - truth)
        shadow = [
            dataclasses.replace(
                p, model_version="2", ts=p.ts + HOUR / N / 2, prediction=int(better[i]),
                prediction_proba=None,
            )  # the challenger scores the same request a moment later
            for i, p in enumerate(preds)
        ]  # fmt: skip
        store_batch(engine, preds + shadow, labs, [])
        mine = np.array([p.prediction for p in preds])
        correct.append((mine == truth, better == truth))
    runs = []
    for i in (1, 2):
        for m in settings.monitors:
            (outcome,) = tick(engine, settings, m, now=T0 + i * HOUR + timedelta(seconds=1))
            if m.name == "churn-v1":
                runs.append(outcome.run_id)
    app = create_app(engine, settings)
    server = ServerThread(app, "127.0.0.1", 0, name="web-versions").start()
    try:
        yield Shadow(app, server.url, token, runs, correct)
    finally:
        server.stop()
        engine.dispose()


def _card(html: str) -> str:
    start = html.index('id="cmp-versions"')
    return html[start : html.index("</section>", start)]


def _page(app: Any, token: str, path: str) -> str:
    with TestClient(app, follow_redirects=False) as client:
        assert login(client, token, "/").status_code == 303
        r = client.get(path)
        assert r.status_code == 200
        return r.text


def test_paired_card_shows_mcnemar_of_the_chosen_window(shadow) -> None:
    for run, (ca, cb) in zip(shadow.runs, shadow.correct, strict=True):
        card = _card(_page(shadow.app, shadow.token, f"/compare?a=churn-v1&b=churn-v2&run={run}"))
        table = [[(ca & cb).sum(), (ca & ~cb).sum()], [(~ca & cb).sum(), (~ca & ~cb).sum()]]
        b, c = table[0][1], table[1][0]
        want = sm_mcnemar(table, exact=b + c < 25, correction=True)
        assert f"paired: {N:,} requests scored by both versions" in card
        assert f"A right, B wrong: {b:,}; A wrong, B right: {c:,}" in card
        assert f"p = {fmt(float(want.pvalue), 4)}" in card
        assert f'<td>accuracy</td><td class="num">{fmt(float(ca.mean()), 4)}</td>' in card
        assert "2,000 bootstrap resamples of the pairs" in card


def test_split_traffic_card_is_unpaired(site, client) -> None:
    run = site.facts.runs["churn-v1"][0]
    assert login(client, site.read_token, "/").status_code == 303
    card = _card(client.get(f"/compare?a=churn-v1&b=churn-v2&run={run}").text)
    assert "unpaired: each request scored by one version" in card
    right = []
    with site.engine.connect() as conn:  # the first window's labelled rows, as stored
        for version in ("1", "2"):
            p, lab = predictions.c, labels.c
            rows = conn.execute(
                select(p.prediction, lab.label)
                .join_from(predictions, labels, lab.event_id == p.event_id)
                .where(p.model_version == version, p.ts >= T0, p.ts < T0 + HOUR)
            ).all()
            right.append((sum(int(x == y) for x, y in rows), len(rows)))
    _, pvalue = proportions_ztest([right[0][0], right[1][0]], [right[0][1], right[1][1]])
    assert "two-proportion z-test" in card and f"p = {fmt(float(pvalue), 4)}" in card


def test_card_renders_in_chromium(shadow, tmp_path) -> None:
    chromium = find_chromium()
    if chromium is None:  # `make test` installs Debian's chromium; missing fails, never skips
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")
    from cdp import Browser

    browser = Browser(chromium, tmp_path / "chromium")
    try:
        tab = Tab(browser)
        tab.goto(f"{shadow.url}/compare?a=churn-v1&b=churn-v2&run={shadow.runs[-1]}")
        tab.evaluate(f"document.getElementById('token').value = {json.dumps(shadow.token)}")
        tab.click("form[action='/login'] button[type=submit]")
        tab.settle(0.5)
        assert tab.problems() == []
        text = tab.evaluate("document.getElementById('cmp-versions').innerText")
        assert "Champion and challenger: version 1 (A) vs 2 (B)" in text
        assert "McNemar" in text and "bootstrap interval" in text
        rows = tab.json(
            "[...document.querySelectorAll('#cmp-versions tbody tr')]"
            ".map(tr => tr.cells[0].textContent)"
        )
        assert rows == ["accuracy", "f1"]
        tab.screenshot(SCREENSHOTS / "web-compare-versions.png")
    finally:
        browser.close()
