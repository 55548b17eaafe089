"""parse_records: the batch parse gives what parsing each record in poll order gives."""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime

from monitor.events import EventRejected, parse_label, parse_prediction
from monitor.ingest.batch import ParseRules, parse_records
from monitor.ingest.producer import BAD_KINDS, SampleSpec, generate, malformed

TP = namedtuple("TP", "topic partition")
Rec = namedtuple("Rec", "offset value")
RULES = ParseRules("preds", "labels", 4096, 64, frozenset({"churn"}))


def per_record(records: dict) -> tuple[list, list, list]:
    """The contract, one record at a time in poll order (what the consumer did before)."""
    preds, labels, dead = [], [], []
    for tp, recs in records.items():
        parse = parse_label if tp.topic == RULES.labels_topic else parse_prediction
        out = labels if tp.topic == RULES.labels_topic else preds
        for rec in recs:
            raw = rec.value if rec.value is not None else b""
            try:
                out.append(parse(raw, max_bytes=RULES.max_bytes, known_models=RULES.known_models))
            except EventRejected as exc:
                dead.append((tp.topic, tp.partition, rec.offset, exc.reason, raw[:64]))
    return preds, labels, dead


def test_multi_partition_poll_with_bad_records_and_tombstones() -> None:
    spec = SampleSpec(
        count=300, seed=2, bad_share=0.1, label_share=0.2, start=datetime(2024, 5, 1, tzinfo=UTC)
    )
    msgs = list(generate(spec))
    preds = [m.value for m in msgs if m.topic_kind == "predictions"]
    labs = [m.value for m in msgs if m.topic_kind == "labels"]
    preds[7] = None  # a tombstone
    preds[11] = malformed(BAD_KINDS[0])
    records = {
        TP("preds", 2): [Rec(100 + i, v) for i, v in enumerate(preds[:120])],
        TP("labels", 0): [Rec(i, v) for i, v in enumerate([*labs, None, b"{"])],
        TP("preds", 0): [Rec(5 + i, v) for i, v in enumerate(preds[120:])],
    }
    batch = parse_records(records, RULES, generation=3)
    want_preds, want_labels, want_dead = per_record(records)
    assert list(batch.predictions) == want_preds and batch.labels == want_labels
    got_dead = [(d.topic, d.partition, d.offset, d.reason, d.raw) for d in batch.dead_letters]
    assert got_dead == want_dead and len(want_dead) > 10
    assert ("preds", 2, 107, "invalid_json", b"") in got_dead
    assert sum(batch.rejected.values()) == len(want_dead)
    assert batch.offsets == {
        TP("preds", 2): 220,
        TP("labels", 0): len(labs) + 2,
        TP("preds", 0): 5 + len(preds) - 120,
    }
