"""The `monitor` console script: the only place errors become messages and exit codes.

Exit codes: 0 success; 1 the check failed (e.g. `drift --fail-on-drift` found drift);
2 bad input or config (one readable line on stderr); 70 an unexpected internal error.
Each sub-command lives in its own module and imports heavy libraries inside its function,
so `monitor --help` stays fast.
"""

from __future__ import annotations

import sys

import click

from monitor import __version__
from monitor.errors import MonitorError

EXIT_INTERNAL = 70


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
@click.option(
    "--log-format",
    type=click.Choice(["logfmt", "json"]),
    default=None,
    help="Log line format (default: from config, else logfmt).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    default=None,
    help="Log level (default: from config, else INFO).",
)
@click.pass_context
def cli(ctx: click.Context, log_format: str | None, log_level: str | None) -> None:
    """Data-drift and model-performance monitoring for ML models."""
    ctx.obj = {"log_format": log_format, "log_level": log_level}


def _register() -> None:
    from monitor.cli import (
        alerts,
        calibrate,
        db,
        dead_letters,
        demo,
        deploy,
        drift,
        estimate,
        health,
        performance,
        produce,
        reference,
        report,
        routes,
        runs,
        serve,
        silence,
        status,
    )

    for module in (
        serve,
        db,
        demo,
        produce,
        drift,
        estimate,
        health,
        silence,
        reference,
        runs,
        report,
        status,
        alerts,
        dead_letters,
        performance,
        routes,
        deploy,
        calibrate,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; translate our errors and click's usage errors into one line each."""
    _register()
    try:
        rv = cli.main(args=argv, prog_name="monitor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("monitor: aborted", err=True)
        return 130
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        click.echo(f"monitor: {exc.format_message()}", err=True)
        return exc.exit_code
    except MonitorError as exc:
        click.echo(f"monitor: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the edge: never a traceback for the user
        click.echo(f"monitor: internal error: {type(exc).__name__}: {exc}", err=True)
        return EXIT_INTERNAL
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
