"""Alembic migrations from empty on both dialects, agreement with tables.py, `monitor db`."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from monitor.cli import main
from monitor.storage import current_revision, head_revision, make_engine, upgrade
from monitor.storage.tables import metadata

TABLES = {t.name for t in metadata.sorted_tables}


def _not_a_partition(obj, name, type_, reflected, compare_to) -> bool:
    """Partitions of `predictions` exist only in the database, by design."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or not table.name.startswith("predictions_")


def _check_fresh_upgrade(url: str) -> None:
    engine = make_engine(url)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision() == "0013_seq_learn"
    assert upgrade(engine) == "0013_seq_learn"  # idempotent
    names = set(inspect(engine).get_table_names())
    assert names >= TABLES | {"alembic_version"}
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _not_a_partition})
        assert compare_metadata(ctx, metadata) == []
    engine.dispose()


def test_upgrade_from_empty_sqlite(tmp_path) -> None:
    _check_fresh_upgrade(f"sqlite:///{tmp_path / 'm.db'}")


def test_upgrade_from_empty_postgres(fresh_pg_url) -> None:
    _check_fresh_upgrade(fresh_pg_url)
    engine = make_engine(fresh_pg_url)
    with engine.connect() as conn:
        kind = conn.execute(
            text("SELECT relkind FROM pg_class WHERE relname = 'predictions'")
        ).scalar_one()
        parts = conn.execute(
            text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'predictions'::regclass")
        ).scalar_one()
    assert kind == "p"  # partitioned
    assert parts >= 1 + 9  # DEFAULT + yesterday .. a week ahead
    engine.dispose()


def test_concurrent_upgrades_on_postgres_all_succeed(fresh_pg_url) -> None:
    """Replicas starting together (separate processes: Alembic's context is process-global)."""
    code = "import sys; from monitor.storage import upgrade; print(upgrade(sys.argv[1]))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, fresh_pg_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, outs, strict=True)] == [
        (0, head_revision())
    ] * 3, [err for _, err in outs]


def test_cli_db_upgrade_and_current(tmp_path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path / 'cli.db'}\n")
    assert main(["db", "current", "--config", str(cfg)]) == 0
    assert "needs `monitor db upgrade`" in capsys.readouterr().out
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    assert f"at revision {head_revision()}" in capsys.readouterr().out
    assert main(["db", "current", "--config", str(cfg)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["db", "retention", "--config", str(cfg)]) == 0
    assert "removed 0 raw events older than 30 days" in capsys.readouterr().out


def test_cli_db_upgrade_postgres(fresh_pg_url, tmp_path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: {fresh_pg_url}\n")
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    assert f"at revision {head_revision()}" in capsys.readouterr().out


def test_cli_db_upgrade_unreachable_is_one_line(tmp_path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("database:\n  url: postgresql+psycopg://u:hunter2@127.0.0.1:1/x\n")
    assert main(["db", "upgrade", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("monitor: database upgrade:") and "unavailable" in err
    assert "hunter2" not in err and "\n" not in err
