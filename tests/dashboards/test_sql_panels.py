"""Every SQL query of the drift and performance dashboards, expanded as Grafana expands it,
runs as the read-only role on a database filled by a real end-to-end run and returns the
columns its panel expects, with rows; variables take the values their own queries return."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from dash_support import HOUR, QUOTED, T0, expand
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from monitor.rules import LOWER_IS_BETTER

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def load(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS / name).read_text())


def run(engine, sql: str) -> tuple[list[str], list[tuple]]:
    with engine.connect() as conn:
        result = conn.execute(text(sql.replace(":", r"\:")))
        return list(result.keys()), [tuple(r) for r in result]


def variable_values(engine, doc, window, chosen: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each variable's options from its own query (in dashboard order, as Grafana resolves
    them); a single-value variable takes its first option unless `chosen` says otherwise."""
    values: dict[str, list[str]] = {}
    for var in doc["templating"]["list"]:
        cols, rows = run(engine, expand(var["query"], *window, values))
        assert len(cols) == 1 and rows, var["name"]
        options = [str(r[0]) for r in rows]
        pick = chosen.get(var["name"])
        if pick is not None:
            assert set(pick) <= set(options), (var["name"], options)
            values[var["name"]] = pick
        else:
            values[var["name"]] = options if var["multi"] else options[:1]
    return values


def sql_targets(doc):
    for panel in doc["panels"]:
        for target in panel["targets"]:
            if "rawSql" in target:
                yield panel, target


def check_dashboard(engine, generator, uid_file, window, values, repeat=None):
    """Run every SQL target; return {(title, refId): (columns, rows)}."""
    doc = load(uid_file)
    expected = {k[1:]: v for k, v in generator.SQL_COLUMNS.items() if k[0] == doc["uid"]}
    out = {}
    for panel, target in sql_targets(doc):
        key = (panel["title"], target["refId"])
        assert key in expected, f"{key} has no expected columns in generate.SQL_COLUMNS"
        runs = [values]
        if repeat is not None and panel.get("repeat") == repeat:
            runs = [values | {repeat: [v]} for v in values[repeat]]  # one panel per value
        for vals in runs:
            cols, rows = run(engine, expand(target["rawSql"], *window, vals))
            assert cols == list(expected[key]), key
            assert rows, f"{key} returned no rows for {vals}"
            if target["format"] == "time_series":
                assert cols[0] == "time" and all(r[0] is not None for r in rows), key
            out[key if len(runs) == 1 else (*key, vals[repeat][0])] = (cols, rows)
    assert {k for k in expected} == {(p["title"], t["refId"]) for p, t in sql_targets(doc)}
    return out


def as_dicts(result) -> list[dict[str, Any]]:
    cols, rows = result
    return [dict(zip(cols, r, strict=True)) for r in rows]


def test_drift_dashboard_queries(grafana_engine, generator, window) -> None:
    values = variable_values(grafana_engine, load("drift.json"), window, {})
    assert values["model"] == ["m"] and values["monitor"] == ["mon"]
    assert set(values["feature"]) == {"x", QUOTED, "c", "__prediction__"}
    got = check_dashboard(grafana_engine, generator, "drift.json", window, values)

    states = as_dicts(got[("Dataset drift", "A")])
    assert [s["dataset drift"] for s in states] == ["no drift", "no drift", "drift"]
    assert states[-1]["time"] == T0 + 2 * HOUR

    share = as_dicts(got[("Drift share", "A")])
    assert share[-1]["drift share"] >= share[-1]["threshold"] > share[0]["drift share"]

    # $__timeGroupAlias buckets: 5-minute epochs, counts add up to what was produced
    traffic = got[("Model traffic", "A")][1]
    assert all(float(t) % 300 == 0 for t, _ in traffic)
    assert sum(n for _, n in traffic) == 1500
    assert sum(n for _, n in got[("Model traffic", "B")][1]) == 1500

    series = {r["metric"] for r in as_dicts(got[("Feature drift statistic", "A")])}
    assert f"{QUOTED} threshold" in series and "x threshold" in series

    score = {
        (r["time"], r["metric"]): r["value"]
        for r in as_dicts(got[("Drift score: feature × window", "A")])
    }
    last = T0 + 3 * HOUR
    assert score[(last, "x")] >= 1 > score[(T0 + HOUR, "x")]

    drifted = as_dicts(got[("Latest drifted features", "A")])
    assert {"x", "c", QUOTED} <= {d["feature"] for d in drifted}
    assert all(d["window end"] == last for d in drifted)

    new = as_dicts(got[("New categories", "A")])
    assert [(n["feature"], n["window end"]) for n in new] == [("c", last)]
    # the scheduler ran from bucket sketches, which pool new values in one "other" bucket; the
    # run counts and names them from the window's stored events (issue 11 item 2)
    assert new[0]["categories"] == "d" and new[0]["count"] == 1
    assert new[0]["share"] == pytest.approx(0.2, abs=0.06)

    missing = {(r["time"], r["metric"]): r["value"] for r in as_dicts(got[("Missing share", "A")])}
    assert missing[(last, "x")] == pytest.approx(0.1)
    assert missing[(T0 + HOUR, "x")] == 0

    alerts = as_dicts(got[("Alerts", "A")])
    assert {(a["rule"], a["state"]) for a in alerts} >= {("dataset", "firing")}


def test_a_feature_selection_narrows_and_a_quote_stays_inside_its_literal(
    grafana_engine, generator, window
) -> None:
    doc = load("drift.json")
    values = variable_values(grafana_engine, doc, window, {"feature": [QUOTED]})
    panel = next(p for p in doc["panels"] if p["title"] == "Missing share")
    sql = panel["targets"][0]["rawSql"]
    _, rows = run(grafana_engine, expand(sql, *window, values))
    assert {r[1] for r in rows} == {QUOTED}
    hostile = values | {"feature": ["x') OR true OR f.feature IN ('"]}
    _, rows = run(grafana_engine, expand(sql, *window, hostile))
    assert rows == []


def test_performance_dashboard_queries(grafana_engine, generator, window, seeded) -> None:
    values = variable_values(grafana_engine, load("performance.json"), window, {})
    assert values["monitor"] == ["mon"]
    assert {"roc_auc", "accuracy", "log_loss"} <= set(values["metric"])
    assert not {"n", "n_proba", "binary"} & set(values["metric"])
    got = check_dashboard(
        grafana_engine, generator, "performance.json", window, values, repeat="metric"
    )

    auc = as_dicts(got[("$metric", "A", "roc_auc")])
    assert len(auc) == 3
    reference = auc[0]["reference"]
    assert reference is not None and all(a["reference"] == reference for a in auc)
    assert auc[-1]["value"] < reference - 0.1 < auc[0]["value"]  # the drop the alert saw

    coverage = as_dicts(got[("Label coverage", "A")])
    assert [c["coverage"] for c in coverage] == [1.0, 1.0, 1.0]
    delay = as_dicts(got[("Label delay", "A")])
    assert all(d["p50"] == pytest.approx(600.0) for d in delay)

    versions = as_dicts(got[("Per model version (newest window), worst first", "A")])
    assert {v["model version"] for v in versions} == {"1", "2"}
    assert sum(v["predictions"] for v in versions if v["metric"] == "roc_auc") == 500
    _assert_worst_first(versions)

    segments = as_dicts(got[("Per segment (newest window), worst first", "A")])
    assert {(s["segment"], s["segment value"]) for s in segments} == {
        ("region", "eu"),
        ("region", "us"),
    }
    _assert_worst_first(segments)


def _assert_worst_first(rows: list[dict[str, Any]]) -> None:
    """Within a metric, the biggest fall below the reference (rise for log_loss) comes first."""
    for metric, sign in (("roc_auc", 1), ("log_loss", -1)):
        gaps = [
            sign * (r["value"] - r["reference"])
            for r in rows
            if r["metric"] == metric and r["value"] is not None
        ]
        assert len(gaps) == 2 and all(not math.isnan(g) for g in gaps)
    badness = [
        (-1 if r["metric"] in LOWER_IS_BETTER else 1) * (r["value"] - (r["reference"] or 0))
        for r in rows
        if r["value"] is not None
    ]
    assert badness == sorted(badness)


def test_the_role_reads_only_what_the_dashboards_need(grafana_engine) -> None:
    run(grafana_engine, "SELECT count(*) FROM drift_runs")
    run(grafana_engine, "SELECT model, ts FROM predictions LIMIT 1")
    for forbidden in (
        "SELECT features FROM predictions LIMIT 1",
        "SELECT label FROM labels LIMIT 1",
        "SELECT raw FROM dead_letters LIMIT 1",
        "DELETE FROM alerts",
        "UPDATE drift_runs SET status = 'failed'",
    ):
        with pytest.raises(DBAPIError, match=r"permission denied|read-only transaction"):
            run(grafana_engine, forbidden)
