"""`monitor alerts list|show|ack|mark|silence|unsilence`: alert state from the terminal.

Reads go to the same tables the scheduler writes. `ack` records an `alert_events` row with
state "acknowledged" (who, optional comment): it changes nothing in the alert's lifecycle,
it records that a person has seen it. `silence` and `unsilence` are the `monitor silence
add` and `monitor silence remove` commands under the names an on-call operator looks for.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any

import click

from monitor.cli import silence as silence_cli
from monitor.cli._common import CONFIG, fmt_ts, open_store
from monitor.cli.dead_letters import escape_text
from monitor.errors import InputError

STATES = ("open", "firing", "pending", "resolved")
SEVERITIES = ("info", "warning", "critical")


@click.group()
def alerts() -> None:
    """Alerts: list, show (history and deliveries), acknowledge, mark, silence.

    \b
    Exit codes: 0 ok; 2 bad input or config (unknown alert or monitor, bad time),
    database unreachable.
    """


@alerts.command("list")
@CONFIG
@click.option("--monitor", "monitor_name", default=None, help="Only this monitor.")
@click.option(
    "--state",
    type=click.Choice(STATES),
    default=None,
    help="open = pending or firing. Default: every state.",
)
@click.option("--severity", type=click.Choice(SEVERITIES), default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cmd(
    config_path: str | None,
    monitor_name: str | None,
    state: str | None,
    severity: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Alerts, newest first."""
    from dataclasses import asdict

    from monitor.alerts import list_alerts

    _, engine = open_store(config_path)
    rows = list_alerts(engine, monitor_name, state, severity, limit)
    if as_json:
        from monitor.cli._common import echo_json

        echo_json({"alerts": [asdict(a) for a in rows]})
        return
    if not rows:
        click.echo("no alerts")
        return
    click.echo(
        f"{'id':>6}  {'monitor':<20} {'rule':<16} {'subject':<20} {'state':<8} "
        f"{'severity':<8}  {'since (UTC)':<19}  {'last seen':<19}  resolved (UTC)"
    )
    for a in rows:
        since = a.fired_at or a.created_at
        click.echo(
            f"{a.id:>6}  {escape_text(a.monitor, 20):<20} {escape_text(a.rule, 16):<16} "
            f"{escape_text(a.subject or '-', 20):<20} {a.state:<8} {a.severity:<8}  "
            f"{fmt_ts(since):<19}  {fmt_ts(a.last_seen_at):<19}  {fmt_ts(a.resolved_at)}"
        )


@alerts.command("show")
@CONFIG
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_cmd(config_path: str | None, alert_id: int, as_json: bool) -> None:
    """One alert: its state history and every delivery of its notifications."""
    from monitor.alerts import alert_detail

    _, engine = open_store(config_path)
    alert = alert_detail(engine, alert_id)
    if alert is None:
        raise InputError(f"no alert with id {alert_id}")
    if as_json:
        from monitor.cli._common import echo_json

        echo_json(alert)
        return
    _print_alert(alert)


def _print_alert(a: dict[str, Any]) -> None:
    click.echo(
        f"alert {a['id']}  monitor {escape_text(a['monitor'], 60)}  rule "
        f"{escape_text(a['rule'], 60)}  subject {escape_text(a['subject'] or '-', 60)}"
    )
    click.echo(f"state      {a['state']}  severity {a['severity']}  consecutive {a['consecutive']}")
    click.echo(
        f"times      created {fmt_ts(a['created_at'])}  fired {fmt_ts(a['fired_at'])}  "
        f"last seen {fmt_ts(a['last_seen_at'])}  resolved {fmt_ts(a['resolved_at'])} (UTC)"
    )
    if a.get("acknowledged_at") is not None:
        click.echo(f"acked      {fmt_ts(a['acknowledged_at'])} UTC")
    summary = (a.get("details") or {}).get("summary")
    if summary:
        click.echo(f"summary    {escape_text(str(summary), 200)}")
    if a.get("last_run_id") is not None:
        click.echo(f"last run   {a['last_run_id']}")
    click.echo("\nhistory")
    for e in a["history"]:
        detail = e["detail"] or {}
        if e["state"] == "marked":
            note = (
                f"{detail.get('verdict')} alarm by {escape_text(str(detail.get('by') or '?'), 40)}"
            )
            if detail.get("note"):
                note += f": {escape_text(str(detail['note']), 120)}"
        elif e["state"] == "acknowledged":
            note = f"by {escape_text(str(detail.get('by') or '?'), 40)}"
            if detail.get("comment"):
                note += f": {escape_text(str(detail['comment']), 120)}"
        else:
            note = f"from {detail.get('from', '?')}"
            if detail.get("notify"):
                note += f", notify {detail['notify']}"
            if detail.get("silenced"):
                note += ", silenced"
        run = f"run {e['run_id']}" if e["run_id"] is not None else ""
        click.echo(f"  {fmt_ts(e['at'])}  {e['state']:<12} {run:<10} {note}")
    if not a["history"]:
        click.echo("  (none)")
    click.echo("\ndeliveries")
    if not a["deliveries"]:
        click.echo("  (none)")
        return
    click.echo(
        f"  {'created (UTC)':<19}  {'channel':<8} {'route':<16} {'event':<24} {'status':<10} "
        f"{'attempts':>8}  last error / reason suppressed / target run"
    )
    for n in a["deliveries"]:
        answer = n.get("answer") or {}
        run = " ".join(str(answer[k]) for k in ("run_id", "url") if answer.get(k))
        click.echo(
            f"  {fmt_ts(n['created_at']):<19}  {escape_text(n['channel'], 8):<8} "
            f"{escape_text(n['route'], 16):<16} {escape_text(n['event'], 24):<24} "
            f"{n['status']:<10} {n['attempts']:>8}  "
            f"{escape_text(n['last_error'] or run or '-', 300)}"
        )


@alerts.command("ack")
@CONFIG
@click.argument("alert_id", type=int)
@click.option("--by", "by", default=None, help="Who acknowledges (default: the login name).")
@click.option("--comment", default=None, help="A note kept with the acknowledgement.")
def ack_cmd(config_path: str | None, alert_id: int, by: str | None, comment: str | None) -> None:
    """Record that someone has seen an open alert (its lifecycle is unchanged)."""
    from monitor.alerts import acknowledge

    _, engine = open_store(config_path)
    who = by or _login()
    try:
        state = acknowledge(engine, alert_id, datetime.now(UTC), who, comment)
    except LookupError:
        raise InputError(f"no alert with id {alert_id}") from None
    click.echo(f"acknowledged alert {alert_id} ({state}) by {escape_text(who, 60)}")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name for this uid (containers)
        return "unknown"


@alerts.command("mark")
@CONFIG
@click.argument("alert_id", type=int)
@click.argument("verdict", type=click.Choice(["false", "true"]))
@click.option("--note", default=None, help="Why (kept with the mark).")
@click.option("--by", "by", default=None, help="Who marks (default: the login name).")
def mark_cmd(
    config_path: str | None, alert_id: int, verdict: str, note: str | None, by: str | None
) -> None:
    """Mark an alert a false alarm (false) or a true one (true); the newest mark counts.

    Marks feed the measured false-alarm share that `monitor calibrate` shows next to the
    budget; each is kept in the alert's history.
    """
    from monitor.storage.alert_marks import mark_alert

    _, engine = open_store(config_path)
    if note is not None and len(note) > 1000:
        raise InputError("--note is limited to 1000 characters")
    who = by or _login()
    mark = mark_alert(engine, alert_id, verdict, datetime.now(UTC), who, note)
    if mark is None:
        raise InputError(f"no alert with id {alert_id}")
    what = "a false alarm" if verdict == "false" else "a true alarm"
    click.echo(
        f"marked alert {alert_id} ({escape_text(mark.monitor, 60)} / "
        f"{escape_text(mark.rule, 60)}) {what} by {escape_text(who, 60)}"
    )


alerts.add_command(silence_cli.add_cmd, name="silence")
alerts.add_command(silence_cli.remove_cmd, name="unsilence")

COMMANDS = [alerts]
