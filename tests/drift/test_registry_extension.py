"""Adding a drift statistic is one function and one row: every path picks the row up.

The toy statistics are registered in a copy of the table passed through
`DriftOptions.methods`; the module's own `METHODS` is never touched (checked at the end).
"""

import dataclasses
import importlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from monitor.drift.columnar import compare_files
from monitor.drift.count_stats import proportions
from monitor.drift.defaults import default_method
from monitor.drift.engine import compare
from monitor.drift.numeric import NumericReference
from monitor.drift.options import DriftOptions, FeatureOptions
from monitor.drift.registry import BOTH, METHODS, NUMERIC, Default, Lazy, Method
from monitor.drift.sketch_report import compare_sketches, fit_reference, sketch_frame
from monitor.errors import DriftError

N = 2_000


def max_share_gap(r: np.ndarray, c: np.ndarray) -> float:
    """The toy statistic: the largest gap between the two windows' bin/category shares."""
    return float(np.max(np.abs(proportions(r, 0.0) - proportions(c, 0.0))))


def median_gap(ref: NumericReference, cur: np.ndarray) -> float:
    """A toy numeric statistic on the samples (exact path only)."""
    return float(abs(np.median(cur) - np.median(ref.sorted)))


MAX_SHARE_GAP = Method(
    "max_share_gap",
    BOTH,
    "distance",
    0.05,
    "largest gap between two shares",
    always=BOTH,
    counts=max_share_gap,
)
MEDIAN_GAP = Method("median_gap", NUMERIC, "distance", 0.5, "median gap", samples=median_gap)


@pytest.fixture
def methods() -> dict[str, Method]:
    """A copy of the table with the two toy rows (each test gets a fresh one)."""
    return {**METHODS, MAX_SHARE_GAP.name: MAX_SHARE_GAP, MEDIAN_GAP.name: MEDIAN_GAP}


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(13)

    def frame(shift: float, p: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "x": rng.normal(shift, 1, N),
                "c": rng.choice(np.array(["a", "b", "c"], dtype=object), N, p=p),
            }
        )

    return frame(0.0, [0.5, 0.3, 0.2]), frame(0.3, [0.3, 0.3, 0.4])


def shares_gap(ref: pd.Series, cur: pd.Series) -> float:
    r, c = ref.value_counts(normalize=True), cur.value_counts(normalize=True)
    return float((r - c.reindex(r.index, fill_value=0)).abs().max())


def test_a_new_row_is_computed_on_the_frame_path_and_can_decide(frames, methods):
    ref, cur = frames
    options = DriftOptions(workers=1, methods=methods, extra=("median_gap",))
    report = compare(ref, cur, options)
    x, c = report.features
    assert c.stats["max_share_gap"] == pytest.approx(shares_gap(ref["c"], cur["c"]), rel=1e-12)
    assert "max_share_gap" in x.stats and "median_gap" in x.stats
    assert x.stats["median_gap"] == pytest.approx(abs(cur["x"].median() - ref["x"].median()))
    assert "median_gap" not in c.stats  # numeric only

    chosen = DriftOptions(workers=1, methods=methods, method="max_share_gap")
    c = compare(ref, cur, chosen).features[1]
    assert (c.method, c.threshold) == ("max_share_gap", 0.05)
    assert c.statistic == pytest.approx(shares_gap(ref["c"], cur["c"]), rel=1e-12)
    assert c.drifted is (c.statistic >= 0.05)


def test_the_columnar_path_equals_the_frame_path_with_the_new_row(frames, methods, tmp_path):
    ref, cur = frames
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    cur.to_parquet(tmp_path / "cur.parquet", index=False)
    options = DriftOptions(workers=1, methods=methods, method="max_share_gap")
    by_files = compare_files(tmp_path / "ref.parquet", tmp_path / "cur.parquet", options)
    assert by_files is not None
    assert by_files.to_dict() == compare(ref, cur, options).to_dict()


def test_a_counts_row_is_exact_from_sketches_and_a_samples_row_is_refused(frames, methods):
    ref, cur = frames
    options = DriftOptions(workers=1, methods=methods, method="max_share_gap")
    specs, ref_sketches = fit_reference(ref, options)
    report = compare_sketches(specs, ref_sketches, sketch_frame(specs, cur), options)
    exact = compare(ref, cur, options)
    for got, want in zip(report.features, exact.features, strict=True):
        assert got.method == "max_share_gap"
        assert got.statistic == want.statistic  # exact from counts, on both paths
    refused = DriftOptions(workers=1, methods=methods, method="median_gap")
    with pytest.raises(DriftError, match="median_gap cannot be computed from sketches"):
        compare_sketches(specs, ref_sketches, sketch_frame(specs, cur), refused)


def test_a_row_becomes_the_default_through_its_defaults(methods):
    js = methods["jensenshannon"]
    methods["jensenshannon"] = dataclasses.replace(js, defaults=())
    methods["max_share_gap"] = dataclasses.replace(
        MAX_SHARE_GAP, defaults=(Default("categorical", small=False),)
    )
    assert default_method("categorical", 10**5, 10**5, 3, methods=methods) == "max_share_gap"
    assert default_method("categorical", 10**5, 10**5, 3) == "jensenshannon"
    options = DriftOptions(methods=methods, per_feature={"c": FeatureOptions(method="median_gap")})
    assert options.per_feature["c"].method == "median_gap"  # validated against the copy


def test_the_module_table_is_untouched():
    assert "max_share_gap" not in METHODS and "median_gap" not in METHODS
    assert METHODS["jensenshannon"].defaults == (Default("categorical", small=False),)
    with pytest.raises(DriftError, match="unknown drift method 'max_share_gap'"):
        DriftOptions(method="max_share_gap")


def test_every_row_names_code_that_exists():
    for m in METHODS.values():
        for code in (m.counts, m.samples, m.sketch, m.sketch_end):
            if isinstance(code, Lazy):
                module, _, name = code.path.partition(":")
                assert callable(getattr(importlib.import_module(module), name)), code.path
        assert m.counts or m.samples, f"{m.name} has no exact code"


def test_the_table_loads_without_numpy():
    """Settings validate method names through the table: it must stay light to import."""
    code = "import sys, monitor.drift.registry; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
