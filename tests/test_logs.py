"""Structured logs: untrusted values cannot forge lines; JSON lines parse."""

import io
import logging

import orjson

from monitor import logs


def _emit(fmt: str, **extra) -> str:
    buf = io.StringIO()
    logs.configure(fmt, "INFO", stream=buf)
    logging.getLogger("monitor.test").info("batch_stored", extra=extra)
    return buf.getvalue()


def test_logfmt_quotes_untrusted_values() -> None:
    line = _emit("logfmt", model='evil"\nlevel=error forged=1', rows=3)
    assert line.count("\n") == 1  # one line, however hostile the value
    assert "event=batch_stored" in line and "rows=3" in line
    assert 'model="evil\\"\\nlevel=error forged=1"' in line


def test_json_lines_parse() -> None:
    line = _emit("json", model="m<script>", rows=3)
    record = orjson.loads(line)
    assert record["event"] == "batch_stored"
    assert record["model"] == "m<script>"
    assert record["rows"] == 3
    assert record["level"] == "info"
