"""`monitor dead-letters list|replay` on Postgres and SQLite.

Dead letters are made by the real parse path (the consumer's `parse_records` with the rules
of a config), stored with `store_batch`, then replayed under a fixed config.
"""

from __future__ import annotations

import base64
import json
from collections import namedtuple
from pathlib import Path
from typing import Any

import orjson
import yaml
from cli_support import (
    dead_letter,
    run,
    store_dead_letters,
)
from sqlalchemy import select

from monitor.ingest.batch import parse_records
from monitor.ingest.consumer import parse_rules
from monitor.settings import load_settings
from monitor.storage import make_engine
from monitor.storage.tables import dead_letters, labels, predictions

TP = namedtuple("TP", "topic partition")
Rec = namedtuple("Rec", "offset value")

HOSTILE = (
    b"\x1b[31mRED\x1b[0m\n"  # ANSI colour and a newline
    b'monitor: {"forged": "line"}\r\x07'  # a forged output line, carriage return, bell
    + "\u202eevil".encode()  # a right-to-left override
    + b"\xff\xfe"  # not UTF-8
    + b"A" * 500
)


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
    for i in range(pad):  # make the message long with valid content
        features[f"f{i}"] = "v" * 90
    doc = {"event_id": event_id, "model": model, "timestamp": ts, "features": features}
    return orjson.dumps(doc)


def _ingest(config: str, records: dict[str, list[bytes]]) -> Any:
    """Parse records as the consumer would under `config`; store the batch (all rejected)."""
    settings = load_settings(config)
    polled = {
        TP(topic, 0): [Rec(i, raw) for i, raw in enumerate(values)]
        for topic, values in records.items()
    }
    batch = parse_records(polled, parse_rules(settings), generation=0)
    assert not batch.predictions and not batch.labels
    engine = make_engine(settings.database.url.get_secret_value())
    store_dead_letters(engine, batch.dead_letters)
    return engine


def _rows(engine: Any) -> list[tuple[Any, ...]]:
    d = dead_letters.c
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(d.id, d.topic, d.kafka_offset, d.reason, d.detail, d.raw).order_by(d.id)
            )
        ]


def test_list_escapes_hostile_bytes(db_url, tmp_path, capsys) -> None:
    config = _config(tmp_path, db_url, "c", ["m"])
    engine = make_engine(db_url)
    store_dead_letters(
        engine,
        [
            dead_letter(7, HOSTILE, reason="invalid_utf8", detail="byte 50\x1b[2J\nforged"),
            dead_letter(8, b"[1, 2]", reason="not_an_object", detail="expected a JSON object"),
        ],
    )
    code, out, err = run(capsys, "dead-letters", "list", "--config", config)
    assert (code, err) == (0, "")
    for bad in ("\x1b", "\r", "\x07", "\u202e"):
        assert bad not in out
    header, newest, hostile = out.splitlines()  # one line per row: nothing forged a line
    assert header.split()[:6] == [
        "id",
        "received",
        "(UTC)",
        "topic/partition/offset",
        "reason",
        "bytes",
    ]
    assert newest.split()[0] == "2" and "predictions/0/8" in newest and "not_an_object" in newest
    assert hostile.split()[0] == "1" and "predictions/0/7" in hostile
    assert f" {len(HOSTILE)}  " in hostile
    detail, raw = hostile.split("  byte 50", 1)[1].split(" | ", 1)
    assert detail == "\\x1b[2J\\nforged"
    assert raw.startswith(
        '\\x1b[31mRED\\x1b[0m\\nmonitor: {"forged": "line"}\\r\\x07\\u202eevil\\xff\\xfeAAA'
    )
    assert len(raw) == 80 and raw.endswith("…")  # bounded

    code, out, _ = run(capsys, "dead-letters", "list", "--json", "--config", config)
    assert code == 0 and "\x1b" not in out
    first, second = json.loads(out)["dead_letters"]
    assert (first["id"], first["offset"], first["reason"]) == (2, 8, "not_an_object")
    assert base64.b64decode(second["raw_base64"]) == HOSTILE
    assert second["raw_bytes"] == len(HOSTILE)
    assert second["raw_preview"].startswith("\\x1b[31mRED\\x1b[0m\\n")
    assert second["detail"] == "byte 50\x1b[2J\nforged"  # exact in JSON, escaped by JSON

    code, out, _ = run(
        capsys, "dead-letters", "list", "--reason", "invalid_utf8", "--config", config
    )
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["1"]
    code, out, _ = run(capsys, "dead-letters", "list", "--limit", "1", "--config", config)
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["2"]
    code, out, _ = run(capsys, "dead-letters", "list", "--reason", "too_large", "--config", config)
    assert out == "no dead letters\n"


def test_replay_after_a_config_fix(db_url, tmp_path, capsys) -> None:
    before = _config(tmp_path, db_url, "before", ["m"], max_payload_bytes=1024)
    after = _config(tmp_path, db_url, "after", ["m", "new"])
    good = _prediction("e1", "new")
    engine = _ingest(
        before,
        {
            "predictions": [
                good,  # 1: unknown_model -> accepted
                _prediction("e3", "new", pad=12, ts="2026-11-02T12:00:00"),  # 2: too_large
                _prediction("e4", "new", pad=30),  # 3: too_large, stored cut at 2048 bytes
                b"{oops",  # 4: invalid_json, stays so
                good,  # 5: the same event redelivered -> accepted, stored once
            ],
            "labels": [
                orjson.dumps({"event_id": "e1", "model": "new", "label": 1, "timestamp": 0})
            ],
        },
    )
    seeded = _rows(engine)
    assert [(r[0], r[3]) for r in seeded] == [
        (1, "unknown_model"),
        (2, "too_large"),
        (3, "too_large"),
        (4, "invalid_json"),
        (5, "unknown_model"),
        (6, "unknown_model"),
    ]
    assert len(seeded[2][5]) == 2048 and 1024 < len(seeded[1][5]) < 2048

    # dry run with the fixed config: reports, changes nothing
    code, out, err = run(capsys, "dead-letters", "replay", "--dry-run", "--config", after)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "      1  accepted (was unknown_model)"
    assert lines[1].startswith(
        "      2  still rejected: invalid_timestamp (was too_large): timestamp: "
        "'2026-11-02T12:00:00' has no time zone"
    )
    assert lines[2] == (
        "      3  truncated: cannot replay "
        "(stored prefix is 2048 bytes (ingest.dead_letter_raw_bytes))"
    )
    assert lines[3].startswith("      4  still rejected: invalid_json: ")
    assert lines[4:6] == [
        "      5  accepted (was unknown_model)",
        "      6  accepted (was unknown_model)",
    ]
    assert lines[6] == (
        "dry run (nothing changed): 6 dead letters, 3 would be accepted, "
        "2 would still be rejected, 1 truncated"
    )
    assert _rows(engine) == seeded
    assert _count(engine, predictions) == _count(engine, labels) == 0

    # the unfixed config changes no verdict
    code, out, _ = run(capsys, "dead-letters", "replay", "--config", before)
    assert out.splitlines()[-1] == (
        "replayed 6 dead letters: 0 accepted (0 predictions and 0 labels stored, 0 already "
        "stored), 5 still rejected, 1 truncated"
    )
    assert _rows(engine) == seeded

    # unknown ids: bad input, nothing replayed
    code, out, err = run(
        capsys, "dead-letters", "replay", "--id", "1", "--id", "99", "--config", after
    )
    assert (code, out, err) == (2, "", "monitor: no dead letter with id 99\n")
    assert _rows(engine) == seeded

    # one by id, then the rest
    code, out, _ = run(capsys, "dead-letters", "replay", "--id", "6", "--config", after)
    assert out.splitlines() == [
        "      6  accepted (was unknown_model)",
        "replayed 1 dead letters: 1 accepted (0 predictions and 1 labels stored, 0 already "
        "stored), 0 still rejected, 0 truncated",
    ]
    code, out, _ = run(capsys, "dead-letters", "replay", "--json", "--config", after)
    doc = json.loads(out)
    assert {k: doc[k] for k in ("accepted", "rejected", "truncated", "predictions_stored")} == {
        "accepted": 2,
        "rejected": 2,
        "truncated": 1,
        "predictions_stored": 1,
    }
    assert doc["duplicates"] == 1  # the redelivered copy of e1
    assert [(r["id"], r["outcome"], r["reason"]) for r in doc["rows"]] == [
        (1, "accepted", None),
        (2, "rejected", "invalid_timestamp"),
        (3, "truncated", "too_large"),
        (4, "rejected", "invalid_json"),
        (5, "accepted", None),
    ]

    left = _rows(engine)
    assert [r[0] for r in left] == [2, 3, 4]
    assert left[0][3] == "invalid_timestamp" and "has no time zone" in left[0][4]
    assert (
        left[1] == seeded[2] and left[2] == seeded[3]
    )  # truncated and unchanged rows as they were
    with engine.connect() as conn:
        stored = conn.execute(select(predictions.c.model, predictions.c.event_id)).all()
        label_rows = conn.execute(select(labels.c.model, labels.c.event_id, labels.c.label)).all()
    assert stored == [("new", "e1")]
    assert label_rows == [("new", "e1", 1)]

    # replaying again changes nothing; --reason narrows
    code, out, _ = run(
        capsys, "dead-letters", "replay", "--reason", "invalid_json", "--config", after
    )
    assert [line.split()[0] for line in out.splitlines()[:-1]] == ["4"]
    assert _rows(engine) == left
    assert _count(engine, predictions) == 1


def test_replay_of_nothing(db_url, tmp_path, capsys) -> None:
    config = _config(tmp_path, db_url, "c", ["m"])
    assert run(capsys, "dead-letters", "replay", "--config", config)[:2] == (
        0,
        "no dead letters to replay\n",
    )
    code, out, _ = run(capsys, "dead-letters", "replay", "--json", "--config", config)
    assert code == 0 and json.loads(out)["rows"] == []


def _count(engine: Any, table: Any) -> int:
    from sqlalchemy import func

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()
