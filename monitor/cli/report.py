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
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("current", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="HTML file to write (replaced atomically).",
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
    reference: Path,
    current: Path,
    output: Path,
    columns: str | None,
    max_rows: int,
    seed: int,
    title: str | None,
    config_path: Path | None,
) -> int:
    """Write an HTML drift report comparing CURRENT with REFERENCE (CSV or Parquet)."""
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


COMMANDS = [report]
