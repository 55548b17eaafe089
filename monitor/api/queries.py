"""The API's page cursors, and the alert list as the API pages it (the query is in storage).

Pages are keyset pages: newest first, and the cursor is the (sort key, id) of the last row
returned, so a page never repeats or skips a row when new runs arrive between requests. The
cursor is opaque to clients: URL-safe base64 of a JSON list, checked when it comes back.
Run reads live in monitor.storage.run_reads.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson

from monitor.errors import InputError
from monitor.storage import alerts as alert_store
from monitor.storage.db import Engine

# --- cursors -------------------------------------------------------------------------------


def encode_cursor(*parts: Any) -> str:
    """An opaque cursor holding `parts` (JSON values)."""
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> list[Any]:
    """The parts of a cursor we issued; InputError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = orjson.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError
        out: list[Any] = []
        for kind, part in zip(kinds, parts, strict=True):
            if kind is datetime:
                when = datetime.fromisoformat(part)
                if when.tzinfo is None:
                    raise ValueError
                out.append(when)
            elif kind is int and type(part) is int and 0 < part < 2**63:
                out.append(part)
            else:
                raise ValueError
        return out
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InputError("invalid cursor (pass back the next_cursor of a previous page)") from None


# --- alerts (the query is monitor.storage.alerts.list_alerts; here: cursors and JSON rows) --


def alerts_page(
    engine: Engine,
    *,
    state: str | None,
    monitor: str | None,
    severity: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Alerts newest first (by id) as JSON rows with `acknowledged_at`; the next page's cursor.
    `state` "open" means pending or firing."""
    before_id = decode_cursor(cursor, (int,))[0] if cursor is not None else None
    page = alert_store.list_alerts(
        engine, monitor=monitor, state=state, severity=severity, limit=limit, before_id=before_id
    )
    rows = page.rows()
    return rows, encode_cursor(rows[-1]["id"]) if page.more else None
