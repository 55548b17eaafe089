"""`monitor dead-letters list|replay`: rejected messages, and a second chance after a fix.

Raw bytes are whatever a producer sent. In a terminal they are shown escaped: printable
characters as they are, control characters (ANSI escapes, newlines, bidi overrides) and
undecodable bytes as backslash escapes, cut at a bounded width, so a hostile message can
neither move the cursor nor forge output lines. `--json` output is JSON-escaped and carries
the exact bytes as base64.

Exit codes: 0 done (also when some messages still fail: they are listed); 2 bad input or
config, an unknown --id, or the database cannot be reached.
"""

from __future__ import annotations

import base64
from typing import Any

import click

from monitor.cli._common import CONFIG, fmt_ts, open_store

RAW_WIDTH = 80
JSON_PREVIEW_BYTES = 512
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def escape_text(text: str, limit: int | None = None) -> str:
    """One safe line: printable characters kept, everything else as \\n, \\xNN, \\uNNNN."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    s = "".join(out)
    if limit is not None and len(s) > limit:
        return s[: limit - 1] + "…"
    return s


def escape_raw(raw: bytes, limit: int | None = None) -> str:
    """Raw message bytes as one safe line; bytes that are not UTF-8 become \\xNN (and a
    backslash in the message shows as \\\\, so the two cannot be confused)."""
    return escape_text(raw.decode("utf-8", errors="surrogateescape"), limit)


@click.group("dead-letters")
def dead_letters() -> None:
    """Rejected messages: list them, replay them after fixing the config.

    \b
    Exit codes: 0 ok; 2 bad input or config, unknown id, database unreachable.
    """


@dead_letters.command("list")
@CONFIG
@click.option("--reason", default=None, help="Only this rejection reason (e.g. unknown_model).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (raw bytes as base64 too).")
def list_cmd(config_path: str | None, reason: str | None, limit: int, as_json: bool) -> None:
    """The newest dead letters, newest first, raw bytes escaped and cut short."""
    from monitor.replay import list_dead_letters

    _, engine = open_store(config_path)
    rows = list_dead_letters(engine, reason, limit)
    if as_json:
        from monitor.cli._common import echo_json as _echo_json

        _echo_json({"dead_letters": [_row_json(r) for r in rows]})
        return
    if not rows:
        click.echo("no dead letters")
        return
    click.echo(
        f"{'id':>7}  {'received (UTC)':<19}  {'topic/partition/offset':<30} {'reason':<17} "
        f"{'bytes':>6}  detail | raw"
    )
    for r in rows:
        where = escape_text(f"{r.topic}/{r.partition}/{r.offset}", 30)
        click.echo(
            f"{r.id:>7}  {fmt_ts(r.received_at):<19}  {where:<30} {escape_text(r.reason, 17):<17} "
            f"{len(r.raw):>6}  {escape_text(r.detail, 100)} | {escape_raw(r.raw, RAW_WIDTH)}"
        )


def _row_json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "received_at": r.received_at,
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "reason": r.reason,
        "detail": r.detail,
        "raw_bytes": len(r.raw),
        "raw_preview": escape_raw(r.raw[:JSON_PREVIEW_BYTES]),
        "raw_base64": base64.b64encode(r.raw).decode(),
    }


@dead_letters.command("replay")
@CONFIG
@click.option("--reason", default=None, help="Only dead letters with this reason.")
@click.option("--id", "ids", type=int, multiple=True, help="Only this dead letter (repeatable).")
@click.option("--dry-run", is_flag=True, help="Report what would happen; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome of every row as JSON.")
def replay_cmd(
    config_path: str | None, reason: str | None, ids: tuple[int, ...], dry_run: bool, as_json: bool
) -> None:
    """Validate stored dead letters again with the current config.

    What now parses is stored as an event and its dead letter deleted (one transaction);
    what still fails stays, with its new reason and detail. A message whose stored prefix
    was cut at ingest.dead_letter_raw_bytes cannot be replayed and is left as it is.
    Without --reason or --id every dead letter is replayed.

    \b
    Exit codes: 0 done (rows that still fail are listed); 2 bad input or unknown --id.
    """
    from monitor.ingest.consumer import parse_rules
    from monitor.replay import replay_dead_letters

    settings, engine = open_store(config_path)
    report = replay_dead_letters(
        engine, parse_rules(settings), reason=reason, ids=ids or None, dry_run=dry_run
    )
    if as_json:
        from dataclasses import asdict

        from monitor.cli._common import echo_json as _echo_json

        _echo_json(
            {
                "dry_run": report.dry_run,
                "accepted": report.count("accepted"),
                "rejected": report.count("rejected"),
                "truncated": report.count("truncated"),
                "predictions_stored": report.predictions_stored,
                "labels_stored": report.labels_stored,
                "duplicates": report.duplicates,
                "rows": [asdict(o) for o in report.outcomes],
            }
        )
        return
    if not report.outcomes:
        click.echo("no dead letters to replay")
        return
    for o in report.outcomes:
        click.echo(f"{o.id:>7}  {_describe(o)}")
    n, a = len(report.outcomes), report.count("accepted")
    r, t = report.count("rejected"), report.count("truncated")
    if dry_run:
        click.echo(
            f"dry run (nothing changed): {n} dead letters, {a} would be accepted, "
            f"{r} would still be rejected, {t} truncated"
        )
        return
    click.echo(
        f"replayed {n} dead letters: {a} accepted ({report.predictions_stored} predictions and "
        f"{report.labels_stored} labels stored, {report.duplicates} already stored), "
        f"{r} still rejected, {t} truncated"
    )


def _describe(o: Any) -> str:
    if o.outcome == "accepted":
        return f"accepted (was {escape_text(o.old_reason, 40)})"
    if o.outcome == "truncated":
        return f"truncated: cannot replay ({escape_text(o.detail or '', 100)})"
    change = "" if o.reason == o.old_reason else f" (was {escape_text(o.old_reason, 40)})"
    return f"still rejected: {escape_text(o.reason or '', 40)}{change}: {escape_text(o.detail or '', 120)}"


COMMANDS = [dead_letters]
