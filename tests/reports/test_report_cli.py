"""`monitor report`: writes the HTML, one line on success, one line + exit 2 on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_support import parse

from monitor.cli import main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(8)
    n = 500
    ref = pd.DataFrame(
        {"x": rng.normal(size=n), "y": rng.normal(size=n), "c": rng.choice(["a", "b"], n)}
    )
    cur = pd.DataFrame(
        {"x": rng.normal(1.5, 1, n), "y": rng.normal(size=n), "c": rng.choice(["a", "b"], n)}
    )
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.csv"


def run(capsys, *args):
    code = main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_happy_path(files, tmp_path, capsys):
    ref, cur = files
    out_path = tmp_path / "out" / "r.html"
    code, out, err = run(
        capsys, ref, cur, "-o", out_path, "--columns", "x,c", "--max-rows", 200, "--title", "T<1>"
    )
    assert code == 0 and err == ""
    assert out == f"report written to {out_path} (drift: 1 of 2 features)\n"
    doc = out_path.read_text(encoding="utf-8")
    assert "<title>T&lt;1&gt;</title>" in doc
    assert doc.count("<tr") == 3  # header + x + c (y not selected)
    assert "a sample of 200 of 500 reference rows and 200 of 500 current rows" in doc
    assert [a for t, a in parse(doc).tags if t == "iframe"]  # Evidently computed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "{cur}"], "cannot read missing.csv: no such file"),
        (["{ref}", "{cur}", "--columns", "x,nope"], "has no column(s) 'nope'"),
        (["{ref}", "{cur}", "--columns", " , "], "--columns names no column"),
        (["{ref}", "{bad}"], "cannot read"),
        (["{ref}", "{cur}", "--max-rows", "0"], "Invalid value for '--max-rows'"),
        (["{ref}", "{cur}", "--config", "{bad}"], "config error"),
    ],
)
def test_bad_input_is_one_line_exit_2(files, tmp_path, capsys, args, message):
    ref, cur = files
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage\n\x00\x01")
    out_path = tmp_path / "r.html"
    argv = [a.format(ref=ref, cur=cur, bad=bad) for a in args]
    code, out, err = run(capsys, *argv, "-o", out_path)
    assert code == 2, err
    assert err.startswith("monitor: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err and out == ""
    assert not out_path.exists()


def test_missing_output_option(files, capsys):
    code, _, err = run(capsys, *files)
    assert code == 2 and err.count("\n") == 1
    assert err == "monitor: give REFERENCE CURRENT -o OUT.html, or --monitor NAME\n"


def test_unwritable_output(files, tmp_path, capsys):
    target = tmp_path / "dir.html"
    target.mkdir()
    code, out, err = run(capsys, *files, "-o", target, "--columns", "x")
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err
    (tmp_path / "plain").write_text("a file, not a directory")
    code, out, err = run(capsys, *files, "-o", tmp_path / "plain" / "r.html", "--columns", "x")
    assert code == 2 and err.count("\n") == 1 and "cannot write report" in err
    assert out == "" and "Traceback" not in err
