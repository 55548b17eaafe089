"""`monitor performance list|show` on monitors seeded through the real scheduler tick."""

from __future__ import annotations

import json

import pytest
from perf_report_support import EVIL_SEGMENT, EVIL_VERSION, HOUR, POS, T0, seed
from sklearn.metrics import accuracy_score, f1_score

from monitor.cli import main

NEWEST = T0 + 2 * HOUR
WINDOW = f"{NEWEST.isoformat()}..{(NEWEST + HOUR).isoformat()}"


@pytest.fixture(scope="module")
def seeded(migrated_pg, tmp_path_factory):
    return seed(migrated_pg("perfcli"), tmp_path_factory.mktemp("perfcli"))


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _labelled(seeded, start):
    return [r for r in seeded.rows["clf"][start] if r.label is not None]


def test_list_newest_revision_per_window(seeded, capsys) -> None:
    cfg = str(seeded.config)
    code, out, err = run(capsys, "performance", "list", "--config", cfg, "--monitor", "clf")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["window", "(UTC)", "rev"]
    assert lines[0].split()[-4:] == ["accuracy", "f1", "roc_auc", "log_loss"]
    assert len(lines) == 4
    newest = lines[1].split()
    rows = _labelled(seeded, NEWEST)
    acc = accuracy_score([r.label for r in rows], [r.prediction for r in rows])
    # window start/end (date time each), revision 2 after late labels, status, counts
    assert newest[:8] == [
        "2026-11-02", "14:00:00", "..", "2026-11-02", "15:00:00", "2", "succeeded", "600",
    ]  # fmt: skip
    assert newest[8] == str(len(rows)) and newest[9] == f"{len(rows) / 600:.1%}"
    assert newest[10] == f"{acc:.4f}"
    assert [line.split()[5] for line in lines[2:]] == ["1", "1"]

    code, out, _ = run(
        capsys, "performance", "list", "--config", cfg, "--monitor", "clf", "--limit", "1"
    )
    assert code == 0 and len(out.splitlines()) == 2


def test_list_json_shape(seeded, capsys) -> None:
    cfg = str(seeded.config)
    code, out, _ = run(capsys, "performance", "list", "--config", cfg, "--monitor", "clf", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["monitor"] == "clf" and len(doc["windows"]) == 3
    first = doc["windows"][0]
    assert set(first) == {
        "window", "revision", "status", "predictions", "labelled", "coverage", "computed_at",
        "task", "metrics",
    }  # fmt: skip
    assert first["window"] == {"start": NEWEST.isoformat(), "end": (NEWEST + HOUR).isoformat()}
    assert (first["revision"], first["status"], first["task"]) == (2, "succeeded", "classification")
    rows = _labelled(seeded, NEWEST)
    want = f1_score([r.label for r in rows], [r.prediction for r in rows], pos_label=POS)
    assert first["metrics"]["f1"] == pytest.approx(want, rel=1e-12)
    assert first["coverage"] == pytest.approx(len(rows) / 600)
    assert all(isinstance(v, int | float) or v is None for v in first["metrics"].values())

    code, out, _ = run(capsys, "performance", "list", "--config", cfg, "--monitor", "reg", "--json")
    windows = json.loads(out)["windows"]
    assert [w["status"] for w in windows] == ["insufficient_labels", "succeeded", "succeeded"]
    assert windows[0]["metrics"] == {} and "mae" in windows[1]["metrics"]


def test_show_every_revision_with_versions_and_segments(seeded, capsys) -> None:
    cfg = str(seeded.config)
    args = ("performance", "show", "--config", cfg, "--monitor", "clf", "--window", WINDOW)
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "2 revision(s)" in out.splitlines()[0]
    assert out.count("\nrevision ") == 2
    rev1, rev2 = out.split("\nrevision ")[1:]
    early = [r for r in _labelled(seeded, NEWEST) if not r.late]
    assert (
        f"labelled {len(early)} " in rev1 and f"labelled {len(_labelled(seeded, NEWEST))} " in rev2
    )
    assert "label delay p50 " in rev2 and "accuracy " in rev2
    segment_lines = rev2.split("by segment (worst f1 first):")[1].splitlines()[2:]
    values = [line[21:53].strip() for line in segment_lines]
    rows = _labelled(seeded, NEWEST)
    f1 = {
        c: f1_score(
            [r.label for r in rows if r.country == c],
            [r.prediction for r in rows if r.country == c],
            pos_label=POS,
        )
        for c in ("FR", "DE", EVIL_SEGMENT)
    }
    assert values == [*sorted(f1, key=f1.get), "LU"] and values[0] == "DE"
    assert segment_lines[0].split()[5] == f"{f1['DE']:.4f}"
    assert "insufficient_labels" in segment_lines[-1] and "min_rows 50" in segment_lines[-1]
    # hostile names reach the terminal without control characters, bounded
    assert EVIL_SEGMENT in rev2 and EVIL_VERSION in rev2

    code, out, _ = run(capsys, *args, "--json")
    doc = json.loads(out)
    assert doc["monitor"] == "clf" and doc["window"]["start"] == NEWEST.isoformat()
    revisions = doc["revisions"]
    assert [r["revision"] for r in revisions] == [1, 2]
    assert [r["labelled"] for r in revisions] == [len(early), len(_labelled(seeded, NEWEST))]
    assert revisions[1]["metrics"]["overall"]["metrics"]["confusion_matrix"]
    assert {s["value"] for s in revisions[1]["segments"]} == {"FR", "DE", EVIL_SEGMENT, "LU"}
    assert {v["model_version"] for v in revisions[1]["metrics"]["versions"]} == {
        "v1",
        EVIL_VERSION,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("list", "--monitor", "nope"), "no monitor named 'nope'"),
        (("show", "--monitor", "nope", "--window", WINDOW), "no monitor named 'nope'"),
        (("show", "--monitor", "clf", "--window", "2026-11-02T14:00:00Z"), "START..END"),
        (("show", "--monitor", "clf", "--window", "2026-11-02T14:00..2026-11-02T15:00"), "zone"),
        (
            ("show", "--monitor", "clf", "--window", "2026-11-02T15:00Z..2026-11-02T14:00Z"),
            "END must be after START",
        ),
        (
            ("show", "--monitor", "clf", "--window", "2026-11-01T00:00Z..2026-11-01T01:00Z"),
            "no performance run for window",
        ),
        (("list", "--monitor", "clf", "--limit", "0"), "--limit"),
    ],
)
def test_error_paths_are_one_line_exit_2(seeded, capsys, args, message) -> None:
    code, out, err = run(
        capsys, "performance", *args[:1], "--config", str(seeded.config), *args[1:]
    )
    assert code == 2
    assert err.startswith("monitor: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err and out == ""


def test_list_without_runs(seeded, tmp_path, capsys) -> None:
    import yaml

    doc = yaml.safe_load(seeded.config.read_text())
    doc["monitors"].append({**doc["monitors"][0], "name": "fresh", "performance": {}})
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    code, out, _ = run(capsys, "performance", "list", "--config", str(cfg), "--monitor", "fresh")
    assert code == 0
    assert (
        out.strip()
        == "no performance runs yet for monitor fresh (performance is not enabled for it)"
    )
    code, out, _ = run(
        capsys, "performance", "list", "--config", str(cfg), "--monitor", "fresh", "--json"
    )
    assert json.loads(out) == {"monitor": "fresh", "windows": []}
