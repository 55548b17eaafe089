"""Golden shape of `monitor status --json` (keys and JSON types; issue 13: pinned before the
status queries moved to storage)."""

from __future__ import annotations

import json

import pytest
from cli_support import run, seed_drift_alert, write_config
from golden.ops.golden import compare, shape


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_status_json_shape(db_url, tmp_path, capsys) -> None:
    config = write_config(tmp_path, db_url)
    seed_drift_alert(config)
    code, out, _ = run(capsys, "status", "--config", config, "--json")
    assert code == 0
    compare("status", shape(json.loads(out)))
