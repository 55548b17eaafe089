"""write_report: atomic replace, safe names from untrusted parts; report_url."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from monitor.errors import StorageError
from monitor.reports import report_url, safe_name, write_report


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..",
        "/abs/path",
        "a/../../b",
        "..\\..\\win",
        ".hidden",
        "",
        "<script>alert(1)</script>",
        "nul\x00byte",
        "ñandú ☃ 2026-01-01T00:00:00Z",
        "x" * 500,
    ],
)
def test_safe_name_stays_in_directory(tmp_path, name):
    out = safe_name(name)
    assert out.endswith(".html") and len(out) <= 140
    assert "/" not in out and "\\" not in out and ".." not in out and not out.startswith(".")
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    path = write_report("<p>x</p>", tmp_path / "reports", name)
    assert path.parent == tmp_path / "reports" and path.read_text() == "<p>x</p>"


def test_safe_name_keeps_clean_names_and_separates_lossy_ones():
    assert safe_name("fraud-v2_2026-01-01.html") == "fraud-v2_2026-01-01.html"
    assert safe_name("fraud-v2") == "fraud-v2.html"
    a, b = safe_name("m/1"), safe_name("m:1")  # both slug to "m-1": must not collide
    assert a != b and a.startswith("m-1-") and b.startswith("m-1-")
    assert safe_name("m/1") == a  # stable


def test_write_replaces_atomically_and_leaves_no_temp(tmp_path):
    first = write_report("old", tmp_path, "r")
    second = write_report("new", tmp_path, "r")
    assert first == second and second.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    assert stat.S_IMODE(second.stat().st_mode) == 0o644


def test_failed_write_keeps_old_report_and_cleans_up(tmp_path):
    path = write_report("old", tmp_path, "r")
    # a lone surrogate cannot be encoded as UTF-8: the write fails midway
    with pytest.raises(UnicodeEncodeError):
        write_report("new \udc00", tmp_path, "r")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_directory_in_the_way_is_storage_error(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StorageError, match="cannot write report"):
        write_report("x", tmp_path / "file", "r")


def test_report_url(tmp_path):
    path = tmp_path / "a b.html"
    assert report_url(path, "https://reports.example/m/") == "https://reports.example/m/a%20b.html"
    assert report_url(path, None) == path.resolve().as_uri()
    assert report_url(Path("rel.html"), None).startswith("file:///")
