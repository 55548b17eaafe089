"""Serving a stored report: which file a run's link names, and the headers it goes out with.

Shared by the API's report endpoint and the dashboard's. The report is served only from inside
`reports.directory`: its stored link (a file:// URI or `reports.base_url` + file name) is
resolved and must land on a file in that directory, so a tampered link cannot read anything
else. It goes out with `Content-Security-Policy: sandbox allow-scripts`: the page's charts
run, but in an opaque origin that cannot call the API.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from monitor.settings import ReportSettings

REPORT_HEADERS = {
    "Content-Security-Policy": "sandbox allow-scripts",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
REPORT_MEDIA_TYPE = "text/html; charset=utf-8"


def report_path(url: str | None, reports: ReportSettings) -> Path | None:
    """The stored report file a run's link names, if it is a file inside reports.directory."""
    if not url:
        return None
    base = Path(reports.directory).resolve()
    prefix = (reports.base_url or "").rstrip("/") + "/"
    if reports.base_url and url.startswith(prefix):
        name = unquote(url[len(prefix) :])
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            return None
        candidate = base / name
    elif url.startswith("file:"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            return None
        candidate = Path(url2pathname(parsed.path))
    else:
        return None
    try:
        target = candidate.resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target
