"""`monitor performance list|show --json` byte for byte against golden files.

Pinned before `performance/` was split into pure types and storage (issue 13): the stored
metrics and segments documents and the CLI's JSON must not change. The seeded traffic, the
tick times and the database ids are deterministic (a fresh database per module), so every
number is compared exactly. Regenerate after an intended change with
`MONITOR_GOLDEN_UPDATE=1 pytest tests/cli/test_performance_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from perf_report_support import HOUR, T0, seed

from monitor.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "performance"
NEWEST = T0 + 2 * HOUR
WINDOW = f"{NEWEST.isoformat()}..{(NEWEST + HOUR).isoformat()}"
CASES = {
    "list_clf": ("list", "--monitor", "clf", "--json"),
    "list_reg": ("list", "--monitor", "reg", "--json"),
    "show_clf_newest": ("show", "--monitor", "clf", "--window", WINDOW, "--json"),
    "show_reg_first": (
        "show",
        "--monitor",
        "reg",
        "--window",
        f"{T0.isoformat()}..{(T0 + HOUR).isoformat()}",
        "--json",
    ),
}


@pytest.fixture(scope="module")
def seeded(migrated_pg, tmp_path_factory):
    return seed(migrated_pg("perfgold"), tmp_path_factory.mktemp("perfgold"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_json_matches_golden(seeded, capsys, case: str) -> None:
    command, *rest = CASES[case]
    code = main(["performance", command, "--config", str(seeded.config), *rest])
    out = capsys.readouterr().out
    assert code == 0
    path = GOLDEN / f"cli_{case}.json"
    if os.environ.get("MONITOR_GOLDEN_UPDATE"):
        path.write_text(out)
    assert out == path.read_text()  # key order and float digits included
    json.loads(out)
