"""`monitor calibrate --monitor NAME`: expected false alarms of the monitor's drift rules
against its budget, detection delays, and the measured false-alarm share from marks.

`--backtest 30d` replays the stored windows of the last 30 days through the monitor's rules
as the config given with --config (or `--proposed FILE`, when --config is the running
service's) states them, and prints the alerts each rule would have raised next to the
alerts stored for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click

from monitor.cli._common import CONFIG, echo_json, open_store, parse_when, safe
from monitor.errors import ConfigError, InputError


def _monitor(settings: Any, name: str) -> Any:
    for m in settings.monitors:
        if m.name == name:
            return m
    names = ", ".join(m.name for m in settings.monitors) or "none"
    raise InputError(
        f"no monitor named {safe(name)!r} in the config (monitors: {safe(names, 200)})"
    )


def _days(text: str) -> float:
    from monitor.settings.base import parse_duration

    try:
        span = parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--backtest") from None
    if span <= timedelta(0) or span > timedelta(days=366):
        raise click.BadParameter("give a period between 1s and 366d", param_hint="--backtest")
    return span / timedelta(days=1)


def _rate(x: Any, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _print_calibration(doc: dict[str, Any]) -> None:
    b, x = doc["budget"], doc["expected"]
    click.echo(
        f"monitor {safe(doc['monitor'])}: {doc['windows']} simulated windows of "
        f"{doc['window_rows']} rows, one every {doc['run_every_s'] / 3600:g} h; reference "
        f"version {doc['reference_version']} ({doc['reference_rows']} rows)"
    )
    click.echo(
        f"budget     {_rate(b['per_day'], 3)} false alarms/day, {_rate(b['per_30d'])}/30 days"
    )
    click.echo(
        f"expected   {_rate(x['per_day'], 3)} false alarms/day, {_rate(x['per_30d'])}/30 days"
        f"  ({'within' if x['per_run'] <= b['per_run'] else 'OVER'} budget)"
    )
    click.echo(f"\n{'rule':<24} {'condition':<18} {'per day':>9} {'per 30 days':>12}")
    for r in doc["rules"]:
        note = f"  {r['note']}" if "note" in r else ""
        click.echo(
            f"{safe(r['name'], 24):<24} {r['condition']:<18} {_rate(r.get('per_day'), 3):>9} "
            f"{_rate(r.get('per_30d')):>12}{note}"
        )
    click.echo(
        f"\n{'feature':<24} {'kind':<11} {'method':<18} {'threshold':>10} "
        f"{'flagged':>8} {'per 30 days':>12}"
    )
    for f in doc["features"]:
        thr = ("auto " if f["auto"] else "") + f"{f['threshold']:.4g}"
        click.echo(
            f"{safe(f['name'], 24):<24} {f['kind']:<11} {f['method']:<18} {thr:>10} "
            f"{f['per_window']:>8.2%} {_rate(f['per_30d']):>12}"
        )
    _print_delays(doc["delays"])
    mk = doc["measured"]
    share = "-" if mk["share"] is None else f"{mk['share']:.0%}"
    click.echo(f"\nmarked alerts (30 days): {mk['marked']}, false alarms {mk['false']} ({share})")


def _print_delays(delays: list[dict[str, Any]]) -> None:
    if not delays:
        return
    click.echo(f"\n{'median detection delay':<24} {'shift':<10} {'windows':>8} {'time':>10}  rule")
    for d in delays:
        w = "never" if d["windows"] is None else f"{d['windows']:g}"
        t = "-" if d["seconds"] is None else f"{d['seconds'] / 3600:.3g} h"
        click.echo(
            f"{safe(d['feature'], 24):<24} {d['shift']:<10} {w:>8} {t:>10}  "
            f"{safe(d['rule'] or '-', 30)}"
        )


def _print_backtest(doc: dict[str, Any]) -> None:
    click.echo(
        f"monitor {safe(doc['monitor'])}: backtest over {doc['windows']} stored windows of the "
        f"last {doc['days']:g} days"
    )
    click.echo(f"{'rule':<24} {'condition':<18} {'would raise':>11} {'raised':>7}")
    for r in doc["rules"]:
        raised = "-" if r["stored_alerts"] is None else str(r["stored_alerts"])
        click.echo(f"{safe(r['name'], 24):<24} {r['condition']:<18} {r['alerts']:>11} {raised:>7}")
    if doc["unavailable"]:
        click.echo(f"{doc['unavailable']} feature verdicts not replayable (statistic not stored)")


@click.command("calibrate")
@CONFIG
@click.option("--monitor", "monitor_name", required=True, help="A monitor of the config.")
@click.option("--windows", type=click.IntRange(100, 100_000), default=2000, show_default=True,
              help="Healthy windows to simulate.")  # fmt: skip
@click.option("--window-rows", type=click.IntRange(2, 10_000_000), default=None,
              help="Rows per window (default: a count window's size, else the median of "
                   "the stored runs).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--backtest", "backtest_span", default=None, metavar="SPAN",
              help="Replay the stored windows of this period (e.g. 30d) instead.")  # fmt: skip
@click.option("--proposed", "proposed_path", type=click.Path(dir_okay=False),
              default=None, help="With --backtest: the proposed config (default: the current).")  # fmt: skip
@click.option("--until", default=None, metavar="TIME",
              help="With --backtest: end of the period (ISO 8601 with zone; default now).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def calibrate_cmd(
    config_path: str | None,
    monitor_name: str,
    windows: int,
    window_rows: int | None,
    seed: int,
    backtest_span: str | None,
    proposed_path: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Expected false alarms per day and per 30 days of a monitor's drift rules against its
    budget (alarm.expected_run_length), detection delays of small shifts, and the measured
    false-alarm share from marked alerts.

    \b
    Exit codes: 0 ok; 2 bad input or config (unknown monitor, no reference, no window size).
    """
    settings, engine = open_store(config_path)
    monitor = _monitor(settings, monitor_name)
    if backtest_span is not None:
        end = parse_when(until, "--until") or datetime.now(UTC)
        replay = _backtest(engine, monitor, proposed_path, _days(backtest_span), end)
        echo_json(replay) if as_json else _print_backtest(replay)
        return
    if proposed_path is not None or until is not None:
        raise click.UsageError("--proposed and --until go with --backtest")
    from monitor.calibrate import calibration

    doc = calibration(engine, monitor, windows=windows, rows=window_rows, seed=seed)
    assert doc is not None  # computed when not cached
    echo_json(doc) if as_json else _print_calibration(doc)


def _backtest(
    engine: Any, current: Any, proposed_path: str | None, days: float, end: datetime
) -> dict:
    from monitor.backtest import backtest
    from monitor.settings import load_settings

    proposed = current
    if proposed_path is not None:
        other = load_settings(proposed_path)
        found = [m for m in other.monitors if m.name == current.name]
        if not found:
            raise ConfigError(
                f"the proposed config {safe(proposed_path, 200)} has no monitor "
                f"{safe(current.name)!r}"
            )
        proposed = found[0]
    return backtest(engine, proposed, days=days, now=end)


COMMANDS = [calibrate_cmd]
