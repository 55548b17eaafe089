"""Small escape-safe HTML builders for the dashboard (no template engine).

Every value that reaches a page goes through `e` (element text and quoted attributes; the
reports' `escape.text`) or `figure` (JSON inside a non-executed `<script type=
"application/json">`, hardened by `escape.script_json`). Names shown inside plotly charts are
HTML-escaped first as well (`plot_text`): plotly interprets a subset of HTML in labels.
Markup is only ever assembled from these pieces and literal strings.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from monitor.reports.escape import script_json
from monitor.reports.escape import text as e
from monitor.web.static import CSS_URL, JS_URL, plotly_url

__all__ = ["e", "figure", "fmt", "fmt_ts", "page", "plot_text", "table", "url"]

DASH = "–"


def url(path: str, **query: Any) -> str:
    """A same-origin link; path segments are the caller's, query values are encoded."""
    kept = {k: v for k, v in query.items() if v is not None}
    return path + ("?" + urlencode(kept) if kept else "")


def seg(value: object) -> str:
    """One URL path segment (monitor names are restricted, but encode anyway)."""
    return quote(str(value), safe="")


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if value != 0 and (abs(value) < 10**-(digits) or abs(value) >= 10**6):
            return f"{value:.{max(digits - 1, 1)}e}"
        return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:,.{digits}f}"
    return str(value)


def fmt_share(value: float | None) -> str:
    """A drift share (0..1) with two decimals, as thresholds are usually written."""
    return DASH if value is None else f"{value:.2f}"


def fmt_duration(value: timedelta | None) -> str:
    """`1h`, `5m`, `1d 12h` (config style) rather than `1:00:00`."""
    if value is None:
        return DASH
    total = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return " ".join(parts) or "0s"


def fmt_ts(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return DASH
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def share(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"


def plot_text(value: object) -> str:
    """A label for plotly: `&`, `<`, `>` escaped (plotly renders a subset of HTML in labels and
    decodes only a few entities; with no `<` left, no tag can form, so quotes stay as they are)."""
    return html.escape(str(value), quote=False)


def figure(
    element_id: str, fig: dict[str, Any], css: str = "chart", title: str | None = None
) -> str:
    """A chart placeholder plus its figure JSON (drawn by web.js from the JSON block).
    `title`: the full name on hover when the chart's own title is shortened."""
    hover = f' title="{e(title)}"' if title else ""
    return (
        f'<div class="{e(css)}" id="{e(element_id)}"{hover}></div>'
        f'<script type="application/json" data-figure="{e(element_id)}">'
        f"{script_json(fig)}</script>"
    )


def table(
    headers: Sequence[str | tuple[str, str]],
    rows: Iterable[str],
    *,
    css: str = "grid",
    sortable: bool = False,
    empty: str = "Nothing yet.",
) -> str:
    """A table from already-built `<tr>` rows; a header is a label or (label, sort kind)."""
    body = "".join(rows)
    if not body:
        return f'<p class="muted">{e(empty)}</p>'
    ths = []
    for h in headers:
        label, kind = (h, "text") if isinstance(h, str) else h
        attr = f' data-sort="{e(kind)}" tabindex="0"' if sortable else ""
        ths.append(f"<th{attr}>{e(label)}</th>")
    cls = f"{css} sortable" if sortable else css
    return f'<table class="{e(cls)}"><thead><tr>{"".join(ths)}</tr></thead><tbody>{body}</tbody></table>'


def td(content: str, css: str = "", sort: Any = None, raw: bool = False) -> str:
    """A cell; `content` is escaped unless `raw` (already-built markup); `sort` the sort key."""
    cls = f' class="{e(css)}"' if css else ""
    if isinstance(sort, float) and math.isinf(sort):
        sort = "1e308" if sort > 0 else "-1e308"
    key = "" if sort is None else f' data-v="{e(sort)}"'
    return f"<td{cls}{key}>{content if raw else e(content)}</td>"


def badge(label: str, kind: str) -> str:
    return f'<span class="badge {e(kind)}">{e(label)}</span>'


def page(
    title: str,
    body: str,
    *,
    csrf: str | None,
    charts: bool = False,
    active: str = "",
    hide_nav: bool = False,
) -> str:
    """The whole document: nav, body, scripts (plotly only on pages with charts)."""
    nav = (
        ""
        if hide_nav
        else "".join(
            f'<a href="{href}"{" class=active" if key == active else ""}>{label}</a>'
            for key, href, label in (
                ("overview", "/", "Overview"),
                ("compare", "/compare", "Compare"),
            )
        )
    )
    logout = ""
    if csrf:
        logout = (
            '<form method="post" action="/logout" class="logout">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}">'
            '<button type="submit">Log out</button></form>'
        )
    plotly = f'<script src="{plotly_url()}"></script>' if charts else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · monitor</title>
<link rel="stylesheet" href="{CSS_URL}">
</head>
<body>
<header class="top"><a class="brand" href="/">monitor</a><nav>{nav}</nav>{logout}</header>
<main>
{body}
</main>
{plotly}
<script src="{JS_URL}"></script>
</body>
</html>
"""
