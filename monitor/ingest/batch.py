"""Turn one poll's records into a batch: parsed events, dead letters and the offsets to commit.

A batch is the unit of the at-least-once contract: it is stored in one database transaction,
and only then are its offsets (last offset + 1 per partition) committed to Kafka.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from monitor.event_columns import ParseRules, PredictionColumns, parse_prediction_batch
from monitor.events import DeadLetter, EventRejected, Label, parse_label

_VALUE = attrgetter("value")


@dataclass
class Batch:
    predictions: PredictionColumns = field(default_factory=PredictionColumns)
    labels: list[Label] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    offsets: dict[Any, int] = field(default_factory=dict)  # TopicPartition -> next offset
    first_offsets: dict[Any, int] = field(default_factory=dict)  # TopicPartition -> first offset
    consumed: Counter[str] = field(default_factory=Counter)  # per topic
    rejected: Counter[str] = field(default_factory=Counter)  # per reason
    generation: int = 0  # assignment generation when polled (see consumer.Ownership)
    records: Mapping[Any, Sequence[Any]] | None = None  # polled, not parsed yet (parse_batch)
    received_at: datetime | None = None  # when polled (the dead letters' received_at)

    @property
    def size(self) -> int:
        return sum(self.consumed.values())


def _parse_predictions(
    batch: Batch,
    raws: list[bytes],
    spans: list[tuple[int, Any, Sequence[Any]]],
    rules: ParseRules,
    reject: Callable[[EventRejected, Any, int, bytes], None],
) -> None:
    """The prediction messages of every partition, validated together; `spans` say which
    record each came from (for its dead letter)."""
    if None in raws:  # tombstones: parsed as empty messages (invalid_json)
        raws = [b"" if raw is None else raw for raw in raws]
    batch.predictions, rejected = parse_prediction_batch(
        raws, max_bytes=rules.max_bytes, known_models=rules.known_models
    )
    starts = [start for start, _, _ in spans]
    for i, rejection in rejected:
        start, tp, recs = spans[bisect_right(starts, i) - 1]
        reject(rejection, tp, recs[i - start].offset, raws[i])


def collect_records(records: Mapping[Any, Sequence[Any]], generation: int) -> Batch:
    """A poll's records as a batch with its offsets and counts, not parsed yet: the cheap
    part, done on the consumer thread; `parse_batch` (on the writer thread) parses it."""
    batch = Batch(generation=generation, records=records, received_at=datetime.now(UTC))
    for tp, recs in records.items():
        if recs:
            batch.first_offsets[tp] = recs[0].offset
            batch.offsets[tp] = recs[-1].offset + 1
            batch.consumed[tp.topic] += len(recs)
    return batch


def parse_batch(batch: Batch, rules: ParseRules) -> Batch:
    """Parse the collected records (once); a bad one becomes a dead letter, never an
    exception. Predictions of all partitions are validated together
    (`parse_prediction_batch`); labels one by one (they are few)."""
    records, batch.records = batch.records, None
    if records is None:
        return batch
    received_at = batch.received_at or datetime.now(UTC)
    raws: list[bytes] = []  # prediction values of every partition, in poll order
    spans: list[tuple[int, Any, Sequence[Any]]] = []  # (index of the first in raws, tp, records)
    dead: list[tuple[tuple[int, int], DeadLetter]] = []  # in poll order: (tp index, offset)
    order = {tp: i for i, tp in enumerate(records)}

    def reject(exc: EventRejected, tp: Any, offset: int, raw: bytes) -> None:
        batch.rejected[exc.reason] += 1
        dead.append(
            (
                (order[tp], offset),
                DeadLetter.from_rejection(
                    exc,
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=offset,
                    raw=raw,
                    raw_limit=rules.dead_letter_raw_bytes,
                    received_at=received_at,
                ),
            )
        )

    for tp, recs in records.items():
        if not recs:
            continue
        if tp.topic != rules.labels_topic:
            spans.append((len(raws), tp, recs))
            raws.extend(map(_VALUE, recs))
            continue
        for rec in recs:
            raw = rec.value if rec.value is not None else b""
            try:
                batch.labels.append(
                    parse_label(raw, max_bytes=rules.max_bytes, known_models=rules.known_models)
                )
            except EventRejected as exc:
                reject(exc, tp, rec.offset, raw)
    if raws:
        _parse_predictions(batch, raws, spans, rules, reject)
    batch.dead_letters = [d for _, d in sorted(dead, key=lambda item: item[0])]
    return batch


def parse_records(
    records: Mapping[Any, Sequence[Any]], rules: ParseRules, generation: int
) -> Batch:
    """Collect and parse every record of a poll (`collect_records` + `parse_batch`)."""
    return parse_batch(collect_records(records, generation), rules)
