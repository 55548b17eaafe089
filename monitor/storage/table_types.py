"""Column types and the `metadata` every table definition registers on (`tables`,
`tables_alarms`): split out so both modules share them without importing each other."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """timestamptz on Postgres; on SQLite a naive UTC string. Always UTC-aware in Python,
    and an aware value is required on the way in (a naive one is a bug, not a guess)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_doc() -> Any:
    """JSON on SQLite, JSONB on Postgres; Python None is SQL NULL."""
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def json_text() -> Any:
    """Plain `json` on Postgres too (text, validated on write): for raw events, whose readers
    load whole rows into Python; measured ~40% faster to insert than `jsonb`."""
    return JSON(none_as_null=True)


BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only
