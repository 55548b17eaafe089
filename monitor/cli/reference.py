"""`monitor reference set|refresh|show`: a monitor's materialised reference versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from monitor.cli._common import CONFIG, fmt_ts, open_store
from monitor.display import PREDICTION_FEATURE

if TYPE_CHECKING:
    from monitor.reference import Reference


@click.group()
def reference() -> None:
    """Reference (training) windows: materialise, re-materialise, inspect."""


def _report(ref: Reference) -> None:
    click.echo(
        f"monitor {ref.monitor}: reference version {ref.version} ({ref.row_count} rows, "
        f"{len(ref.features)} features"
        + (", prediction" if PREDICTION_FEATURE in ref.specs else "")
        + f") from {ref.source}"
    )


@reference.command("set")
@CONFIG
@click.option("--monitor", "monitor_name", required=True)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    default=None,
    help="A CSV/Parquet training set (default: the monitor's configured reference).",
)
def set_cmd(config_path: str | None, monitor_name: str, path: str | None) -> None:
    """Materialise a new reference version (from --file, or the configured source)."""
    from monitor.reference import materialise, reference_frame
    from monitor.settings import ReferenceSettings

    settings, engine = open_store(config_path)
    monitor = settings.monitor(monitor_name)
    if path is not None:
        ref_cfg = (monitor.reference or ReferenceSettings(path=path)).model_copy(
            update={
                "path": path,
                "start": None,
                "end": None,
                "first_events": None,
                "first_days": None,
                "mlflow": None,  # issue 16: --file replaces an MLflow source too
                "dataset": None,
                "artifact": None,
                "tracking_uri": None,
            }
        )
        monitor = monitor.model_copy(update={"reference": ref_cfg})
    frame, source = reference_frame(engine, monitor)
    _report(materialise(engine, monitor, frame=frame, source=source))


@reference.command("refresh")
@CONFIG
@click.option("--monitor", "monitor_name", required=True)
def refresh_cmd(config_path: str | None, monitor_name: str) -> None:
    """Re-read the configured reference source and store it as a new version."""
    from monitor.reference import materialise

    settings, engine = open_store(config_path)
    _report(materialise(engine, settings.monitor(monitor_name)))


@reference.command("show")
@CONFIG
@click.option("--monitor", "monitor_name", required=True)
def show_cmd(config_path: str | None, monitor_name: str) -> None:
    """The monitor's reference versions, newest first, and the newest one's features."""
    from monitor.reference import latest, versions

    settings, engine = open_store(config_path)
    settings.monitor(monitor_name)
    rows = versions(engine, monitor_name)
    if not rows:
        click.echo(f"monitor {monitor_name}: no reference materialised yet")
        return
    for r in rows:
        click.echo(
            f"version {r['version']:>3}  {fmt_ts(r['created_at'])}  {r['row_count']:>9} rows  {r['source']}"
        )
    ref = latest(engine, monitor_name)
    assert ref is not None
    click.echo("features: " + ", ".join(f"{n} ({s.kind})" for n, s in ref.specs.items()))


COMMANDS = [reference]
