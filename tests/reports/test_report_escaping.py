"""Untrusted names and values never reach the page as markup (outside the escaped srcdoc)."""

from __future__ import annotations

import html as htmllib
import json
import re

from report_support import EVIL_CATEGORY, EVIL_FEATURE, EVIL_META, EVIL_MODEL, figures, parse

from monitor.reports.escape import script_json, text

EVIL = (EVIL_FEATURE, EVIL_CATEGORY, EVIL_MODEL, EVIL_META)
SRCDOC = re.compile(r'srcdoc="[^"]*"')


def outside_srcdoc(doc: str) -> str:
    """The document with the (attribute-escaped, so quote-free) srcdoc value removed."""
    assert len(SRCDOC.findall(doc)) == 1
    return SRCDOC.sub('srcdoc=""', doc)


def test_untrusted_strings_never_raw(hostile):
    doc = hostile.html
    for bad in EVIL:
        assert bad not in doc  # not outside the iframe, and not raw inside srcdoc either
    rest = outside_srcdoc(doc)
    assert "<img" not in rest
    assert "<!--" not in rest and "</script><" not in rest


def test_only_our_elements(hostile):
    tags = parse(outside_srcdoc(hostile.html))
    names = [t for t, _ in tags.tags]
    assert "img" not in names
    scripts = [a for t, a in tags.tags if t == "script"]
    plain = [a for a in scripts if not a]
    blocks = [a for a in scripts if a.get("type") == "application/json"]
    assert len(plain) == 2  # plotly.js and the boot script
    assert len(blocks) == len(hostile.history) == len(scripts) - 2
    # every script body is ours: the JSON blocks parse, nothing else is an inline handler
    assert not any(k.startswith("on") for _, a in tags.tags for k in a)


def test_values_shown_escaped_in_text(hostile):
    doc = hostile.html
    assert f"<code>{htmllib.escape(EVIL_CATEGORY)}</code>" in doc  # new category, escaped
    assert htmllib.escape(EVIL_MODEL) in doc and htmllib.escape(EVIL_META) in doc
    assert f"<title>Drift for {htmllib.escape(EVIL_MODEL)}</title>" in doc


def test_figure_json_round_trips_to_escaped_titles(hostile):
    figs = figures(hostile.html)
    assert EVIL_FEATURE in figs  # title is the escaped name, unescaped by the browser/plotly
    raw = figs[EVIL_FEATURE]["layout"]["title"]["text"]
    assert raw == htmllib.escape(EVIL_FEATURE)


def test_srcdoc_holds_hardened_evidently_page(hostile):
    srcdoc = next(a for t, a in parse(hostile.html).tags if t == "iframe")["srcdoc"]
    # the browser sees this (attribute-unescaped) page: Evidently's data names the hostile
    # feature and category, but only as \\u003c-escaped JSON, never as markup
    assert EVIL_CATEGORY not in srcdoc and EVIL_FEATURE not in srcdoc
    assert json.dumps(EVIL_CATEGORY).replace("<", "\\u003c").replace(">", "\\u003e") in srcdoc
    inner = parse(srcdoc)
    assert not [a for t, a in inner.tags if t == "img"]
    assert not [b for a, b in inner.scripts if b.strip() == "alert(1)"]


def test_script_json_and_text():
    value = {"a": "</script><!-- -->", "b": "\u2028&"}
    out = script_json(value)
    assert "<" not in out and ">" not in out and "&" not in out and "\u2028" not in out
    assert json.loads(out) == value
    assert text('<a href="x">\'') == "&lt;a href=&quot;x&quot;&gt;&#x27;"
