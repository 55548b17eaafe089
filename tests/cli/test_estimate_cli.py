"""`monitor estimate` through the real console script on CSV/Parquet files of sklearn data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, roc_auc_score

MONITOR = str(Path(sys.executable).with_name("monitor"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MONITOR, "estimate", *args], capture_output=True, text=True, timeout=120)


def frames(loader, model_cls, proba: bool):
    x, y = loader(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(y))
    x, y = x[perm], y[perm]
    a, b = len(y) // 3, 2 * len(y) // 3
    model = model_cls().fit(x[:a], y[:a])
    out = []
    for rows in (slice(a, b), slice(b, None)):
        df = pd.DataFrame(x[rows], columns=[f"f{i}" for i in range(x.shape[1])])
        df["label"] = y[rows]
        df["pred"] = model.predict(x[rows])
        if proba:
            for i, cls in enumerate(model.classes_):
                df[f"p_{cls}"] = model.predict_proba(x[rows])[:, i]
        out.append(df)
    return out


@pytest.fixture
def binary_files(tmp_path):
    ref, cur = frames(load_breast_cancer, lambda: LogisticRegression(max_iter=5000), True)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_parquet(tmp_path / "cur.parquet")
    return tmp_path / "ref.csv", tmp_path / "cur.parquet", cur


def test_binary_json_has_estimates_bands_and_realised(binary_files):
    ref, cur, frame = binary_files
    proc = run(
        str(ref), str(cur), "--target", "label", "--prediction", "pred", "--proba", "p_1", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["method"] == "cbpe" and doc["rows"] == len(frame)
    acc = doc["metrics"]["accuracy"]
    assert acc["lower"] <= acc["value"] <= acc["upper"]
    assert acc["realised"] == pytest.approx(accuracy_score(frame["label"], frame["pred"]))
    auc = doc["metrics"]["roc_auc"]["realised"]
    assert auc == pytest.approx(roc_auc_score(frame["label"], frame["p_1"]))


def test_table_and_other_methods(binary_files):
    ref, cur, _ = binary_files
    proc = run(str(ref), str(cur), "--target", "label", "--proba", "p_1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split()[:3] == ["metric", "estimate", "band"]
    assert "method: cbpe" in proc.stdout
    for method in ("ac", "atc"):
        proc = run(
            str(ref), str(cur), "--target", "label", "--proba", "p_1", "--method", method, "--json"
        )
        assert proc.returncode == 0, proc.stderr
        assert list(json.loads(proc.stdout)["metrics"]) == ["accuracy"]


def test_multiclass_with_class_columns(tmp_path):
    ref, cur = frames(load_wine, lambda: LogisticRegression(max_iter=5000), True)
    ref.to_csv(tmp_path / "r.csv", index=False)
    cur.drop(columns=["label"]).to_csv(tmp_path / "c.csv", index=False)  # no labels yet
    proba = "0=p_0,1=p_1,2=p_2"
    proc = run(
        str(tmp_path / "r.csv"),
        str(tmp_path / "c.csv"),
        "--target",
        "label",
        "--prediction",
        "pred",
        "--proba",
        proba,
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["f1_macro"]["value"] is not None
    assert doc["metrics"]["f1_macro"]["realised"] is None


def test_regression_dle(tmp_path):
    ref, cur = frames(load_diabetes, Ridge, False)
    ref.to_csv(tmp_path / "r.csv", index=False)
    cur.to_csv(tmp_path / "c.csv", index=False)
    proc = run(
        str(tmp_path / "r.csv"),
        str(tmp_path / "c.csv"),
        "--target",
        "label",
        "--prediction",
        "pred",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["method"] == "dle"
    err = cur["label"] - cur["pred"]
    assert doc["metrics"]["mae"]["realised"] == pytest.approx(err.abs().mean())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--proba", "nope"], "REFERENCE has no column 'nope'"),
        (["--proba", "p_1", "--method", "dle"], "REFERENCE has no column 'x'"),
        (["--proba", "a=b=c,d"], "'d' is not CLASS=COLUMN"),
        (["--method", "cbpe"], "--proba is needed for cbpe"),
        (["--proba", "p_1", "--method", "zzz"], "Invalid value for '--method'"),
    ],
)
def test_bad_input_is_one_line_exit_2(binary_files, args, message):
    ref, cur, _ = binary_files
    extra = ["--prediction", "x"] if "dle" in args else []
    proc = run(str(ref), str(cur), "--target", "label", *extra, *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_and_reference_without_labels(binary_files, tmp_path):
    _, cur, frame = binary_files
    proc = run(str(tmp_path / "missing.csv"), str(cur), "--target", "label", "--proba", "p_1")
    assert proc.returncode == 2 and "no such file" in proc.stderr
    frame.drop(columns=["label"]).to_csv(tmp_path / "nolabel.csv", index=False)
    proc = run(str(tmp_path / "nolabel.csv"), str(cur), "--target", "label", "--proba", "p_1")
    assert proc.returncode == 2 and "REFERENCE has no column 'label'" in proc.stderr
