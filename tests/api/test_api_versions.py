"""GET /api/v1/models/{model}/versions/compare on its own Postgres database, seeded the real way:
shadow traffic of versions 3 and 4 (the same event ids) with labels -> both version monitors
ticked by the scheduler -> the route compares them (numbers pinned to statsmodels)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from api_support import HOUR, READ_TOKEN, T0, traffic, training
from fastapi.testclient import TestClient
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportions_ztest

from monitor.app import create_app
from monitor.events import Label
from monitor.scheduler.ticks import tick
from monitor.settings import parse_settings
from monitor.storage import make_engine
from monitor.storage.writes import store_batch

N = 300
URL = "/api/v1/models/m/versions/compare"
WINDOW = {"start": T0.isoformat(), "end": (T0 + HOUR).isoformat()}


def _settings(url: str, ref: Any, reports: Any) -> Any:
    monitor = {"model": "m", "reference": str(ref), "window": {"size": "1h", "min_events": 100}}
    return parse_settings(
        {
            "database": {"url": url},
            "reports": {"enabled": False, "directory": str(reports)},
            "monitors": [
                {"name": "champ", **monitor, "model_version": "3"},
                {"name": "chall", **monitor, "model_version": "4"},
            ],
            "api": {"read_tokens": [READ_TOKEN], "admin_tokens": []},
        }
    )


@pytest.fixture(scope="module")
def shadow(migrated_pg, tmp_path_factory) -> Iterator[tuple[TestClient, np.ndarray, np.ndarray]]:
    tmp = tmp_path_factory.mktemp("versions")
    settings = _settings(migrated_pg("versions"), training(tmp / "ref.parquet"), tmp / "reports")
    engine = make_engine(settings.database.url.get_secret_value())
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, N)
    pa = np.where(rng.random(N) < 0.7, y, 1 - y)
    pb = np.where(rng.random(N) < 0.9, y, 1 - y)
    base = traffic(N, T0, seed=21)
    champ = [
        dataclasses.replace(p, model_version="3", prediction=int(pa[i])) for i, p in enumerate(base)
    ]
    chall = [
        dataclasses.replace(
            p, model_version="4", prediction=int(pb[i]), ts=p.ts + (HOUR / N) / 2
        )  # shadow: same request id, scored a moment later
        for i, p in enumerate(base)
    ]
    labels = [Label(p.event_id, "m", int(y[i]), T0 + 2 * HOUR) for i, p in enumerate(base)]
    store_batch(engine, champ + chall, labels, [])
    for monitor in settings.monitors:
        tick(engine, settings, monitor, now=T0 + HOUR + HOUR / 60)
    with TestClient(create_app(engine, settings)) as client:
        yield client, pa == y, pb == y
    engine.dispose()


AUTH = {"Authorization": f"Bearer {READ_TOKEN}"}


def test_paired_comparison_with_drift_runs(shadow) -> None:
    client, ca, cb = shadow
    r = client.get(URL, params={"a": "3", "b": "4", **WINDOW}, headers=AUTH)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["design"], doc["pairs"], doc["task"]) == ("paired", N, "classification")
    assert (doc["predictions_a"], doc["rows_b"]) == (N, N)
    table = [[(ca & cb).sum(), (ca & ~cb).sum()], [(~ca & cb).sum(), (~ca & ~cb).sum()]]
    want = sm_mcnemar(table, exact=False, correction=True)
    assert doc["test"]["name"] == "mcnemar_chi2"
    assert doc["test"]["p_value"] == pytest.approx(want.pvalue, rel=1e-12)
    assert doc["test"]["discordant"] == [table[0][1], table[1][0]]
    acc = {m["metric"]: m for m in doc["metrics"]}["accuracy"]
    assert acc["diff"] == pytest.approx(cb.mean() - ca.mean(), rel=1e-12)
    assert acc["low"] < acc["diff"] < acc["high"]
    drift = {d["monitor"]: d for d in doc["drift"]}
    assert set(drift) == {"champ", "chall"} and drift["chall"]["version"] == "4"
    assert drift["champ"]["run"]["window_start"].startswith(T0.isoformat()[:19])
    assert drift["champ"]["run"]["status"] == "succeeded"
    assert drift["chall"]["run"]["dataset_drift"] is False


def test_unpaired_when_forced_and_errors(shadow) -> None:
    client, ca, cb = shadow
    r = client.get(URL, params={"a": "3", "b": "4", "design": "unpaired", **WINDOW}, headers=AUTH)
    doc = r.json()
    _, p = proportions_ztest([ca.sum(), cb.sum()], [N, N])
    assert doc["test"]["name"] == "two_proportion_z"
    assert doc["test"]["p_value"] == pytest.approx(p, rel=1e-12)
    assert client.get(URL, params={"a": "3", "b": "9", **WINDOW}, headers=AUTH).json()[
        "reason"
    ] == ("no labelled rows of version 9")
    bad = {"a": "3", "b": "4", "start": WINDOW["end"], "end": WINDOW["start"]}
    assert client.get(URL, params=bad, headers=AUTH).status_code == 400
    same = {"a": "3", "b": "3", **WINDOW}
    assert client.get(URL, params=same, headers=AUTH).status_code == 400
    other = "/api/v1/models/nope/versions/compare"
    assert client.get(other, params={"a": "3", "b": "4", **WINDOW}, headers=AUTH).status_code == 404
    assert client.get(URL, params={"a": "3", "b": "4", **WINDOW}).status_code == 401


def test_defaults_are_the_configured_versions_on_the_newest_window(shadow) -> None:
    client, _, _ = shadow
    doc = client.get(URL, headers=AUTH).json()
    assert (doc["version_a"], doc["version_b"], doc["pairs"]) == ("3", "4", N)
    assert doc["window_start"].startswith(T0.isoformat()[:19])
    swapped = client.get(URL, params={"a": "4"}, headers=AUTH).json()
    assert (swapped["version_a"], swapped["version_b"]) == ("4", "3")
    half = client.get(URL, params={"start": WINDOW["start"]}, headers=AUTH)
    assert half.status_code == 400 and half.json() == {
        "detail": "give both start and end, or neither"
    }
