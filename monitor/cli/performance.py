"""`monitor performance list|show`: a monitor's stored performance windows and revisions.

`list` shows the newest revision of each recent window (what reports and alert rules read);
`show` every revision of one window (what was known when, after late labels), with the
per-version and per-segment rows, worst first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from monitor.cli._common import CONFIG, fmt_ts, open_store, parse_when
from monitor.cli._common import echo_json as _echo_json
from monitor.cli._common import num as _num
from monitor.cli._common import safe as _safe

MONITOR = click.option("--monitor", "monitor_name", required=True, help="The monitor.")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
COUNTS = frozenset({"n", "n_proba", "mape_excluded", "mape_eps"})  # not metrics


@click.group()
def performance() -> None:
    """Model performance windows: list recent ones, show one window's revisions."""


def _overall(run: Any) -> dict[str, Any]:
    return ((run.metrics or {}).get("overall") or {}).get("metrics") or {}


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    """The single-number metrics of a metrics dict (no lists, dicts or flags)."""
    return {
        k: v
        for k, v in metrics.items()
        if (isinstance(v, int | float) and not isinstance(v, bool)) or v is None
    }


def _task(runs: list[Any]) -> str | None:
    return next((t for r in runs if (t := (r.metrics or {}).get("task"))), None)


def _coverage(run: Any) -> float | None:
    return run.labelled / run.predictions if run.predictions else None


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _window_doc(run: Any) -> dict[str, Any]:
    return {"start": run.window_start.isoformat(), "end": run.window_end.isoformat()}


def _parse_window(text: str) -> tuple[datetime, datetime]:
    if ".." not in text:
        raise click.BadParameter("expected START..END (ISO 8601 with zone)", param_hint="--window")
    start_s, end_s = text.split("..", 1)
    start, end = parse_when(start_s, "--window"), parse_when(end_s, "--window")
    assert start is not None and end is not None
    if end <= start:
        raise click.BadParameter("END must be after START", param_hint="--window")
    return start, end


def _main_metric(monitor: Any, task: str | None) -> str:
    from monitor.reports.performance_section import DEFAULT_MAIN

    rule = next((r.metric for r in monitor.rules if r.condition == "performance"), None)
    return rule or DEFAULT_MAIN.get(task or "", "f1")


@performance.command("list")
@CONFIG
@MONITOR
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@AS_JSON
def list_cmd(config_path: str | None, monitor_name: str, limit: int, as_json: bool) -> None:
    """The newest revision of each recent window, newest first."""
    from monitor.performance import latest_runs
    from monitor.reports.performance_section import SERIES

    settings, engine = open_store(config_path)
    monitor = settings.monitor(monitor_name)
    runs = latest_runs(engine, monitor.name, limit=limit)
    if as_json:
        _echo_json(
            {
                "monitor": monitor.name,
                "windows": [
                    {
                        "window": _window_doc(r),
                        "revision": r.revision,
                        "status": r.status,
                        "predictions": r.predictions,
                        "labelled": r.labelled,
                        "coverage": _coverage(r),
                        "computed_at": r.computed_at.isoformat(),
                        "task": (r.metrics or {}).get("task"),
                        "metrics": _scalars(_overall(r)),
                    }
                    for r in runs
                ],
            }
        )
        return
    if not runs:
        off = "" if monitor.performance_enabled else " (performance is not enabled for it)"
        click.echo(f"no performance runs yet for monitor {monitor.name}{off}")
        return
    names = SERIES.get(_task(runs) or "", ())
    click.echo(
        f"{'window (UTC)':<42} {'rev':>3}  {'status':<19} {'predictions':>11} {'labelled':>8} "
        f"{'coverage':>8}" + "".join(f" {n:>8}" for n in names)
    )
    for r in runs:
        metrics = _overall(r)
        window = f"{fmt_ts(r.window_start)} .. {fmt_ts(r.window_end)}"
        click.echo(
            f"{window:<42} {r.revision:>3}  {r.status:<19} {r.predictions:>11} {r.labelled:>8} "
            f"{_share(_coverage(r)):>8}" + "".join(f" {_num(metrics.get(n), 4):>8}" for n in names)
        )


@performance.command("show")
@CONFIG
@MONITOR
@click.option("--window", "window_text", required=True, help="START..END (ISO 8601 with zone).")
@AS_JSON
def show_cmd(config_path: str | None, monitor_name: str, window_text: str, as_json: bool) -> None:
    """Every revision of one window: overall metrics, per model version, per segment."""
    from monitor.errors import InputError
    from monitor.performance import run_history

    start, end = _parse_window(window_text)
    settings, engine = open_store(config_path)
    monitor = settings.monitor(monitor_name)
    history = run_history(engine, monitor.name, start, end)
    if not history:
        raise InputError(
            f"monitor {monitor.name}: no performance run for window {start.isoformat()} .. "
            f"{end.isoformat()} (see `monitor performance list`)"
        )
    if as_json:
        _echo_json(
            {
                "monitor": monitor.name,
                "window": _window_doc(history[0]),
                "revisions": [
                    {
                        "id": r.id,
                        "revision": r.revision,
                        "status": r.status,
                        "predictions": r.predictions,
                        "labelled": r.labelled,
                        "coverage": _coverage(r),
                        "computed_at": r.computed_at.isoformat(),
                        "metrics": r.metrics,
                        "segments": r.segments,
                    }
                    for r in history
                ],
            }
        )
        return
    main = _main_metric(monitor, _task(history))
    click.echo(
        f"monitor {_safe(monitor.name)}  window {fmt_ts(start)} .. {fmt_ts(end)} UTC  "
        f"{len(history)} revision(s)"
    )
    for r in history:
        _echo_revision(r, main)


def _echo_revision(run: Any, main: str) -> None:
    from monitor.reports.performance_section import duration_text

    doc = run.metrics or {}
    delay = doc.get("label_delay") or {}
    click.echo(
        f"\nrevision {run.revision}  computed {fmt_ts(run.computed_at)}  status {run.status}"
    )
    click.echo(
        f"  predictions {run.predictions}  labelled {run.labelled} ({_share(_coverage(run))})"
        f"  label delay p50 {duration_text(delay.get('p50_s'))}"
        f"  p95 {duration_text(delay.get('p95_s'))}"
    )
    overall = doc.get("overall") or {}
    if overall.get("reason"):
        click.echo(f"  no metrics: {_safe(overall['reason'], 200)}")
    metrics = _overall(run)
    if metrics:
        click.echo(f"  evaluated {metrics.get('n', 0)} rows (labelled, with a prediction)")
    values = [(k, v) for k, v in _scalars(metrics).items() if v is not None and k not in COUNTS]
    for i in range(0, len(values), 5):
        click.echo("  " + "  ".join(f"{k} {_num(v, 4)}" for k, v in values[i : i + 5]))
    versions = doc.get("versions") or []
    if versions:
        click.echo(f"  by model version (worst {main} first):")
        _echo_groups(versions, main, segment=False)
    if run.segments:
        click.echo(f"  by segment (worst {main} first):")
        _echo_groups(run.segments, main, segment=True)


def _echo_groups(groups: list[dict[str, Any]], main: str, *, segment: bool) -> None:
    from monitor.reports.performance_section import worst_first

    name = f"{'segment':<16} {'value':<32}" if segment else f"{'model version':<49}"
    click.echo(f"    {name} {'predictions':>11} {'labelled':>8} {'coverage':>8} {main:>8}  status")
    for g in worst_first(groups, main):
        if segment:
            name = f"{_safe(g.get('key'), 16):<16} {_safe(g.get('value'), 32):<32}"
        else:
            version = g.get("model_version")
            name = f"{'(none)' if version is None else _safe(version, 49):<49}"
        value = (g.get("metrics") or {}).get(main) if g.get("status") == "ok" else None
        status = g.get("status") or "-"
        if g.get("reason"):
            status += f" ({_safe(g['reason'], 80)})"
        click.echo(
            f"    {name} {g.get('predictions') or 0:>11} {g.get('labelled') or 0:>8} "
            f"{_share(g.get('coverage')):>8} {_num(value, 4):>8}  {status}"
        )


COMMANDS = [performance]
