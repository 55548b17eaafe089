"""`monitor drift`: JSON shape, table, exit codes, one-line errors (never a traceback)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from monitor.cli import main

rng = np.random.default_rng(3)
MONITOR = Path(sys.executable).with_name("monitor")


@pytest.fixture
def files(tmp_path):
    n = 400
    ref = pd.DataFrame(
        {"x": rng.normal(size=n), "y": rng.normal(size=n), "c": rng.choice(["a", "b", "ü"], n)}
    )
    cur = pd.DataFrame(
        {
            "x": rng.normal(2, 1, size=n),
            "y": rng.normal(size=n),
            "c": rng.choice(["a", "b", "ü"], n),
        }
    )
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.csv", ref, cur


def run(args, capsys):
    code = main(["drift", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_and_exit_codes(files, capsys):
    ref_path, cur_path, ref, cur = files
    code, out, err = run([ref_path, cur_path, "--json"], capsys)
    assert code == 0 and err == ""
    report = json.loads(out)
    assert [f["name"] for f in report["features"]] == ["x", "y", "c"]
    assert report["reference_rows"] == report["current_rows"] == 400
    x = report["features"][0]
    ks = sps.ks_2samp(ref.x, cur.x)
    assert x["method"] == "ks" and x["statistic"] == ks.statistic and x["p_value"] == ks.pvalue
    assert x["drifted"] and not report["features"][1]["drifted"]
    assert report["drift_share"] == pytest.approx(1 / 3) and not report["dataset_drift"]
    code, out, _ = run([ref_path, cur_path, "--json", "--fail-on-drift"], capsys)
    assert code == 0  # 1/3 < 0.5


def test_fail_on_drift_exits_1(files, capsys, tmp_path):
    ref_path, cur_path, *_ = files
    config = tmp_path / "drift.yaml"
    config.write_text("drift_share: 0.3\n")
    code, out, _ = run(
        [ref_path, cur_path, "--config", config, "--fail-on-drift", "--json"], capsys
    )
    assert code == 1 and json.loads(out)["dataset_drift"] is True


def test_columns_and_method(files, capsys):
    ref_path, cur_path, *_ = files
    code, out, _ = run(
        [ref_path, cur_path, "--columns", "y, c", "--method", "psi", "--json"], capsys
    )
    report = json.loads(out)
    assert code == 0
    assert [(f["name"], f["method"]) for f in report["features"]] == [("y", "psi"), ("c", "psi")]


def test_table_output(files, capsys):
    ref_path, cur_path, *_ = files
    code, out, _ = run([ref_path, cur_path], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["feature", "kind", "method"]
    assert lines[1].split()[0] == "x" and "DRIFT" in lines[1]
    assert "dataset: no drift (1/3 features drifted" in out


def check_error(args, capsys, fragment):
    code, out, err = run(args, capsys)
    assert code == 2 and out == ""
    assert err.startswith("monitor: ") and err.count("\n") == 1 and fragment in err
    assert "Traceback" not in err


def test_unreadable_file(files, capsys, tmp_path):
    ref_path, *_ = files
    check_error([ref_path, tmp_path / "missing.csv"], capsys, "no such file")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1garbage")
    check_error([tmp_path / "bad.parquet", ref_path], capsys, "cannot read")


def test_mismatched_columns(files, capsys, tmp_path):
    ref_path, _, ref, _ = files
    ref.rename(columns={"y": "z"}).to_csv(tmp_path / "other.csv", index=False)
    check_error([ref_path, tmp_path / "other.csv"], capsys, "columns differ")


def test_empty_side(files, capsys, tmp_path):
    ref_path, *_ = files
    (tmp_path / "empty.csv").write_text("x,y,c\n")
    check_error([ref_path, tmp_path / "empty.csv"], capsys, "current data has no rows")


def test_column_of_uninferable_kind(capsys, tmp_path):
    df = pd.DataFrame({"t": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    df.to_parquet(tmp_path / "t.parquet")
    check_error([tmp_path / "t.parquet", tmp_path / "t.parquet"], capsys, "cannot infer the kind")


def test_unknown_method(files, capsys):
    ref_path, cur_path, *_ = files
    check_error([ref_path, cur_path, "--method", "wasserstein"], capsys, "valid methods: ")


@pytest.mark.parametrize(
    ("yaml_text", "fragment"),
    [
        ("methd: ks\n", "config error at methd"),
        ("per_feature:\n  x:\n    treshold: 0.1\n", "config error at per_feature.x.treshold"),
        ("bins: 1\n", "config error at bins"),
        ("- a\n- b\n", "mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_bad_config_names_the_key(files, capsys, tmp_path, yaml_text, fragment):
    ref_path, cur_path, *_ = files
    config = tmp_path / "drift.yaml"
    config.write_text(yaml_text)
    check_error([ref_path, cur_path, "--config", config], capsys, fragment)


def test_installed_console_script(files):
    ref_path, cur_path, *_ = files
    proc = subprocess.run(
        [str(MONITOR), "drift", str(ref_path), str(cur_path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["features"][0]["name"] == "x"
