"""Escaping for untrusted text (feature, category, model names) in HTML and inline JSON.

Everything shown in a report came from events, so every value goes through one of these:
`text` for element content and attribute values, `script_json` for JSON inside a
`<script>` element (where HTML escaping does not apply and `</script>` or `<!--` in a
string would end or confuse the element).
"""

from __future__ import annotations

import html
from typing import Any

import orjson

# Inside JSON strings these may be written as \\uXXXX escapes without changing the value;
# outside strings JSON never contains them, so replacing every occurrence is safe.
_SCRIPT_SAFE = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def text(value: object) -> str:
    """HTML-escape for element content and quoted attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


def harden_json(json_text: str) -> str:
    """Make serialized JSON safe to place verbatim inside a <script> element."""
    return json_text.translate(_SCRIPT_SAFE)


def script_json(value: Any) -> str:
    """`value` as JSON that can sit inside <script>: no `</`, `<!--`, `-->` or U+2028."""
    raw = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return harden_json(raw.decode())
