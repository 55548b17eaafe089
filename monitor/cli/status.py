"""`monitor status`: one screen of the service's state, read from the database.

Per configured monitor its newest finished run and its open alerts; the notification
outbox; dead letters of the last hour and in total. Consumer lag needs Kafka, so it is read
only with `--lag`: the consumer group's committed offsets against each partition's high
watermark, as the broker reports it in fetch responses (`consumer.highwater`; ListOffsets
is wrong on some brokers, e.g. tansu, see monitor/ingest/lag.py). Reading the lag neither
joins the group nor commits anything, and needs no database: with the database down,
`--lag` still prints it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from monitor.cli._common import CONFIG, fmt_ts, open_store
from monitor.cli.dead_letters import escape_text
from monitor.errors import KafkaUnavailable

if TYPE_CHECKING:
    from monitor.settings import KafkaSettings, Settings
    from monitor.storage.db import Engine

DEAD_LETTER_WINDOW = timedelta(hours=1)
LAG_TIMEOUT_S = 10.0


def collect_status(engine: Engine, settings: Settings, now: datetime) -> dict[str, Any]:
    """Everything `monitor status` shows, as plain data (the --json document)."""
    from monitor.notify.delivery import outbox_counts
    from monitor.replay import dead_letter_counts_since
    from monitor.storage.queries import dead_letter_counts
    from monitor.storage.runs import list_runs
    from monitor.storage.status import open_alert_counts

    open_alerts = open_alert_counts(engine)
    monitors = []
    for m in settings.monitors:
        last = list_runs(engine, m.name, limit=1)
        run = last[0] if last else None
        counts = open_alerts.get(m.name, {})
        monitors.append(
            {
                "name": m.name,
                "model": m.model,
                "last_run": None
                if run is None
                else {
                    "id": run["id"],
                    "window_end": run["window_end"],
                    "status": run["status"],
                    "dataset_drift": run["dataset_drift"],
                    "drift_share": run["drift_share"],
                    "n_drifted": run["n_drifted"],
                    "n_features": run["n_features"],
                },
                "alerts": {"firing": counts.get("firing", 0), "pending": counts.get("pending", 0)},
            }
        )
    outbox = outbox_counts(engine)
    recent = dead_letter_counts_since(engine, now - DEAD_LETTER_WINDOW)
    return {
        "now": now,
        "monitors": monitors,
        "outbox": {s: outbox.get(s, 0) for s in ("pending", "failed", "delivered")},
        "dead_letters": {
            "last_hour": dict(sorted(recent.items())),
            "last_hour_total": sum(recent.values()),
            "total": sum(dead_letter_counts(engine).values()),
        },
        "database": {"reachable": True, "error": None},
        "lag": None,
    }


def group_lag(kafka: KafkaSettings, timeout_s: float = LAG_TIMEOUT_S) -> dict[str, Any]:
    """Lag of the consumer group on the predictions and labels topics.

    Per partition: high watermark - committed offset (a partition never committed counts
    from its first offset). {"group", "topics": {topic: {"total", "partitions": {p: lag}}}};
    a topic the broker does not know is reported with "missing": true.
    """
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError
    from kafka.structs import TopicPartition

    from monitor.ingest.lag import read_highwaters

    topics = list(dict.fromkeys([kafka.predictions_topic, kafka.labels_topic]))
    try:
        consumer = KafkaConsumer(
            **kafka.client_options(),
            group_id=kafka.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=int(timeout_s * 1000) + 1000,
            bootstrap_timeout_ms=int(timeout_s * 1000),
            max_partition_fetch_bytes=1024,  # we only want the high watermark
            fetch_max_bytes=64 * 1024,
        )
    except KafkaError as exc:
        raise KafkaUnavailable(
            f"lag: cannot reach Kafka: {type(exc).__name__}: {exc}"[:300]
        ) from None
    try:
        deadline = time.monotonic() + timeout_s
        parts = {t: sorted(consumer.partitions_for_topic(t)) for t in topics}
        tps = [TopicPartition(t, p) for t in topics for p in parts[t]]
        committed = {tp: consumer.committed(tp, timeout_ms=int(timeout_s * 1000)) for tp in tps}
        never = [tp for tp in tps if committed[tp] is None]
        start = consumer.beginning_offsets(never) if never else {}
        base = {tp: committed[tp] if committed[tp] is not None else start[tp] for tp in tps}
        highs = read_highwaters(consumer, base, max(deadline - time.monotonic(), 0.0))
        if len(highs) < len(tps):
            raise KafkaUnavailable(f"lag: no high watermark from Kafka within {timeout_s:g} s")
    except KafkaError as exc:
        raise KafkaUnavailable(f"lag: Kafka error: {type(exc).__name__}: {exc}"[:300]) from None
    finally:
        consumer.close(autocommit=False)
    out: dict[str, Any] = {"group": kafka.group_id, "topics": {}}
    for t in topics:
        lags = {tp.partition: max(highs[tp] - base[tp], 0) for tp in tps if tp.topic == t}
        out["topics"][t] = {
            "total": sum(lags.values()),
            "partitions": lags,
            "missing": not parts[t],
        }
    return out


@click.command("status")
@CONFIG
@click.option("--lag", is_flag=True, help="Also read consumer lag from Kafka (kafka settings).")
@click.option(
    "--lag-timeout",
    type=click.FloatRange(0.5, 300),
    default=LAG_TIMEOUT_S,
    show_default=True,
    help="Seconds to wait for Kafka with --lag.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(config_path: str | None, lag: bool, lag_timeout: float, as_json: bool) -> None:
    """One screen: monitors with their last run and open alerts, outbox, dead letters, lag.

    With --lag and the database unreachable, the lag (read from Kafka alone) is still
    printed, with a line saying the database is unreachable; the exit code is then 2.

    \b
    Exit codes: 0 ok; 2 bad config, database unreachable (with --lag: after printing the
    lag), or (with --lag) Kafka unreachable.
    """
    from monitor.storage import StorageUnavailable

    now = datetime.now(UTC)
    try:
        settings, engine = open_store(config_path)
        doc = collect_status(engine, settings, now)
        outage: StorageUnavailable | None = None
    except StorageUnavailable as exc:
        if not lag:
            raise
        from monitor.cli._common import service_settings

        settings, outage = service_settings(config_path), exc
        doc = {"now": now, "database": {"reachable": False, "error": str(exc)}, "lag": None}
        doc.update(monitors=None, outbox=None, dead_letters=None)
    if lag:
        doc["lag"] = group_lag(settings.kafka, lag_timeout)
    if as_json:
        from monitor.cli._common import echo_json as _echo_json

        _echo_json(doc)
    else:
        _print(doc)
    if outage is not None:
        raise outage  # after the lag: exit 2 with the one-line reason on stderr


def _print(doc: dict[str, Any]) -> None:
    if not doc["database"]["reachable"]:
        click.echo("database: unreachable (monitors, outbox and dead letters not shown)")
        _print_lag(doc["lag"])
        return
    monitors = doc["monitors"]
    if not monitors:
        click.echo("monitors: none configured")
    else:
        click.echo(
            f"{'monitor':<24} {'last window end (UTC)':<21} {'status':<17} {'drift':<5} "
            f"{'share':>6} {'firing':>6} {'pending':>7}"
        )
    for m in monitors:
        run = m["last_run"]
        if run is None:
            end, status, drift, share = "never", "-", "-", "-"
        else:
            end, status = fmt_ts(run["window_end"]), run["status"]
            drift = (
                "-" if run["dataset_drift"] is None else ("YES" if run["dataset_drift"] else "no")
            )
            share = "-" if run["drift_share"] is None else f"{run['drift_share']:.2f}"
        click.echo(
            f"{escape_text(m['name'], 24):<24} {end:<21} {status:<17} {drift:<5} {share:>6} "
            f"{m['alerts']['firing']:>6} {m['alerts']['pending']:>7}"
        )
    o = doc["outbox"]
    click.echo(
        f"\noutbox: {o['pending']} pending, {o['failed']} failed ({o['delivered']} delivered)"
    )
    dl = doc["dead_letters"]
    per = ", ".join(f"{escape_text(r, 40)} {n}" for r, n in dl["last_hour"].items())
    click.echo(
        f"dead letters: {dl['last_hour_total']} in the last hour"
        + (f" ({per})" if per else "")
        + f", {dl['total']} stored in total"
    )
    _print_lag(doc["lag"])


def _print_lag(lag: dict[str, Any] | None) -> None:
    if lag is None:
        click.echo("lag: use --lag")
        return
    parts = []
    for topic, t in lag["topics"].items():
        if t["missing"]:
            parts.append(f"{escape_text(topic, 60)} (no such topic)")
            continue
        each = " ".join(f"p{p}={n}" for p, n in sorted(t["partitions"].items()))
        parts.append(f"{escape_text(topic, 60)} {t['total']} [{each}]")
    click.echo(f"lag (group {escape_text(lag['group'], 60)}): " + "; ".join(parts))


COMMANDS = [status]
