"""Run reads (monitor.storage.run_reads) and the dashboard's (monitor.storage.dashboard), on
runs claimed and finished through storage.runs, on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.drift.result import FeatureResult
from monitor.storage import dashboard, run_reads
from monitor.storage import runs as run_store

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LEASE = timedelta(minutes=5)


def feature(name: str, statistic: float, drifted: bool = False) -> FeatureResult:
    return FeatureResult(name, "numeric", "ks", statistic, 0.5, 0.1, drifted, 0.0, 0.0)


def run(
    engine, monitor: str, i: int, status: str = "succeeded", features=(), finish: bool = True
) -> int:
    start = T0 + i * HOUR
    run_id = run_store.claim(engine, monitor, start, start + HOUR, start + HOUR, LEASE)
    assert run_id is not None
    if finish:
        with engine.begin() as conn:
            run_store.finish(
                conn, run_id, status=status, now=start + HOUR, duration_s=1.5,
                features=list(features), dataset_drift=any(f.drifted for f in features),
            )  # fmt: skip
    return run_id


def test_recent_and_latest_runs_per_monitor(engine) -> None:
    a = [run(engine, "a", i, features=[feature("x", i / 10)]) for i in range(3)]
    failed = run(engine, "a", 3, status="failed")
    b = run(engine, "b", 0)
    run(engine, "b", 1, finish=False)  # a claim in flight is no result
    recent = run_reads.recent_runs(engine, ["a", "b", "c"], 2)
    assert {k: [x["id"] for x in v] for k, v in recent.items()} == {
        "a": [a[2], failed],
        "b": [b],
        "c": [],
    }
    assert set(recent["a"][0]) == {c.name for c in run_reads.RUN_BRIEF}
    latest = run_reads.latest_runs(engine, ["a", "b", "c"])
    assert {k: v["id"] for k, v in latest.items()} == {"a": failed, "b": b}
    assert run_reads.latest_runs(engine, ["a"], ("succeeded",))["a"]["id"] == a[2]
    assert run_reads.latest_runs(engine, []) == {}


def test_runs_page_is_a_keyset_page_newest_first(engine) -> None:
    ids = [run(engine, "a", i) for i in range(5)]
    rows, more = run_reads.runs_page(engine, "a", limit=2)
    assert [x["id"] for x in rows] == [ids[4], ids[3]] and more
    last = rows[-1]
    rows, more = run_reads.runs_page(engine, "a", limit=2, after=(last["window_end"], last["id"]))
    assert [x["id"] for x in rows] == [ids[2], ids[1]] and more
    rows, more = run_reads.runs_page(engine, "a", since=T0 + 4 * HOUR, until=T0 + 5 * HOUR, limit=9)
    assert [x["id"] for x in rows] == [ids[3]] and not more
    by_id = run_reads.runs_by_id(engine, [ids[0], 999])
    assert list(by_id) == [ids[0]] and by_id[ids[0]]["window_start"] == T0


def test_run_detail_and_report_link(engine) -> None:
    run_id = run(engine, "a", 0, features=[feature("x", 0.3, True), feature("y", 0.01)])
    detail = run_reads.run_detail(engine, run_id)
    assert detail is not None
    assert [f["feature"] for f in detail["features"]] == ["x", "y"]
    assert detail["performance"] is None and detail["reference_version"] is None
    assert run_reads.run_detail(engine, run(engine, "a", 1, finish=False)) is None
    assert run_reads.report_url_of(engine, run_id) is None


def test_feature_history_counts_runs_that_hold_the_feature(engine) -> None:
    for i in range(4):
        feats = [feature("x", i / 10)] + ([feature("y", i)] if i % 2 == 0 else [])
        run(engine, "a", i, features=feats)
    run(engine, "a", 4, status="failed", features=[feature("x", 9.0)])
    every = run_reads.feature_history(engine, "a", 2)
    assert {k: [p.statistic for p in v] for k, v in every.items()} == {
        "x": [0.2, 0.3],
        "y": [2.0],
    }
    (ys,) = run_reads.feature_history(engine, "a", 2, feature="y").values()
    assert [p.statistic for p in ys] == [0.0, 2.0]
    assert ys[0].window_end == T0 + HOUR and ys[0].feature == "y"
    before = run_reads.feature_history(engine, "a", 9, before=T0 + 3 * HOUR)
    assert [p.statistic for p in before["x"]] == [0.0, 0.1]
    assert run_reads.feature_history(engine, "a", 5, feature="nope") == {}


def test_dashboard_heatmap_feature_rows_and_run_in_flight(engine) -> None:
    ids = [run(engine, "a", i, features=[feature("x", i), feature("y", 0.0)]) for i in range(2)]
    run(engine, "a", 2, status="failed")
    flight = run(engine, "a", 3, finish=False)
    hm = dashboard.heatmap(engine, "a")
    assert [x["id"] for x in hm.runs] == ids and hm.features == ["x", "y"]
    assert hm.cells[("x", ids[1])]["statistic"] == 1.0
    rows = dashboard.feature_rows(engine, [ids[0], 999])
    assert [r["feature"] for r in rows[ids[0]]] == ["x", "y"] and rows[999] == []
    shown = dashboard.run_in_flight(engine, flight)
    assert shown is not None and shown["monitor"] == "a"
    assert dashboard.run_in_flight(engine, ids[0]) is None
