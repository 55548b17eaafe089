"""Golden files for GET /api/v1/dead-letters and POST /api/v1/dead-letters/replay (SQLite):
the exact JSON is pinned before the dead-letter reads move into storage. Regenerate with
UPDATE_GOLDEN=1 only when a change of the shape is intended."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from api_support import ADMIN_TOKEN, READ_TOKEN
from fastapi.testclient import TestClient

from monitor.api import create_app
from monitor.events import DeadLetter
from monitor.settings import parse_settings
from monitor.storage import make_engine, store_batch, upgrade

GOLDEN = Path(__file__).parents[1] / "golden" / "sched"
T0 = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)


def check_golden(name: str, doc: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from its golden file"


def test_dead_letters_api_json_is_unchanged(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = make_engine(url)
    upgrade(engine)
    event = {"event_id": "e1", "model": "m", "timestamp": "2026-11-02T12:00:00Z",
             "features": {"x": 1.0}}  # fmt: skip
    store_batch(
        engine,
        [],
        [],
        [
            DeadLetter("predictions", 0, 1, "unknown_model", "model 'm'", orjson.dumps(event), T0),
            DeadLetter("predictions", 0, 2, "invalid_json", "not JSON", b"{nope\xff<b>", T0),
            DeadLetter("labels", 1, 9, "invalid_json", "not JSON", b"[]", T0),
        ],
    )
    settings = parse_settings(
        {
            "database": {"url": url},
            "monitors": [{"name": "mon", "model": "m"}],
            "api": {"read_tokens": [READ_TOKEN], "admin_tokens": [ADMIN_TOKEN]},
        }
    )
    read = {"Authorization": f"Bearer {READ_TOKEN}"}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        with TestClient(create_app(engine, settings)) as client:
            listed = client.get("/api/v1/dead-letters", params={"samples": 5}, headers=read)
            dry = client.post("/api/v1/dead-letters/replay", json={"dry_run": True}, headers=admin)
            done = client.post("/api/v1/dead-letters/replay", headers=admin)
            after = client.get("/api/v1/dead-letters", headers=read)
    finally:
        engine.dispose()
    assert [r.status_code for r in (listed, dry, done, after)] == [200] * 4
    check_golden(
        "api_dead_letters.json",
        {"list": listed.json(), "replay_dry": dry.json(), "replay": done.json(),
         "after": after.json()},
    )  # fmt: skip
