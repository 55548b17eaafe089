"""Process probes for bench/ingest.py: CPU, page faults, peak RSS, per-thread CPU, GC time.

CPU seconds and page faults are what other load on the shared box moves least; the GC clock
and per-thread CPU say where a consumer process spends them.
"""

from __future__ import annotations

import os
import resource
import threading
import time


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds of this process (all threads): a figure other load on the box barely moves."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def faults() -> int:
    """Minor page faults so far (each costs microseconds on this VM)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _children() -> list[int]:
    """PIDs of this process's live child processes (the delta worker)."""
    out: list[int] = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                out.extend(int(p) for p in f.read().split())
        except OSError:
            continue
    return out


def _children_stat(*columns: int) -> int:
    """The sum of the given /proc/PID/stat fields (counted after the command name) over the
    live child processes."""
    total = 0
    for pid in _children():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[c]) for c in columns)
    return total


def children_cpu_s() -> float:
    """CPU seconds of the live child processes (utime + stime from /proc)."""
    return _children_stat(11, 12) / os.sysconf("SC_CLK_TCK")


def children_faults() -> int:
    """Minor page faults of the live child processes so far."""
    return _children_stat(7)


def wait_children_idle(quiet_s: float = 0.5, timeout_s: float = 60.0) -> None:
    """Return once the child processes (the delta worker importing numpy/pandas) have used
    no CPU for `quiet_s`: their start-up is not part of the measured rate."""
    deadline = time.monotonic() + timeout_s
    last, since = children_cpu_s(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = children_cpu_s()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


def children_peak_rss_mb() -> float:
    """The sum of the live child processes' peak RSS (VmHWM)."""
    total = 0.0
    for pid in _children():
        try:
            with open(f"/proc/{pid}/status") as f:
                total += sum(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")) / 1024
        except OSError:
            continue
    return total


def thread_cpu() -> dict[str, float]:
    """CPU seconds per live thread of this process, by thread name (Linux /proc)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(tid)) or _native_name(tid)
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _native_name(tid: str) -> str:
    """A thread Python did not start: librdkafka's (comm "rdk:...") summed as one."""
    try:
        with open(f"/proc/self/task/{tid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        comm = ""
    return "librdkafka" if comm.startswith("rdk:") else f"native-{tid}"


class GcClock:
    """Seconds spent in the cyclic garbage collector (gc.callbacks), per generation."""

    def __init__(self) -> None:
        import gc

        self.seconds = [0.0, 0.0, 0.0]
        self._began = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._began
