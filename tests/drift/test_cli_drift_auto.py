"""`monitor drift --threshold auto`: the batch command calibrates on the fly when asked;
without the flag it keeps the fixed thresholds (and reads `threshold: auto` in a config as
the defaults). Real data: scikit-learn's breast cancer set, one half against the other."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from monitor.cli import main
from monitor.drift.calibration import calibrate

COLUMNS = ["mean radius", "mean texture", "mean smoothness", "worst symmetry"]


@pytest.fixture
def halves(tmp_path):
    frame = load_breast_cancer(as_frame=True).frame[COLUMNS]
    order = np.random.default_rng(0).permutation(len(frame))
    ref, cur = frame.iloc[order[:300]], frame.iloc[order[300:]].copy()
    shifted = cur.copy()
    shifted["mean texture"] += 0.8 * ref["mean texture"].std()
    paths = [tmp_path / f"{n}.parquet" for n in ("ref", "cur", "shifted")]
    for p, f in zip(paths, (ref, cur, shifted), strict=True):
        f.to_parquet(p)
    return paths, ref


def _run(args, capsys):
    code = main(["drift", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_auto_calibrates_on_the_fly_and_flags_only_the_shifted_column(halves, capsys):
    (ref_path, cur_path, shifted_path), ref = halves
    code, out, err = _run([ref_path, cur_path, "--threshold", "auto", "--json"], capsys)
    assert code == 0 and err == ""
    healthy = json.loads(out)
    assert not healthy["dataset_drift"]
    assert healthy["dataset_decision"]["correction"] == "holm"
    assert healthy["dataset_decision"]["alpha"] == pytest.approx(0.05)
    texture = next(f for f in healthy["features"] if f["name"] == "mean texture")
    decided = texture["quality"]["decided_by"]
    assert texture["method"] == "wasserstein_normed" and decided["window_size"] == 269
    null = calibrate(ref[["mean texture"]], seed=0).features["mean texture"]
    assert texture["threshold"] == pytest.approx(null.threshold(269, decided["level"]))

    code, out, _ = _run(
        [ref_path, shifted_path, "--threshold", "auto", "--json", "--fail-on-drift"], capsys
    )
    report = json.loads(out)
    assert code == 1 and report["dataset_decision"]["rejected"] == ["mean texture"]
    assert [f["name"] for f in report["features"] if f["drifted"]] == ["mean texture"]


def test_without_the_flag_the_fixed_path_stays(halves, capsys, tmp_path):
    (ref_path, cur_path, _), _ = halves
    config = tmp_path / "drift.yaml"
    config.write_text("threshold: auto\ncorrection: bh\n")
    code, out, err = _run([ref_path, cur_path, "--config", config, "--json"], capsys)
    assert code == 0 and err == ""
    report = json.loads(out)
    assert "dataset_decision" not in report
    assert {f["method"] for f in report["features"]} == {"ks"}  # 269 rows: the fixed default
    assert all("decided_by" not in f["quality"] for f in report["features"])
    code, out, _ = _run([ref_path, cur_path, "--config", config, "--threshold", "auto",
                         "--json"], capsys)  # fmt: skip
    assert json.loads(out)["dataset_decision"]["correction"] == "bh"
