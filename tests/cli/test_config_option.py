"""The service config reaches every store command the same way: `--config FILE` or the
MONITOR_CONFIG environment variable. Without either, a store command says a config is
needed (one line, exit 2) and creates nothing: no silent `./monitor.db`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import httpx
import pytest
import yaml
from cli_support import closed_port, dead_letter, run, seed_drift_alert, store_dead_letters
from cli_support import write_config as write_cli_config

from monitor.cli import _register, cli
from monitor.silences import add_silence
from monitor.storage import make_engine, upgrade

WINDOW = "2026-11-02T12:00:00Z..2026-11-02T13:00:00Z"

# Every command that opens the service's store, with arguments that succeed on the seeded
# store (alert 1, run 1, dead letters, monitor "mon" with a reference file). `serve` runs
# until stopped, so it has its own test below.
STORE_COMMANDS: list[tuple[str, ...]] = [
    ("db", "upgrade"),
    ("db", "current"),
    ("db", "retention"),
    ("silence", "add", "--monitor", "mon", "--for", "1h"),
    ("silence", "list"),
    ("silence", "remove", "1"),
    ("alerts", "silence", "--monitor", "mon", "--for", "1h"),
    ("alerts", "unsilence", "2"),
    ("alerts", "list"),
    ("alerts", "show", "1"),
    ("alerts", "ack", "1"),
    ("alerts", "mark", "1", "false"),
    ("calibrate", "--monitor", "mon", "--windows", "100"),
    ("runs", "list"),
    ("runs", "show", "1"),
    ("runs", "export"),
    ("runs", "now", "--monitor", "mon", "--at", "2026-11-02T14:00:01Z"),
    ("reference", "show", "--monitor", "mon"),
    ("reference", "refresh", "--monitor", "mon"),
    ("reference", "set", "--monitor", "mon"),
    ("status",),
    ("dead-letters", "list"),
    ("dead-letters", "replay", "--dry-run"),
    ("performance", "list", "--monitor", "mon"),
    ("performance", "show", "--monitor", "mon", "--window", WINDOW),
    ("report", "--monitor", "mon", "--window", WINDOW),
    ("deploy", "--model", "m", "--version", "2", "--reference", "../store/ref.parquet"),
]
# The seeded store has no performance runs: the answer proves monitor "mon" was configured.
EXPECTED_ERRORS = {"performance show": "monitor mon: no performance run for window"}
# Commands with a --config that do not open the store.
NOT_STORE = {("drift",), ("produce-sample",), ("routes", "list"), ("routes", "test")}


def _leaf_commands() -> dict[tuple[str, ...], click.Command]:
    _register()
    out: dict[tuple[str, ...], click.Command] = {}

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
        else:
            out[path] = cmd

    walk(cli, ())
    return out


def _config_option(cmd: click.Command) -> click.Option | None:
    for p in cmd.params:
        if isinstance(p, click.Option) and "--config" in p.opts:
            return p
    return None


def _leaf_of(argv: tuple[str, ...], leaves: dict) -> tuple[str, ...]:
    return next(argv[:n] for n in (2, 1) if argv[:n] in leaves)


def test_every_command_with_a_config_option_is_covered_and_reads_the_env_var() -> None:
    leaves = _leaf_commands()
    with_config = {path for path, cmd in leaves.items() if _config_option(cmd) is not None}
    covered = {_leaf_of(argv, leaves) for argv in STORE_COMMANDS}
    assert with_config == covered | NOT_STORE | {("serve",)}
    for path in with_config - {("drift",), ("report",)}:  # their --config is drift options
        option = _config_option(leaves[path])
        assert option is not None and option.envvar == "MONITOR_CONFIG", path


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Seeded once per module (the same every time): a SQLite store holding an alert, a run,
    a dead letter and two silences, with its config; and a pristine copy of that folder."""
    base = tmp_path_factory.mktemp("config-option")
    store = base / "store"
    store.mkdir()
    url = f"sqlite:///{store / 'configured.db'}"
    upgrade(make_engine(url))
    config = write_cli_config(store, url)
    _, engine, _ = seed_drift_alert(config)
    store_dead_letters(engine, [dead_letter(1, b"{oops")])
    now = datetime.now(UTC)
    for _ in range(2):
        add_silence(engine, "mon", None, now + timedelta(hours=1), None, now=now)
    engine.dispose()
    shutil.copytree(store, base / "pristine")
    return config, base


@pytest.fixture
def seeded(seeded_store: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The seeded store restored from its pristine copy, at the same paths (what a command of
    an earlier test changed is gone); the working directory, a sibling of the store's folder,
    is an empty one."""
    config, base = seeded_store
    shutil.rmtree(base / "store")
    shutil.copytree(base / "pristine", base / "store")
    cwd = base / "cwd"
    shutil.rmtree(cwd, ignore_errors=True)
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    return config, cwd


def _stores_in(cwd: Path) -> list[Path]:
    return [p for p in cwd.rglob("*") if p.suffix in {".db", ".sqlite"}]


@pytest.mark.parametrize("argv", STORE_COMMANDS, ids=" ".join)
def test_store_command_reads_monitor_config_from_the_environment(
    seeded, argv, capsys, monkeypatch
) -> None:
    config, cwd = seeded
    monkeypatch.setenv("MONITOR_CONFIG", config)
    code, out, err = run(capsys, *argv)
    expected_error = EXPECTED_ERRORS.get(" ".join(argv[:2]))
    if expected_error is None:
        assert (code, err) == (0, ""), (argv, out, err)
    else:
        assert code == 2 and err.startswith(f"monitor: {expected_error}"), err
    if argv[:2] in {("db", "upgrade"), ("db", "current")}:
        assert "configured.db" in out
    if argv[:2] == ("db", "retention"):  # the seeded window is older than retention_days
        assert out == "removed 400 raw events older than 30 days\n"
    assert _stores_in(cwd) == []


@pytest.mark.parametrize("argv", [*STORE_COMMANDS, ("serve", "--role", "api")], ids=" ".join)
def test_store_command_without_a_config_says_so_and_creates_nothing(seeded, argv, capsys) -> None:
    _, cwd = seeded
    code, out, err = run(capsys, *argv)
    assert code == 2, (argv, out, err)
    assert err.splitlines() == [
        "monitor: no config: pass --config FILE or set MONITOR_CONFIG "
        "(the demo's is demo-data/monitor.yaml after `make demo`)"
    ]
    assert list(cwd.iterdir()) == []


def test_serve_reads_monitor_config_from_the_environment(tmp_path, monkeypatch) -> None:
    port = closed_port()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        yaml.safe_dump(
            {"database": {"url": f"sqlite:///{tmp_path / 'configured.db'}"}, "api": {"port": port}}
        )
    )
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--role", "api"],
        cwd=cwd,
        env=env | {"MONITOR_CONFIG": str(config)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-3000:]
    assert (tmp_path / "configured.db").exists()
    assert list(cwd.iterdir()) == []
