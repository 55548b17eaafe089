"""Admin endpoints: run now, silences, acknowledge, refresh a reference (on real storage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_support import HOUR, T0
from sqlalchemy import select

from monitor.storage.tables import alert_events, alerts, drift_runs, silences

API = "/api/v1"


def test_run_now_computes_the_due_window_once(client, admin, engine):
    at = T0 + 2 * HOUR + timedelta(seconds=5)
    r = client.post(f"{API}/monitors/mon2/runs", json={"at": at.isoformat()}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["window_start"], x["status"]) for x in body["runs"]] == [
        ("2026-11-02T13:00:00Z", "succeeded")
    ]
    assert body["runs"][0]["dataset_drift"] is True  # W2 was drifted traffic
    with engine.connect() as conn:
        stored = conn.execute(
            select(drift_runs.c.id, drift_runs.c.drift_share).where(drift_runs.c.monitor == "mon2")
        ).all()
    assert [(i, s) for i, s in stored] == [(body["runs"][0]["id"], body["runs"][0]["drift_share"])]
    again = client.post(f"{API}/monitors/mon2/runs", json={"at": at.isoformat()}, headers=admin)
    assert again.json()["runs"] == []  # claimed already: never computed twice
    listed = client.get(f"{API}/monitors/mon2/runs", headers=admin).json()["items"]
    assert [x["id"] for x in listed] == [body["runs"][0]["id"]]


def test_run_now_refuses_future_naive_and_ancient_times(client, admin):
    url = f"{API}/monitors/mon2/runs"
    future = datetime.now(UTC) + timedelta(hours=1)
    assert client.post(url, json={"at": future.isoformat()}, headers=admin).status_code == 400
    assert client.post(url, json={"at": "2026-01-01T00:00:00"}, headers=admin).status_code == 422
    assert client.post(url, json={"at": "0001-01-01T00:00:00Z"}, headers=admin).status_code == 400
    assert client.post(url, json={"bogus": 1}, headers=admin).status_code == 422
    assert client.post(f"{API}/monitors/nope/runs", headers=admin).status_code == 404


def test_silence_create_list_delete(client, admin, read, engine):
    until = datetime.now(UTC) + timedelta(hours=2)
    body = {"monitor": "mon", "rule": "dataset", "until": until.isoformat(), "reason": "deploy"}
    r = client.post(f"{API}/silences", json=body, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["rule"] == "dataset" and created["reason"] == "deploy"
    with engine.connect() as conn:
        row = conn.execute(select(silences).where(silences.c.id == created["id"])).mappings().one()
    assert row["monitor"] == "mon" and row["until"] == until
    active = client.get(f"{API}/silences", params={"active": True}, headers=read).json()
    assert created["id"] in [s["id"] for s in active["items"]]
    assert client.delete(f"{API}/silences/{created['id']}", headers=admin).status_code == 204
    assert client.delete(f"{API}/silences/{created['id']}", headers=admin).status_code == 404
    with engine.connect() as conn:
        assert conn.execute(select(silences).where(silences.c.id == created["id"])).first() is None


def test_silence_input_is_checked(client, admin):
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases = [
        ({"monitor": "nope", "until": soon}, 404),
        ({"monitor": "mon", "rule": "nope", "until": soon}, 404),
        ({"monitor": "mon", "until": past}, 400),
        ({"monitor": "mon", "until": "2030-01-01T00:00:00"}, 422),
        ({"monitor": "mon"}, 422),
    ]
    for body, status in cases:
        assert client.post(f"{API}/silences", json=body, headers=admin).status_code == status, body


def test_acknowledge_records_an_event_and_keeps_the_state(client, admin, engine):
    with engine.connect() as conn:
        alert_id = conn.execute(select(alerts.c.id).where(alerts.c.rule == "dataset")).scalar()
    r = client.post(
        f"{API}/alerts/{alert_id}/ack", json={"by": "oncall", "comment": "looking"}, headers=admin
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "firing" and body["acknowledged_at"] is not None
    assert body["history"][-1]["state"] == "acknowledged"
    assert body["history"][-1]["detail"] == {
        "by": "oncall",
        "comment": "looking",
        "state": "firing",
    }
    with engine.connect() as conn:
        states = conn.execute(
            select(alert_events.c.state).where(alert_events.c.alert_id == alert_id)
        ).scalars()
        assert "acknowledged" in list(states)
        assert conn.execute(select(alerts.c.state).where(alerts.c.id == alert_id)).scalar() == (
            "firing"
        )
    assert client.post(f"{API}/alerts/999999/ack", headers=admin).status_code == 404


def test_refresh_reference_stores_a_new_version(client, admin, read):
    before = client.get(f"{API}/monitors/mon2/references", headers=read).json()["items"]
    r = client.post(f"{API}/monitors/mon2/references", headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == (before[0]["version"] if before else 0) + 1
    assert r.json()["row_count"] == 3000
    after = client.get(f"{API}/monitors/mon2/references", headers=read).json()["items"]
    assert after[0] == r.json()


def test_replay_dead_letters_after_a_fix(scratch, admin, read):
    """A message rejected before its model was monitored is accepted on replay; a malformed
    one stays with its reason; a dry run changes nothing; a read token may not replay."""
    import orjson
    from fastapi.testclient import TestClient

    from monitor.app import create_app
    from monitor.events import DeadLetter
    from monitor.storage.tables import dead_letters, predictions
    from monitor.storage.writes import store_batch

    engine, facts = scratch
    event = {
        "event_id": "replayed-1",
        "model": "m",
        "timestamp": "2026-11-02T12:30:00Z",
        "features": {"x": 0.5, "c": "a"},
    }
    store_batch(
        engine,
        [],
        [],
        [
            DeadLetter("replay-t", 0, 1, "unknown_model", "model 'm'", orjson.dumps(event), T0),
            DeadLetter("replay-t", 0, 2, "invalid_json", "not JSON", b"{nope", T0),
        ],
    )
    with engine.connect() as conn:
        ids = (
            conn.execute(
                select(dead_letters.c.id).where(dead_letters.c.topic == "replay-t").order_by("id")
            )
            .scalars()
            .all()
        )
    url = f"{API}/dead-letters/replay"
    with TestClient(create_app(engine, facts.settings)) as client:
        assert client.post(url, json={"ids": ids}, headers=read).status_code == 403
        dry = client.post(url, json={"ids": ids, "dry_run": True}, headers=admin).json()
        assert (dry["accepted"], dry["rejected"], dry["dry_run"]) == (1, 1, True)
        with engine.connect() as conn:
            assert (
                len(conn.execute(select(dead_letters.c.id).where(dead_letters.c.id.in_(ids))).all())
                == 2
            )
        done = client.post(url, json={"ids": ids}, headers=admin).json()
        assert (done["accepted"], done["rejected"], done["predictions_stored"]) == (1, 1, 1)
        assert client.post(url, json={"ids": [10**9]}, headers=admin).status_code == 404
    with engine.connect() as conn:
        left = (
            conn.execute(select(dead_letters.c.reason).where(dead_letters.c.id.in_(ids)))
            .scalars()
            .all()
        )
        stored = (
            conn.execute(
                select(predictions.c.event_id).where(predictions.c.event_id == "replayed-1")
            )
            .scalars()
            .all()
        )
    assert left == ["invalid_json"] and stored == ["replayed-1"]
