"""COPY writes for ingestion's hot tables (Postgres only).

Why COPY: one stream per table instead of an INSERT whose rows Postgres unpacks from arrays
and checks one by one for conflicts; the server spends less CPU per row, and psycopg's C
copy writer escapes the values. COPY cannot skip rows that exist, so the predictions COPY
is tried first and a conflict (a redelivered batch) raises CopyConflict: the caller rolls
the transaction back and stores the batch with the idempotent INSERT ... ON CONFLICT path
(`writes.store_batch` does exactly that). Sketch deltas are append-only rows with a
generated id: COPY never conflicts there.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc

from monitor.errors import CopyConflict
from monitor.event_columns import PredictionColumns

_PREDICTION_COLUMNS = (
    "model, event_id, ts, model_version, received_at, features, prediction, "
    "prediction_proba, segment"
)
_SKETCH_COLUMNS = (
    "monitor, reference_id, feature, bucket_start, row_count, sketch, compacted, created_at"
)


def json_columns(batch: PredictionColumns) -> tuple[list[str], list[Any], list[Any], list[Any]]:
    """JSON text of features, prediction, probabilities and segment (None stays NULL)."""
    dumps = orjson.dumps
    features = [dumps(f).decode() for f in batch.features]
    rest = [
        [None if v is None else dumps(v).decode() for v in col]
        for col in (batch.prediction, batch.prediction_proba, batch.segment)
    ]
    return features, rest[0], rest[1], rest[2]


@contextlib.contextmanager
def _copy_errors(statement: str) -> Iterator[None]:
    """Raw psycopg errors as SQLAlchemy ones (so `storage_errors` classifies them), and a
    unique violation as CopyConflict."""
    import psycopg

    try:
        yield
    except psycopg.errors.UniqueViolation:
        raise CopyConflict("COPY met an already stored row") from None
    except psycopg.Error as exc:
        raise sa_exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _copy(
    conn: Connection, table: str, columns: str, rows: Iterable[Sequence[Any]], text: str = ""
) -> None:
    """COPY `text` (already in COPY text format) if given, else `rows` (escaped by psycopg)."""
    statement = f"COPY {table} ({columns}) FROM STDIN"
    raw = conn.connection.driver_connection
    with _copy_errors(statement), raw.cursor() as cur, cur.copy(statement) as copy:  # type: ignore[union-attr]
        if text:
            copy.write(text)
            return
        write = copy.write_row
        for row in rows:
            write(row)


def _copy_text(columns: list[list[Any]], n_rows: int) -> str:
    """The rows in COPY text format when no value needs escaping, else "" (use write_row).

    Built column-wise in C (`map`/`zip`/`join`); checked, not trusted: no value may hold a
    tab, newline, CR or backslash (our NULL markers' backslashes aside). Checked per column
    on its values joined (`in` is a memchr; counting separators in the whole text was
    three slower passes: 0.5 us per event)."""
    texts: list[Any] = []
    for col in columns:
        if len(col) != n_rows:
            return ""
        nulls = col.count(None) if None in col else 0
        if nulls:
            col = ["\\N" if v is None else v for v in col]
        values = "".join(col)
        if "\t" in values or "\n" in values or "\r" in values:
            return ""
        if ("\\" in values) and values.count("\\") != nulls:
            return ""
        texts.append(col)
    return "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"


# A timestamp as Postgres and `datetime.fromisoformat` read alike: UTC, whole seconds or 1-6
# fractional digits (Python truncates a 7th digit, Postgres rounds it), ASCII digits only.
_SAME_TS = re.compile(
    r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|\+00:00)\n)*"
)


def ts_texts(batch: PredictionColumns) -> list[str]:
    """The batch's timestamps as COPY text. The messages' own strings when every one of them
    has a form Postgres reads as the very instant Python parsed (checked in one regex pass
    over the column): formatting 5,000 datetimes again cost ~1.8 us per event."""
    texts = batch.ts_text
    if texts is not None and len(texts) == len(batch):
        joined = "\n".join(texts) + "\n"
        if joined.count("\n") == len(texts) and _SAME_TS.fullmatch(joined):
            return texts
    return list(map(str, batch.ts))  # "2024-05-01 12:00:00.123000+00:00"


def prediction_copy(batch: PredictionColumns, at: datetime) -> tuple[str, Iterable[Sequence[Any]]]:
    """The COPY input of a batch: its text when built in C, else "" and the rows to escape."""
    f, p, pp, s = json_columns(batch)
    ts = ts_texts(batch)
    columns: list[list[Any]] = [
        batch.model,
        batch.event_id,
        ts,
        batch.model_version,
        [str(at)] * len(batch),
    ]
    text = _copy_text([*columns, f, p, pp, s], len(batch))
    rows = zip(
        batch.model,
        batch.event_id,
        batch.ts,
        batch.model_version,
        repeat(at),
        f,
        p,
        pp,
        s,
        strict=False,
    )
    return text, rows


def copy_predictions(conn: Connection, batch: PredictionColumns, at: datetime) -> int:
    """COPY the batch into `predictions` in the caller's transaction; CopyConflict if any
    row is already stored (the transaction is then aborted: roll it back)."""
    if not batch:
        return 0
    text, rows = prediction_copy(batch, at)
    _copy(conn, "predictions", _PREDICTION_COLUMNS, rows, text)
    return len(batch)


def copy_sketch_rows(conn: Connection, rows: Iterable[Sequence[Any]]) -> None:
    """COPY (monitor, reference_id, feature, bucket_start, row_count, sketch bytes,
    compacted, created_at) rows into `feature_sketches`."""
    _copy(conn, "feature_sketches", _SKETCH_COLUMNS, rows)


__all__ = [
    "CopyConflict",
    "copy_predictions",
    "copy_sketch_rows",
    "json_columns",
    "prediction_copy",
    "ts_texts",
]
