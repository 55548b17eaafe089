"""`monitor silence add|list|remove` against a real SQLite store; errors are one line, exit 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.cli import main
from monitor.silences import add_silence, is_silenced, list_silences
from monitor.storage import make_engine


@pytest.fixture
def config(tmp_path) -> str:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"""
database:
  url: sqlite:///{tmp_path / "m.db"}
monitors:
  - name: churn-prod
    model: churn
    rules:
      - {{name: drift, condition: dataset_drift}}
      - {{name: nulls, condition: missing_share, threshold: 0.1}}
  - name: fraud
    model: fraud
"""
    )
    return str(path)


def engine_of(config: str):
    import yaml

    with open(config) as f:
        return make_engine(yaml.safe_load(f)["database"]["url"])


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_remove(config, capsys) -> None:
    before = datetime.now(UTC)
    code, out, err = run(
        capsys,
        "silence",
        "add",
        "--monitor",
        "churn-prod",
        "--rule",
        "drift",
        "--for",
        "2h",
        "--reason",
        "retraining in progress",
        "--config",
        config,
    )
    assert (code, err) == (0, "")
    assert out.startswith("silence 1: rule 'drift' of monitor 'churn-prod' until ")
    [s] = list_silences(engine_of(config))
    assert (s.monitor, s.rule, s.reason) == ("churn-prod", "drift", "retraining in progress")
    assert before + timedelta(hours=2) <= s.until <= datetime.now(UTC) + timedelta(hours=2)

    code, out, _ = run(
        capsys,
        "silence",
        "add",
        "--monitor",
        "fraud",
        "--until",
        "2999-01-01T00:00:00Z",
        "--config",
        config,
    )
    assert code == 0 and out.strip() == (
        "silence 2: monitor 'fraud' until 2999-01-01T00:00:00+00:00"
    )
    with engine_of(config).connect() as conn:
        now = datetime.now(UTC)
        assert is_silenced(conn, "churn-prod", "drift", now)
        assert not is_silenced(conn, "churn-prod", "nulls", now)
        assert is_silenced(conn, "fraud", "anything", now)
        assert not is_silenced(conn, "fraud", "x", datetime(2999, 1, 1, tzinfo=UTC))

    code, out, _ = run(capsys, "silence", "list", "--config", config)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith("1\tchurn-prod\tdrift\tuntil ")
    assert lines[0].endswith("retraining in progress")
    assert lines[1] == "2\tfraud\t*\tuntil 2999-01-01T00:00:00+00:00"

    assert run(capsys, "silence", "remove", "1", "--config", config)[:2] == (
        0,
        "removed silence 1\n",
    )
    code, out, _ = run(capsys, "silence", "list", "--config", config)
    assert out.strip().splitlines() == ["2\tfraud\t*\tuntil 2999-01-01T00:00:00+00:00"]


def test_list_hides_ended_silences_unless_all(config, capsys) -> None:
    assert run(capsys, "silence", "list", "--config", config)[1] == "no silences\n"
    past = datetime(2020, 1, 1, tzinfo=UTC)
    add_silence(engine_of(config), "fraud", None, past + timedelta(hours=1), "old", now=past)
    assert run(capsys, "silence", "list", "--config", config)[1] == "no silences\n"
    out = run(capsys, "silence", "list", "--all", "--config", config)[1]
    assert out == "1\tfraud\t*\tuntil 2020-01-01T01:00:00+00:00  old\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--monitor", "nope", "--for", "1h"],
            "no monitor named 'nope' (configured: churn-prod, fraud)",
        ),
        (
            ["--monitor", "churn-prod", "--rule", "nope", "--for", "1h"],
            "monitor 'churn-prod' has no rule named 'nope' (rules: drift, nulls)",
        ),
        (
            ["--monitor", "fraud", "--rule", "drift", "--for", "1h"],
            "monitor 'fraud' has no rule named 'drift' (rules: none)",
        ),
        (["--monitor", "fraud"], "give either --for DURATION or --until TIME"),
        (
            ["--monitor", "fraud", "--for", "1h", "--until", "2999-01-01T00:00:00Z"],
            "give either --for DURATION or --until TIME",
        ),
        (
            ["--monitor", "fraud", "--for", "soon"],
            "--for: expected a duration such as 30s, 5m, 1h or 1d, got 'soon'",
        ),
        (
            ["--monitor", "fraud", "--until", "tomorrow"],
            "--until: expected an ISO 8601 time, got 'tomorrow'",
        ),
        (
            ["--monitor", "fraud", "--until", "2999-01-01T00:00:00"],
            "--until needs a time zone (e.g. 2026-01-01T18:00:00Z)",
        ),
        (
            ["--monitor", "fraud", "--until", "2001-01-01T00:00:00Z"],
            "silence end 2001-01-01T00:00:00+00:00 is not in the future",
        ),
        (["--monitor", "fraud", "--for", "0s"], None),
    ],
)
def test_add_errors_are_one_line(config, capsys, args, message) -> None:
    code, out, err = run(capsys, "silence", "add", *args, "--config", config)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("monitor: ")
    if message is not None:
        assert err == f"monitor: {message}\n"
    assert run(capsys, "silence", "list", "--all", "--config", config)[1] == "no silences\n"


def test_remove_unknown_and_bad_config(config, capsys, tmp_path) -> None:
    assert run(capsys, "silence", "remove", "7", "--config", config)[::2] == (
        2,
        "monitor: no silence with id 7\n",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("monitors: 3\n")
    code, _, err = run(capsys, "silence", "list", "--config", str(bad))
    assert code == 2 and err.startswith("monitor: config error at monitors:")
