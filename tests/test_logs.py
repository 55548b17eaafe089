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


def test_no_log_call_overwrites_a_log_record_attribute() -> None:
    """`extra={"created": ...}` raises KeyError inside logging whenever the level lets the
    line through: the MLflow watcher lost its deployment outcome that way at INFO."""
    import ast
    from pathlib import Path

    import monitor

    reserved = set(logging.LogRecord("n", 0, "p", 0, "m", None, None).__dict__)
    reserved |= {"message", "asctime"}
    found = []
    for path in Path(monitor.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "extra" and isinstance(kw.value, ast.Dict):
                    keys = [k.value for k in kw.value.keys if isinstance(k, ast.Constant)]
                    found += [f"{path.name}:{node.lineno} {k}" for k in keys if k in reserved]
    assert found == []
