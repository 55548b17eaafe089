"""Read endpoints on a database seeded by real scheduler runs: values equal what is stored."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from api_support import BAD_RAW, HOUR, T0, XSS
from sqlalchemy import select

from monitor.storage.tables import alerts, drift_feature_results, drift_runs

API = "/api/v1"


def test_monitors_show_model_reference_schedule_last_run_and_firing_alerts(client, read, facts):
    body = client.get(f"{API}/monitors", headers=read).json()
    by_name = {m["name"]: m for m in body["items"]}
    assert list(by_name) == ["mon", "mon2"]
    mon = by_name["mon"]
    assert mon["model"] == "m" and mon["reference_version"] == 1
    assert mon["schedule"]["window_kind"] == "tumbling"
    assert mon["schedule"]["window_size_seconds"] == 3600
    assert mon["rules"] == ["dataset", "no-data"]
    assert mon["last_run"]["id"] == facts.runs[-1]
    assert mon["last_run"]["status"] == "insufficient_data"
    assert mon["last_run"]["window_end"] == "2026-11-02T16:00:00Z"
    assert mon["alerts_firing"] == 1
    assert client.get(f"{API}/monitors/mon", headers=read).json() == mon


def test_unknown_monitor_is_404(client, read):
    for path in ("/monitors/nope", "/monitors/nope/runs", "/monitors/nope/references"):
        r = client.get(API + path, headers=read)
        assert r.status_code == 404 and r.json() == {
            "detail": "no monitor with this name is configured"
        }


def test_runs_are_newest_first_and_pages_chain_without_gaps_or_repeats(client, read, engine):
    with engine.connect() as conn:
        stored = conn.execute(
            select(drift_runs.c.id, drift_runs.c.drift_share)
            .where(drift_runs.c.monitor == "mon")
            .order_by(drift_runs.c.window_end.desc())
        ).all()
    full = client.get(f"{API}/monitors/mon/runs", headers=read).json()
    assert [r["id"] for r in full["items"]] == [i for i, _ in stored]
    assert [r["drift_share"] for r in full["items"]] == [s for _, s in stored]
    assert full["next_cursor"] is None
    for size in (1, 2, 3):
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": size} | ({"cursor": cursor} if cursor else {})
            page = client.get(f"{API}/monitors/mon/runs", params=params, headers=read).json()
            assert len(page["items"]) <= size
            seen += [r["id"] for r in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [i for i, _ in stored], size
        assert pages == -(-len(stored) // size)


def test_runs_filter_by_window_end(client, read, facts):
    params = {"since": (T0 + 2 * HOUR).isoformat(), "until": (T0 + 4 * HOUR).isoformat()}
    page = client.get(f"{API}/monitors/mon/runs", params=params, headers=read).json()
    assert [r["id"] for r in page["items"]] == [facts.runs[2], facts.runs[1]]


def test_runs_reject_bad_cursor_naive_time_and_oversized_limit(client, read):
    url = f"{API}/monitors/mon/runs"
    r = client.get(url, params={"cursor": "not-a-cursor"}, headers=read)
    assert r.status_code == 400 and "cursor" in r.json()["detail"]
    assert client.get(url, params={"since": "2026-11-02T12:00:00"}, headers=read).status_code == 422
    assert client.get(url, params={"limit": 501}, headers=read).status_code == 422
    assert client.get(url, params={"limit": 0}, headers=read).status_code == 422


def test_one_run_has_every_feature_result_data_quality_and_report(client, read, engine, facts):
    run_id = facts.runs[1]
    body = client.get(f"{API}/runs/{run_id}", headers=read).json()
    with engine.connect() as conn:
        rows = conn.execute(
            select(drift_feature_results).where(drift_feature_results.c.run_id == run_id)
        ).mappings()
        stored = {r["feature"]: r for r in rows}
    assert (
        {f["feature"] for f in body["features"]}
        == set(stored)
        == {
            "x",
            XSS,
            "c",
            "__prediction__",
        }
    )
    for f in body["features"]:
        assert f["statistic"] == pytest.approx(stored[f["feature"]]["statistic"])
        assert f["drifted"] == stored[f["feature"]]["drifted"]
        assert f["method"] == stored[f["feature"]]["method"]
    assert body["status"] == "succeeded" and body["dataset_drift"] is True
    assert body["reference_version"] == 1
    assert set(body["data_quality"]) == {"x", XSS, "c"}
    assert body["report"] == f"/api/v1/runs/{run_id}/report"
    assert body["report_url"].startswith("file://")
    assert body["performance"] is None


def test_feature_named_like_html_is_a_plain_json_string(client, read, facts):
    r = client.get(f"{API}/runs/{facts.runs[1]}", headers=read)
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert f'"feature":"{XSS}"' in r.text  # a JSON string, the same characters, nothing else
    assert XSS in [f["feature"] for f in r.json()["features"]]


def test_feature_history_has_statistics_oldest_first_with_threshold(client, read, engine, facts):
    url = f"{API}/monitors/mon/features/{quote(XSS, safe='')}/history"
    body = client.get(url, headers=read).json()
    assert body["feature"] == XSS and body["monitor"] == "mon"
    with engine.connect() as conn:
        stored = conn.execute(
            select(drift_runs.c.id, drift_feature_results.c.statistic)
            .join(drift_feature_results, drift_feature_results.c.run_id == drift_runs.c.id)
            .where(drift_feature_results.c.feature == XSS, drift_runs.c.monitor == "mon")
            .order_by(drift_runs.c.window_end)
        ).all()
    assert [p["run_id"] for p in body["points"]] == [i for i, _ in stored] == facts.runs[:3]
    assert [p["statistic"] for p in body["points"]] == pytest.approx([s for _, s in stored])
    assert body["threshold"] == body["points"][-1]["threshold"] is not None
    assert [p["drifted"] for p in body["points"]] == [False, True, True]
    r = client.get(f"{API}/monitors/mon/features/nope/history", headers=read)
    assert r.status_code == 404


def test_alerts_filter_by_state_monitor_and_severity(client, read):
    def ids(**params) -> list[tuple[str, str]]:
        page = client.get(f"{API}/alerts", params=params, headers=read).json()
        return [(a["rule"], a["state"]) for a in page["items"]]

    assert ids(state="firing") == [("dataset", "firing")]
    assert ids(state="pending") == [("no-data", "pending")]
    assert ids(state="open") == [("no-data", "pending"), ("dataset", "firing")]
    assert ids(severity="critical") == [("dataset", "firing")]
    assert ids(monitor="mon2") == []
    assert ids(state="resolved") == []
    page = client.get(f"{API}/alerts", params={"limit": 1}, headers=read).json()
    nxt = client.get(
        f"{API}/alerts", params={"limit": 1, "cursor": page["next_cursor"]}, headers=read
    ).json()
    assert [a["rule"] for a in page["items"] + nxt["items"]] == ["no-data", "dataset"]
    assert nxt["next_cursor"] is None
    assert client.get(f"{API}/alerts", params={"state": "x"}, headers=read).status_code == 422


def test_one_alert_has_history_and_every_delivery(client, read, engine):
    with engine.connect() as conn:
        alert_id = conn.execute(select(alerts.c.id).where(alerts.c.rule == "dataset")).scalar()
    body = client.get(f"{API}/alerts/{alert_id}", headers=read).json()
    assert body["state"] == "firing" and body["severity"] == "critical"
    assert body["history"][0]["state"] == "firing"
    assert body["history"][0]["detail"]["from"] == "inactive"
    by_channel = {d["channel"]: d for d in body["deliveries"]}
    assert by_channel["slack"]["status"] == "delivered" and by_channel["slack"]["attempts"] == 1
    hook = by_channel["webhook"]
    assert hook["status"] == "pending" and hook["attempts"] >= 1
    assert "refused" in hook["last_error"].lower()
    assert client.get(f"{API}/alerts/999999", headers=read).status_code == 404


def test_dead_letters_counts_per_reason_and_escaped_samples(client, read):
    body = client.get(f"{API}/dead-letters", params={"samples": 2}, headers=read).json()
    assert body["total"] == 3
    assert body["counts"]["invalid_json"] == 2 and body["counts"]["unknown_model"] == 1
    assert body["counts"]["too_large"] == 0
    assert len(body["samples"]) == 2  # newest first
    assert body["samples"][0]["topic"] == "labels"
    bad = next(
        s
        for s in client.get(f"{API}/dead-letters", headers=read).json()["samples"]
        if s["offset"] == 7
    )
    assert base64.b64decode(bad["raw_base64"]) == BAD_RAW
    assert bad["raw_bytes"] == len(BAD_RAW)
    assert bad["raw_preview"].endswith("\\xff\\xfe\x00")
    assert "<script>" in bad["raw_preview"]  # as text inside a JSON string


def test_reference_versions(client, read):
    body = client.get(f"{API}/monitors/mon/references", headers=read).json()
    assert body["monitor"] == "mon"
    assert [v["version"] for v in body["items"]][-1] == 1
    assert body["items"][-1]["row_count"] == 3000
    assert body["items"][-1]["source"].startswith("file:")


def test_insufficient_run_has_no_features(client, read, facts):
    body = client.get(f"{API}/runs/{facts.runs[3]}", headers=read).json()
    assert body["status"] == "insufficient_data" and body["features"] == []
    assert body["report"] is None and body["current_rows"] == 40
    assert body["window_end"] == (T0 + 4 * HOUR).isoformat().replace("+00:00", "Z")
