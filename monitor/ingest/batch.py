"""Turn one poll's records into a batch: parsed events, dead letters and the offsets to commit.

A batch is the unit of the at-least-once contract: it is stored in one database transaction,
and only then are its offsets (last offset + 1 per partition) committed to Kafka.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.events import (
    DeadLetter,
    EventRejected,
    Label,
    Prediction,
    parse_label,
    parse_prediction,
)


@dataclass(frozen=True)
class ParseRules:
    """What parsing needs from settings: topic roles, size limit, known models."""

    predictions_topic: str
    labels_topic: str
    max_bytes: int
    dead_letter_raw_bytes: int
    known_models: frozenset[str] | None  # None: accept every model


@dataclass
class Batch:
    predictions: list[Prediction] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    offsets: dict[Any, int] = field(default_factory=dict)  # TopicPartition -> next offset
    first_offsets: dict[Any, int] = field(default_factory=dict)  # TopicPartition -> first offset
    consumed: Counter[str] = field(default_factory=Counter)  # per topic
    rejected: Counter[str] = field(default_factory=Counter)  # per reason
    generation: int = 0  # assignment generation when polled (see consumer.Ownership)

    @property
    def size(self) -> int:
        return sum(self.consumed.values())


def parse_records(
    records: Mapping[Any, Sequence[Any]], rules: ParseRules, generation: int
) -> Batch:
    """Parse every record of a poll; a bad one becomes a dead letter, never an exception."""
    batch = Batch(generation=generation)
    received_at = datetime.now(UTC)
    for tp, recs in records.items():
        if not recs:
            continue
        batch.first_offsets[tp] = recs[0].offset
        batch.offsets[tp] = recs[-1].offset + 1
        batch.consumed[tp.topic] += len(recs)
        if tp.topic == rules.labels_topic:
            parse, out = parse_label, batch.labels
        else:
            parse, out = parse_prediction, batch.predictions
        max_bytes, known = rules.max_bytes, rules.known_models
        for rec in recs:
            raw = rec.value if rec.value is not None else b""
            try:
                out.append(parse(raw, max_bytes=max_bytes, known_models=known))
            except EventRejected as exc:
                batch.rejected[exc.reason] += 1
                batch.dead_letters.append(
                    DeadLetter.from_rejection(
                        exc,
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=rec.offset,
                        raw=raw,
                        raw_limit=rules.dead_letter_raw_bytes,
                        received_at=received_at,
                    )
                )
    return batch
