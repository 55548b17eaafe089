"""The report's performance section on monitors seeded through the real scheduler tick:
figures carry the stored metrics and the reference line, the confusion matrix and
calibration agree with scikit-learn on the seeded rows, segments are ranked worst first,
hostile class labels / segment values / version names stay text."""

from __future__ import annotations

import dataclasses
import html as htmllib
import json

import numpy as np
import pandas as pd
import pytest
from perf_report_support import (
    EVIL_CLASS,
    EVIL_SEGMENT,
    EVIL_VERSION,
    HOUR,
    POS,
    T0,
    seed,
)
from report_support import parse
from sklearn.calibration import calibration_curve
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, mean_absolute_error

from monitor.reference import drift_options, latest
from monitor.reports.performance_section import performance_section, worst_first
from monitor.scheduler.execute import compare_window, current_sketches, ensure_reference
from monitor.scheduler.report import performance_html, window_report
from monitor.storage import make_engine
from monitor.storage.performance_runs import latest_runs
from monitor.window import Window

NEWEST = T0 + 2 * HOUR


@pytest.fixture(scope="module")
def seeded(migrated_pg, tmp_path_factory):
    return seed(migrated_pg("perfreport"), tmp_path_factory.mktemp("perfreport"))


@pytest.fixture(scope="module")
def engine(seeded):
    engine = make_engine(seeded.url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def clf(engine):
    """(runs, reference metrics, fragment) of the classification monitor."""
    runs = latest_runs(engine, "clf")
    ref = latest(engine, "clf").performance
    return runs, ref, performance_section(runs, ref)


def figures(fragment: str) -> dict[str, dict]:
    """Figure JSON by (unescaped) title."""
    out = {}
    for attrs, body in parse(fragment).scripts:
        if attrs.get("type") == "application/json" and "data-figure" in attrs:
            fig = json.loads(body)
            out[htmllib.unescape(fig["layout"]["title"]["text"])] = fig
    return out


class Table:
    """Rows of one <table id=...> as lists of (unescaped) cell texts and their attributes."""

    def __init__(self, fragment: str, table_id: str) -> None:
        from html.parser import HTMLParser

        rows: list[list[tuple[str, dict]]] = []
        row_attrs: list[dict] = []

        class P(HTMLParser):
            inside = False
            cell: list[str] | None = None

            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "table":
                    self.inside = a.get("id") == table_id
                elif self.inside and tag == "tr":
                    rows.append([])
                    row_attrs.append(a)
                elif self.inside and tag in ("td", "th"):
                    self.cell = []
                    self.cell_attrs = a

            def handle_data(self, data):
                if self.cell is not None:
                    self.cell.append(data)

            def handle_endtag(self, tag):
                if tag == "table":
                    self.inside = False
                elif self.inside and tag in ("td", "th") and self.cell is not None:
                    rows[-1].append(("".join(self.cell), self.cell_attrs))
                    self.cell = None

        P(convert_charrefs=True).feed(fragment)
        assert rows, f"no table {table_id}"
        self.head = [c for c, _ in rows[0]]
        self.rows = [[c for c, _ in r] for r in rows[1:]]
        self.cells = rows[1:]
        self.row_attrs = row_attrs[1:]


def _rows(seeded, monitor: str, start):
    return [r for r in seeded.rows[monitor][start] if r.label is not None]


def test_metric_series_and_reference_lines(seeded, clf) -> None:
    _, ref, fragment = clf
    figs = figures(fragment)
    assert {"accuracy", "f1", "roc_auc", "log_loss", "label coverage"} <= set(figs)
    acc = figs["accuracy"]["data"]
    series = next(t for t in acc if t["name"] == "accuracy")
    line = next(t for t in acc if t["name"] == "reference")
    assert line["line"]["dash"] == "dash"
    assert line["y"] == [pytest.approx(ref["accuracy"])] * 2
    # the reference: the training file's "ok"-probability >= 0.5 against its labels
    train = pd.read_parquet(seeded.config.parent / "clf.parquet")
    want_ref = accuracy_score(train["label"], np.where(train["prediction"] >= 0.5, POS, EVIL_CLASS))
    assert ref["accuracy"] == pytest.approx(want_ref, rel=1e-12)
    # one point per window, oldest first, each the stored newest revision = sklearn on the rows
    assert series["x"] == [(T0 + (k + 1) * HOUR).isoformat() for k in range(3)]
    for k, y in enumerate(series["y"]):
        rows = _rows(seeded, "clf", T0 + k * HOUR)
        want = accuracy_score([r.label for r in rows], [r.prediction for r in rows])
        assert y == pytest.approx(want, rel=1e-12)
    coverage = figs["label coverage"]["data"][0]["y"]
    assert coverage == pytest.approx([1.0, 1.0, len(_rows(seeded, "clf", NEWEST)) / 600])


def test_confusion_matrix_equals_sklearn(seeded, clf) -> None:
    _, _, fragment = clf
    rows = _rows(seeded, "clf", NEWEST)  # revision 2: late labels included
    classes = sorted({EVIL_CLASS, POS})
    want = confusion_matrix(
        [r.label for r in rows], [r.prediction for r in rows], labels=classes
    ).tolist()
    table = Table(fragment, "confusion-matrix")
    assert table.head[1:] == classes  # unescaped text: the labels, shown as text
    assert [r[0] for r in table.rows] == classes
    got = [[int(a["data-count"]) for _, a in cells[1:]] for cells in table.cells]
    assert got == want
    assert f"Confusion matrix ({len(rows):,} rows)" in fragment


def test_calibration_curve_equals_sklearn(seeded, clf) -> None:
    _, _, fragment = clf
    rows = [r for r in _rows(seeded, "clf", NEWEST)]
    y = np.array([r.label == POS for r in rows])
    p = np.array([r.proba for r in rows])
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    fig = next(f for t, f in figures(fragment).items() if t.startswith("Calibration"))
    diagonal, observed = fig["data"]
    assert diagonal["x"] == [0, 1] and diagonal["y"] == [0, 1]
    assert observed["x"] == pytest.approx(prob_pred.tolist(), rel=1e-9)
    assert observed["y"] == pytest.approx(prob_true.tolist(), rel=1e-9)


def test_segments_worst_first_with_the_worst_highlighted(seeded, clf) -> None:
    _, _, fragment = clf
    rows = _rows(seeded, "clf", NEWEST)
    f1 = {}
    for country in ("FR", "DE", EVIL_SEGMENT):
        sub = [r for r in rows if r.country == country]
        f1[country] = f1_score([r.label for r in sub], [r.prediction for r in sub], pos_label=POS)
    table = Table(fragment, "segments")
    assert table.head == [
        "segment", "value", "predictions", "labelled", "coverage", "f1", "vs overall", "status",
    ]  # fmt: skip
    assert [r[1] for r in table.rows] == [*sorted(f1, key=f1.get), "LU"]
    assert table.rows[0][1] == "DE"
    assert [float(r[5]) for r in table.rows[:3]] == pytest.approx(
        sorted(f1.values()), rel=1e-3
    )  # shown with 4 significant digits
    assert table.row_attrs[0].get("class") == "worst"
    assert all(a.get("class") != "worst" for a in table.row_attrs[1:])
    lu = table.rows[-1]
    assert lu[5] == "–" and lu[7].startswith("too few labels (") and "min_rows 50" in lu[7]
    versions = Table(fragment, "versions")
    assert {r[0] for r in versions.rows} == {"v1", EVIL_VERSION}
    assert versions.row_attrs[0].get("class") == "worst"


def test_main_metric_lower_is_better_ranks_the_highest_first(clf) -> None:
    runs, _, _ = clf
    newest = next(r for r in runs if r.window_start == NEWEST)
    ranked = worst_first(newest.segments, "log_loss")
    values = [g["metrics"]["log_loss"] for g in ranked if g["status"] == "ok"]
    assert values == sorted(values, reverse=True) and len(values) == 3
    assert ranked[-1]["value"] == "LU"
    fragment = performance_section(runs, None, main_metric="log_loss")
    assert Table(fragment, "segments").head[5] == "log_loss"
    assert "no reference metrics" in fragment
    assert all(
        all(t["name"] != "reference" for t in fig["data"]) for fig in figures(fragment).values()
    )


def test_hostile_labels_segments_and_versions_stay_text(clf) -> None:
    _, _, fragment = clf
    for bad in (EVIL_CLASS, EVIL_SEGMENT, EVIL_VERSION):
        assert bad not in fragment
        assert htmllib.escape(bad) in fragment
    tags = parse(fragment)
    names = [t for t, _ in tags.tags]
    assert "img" not in names
    assert all(a.get("type") == "application/json" for t, a in tags.tags if t == "script")
    assert not any(k.startswith("on") for _, a in tags.tags for k in a)
    for _, body in tags.scripts:  # figure JSON: no markup can end the element
        assert "<" not in body


def test_regression_error_histogram_and_a_newest_window_without_labels(seeded, engine) -> None:
    runs = latest_runs(engine, "reg")
    assert [r.status for r in runs] == ["insufficient_labels", "succeeded", "succeeded"]
    fragment = performance_section(runs, latest(engine, "reg").performance)
    assert "no metrics yet (no predictions in the window)" in fragment
    assert 'id="confusion-matrix"' not in fragment
    figs = figures(fragment)
    assert {"mae", "rmse", "r2"} <= set(figs) and "accuracy" not in figs
    rows = _rows(seeded, "reg", T0 + HOUR)
    err = np.array([r.prediction - r.label for r in rows])
    counts, edges = np.histogram(err, bins=20)
    hist = next(f for t, f in figs.items() if t.startswith("Error distribution"))
    bars = hist["data"][0]
    assert bars["y"] == counts.tolist()
    assert bars["x"] == pytest.approx(((edges[:-1] + edges[1:]) / 2).tolist())
    mae = next(t for t in figs["mae"]["data"] if t["name"] == "mae")
    want = mean_absolute_error([r.label for r in rows], [r.prediction for r in rows])
    assert mae["y"][1] == pytest.approx(want, rel=1e-12) and mae["y"][2] is None


def test_no_runs_no_section_and_no_metrics_note(engine) -> None:
    assert performance_section([], {"f1": 0.9}) == ""
    empty = [r for r in latest_runs(engine, "reg") if r.status != "succeeded"]
    fragment = performance_section(empty, None)
    assert "No window has enough labelled rows for metrics yet." in fragment
    assert 'id="segments"' not in fragment


def test_window_report_places_the_section_after_the_summary(seeded, engine) -> None:
    monitor = seeded.monitor("clf")
    window = Window(NEWEST, NEWEST + HOUR)
    ref = ensure_reference(engine, monitor, NEWEST + 2 * HOUR)
    current, _ = current_sketches(engine, monitor, ref, window, 600)
    drift, _ = compare_window(ref, current, drift_options(monitor))
    reports = seeded.settings.reports.model_copy(update={"max_rows": 100})  # Evidently: slow
    settings = seeded.settings.model_copy(update={"reports": reports})
    doc = window_report(engine, settings, monitor, window, drift, None).read_text()
    summary, perf = doc.index('id="summary"'), doc.index('id="performance"')
    assert summary < perf < doc.index('id="history"') < doc.index('id="evidently"')
    assert "Plotly" in doc and htmllib.escape(EVIL_SEGMENT) in doc
    for bad in (EVIL_CLASS, EVIL_SEGMENT, EVIL_VERSION):
        assert bad not in doc
    # the labelled training file's ground truth is not handed to Evidently as a feature
    assert "could not be computed" not in doc


def test_report_data_is_bounded_by_the_window_and_the_setting(seeded, engine) -> None:
    monitor = seeded.monitor("clf")
    window = Window(NEWEST, NEWEST + HOUR)
    off = monitor.model_copy(
        update={"performance": monitor.performance.model_copy(update={"enabled": False})}
    )
    assert performance_html(engine, seeded.settings, off, window) is None
    assert performance_html(engine, seeded.settings, monitor, Window(T0 - HOUR, T0)) is None
    # a report of an older window shows no later windows
    older = performance_html(engine, seeded.settings, monitor, Window(T0, T0 + HOUR))
    acc = next(t for t in figures(older)["accuracy"]["data"] if t["name"] == "accuracy")
    assert acc["x"] == [(T0 + HOUR).isoformat()]
    full = performance_html(engine, seeded.settings, monitor, window)
    acc = next(t for t in figures(full)["accuracy"]["data"] if t["name"] == "accuracy")
    assert len(acc["x"]) == 3


def test_stored_run_dicts_render_the_same(clf) -> None:
    runs, ref, fragment = clf
    as_dicts = [dataclasses.asdict(r) for r in reversed(runs)]  # any order
    assert performance_section(as_dicts, ref) == fragment
