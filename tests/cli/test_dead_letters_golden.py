"""Golden files for `monitor dead-letters list --json` and `replay --json` (dry and real).

The exact JSON is pinned before the dead-letter code moves into storage. Regenerate with
UPDATE_GOLDEN=1 only when a change of the shape is intended.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml
from cli_support import dead_letter, run, store_dead_letters

from monitor.ingest.batch import parse_records
from monitor.ingest.consumer import parse_rules
from monitor.settings import load_settings
from monitor.storage import make_engine

GOLDEN = Path(__file__).parents[1] / "golden" / "sched"
RECEIVED = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)
TP = namedtuple("TP", "topic partition")
Rec = namedtuple("Rec", "offset value")


def check_golden(name: str, doc: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from its golden file"


def _config(tmp_path: Path, url: str, name: str, models: list[str], **ingest: Any) -> str:
    doc = {
        "database": {"url": url},
        "ingest": {"dead_letter_raw_bytes": 2048, **ingest},
        "monitors": [{"name": f"mon-{m}", "model": m} for m in models],
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _prediction(event_id: str, model: str, pad: int = 0, ts: str = "2026-11-02T12:00:00Z") -> bytes:
    features: dict[str, Any] = {"x": 1.5, "c": "a"}
    for i in range(pad):
        features[f"f{i}"] = "v" * 90
    return orjson.dumps(
        {"event_id": event_id, "model": model, "timestamp": ts, "features": features}
    )


def test_list_json_is_unchanged(db_url, tmp_path, capsys) -> None:
    config = _config(tmp_path, db_url, "c", ["m"])
    store_dead_letters(
        make_engine(db_url),
        [
            dead_letter(
                7,
                b"\x1b[31mRED\x1b[0m\n\xff\xfe" + b"A" * 600,
                reason="invalid_utf8",
                detail="byte 12\x1b[2J\nforged",
                received_at=RECEIVED,
            ),
            dead_letter(
                8,
                b"[1, 2]",
                reason="not_an_object",
                detail="expected a JSON object",
                topic="labels",
                received_at=RECEIVED,
            ),
        ],
    )
    code, out, _ = run(capsys, "dead-letters", "list", "--json", "--config", config)
    assert code == 0
    check_golden("dead_letters_list.json", json.loads(out))


def test_replay_json_is_unchanged(db_url, tmp_path, capsys) -> None:
    before = _config(tmp_path, db_url, "before", ["m"], max_payload_bytes=1024)
    after = _config(tmp_path, db_url, "after", ["m", "new"])
    good = _prediction("e1", "new")
    records = {
        "predictions": [
            good,  # unknown_model -> accepted
            _prediction("e3", "new", pad=12, ts="2026-11-02T12:00:00"),  # too_large -> rejected
            _prediction("e4", "new", pad=30),  # cut at 2048 bytes -> truncated
            b"{oops",  # invalid_json, stays so
            good,  # redelivered -> duplicate
        ],
        "labels": [orjson.dumps({"event_id": "e1", "model": "new", "label": 1, "timestamp": 0})],
    }
    settings = load_settings(before)
    polled = {
        TP(topic, 0): [Rec(i, raw) for i, raw in enumerate(values)]
        for topic, values in records.items()
    }
    batch = parse_records(polled, parse_rules(settings), generation=0)
    store_dead_letters(make_engine(db_url), batch.dead_letters)

    code, out, _ = run(capsys, "dead-letters", "replay", "--dry-run", "--json", "--config", after)
    assert code == 0
    check_golden("dead_letters_replay_dry.json", json.loads(out))
    code, out, _ = run(capsys, "dead-letters", "replay", "--json", "--config", after)
    assert code == 0
    check_golden("dead_letters_replay.json", json.loads(out))
