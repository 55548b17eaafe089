"""`monitor healthcheck`: exit 0 while the serving loop's heartbeat is fresh (container HEALTHCHECK)."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.errors import MonitorError, Unhealthy
from monitor.heartbeat import ENV_VAR, age_seconds, heartbeat_path


@click.command("healthcheck")
@click.option(
    "--file",
    "file_",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Heartbeat file (default: ${ENV_VAR}).",
)
@click.option(
    "--max-age",
    type=float,
    default=90.0,
    show_default=True,
    help="Seconds after which a silent heartbeat counts as unhealthy.",
)
def healthcheck(file_: Path | None, max_age: float) -> None:
    """Check that `monitor serve` is alive: its heartbeat file was touched recently."""
    path = file_ or heartbeat_path()
    if path is None:
        raise MonitorError(f"no heartbeat file: pass --file or set {ENV_VAR}")
    age = age_seconds(path)
    if age is None:
        raise Unhealthy(f"unhealthy: {path} does not exist (serve has not started its loop)")
    if age > max_age:
        raise Unhealthy(f"unhealthy: last heartbeat {age:.0f} s ago (max {max_age:.0f} s)")
    click.echo(f"healthy: last heartbeat {age:.1f} s ago")


COMMANDS = [healthcheck]
