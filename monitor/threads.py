"""Thread budget: every pool in the process sized once, here, from the cores it may use.

Three kinds of pools compete for the same cores: our own Python workers (drift column
threads, the scheduler's job threads), OpenMP (scikit-learn's HistGradientBoosting in the
domain classifier) and BLAS (OpenBLAS under numpy/scipy). Left alone, each sizes itself to
the machine, so on 2 cores a scheduler run with 2 column threads, each waking 2 BLAS
threads, next to a classifier with 2 spinning OpenMP threads asks for 6+ threads, and any
other CPU-bound process makes OpenMP's barrier spin-waits stall: the classifier took 22–75 s
under load against 3 s quiet.

The rule: parallelism comes from our workers (`budget().workers` threads, at most the
cores); native pools get `budget().native` threads each (1 unless a single worker can have
the cores to itself), and OpenMP waits passively. `configure()` applies it once at process
start (environment variables for libraries not loaded yet, threadpoolctl for those that
are); `native_limits()` re-applies the native limit around a call that loads its own
runtime late (scikit-learn's libgomp). `MONITOR_THREADS` overrides the core count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from monitor.errors import ConfigError

# read by the native libraries when they load; set only when the user has not set them
NATIVE_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MAX_WORKERS = 4  # drift column threads: more gives nothing on the sizes we compare


@dataclass(frozen=True)
class ThreadBudget:
    """How many threads each pool may use (derived from `cores`, never set piecemeal)."""

    cores: int
    workers: int  # our Python worker threads (drift columns, scheduler jobs)
    native: int  # threads per native pool (OpenMP, BLAS) per worker


def available_cores() -> int:
    """Cores this process may run on: CPU affinity, capped by a cgroup CPU quota."""
    override = os.environ.get("MONITOR_THREADS")
    if override:
        try:
            value = int(override)
        except ValueError:
            value = 0
        if value < 1:
            raise ConfigError(f"MONITOR_THREADS must be a positive integer, got {override!r}")
        return value
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, quota) if quota else cores)


def _cgroup_quota() -> int | None:
    """The cgroup v2 CPU limit (`cpu.max`: quota period), rounded up; None when unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, -(-int(quota) // int(period)))


@cache
def budget() -> ThreadBudget:
    """The process's thread budget (computed once)."""
    cores = available_cores()
    workers = min(MAX_WORKERS, cores)
    # one worker per core already fills the machine: native pools stay single-threaded
    # so a worker's BLAS/OpenMP threads never queue behind another worker's
    native = max(1, cores // workers) if workers < cores else 1
    return ThreadBudget(cores=cores, workers=workers, native=native)


@cache
def configure() -> ThreadBudget:
    """Apply the budget to this process once: env for native libraries still to load,
    threadpoolctl for those already loaded. Returns the budget."""
    b = budget()
    for name in NATIVE_ENV:
        os.environ.setdefault(name, str(b.native))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep, not spin
    _limit_loaded(b.native)
    return b


def _limit_loaded(native: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=native)


@contextmanager
def native_limits() -> Iterator[ThreadBudget]:
    """The native limit applied to every loaded pool for the duration of a call (for
    libraries loaded after `configure()`, e.g. scikit-learn's OpenMP runtime)."""
    from threadpoolctl import threadpool_limits

    b = budget()
    with threadpool_limits(limits=b.native):
        yield b
