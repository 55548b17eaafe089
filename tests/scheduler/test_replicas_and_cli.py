"""Two scheduler processes against one Postgres compute each window exactly once; the
`monitor runs` and `monitor reference` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import yaml
from scheduler_support import T0, put, settings_for, traffic, training
from sqlalchemy import func, select

from monitor.cli import main
from monitor.scheduler.ticks import tick
from monitor.storage.tables import drift_runs

HOUR = timedelta(hours=1)


def _config(tmp_path, url: str, ref) -> str:
    doc = {
        "database": {"url": url},
        "reports": {"enabled": False},
        "monitors": [
            {
                "name": "mon",
                "model": "m",
                "reference": str(ref),
                "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                "rules": [{"name": "dataset", "condition": "dataset_drift"}],
            }
        ],
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_two_scheduler_processes_compute_each_window_once(pg_engine, tmp_path) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    ref = training(tmp_path / "ref.parquet")
    settings = settings_for(url, ref)
    for i in range(4):
        put(pg_engine, traffic(400, T0 + i * HOUR, HOUR, seed=20 + i, shift=0.5 * (i == 3)))
    tick(pg_engine, settings, settings.monitors[0], now=T0 + HOUR + timedelta(seconds=1))
    cfg = _config(tmp_path, url, ref)
    at = (T0 + 4 * HOUR + timedelta(seconds=5)).isoformat()
    cmd = [sys.executable, "-m", "monitor", "runs", "now", "--config", cfg, "--monitor", "mon"]
    procs = [
        subprocess.Popen(
            [*cmd, "--at", at], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]

    computed = [line for out, _ in outs for line in out.splitlines() if line.startswith("run ")]
    assert len(computed) == 3, outs  # windows 2, 3 and 4, each by exactly one process
    with pg_engine.connect() as conn:
        rows = conn.execute(
            select(drift_runs.c.window_end, func.count())
            .group_by(drift_runs.c.window_end)
            .order_by(drift_runs.c.window_end)
        ).all()
        statuses = conn.execute(select(drift_runs.c.status)).scalars().all()
    assert [(end, n) for end, n in rows] == [(T0 + (i + 1) * HOUR, 1) for i in range(4)]
    assert statuses == ["succeeded"] * 4


def test_runs_and_reference_commands(store, tmp_path, capsys) -> None:
    url = store.url.render_as_string(hide_password=False)
    ref = training(tmp_path / "ref.parquet")
    cfg = _config(tmp_path, url, ref)
    put(store, traffic(500, T0, HOUR, shift=1.0))
    put(store, traffic(500, T0 + HOUR, HOUR, seed=3))

    assert main(["reference", "show", "--config", cfg, "--monitor", "mon"]) == 0
    assert "no reference materialised yet" in capsys.readouterr().out
    assert main(["reference", "set", "--config", cfg, "--monitor", "mon"]) == 0
    assert "reference version 1 (4000 rows, 3 features, prediction)" in capsys.readouterr().out
    assert main(["reference", "refresh", "--config", cfg, "--monitor", "mon"]) == 0
    assert "version 2" in capsys.readouterr().out

    at = (T0 + HOUR + timedelta(seconds=1)).isoformat()
    assert main(["runs", "now", "--config", cfg, "--monitor", "mon", "--at", at]) == 0
    out = capsys.readouterr().out
    assert "succeeded" in out and "drift YES" in out
    assert main(["runs", "now", "--config", cfg, "--monitor", "mon", "--at", at]) == 0
    assert "nothing due" in capsys.readouterr().out

    assert main(["runs", "list", "--config", cfg]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 2 and "YES" in listing[1] and "succeeded" in listing[1]
    run_id = int(listing[1].split()[0])
    assert main(["runs", "show", str(run_id), "--config", cfg]) == 0
    shown = capsys.readouterr().out
    assert "x " in shown and "YES" in shown and "reference 4000" in shown
    assert main(["runs", "export", "--config", cfg]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in doc["runs"]] == [run_id]
    assert {f["feature"] for f in doc["runs"][0]["features"]} == {"x", "y", "c", "__prediction__"}

    assert main(["runs", "show", "999", "--config", cfg]) == 2
    assert capsys.readouterr().err.strip() == "monitor: no finished run with id 999"
    assert main(["runs", "now", "--config", cfg, "--monitor", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("monitor: no monitor named 'nope'") and "\n" not in err
    assert main(["runs", "now", "--config", cfg, "--monitor", "mon", "--at", "2026-01-01"]) == 2
    assert "time zone" in capsys.readouterr().err


def test_report_for_a_monitor_window(pg_engine, tmp_path, capsys) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    cfg = _config(tmp_path, url, training(tmp_path / "ref.parquet"))
    put(pg_engine, traffic(400, T0, HOUR, shift=1.0))
    out = tmp_path / "window.html"
    window = f"{T0.isoformat()}..{(T0 + HOUR).isoformat()}"

    code = main(["report", "--monitor", "mon", "--window", window, "--config", cfg, "-o", str(out)])

    assert code == 0, capsys.readouterr().err
    assert f"report written to {out} (drift:" in capsys.readouterr().out
    html = out.read_text()
    assert "Drift report: mon" in html and "Evidently" in html
    empty = f"{(T0 + 5 * HOUR).isoformat()}..{(T0 + 6 * HOUR).isoformat()}"
    assert main(["report", "--monitor", "mon", "--window", empty, "--config", cfg]) == 2
    assert "no stored events" in capsys.readouterr().err
    assert main(["report", "--monitor", "mon", str(out), "--config", cfg]) == 2
    assert "not both" in capsys.readouterr().err
