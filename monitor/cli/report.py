"""`monitor report REFERENCE CURRENT -o out.html`: a self-contained HTML drift report.

Our engine's verdict on every row, Evidently's data-drift report on a seeded sample of at
most --max-rows rows per side. Exit 0 when written; 2 for unreadable input, mismatched
columns, bad config or an unwritable output path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click


def render_and_write(
    reference: Any,
    current: Any,
    output: Path,
    *,
    title: str,
    meta: Mapping[str, str],
    options: Any = None,
    columns: list[str] | None = None,
    history: Mapping[str, Sequence[Any]] | None = None,
    max_rows: int = 20_000,
    seed: int = 0,
) -> Any:
    """Compare with our engine, render the report, write it atomically to `output`.

    The shared tail of every `monitor report` variant (files here; a monitor's stored
    window for `--monitor`): returns the DriftReport so the caller can print a verdict.
    """
    from monitor.drift.engine import compare
    from monitor.reports.render import render_report
    from monitor.reports.write import atomic_write_text

    drift = compare(reference, current, options, columns)
    html = render_report(
        reference,
        current,
        title=title,
        meta=meta,
        drift=drift,
        history=history,
        max_rows=max_rows,
        seed=seed,
    )
    atomic_write_text(output, html)
    return drift


@click.command("report")
@click.argument("reference", type=click.Path(path_type=Path), required=False)
@click.argument("current", type=click.Path(path_type=Path), required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="HTML file to write (replaced atomically). With --monitor: default under "
    "reports.directory.",
)
@click.option(
    "--monitor",
    "monitor_name",
    default=None,
    help="Report a monitor's stored window instead of two files (--config is then the "
    "service config).",
)
@click.option(
    "--window",
    "window_text",
    default=None,
    help="With --monitor: START..END (ISO 8601 with zone), or END alone for the monitor's "
    "window ending then. Default: the newest closed window.",
)
@click.option("--columns", default=None, help="Comma-separated columns to compare (default: all).")
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Rows per side sampled (seeded) into Evidently's section.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed.")
@click.option("--title", default=None, help="Report title (default: the two file names).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML with drift options, as for `monitor drift --config`.",
)
def report(
    reference: Path | None,
    current: Path | None,
    output: Path | None,
    monitor_name: str | None,
    window_text: str | None,
    columns: str | None,
    max_rows: int,
    seed: int,
    title: str | None,
    config_path: Path | None,
) -> int:
    """Write an HTML drift report comparing CURRENT with REFERENCE (CSV or Parquet), or a
    monitor's stored window with its reference (--monitor NAME [--window START..END])."""
    if monitor_name is not None:
        if reference is not None or current is not None:
            raise click.UsageError("give either REFERENCE CURRENT or --monitor, not both")
        return _monitor_report(config_path, monitor_name, window_text, output)
    if reference is None or current is None or output is None:
        raise click.UsageError("give REFERENCE CURRENT -o OUT.html, or --monitor NAME")
    from monitor.cli.drift import load_drift_config
    from monitor.cli.inputs import quiet_scipy_notes, read_inputs
    from monitor.drift.options import DriftOptions
    from monitor.settings import DriftSettings

    quiet_scipy_notes()
    settings = load_drift_config(config_path) if config_path else DriftSettings()
    options = DriftOptions.from_settings(settings, prefix="")
    ref, cur, names = read_inputs(reference, current, columns)
    drift = render_and_write(
        ref,
        cur,
        output,
        title=title or f"Drift report: {current.name} vs {reference.name}",
        meta={"reference": str(reference), "current": str(current)},
        options=options,
        columns=names,
        max_rows=max_rows,
        seed=seed,
    )
    drifted = sum(f.drifted for f in drift.features)
    verdict = "drift" if drift.dataset_drift else "no drift"
    click.echo(
        f"report written to {output} ({verdict}: {drifted} of {len(drift.features)} features)"
    )
    return 0


def _monitor_report(
    config_path: Path | None, monitor_name: str, window_text: str | None, output: Path | None
) -> int:
    """Render a stored window of a monitor the way scheduled runs do (same engine path)."""
    import shutil
    from datetime import UTC, datetime

    from monitor.cli._common import open_store, parse_when
    from monitor.reference import drift_options, event_filter
    from monitor.scheduler.execute import compare_window, current_sketches, ensure_reference
    from monitor.scheduler.report import window_report
    from monitor.scheduler.ticks import window_spec
    from monitor.storage.event_frames import count_events
    from monitor.window import Window, latest_closed, window_ending_at

    settings, engine = open_store(str(config_path) if config_path else None)
    monitor = settings.monitor(monitor_name)
    if monitor.window.events is not None and window_text is None:
        raise click.UsageError("a count-window monitor needs --window START..END")
    now = datetime.now(UTC)
    if window_text and ".." in window_text:
        start_s, end_s = window_text.split("..", 1)
        start, end = parse_when(start_s, "--window"), parse_when(end_s, "--window")
        assert start is not None and end is not None
        if end <= start:
            raise click.BadParameter("END must be after START", param_hint="--window")
        window = Window(start, end)
    elif window_text:
        end = parse_when(window_text, "--window")
        assert end is not None
        window = window_ending_at(window_spec(monitor), end)
    else:
        window = latest_closed(window_spec(monitor), now, monitor.window.lateness)
    ref = ensure_reference(engine, monitor, now)
    n = count_events(engine, event_filter(monitor), window.start, window.end)
    if n == 0:
        from monitor.errors import InputError

        raise InputError(
            f"monitor {monitor_name}: no stored events in {window.start.isoformat()} .. "
            f"{window.end.isoformat()}"
        )
    current, _ = current_sketches(engine, monitor, ref, window, n)
    drift, prediction = compare_window(ref, current, drift_options(monitor))
    path = window_report(engine, settings, monitor, window, drift, None, prediction)
    if output is not None:
        shutil.move(str(path), output)
        path = output
    verdict = "drift" if drift.dataset_drift else "no drift"
    drifted = sum(f.drifted for f in drift.features)
    click.echo(f"report written to {path} ({verdict}: {drifted} of {len(drift.features)} features)")
    return 0


COMMANDS = [report]
