"""Keep freed heap memory in the ingesting processes instead of handing it back per batch.

Why: glibc returns the top of the heap to the kernel whenever more than 128 KB of it is free
(`M_TRIM_THRESHOLD`), and serves blocks above a threshold with their own mmap. Ingestion
allocates and frees the same few hundred KB over and over (every `zlib.compress` call
allocates ~256 KB of deflate state; each batch's arrays and bytes), so the memory went back
and forth and every page touched again was a page fault: on this VM an empty
`zlib.compress` cost 34 us with the default, 3.3 us with the heap kept (bench/RESULTS.md).
Peak RSS does not grow: what is kept is what the next batch reuses.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("monitor.ingest")

_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 64 << 20  # free heap kept at the top before it is returned
MMAP_THRESHOLD = 4 << 20  # blocks below this come from the heap (reused), not their own mmap


def keep_freed_heap() -> bool:
    """Raise glibc's trim and mmap thresholds for this process; False where the C library
    is not glibc (nothing changes there)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    )
    if not ok:
        log.debug("mallopt refused the heap thresholds")
    return ok


__all__ = ["keep_freed_heap"]
