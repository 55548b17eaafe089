"""Storing reports: safe file names from untrusted parts, atomic writes, links for alerts."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from urllib.parse import quote

from monitor.errors import StorageError

MAX_STEM = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name (`*.html`) from untrusted text: ASCII letters, digits, `._-` only.

    Separators and `..` cannot survive (no path traversal, no hidden files). When the slug
    lost information, 8 hex digits of the original's SHA-256 are appended so two names that
    differ only in dropped characters do not overwrite each other's report.
    """
    stem = name[:-5] if name.lower().endswith(".html") else name
    ascii_ = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = _UNSAFE.sub("-", ascii_)
    slug = re.sub(r"\.{2,}", ".", slug)
    slug = re.sub(r"-{2,}", "-", slug).strip(".-_")[:MAX_STEM].strip(".-_")
    if slug != stem or not slug:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        slug = f"{slug}-{digest}" if slug else f"report-{digest}"
    return f"{slug}.html"


def atomic_write_text(path: str | Path, content: str) -> Path:
    """Write `content` to `path` atomically (temp file in the same directory, fsync,
    os.replace): a reader (web server, a browser following an alert's link) sees the old
    file or the new one, never half a file. StorageError when it cannot be written."""
    target = Path(path)
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".report-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server must read reports
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise StorageError(
            f"cannot write report {target}: {exc.strerror or type(exc).__name__}"
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target


def write_report(html: str, directory: str | Path, name: str) -> Path:
    """Write `html` to `directory/safe_name(name)` atomically; the path written."""
    return atomic_write_text(Path(directory) / safe_name(name), html)


def report_url(path: str | Path, base_url: str | None) -> str:
    """The link put in alerts: `base_url/<file name>`, or a file:// URI of the path."""
    p = Path(path)
    if base_url:
        return f"{base_url.rstrip('/')}/{quote(p.name)}"
    return p.resolve().as_uri()
