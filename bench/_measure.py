"""Run one measurement in a fresh process: wall time and peak resident memory.

Peak RSS comes from the kernel's accounting of that child alone (`os.wait4` rusage,
ru_maxrss in KiB on Linux), so imports, data loading and the measured work are all in it
and nothing from the parent or earlier measurements is.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Measurement:
    """One child run: wall seconds of the whole process, its peak RSS, what it reported."""

    command: list[str]
    wall_s: float
    peak_rss_mb: float
    returncode: int
    report: dict = field(default_factory=dict)  # the child's last stdout line, if JSON
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(command: list[str], env: dict | None = None) -> Measurement:
    """Run `command` to completion and measure it; the child's last JSON stdout line is kept.

    Output goes to temporary files so the child is reaped here, by `os.wait4`, which
    returns that child's own resource usage.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # stop Popen from reaping again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return Measurement(
        command,
        wall,
        usage.ru_maxrss / 1024.0,
        proc.returncode,
        _last_json(stdout),
        stderr.decode(errors="replace")[-600:],
    )


def _last_json(out: bytes) -> dict:
    for line in reversed(out.decode(errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}
