"""The CLI edge: errors are one readable line and a non-zero exit, never a traceback."""

import subprocess
import sys

from monitor.cli import main


def test_help_and_version(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("serve", "db", "demo", "produce-sample", "drift"):
        assert command in out
    assert main(["--version"]) == 0


def test_unknown_command_is_one_line(capsys) -> None:
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("monitor: ") and "frobnicate" in err
    assert "\n" not in err


def test_bad_config_is_one_line_without_traceback(tmp_path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("kafka:\n  max_poll_records: lots\n")
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "db", "upgrade", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "monitor: config error at kafka.max_poll_records: "
        "Input should be a valid integer, unable to parse string as an integer"
    )
    assert "Traceback" not in proc.stderr


def test_healthcheck_follows_the_heartbeat_file(tmp_path, capsys) -> None:
    import os

    beat = tmp_path / "hb"
    assert main(["healthcheck", "--file", str(beat)]) == 1
    assert "does not exist" in capsys.readouterr().err
    beat.touch()
    assert main(["healthcheck", "--file", str(beat), "--max-age", "60"]) == 0
    os.utime(beat, (0, 0))
    assert main(["healthcheck", "--file", str(beat), "--max-age", "60"]) == 1
    assert "last heartbeat" in capsys.readouterr().err
