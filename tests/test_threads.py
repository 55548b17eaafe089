"""The thread budget: every pool sized from the cores, once (fresh processes: pools are global)."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os, sys
from monitor.threads import configure, native_limits
b = configure()
import numpy, sklearn.ensemble
from threadpoolctl import threadpool_info
from monitor.drift.options import DriftOptions
pools = {p["internal_api"]: p["num_threads"] for p in threadpool_info()}
with native_limits():
    inside = {p["internal_api"]: p["num_threads"] for p in threadpool_info()}
print(json.dumps({"cores": b.cores, "workers": b.workers, "native": b.native, "pools": pools,
                  "inside": inside, "omp_wait": os.environ.get("OMP_WAIT_POLICY"),
                  "drift_workers": DriftOptions().workers}))
"""


def probe(env_extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "OPENBLAS_", "MKL_"))}
    env.update(env_extra)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("cores", "workers", "native"), [("1", 1, 1), ("2", 2, 1), ("4", 4, 1), ("8", 4, 2)]
)
def test_every_pool_is_sized_from_the_cores(cores, workers, native):
    got = probe({"MONITOR_THREADS": cores})
    assert (got["cores"], got["workers"], got["native"]) == (int(cores), workers, native)
    assert got["drift_workers"] == workers
    # OpenBLAS (numpy) and OpenMP (scikit-learn) loaded after configure() obey it
    assert set(got["pools"]) >= {"openblas", "openmp"}
    assert set(got["pools"].values()) == {native}
    assert set(got["inside"].values()) == {native}
    assert got["omp_wait"] == "PASSIVE"


def test_default_follows_cpu_affinity():
    got = probe({})
    assert got["cores"] == len(os.sched_getaffinity(0))


def test_an_explicit_environment_setting_wins_for_libraries_loading_later():
    got = probe({"MONITOR_THREADS": "2", "OMP_NUM_THREADS": "2"})
    # configure() leaves the user's OMP_NUM_THREADS alone; native_limits still applies the
    # budget around the classifier
    assert got["pools"]["openmp"] == 2 and got["inside"]["openmp"] == 1


def test_bad_override_is_a_config_error():
    env = {**os.environ, "MONITOR_THREADS": "zero"}
    out = subprocess.run(
        [sys.executable, "-c", "from monitor.threads import budget; budget()"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode != 0 and "MONITOR_THREADS must be a positive integer" in out.stderr


def test_scheduler_runs_at_most_one_job_thread_per_worker(tmp_path):
    from monitor.scheduler.service import SchedulerService
    from monitor.settings import parse_settings
    from monitor.threads import budget

    service = SchedulerService(None, parse_settings({}))  # type: ignore[arg-type]
    executor = service._sched._executors["default"]
    assert executor._pool._max_workers == budget().workers
