"""Self-contained HTML drift reports: our engine's verdict, statistic history, Evidently.

`render_report(...)` returns one HTML document that works offline (plotly.js inlined once,
Evidently's report sandboxed in an iframe); `write_report` stores it atomically under a
safe file name and `report_url` turns the path into the link put in alerts.
"""

from monitor.reports.render import render_report
from monitor.reports.timeseries import HistoryPoint
from monitor.reports.write import atomic_write_text, report_url, safe_name, write_report

__all__ = [
    "HistoryPoint",
    "atomic_write_text",
    "render_report",
    "report_url",
    "safe_name",
    "write_report",
]
