"""`monitor drift --config`: multivariate, rules as the gate, service configs with --monitor.

Every case runs the installed console script as a separate process (what a CI job runs).
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

MONITOR = Path(sys.executable).with_name("monitor")
N = 2_000


def run_cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MONITOR), "drift", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def one_line_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("monitor: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert fragment in proc.stderr, proc.stderr


@pytest.fixture
def correlated(tmp_path):
    """Marginals unchanged (every univariate verdict: no drift), x and y correlated in current."""
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"x": rng.normal(size=N), "y": rng.normal(size=N)})
    common = rng.normal(size=N)
    rho = 0.95
    cur = pd.DataFrame(
        {
            "x": np.sqrt(1 - rho**2) * rng.normal(size=N) + rho * common,
            "y": np.sqrt(1 - rho**2) * rng.normal(size=N) + rho * common,
        }
    )
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    cur.to_parquet(tmp_path / "cur.parquet", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.parquet"


@pytest.fixture
def quality(tmp_path):
    """No distribution change; current has 30% missing `y` and a new category in `c`."""
    rng = np.random.default_rng(8)
    ref = pd.DataFrame(
        {"x": rng.normal(size=N), "y": rng.normal(size=N), "c": rng.choice(["a", "b"], N)}
    )
    y = rng.normal(size=N)
    y[rng.random(N) < 0.3] = np.nan
    c = rng.choice(["a", "b"], N).astype(object)
    c[:5] = "brand-new"
    cur = pd.DataFrame({"x": rng.normal(size=N), "y": y, "c": c})
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    cur.to_parquet(tmp_path / "cur.parquet", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.parquet"


def write(tmp_path: Path, name: str, doc) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


# ---- item 16: multivariate is computed when asked, and gates -------------------------------


def test_multivariate_true_is_computed_and_gates(correlated, tmp_path):
    ref, cur = correlated
    config = write(tmp_path, "drift.yaml", {"multivariate": True, "multivariate_rows": 1000})
    proc = run_cli(ref, cur, "--config", config, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["dataset_drift"] is False  # no marginal moved
    mv = report["multivariate"]
    assert mv["method"] == "domain_classifier"
    assert mv["drifted"] is True and mv["score"] > 0.6
    assert mv["rows_used"] == {"reference": 1000, "current": 1000}
    assert mv["threshold"] == 0.55
    # the multivariate verdict is a drift verdict: --fail-on-drift fails on it
    gated = run_cli(ref, cur, "--config", config, "--json", "--fail-on-drift")
    assert gated.returncode == 1, gated.stderr
    # without multivariate the same data passes the gate
    plain = run_cli(ref, cur, "--json", "--fail-on-drift")
    assert plain.returncode == 0 and json.loads(plain.stdout)["multivariate"] is None


def test_multivariate_shows_in_the_table(correlated, tmp_path):
    ref, cur = correlated
    config = write(tmp_path, "drift.yaml", {"multivariate": True, "multivariate_rows": 500})
    proc = run_cli(ref, cur, "--config", config)
    assert proc.returncode == 0, proc.stderr
    assert "multivariate: DRIFT (domain classifier ROC AUC" in proc.stdout


def test_rules_named_in_the_config_gate(quality, tmp_path):
    ref, cur = quality
    rules = [
        {"name": "missing", "condition": "missing_share", "threshold": 0.2},
        {"name": "unseen", "condition": "new_category"},
    ]
    config = write(tmp_path, "drift.yaml", {"rules": rules})
    proc = run_cli(ref, cur, "--config", config, "--json")
    assert proc.returncode == 0, proc.stderr  # no --fail-on-drift: report only
    report = json.loads(proc.stdout)
    assert report["dataset_drift"] is False
    fired = {(r["rule"], r["subject"]) for r in report["rules"] if r["fired"]}
    assert fired == {("missing", "y"), ("unseen", "c")}
    gated = run_cli(ref, cur, "--config", config, "--fail-on-drift")
    assert gated.returncode == 1, gated.stderr
    assert "rule missing fired: feature 'y': " in gated.stdout
    assert "rule unseen fired: feature 'c': 1 new category ('brand-new')" in gated.stdout


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"name": "m", "condition": "missing_share", "threshold": 0.5}, 0),  # 30% < 50%
        ({"name": "m", "condition": "missing_share", "threshold": 0.25}, 1),
        ({"name": "n", "condition": "new_category", "threshold": 0.01}, 0),  # 0.25% < 1%
        ({"name": "d", "condition": "dataset_drift"}, 0),
    ],
)
def test_only_the_named_rules_decide_the_exit_code(quality, tmp_path, rule, code):
    ref, cur = quality
    config = write(tmp_path, "drift.yaml", {"rules": [rule]})
    assert run_cli(ref, cur, "--config", config, "--fail-on-drift").returncode == code


def test_a_bad_rule_names_its_key(quality, tmp_path):
    ref, cur = quality
    config = write(tmp_path, "drift.yaml", {"rules": [{"name": "m", "condition": "missing_share"}]})
    one_line_error(run_cli(ref, cur, "--config", config), "config error at rules[0]")


# ---- item 17: a service config with --monitor -------------------------------------------------


def service_config(tmp_path: Path) -> Path:
    doc = {
        "database": {"url": "sqlite:///never-opened.db"},
        "monitors": [
            {
                "name": "strict",
                "model": "m",
                "drift": {"drift_share": 0.3, "per_feature": {"y": {"method": "psi"}}},
                "rules": [{"name": "missing", "condition": "missing_share", "threshold": 0.2}],
            },
            {"name": "lenient", "model": "m"},
        ],
    }
    return write(tmp_path, "monitor.yaml", doc)


def test_service_config_without_monitor_says_what_drift_config_takes(quality, tmp_path):
    ref, cur = quality
    proc = run_cli(ref, cur, "--config", service_config(tmp_path))
    one_line_error(proc, "takes drift options")
    assert "--monitor NAME" in proc.stderr and "strict, lenient" in proc.stderr
    assert not (tmp_path / "never-opened.db").exists()


def test_service_config_with_monitor_takes_its_drift_options_and_rules(quality, tmp_path):
    ref, cur = quality
    config = service_config(tmp_path)
    proc = run_cli(ref, cur, "--config", config, "--monitor", "strict", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["drift_share_threshold"] == 0.3
    assert {f["name"]: f["method"] for f in report["features"]}["y"] == "psi"
    assert [(r["rule"], r["subject"]) for r in report["rules"] if r["fired"]] == [("missing", "y")]
    gated = run_cli(ref, cur, "--config", config, "--monitor", "strict", "--fail-on-drift")
    assert gated.returncode == 1
    lenient = run_cli(ref, cur, "--config", config, "--monitor", "lenient", "--json")
    assert json.loads(lenient.stdout)["drift_share_threshold"] == 0.5
    assert not (tmp_path / "never-opened.db").exists()


def test_service_config_errors_are_one_line(quality, tmp_path):
    ref, cur = quality
    config = service_config(tmp_path)
    one_line_error(
        run_cli(ref, cur, "--config", config, "--monitor", "nope"), "no monitor named 'nope'"
    )
    bad = write(
        tmp_path, "bad.yaml", {"monitors": [{"name": "x", "model": "m", "drift": {"binz": 3}}]}
    )
    one_line_error(
        run_cli(ref, cur, "--config", bad, "--monitor", "x"),
        "config error at monitors[0].drift: unknown key 'binz'",
    )
    options = write(tmp_path, "drift.yaml", {"drift_share": 0.3})
    one_line_error(
        run_cli(ref, cur, "--config", options, "--monitor", "strict"),
        "--monitor needs a service config",
    )
    one_line_error(run_cli(ref, cur, "--monitor", "strict"), "--monitor needs a service config")
