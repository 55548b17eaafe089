"""`monitor runs list|show|export` and `monitor runs now`: scheduled drift runs."""

from __future__ import annotations

import click

from monitor.cli._common import CONFIG, echo_json, fmt_ts, num, open_store, parse_when, safe
from monitor.display import feature_label


@click.group()
def runs() -> None:
    """Drift runs: list, show, export as JSON, or run a monitor now."""


@runs.command("list")
@CONFIG
@click.option("--monitor", "monitor_name", default=None, help="Only this monitor.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def list_cmd(config_path: str | None, monitor_name: str | None, limit: int) -> None:
    """The newest finished runs, newest first."""
    from monitor.storage.runs import list_runs

    settings, engine = open_store(config_path)
    if monitor_name is not None:
        settings.monitor(monitor_name)
    rows = list_runs(engine, monitor_name, limit=limit)
    if not rows:
        click.echo("no runs yet")
        return
    click.echo(
        f"{'id':>6}  {'monitor':<20} {'window end (UTC)':<19}  {'status':<17} {'rows':>9} "
        f"{'drift':<5} {'share':>6} {'drifted':>7}  {'secs':>6}"
    )
    for r in rows:
        drift = "-" if r["dataset_drift"] is None else ("YES" if r["dataset_drift"] else "no")
        drifted = "-" if r["n_features"] is None else f"{r['n_drifted']}/{r['n_features']}"
        click.echo(
            f"{r['id']:>6}  {safe(r['monitor'], 20):<20} {fmt_ts(r['window_end']):<19}  "
            f"{r['status']:<17} {r['current_rows'] or 0:>9} {drift:<5} "
            f"{num(r['drift_share'], 2):>6} {drifted:>7}  {num(r['duration_s'], 2):>6}"
        )


@runs.command("show")
@CONFIG
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
def show_cmd(config_path: str | None, run_id: int, as_json: bool) -> None:
    """One run with every per-feature result."""
    from monitor.errors import InputError
    from monitor.storage.runs import get_run

    _, engine = open_store(config_path)
    run = get_run(engine, run_id)
    if run is None:
        raise InputError(f"no finished run with id {run_id}")
    if as_json:
        echo_json(run)
        return
    click.echo(f"run {run['id']}  monitor {safe(run['monitor'])}  status {run['status']}")
    click.echo(f"window     {fmt_ts(run['window_start'])} .. {fmt_ts(run['window_end'])} UTC")
    click.echo(f"rows       current {run['current_rows']}  reference {run['reference_rows']}")
    if run["dataset_drift"] is not None:
        click.echo(
            f"dataset    drift {'YES' if run['dataset_drift'] else 'no'}  share "
            f"{num(run['drift_share'])} ({run['n_drifted']}/{run['n_features']} features)"
        )
    if run["error"]:
        click.echo(f"error      {safe(run['error'], 300)}")
    if run["report_url"]:
        click.echo(f"report     {run['report_url']}")
    if run["features"]:
        click.echo(
            f"\n{'feature':<28} {'kind':<11} {'method':<18} {'statistic':>10} {'threshold':>9}  drifted"
        )
    for f in run["features"]:
        click.echo(
            f"{safe(feature_label(f['feature']), 28):<28} {f['kind']:<11} {f['method']:<18} "
            f"{num(f['statistic'], 4):>10} {num(f['threshold'], 4):>9}  "
            f"{'YES' if f['drifted'] else 'no'}"
        )


@runs.command("export")
@CONFIG
@click.option("--monitor", "monitor_name", default=None, help="Only this monitor.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
def export_cmd(config_path: str | None, monitor_name: str | None, limit: int) -> None:
    """Finished runs with their per-feature results as one JSON document on stdout."""
    from monitor.storage.runs import get_run, list_runs

    settings, engine = open_store(config_path)
    if monitor_name is not None:
        settings.monitor(monitor_name)
    rows = list_runs(engine, monitor_name, limit=limit)
    echo_json({"runs": [get_run(engine, r["id"]) for r in rows]})


@runs.command("now")
@CONFIG
@click.option("--monitor", "monitor_name", required=True, help="The monitor to run.")
@click.option(
    "--at",
    "at",
    default=None,
    help="Compute the windows due at this time (ISO 8601 with zone). Default: now.",
)
def now_cmd(config_path: str | None, monitor_name: str, at: str | None) -> None:
    """Run one scheduler tick of a monitor now (windows due and not yet computed)."""
    from monitor.scheduler.ticks import tick

    settings, engine = open_store(config_path)
    monitor = settings.monitor(monitor_name)
    outcomes = tick(engine, settings, monitor, parse_when(at, "--at"))
    if not outcomes:
        click.echo("nothing due: every closed window is already computed")
    for o in outcomes:
        line = f"run {o.run_id}  {fmt_ts(o.window.end)}  {o.status}  rows {o.current_rows}"
        if o.dataset_drift is not None:
            line += f"  drift {'YES' if o.dataset_drift else 'no'} share {o.drift_share:.2f}"
        if o.error:
            line += f"  error: {safe(o.error, 200)}"
        click.echo(line)


COMMANDS = [runs]
