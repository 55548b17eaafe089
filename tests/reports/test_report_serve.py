"""Which stored file a run's report link names (monitor.reports.serve): inside
`reports.directory` only (the API and the dashboard serve what this returns)."""

from __future__ import annotations

from monitor.reports.serve import report_path
from monitor.settings import ReportSettings


def test_report_path_stays_inside(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "ok.html").write_text("x")
    (tmp_path / "out.html").write_text("x")
    cfg = ReportSettings(directory=str(tmp_path / "r"))
    assert report_path((tmp_path / "r" / "ok.html").as_uri(), cfg) == tmp_path / "r" / "ok.html"
    assert report_path((tmp_path / "r" / ".." / "out.html").as_uri(), cfg) is None
    assert report_path(f"file://{tmp_path}/r/%2E%2E/out.html", cfg) is None
    assert report_path("file:ok.html", cfg) is None
    assert report_path("", cfg) is None and report_path(None, cfg) is None
