"""A real MLflow tracking server for the tests, from its own virtualenv (issue 16 item 5).

MLflow (pinned below) is not installed in the project's venv (it pins its own pandas, pulls in
databricks-sdk, opentelemetry and more): it lives in a virtualenv under a cache directory
(`$MONITOR_TEST_CACHE`, default `~/.cache/monitor-tests`), built on first use with the
project venv's `uv` (or venv + pip), as bench/peers does. `make test` builds it before pytest
(`python tests/mlflow_support.py`), so the tests only start the server.

`start(tmp)` starts `mlflow server --backend-store-uri sqlite:///... --artifacts-destination
... --host 127.0.0.1 --port <free>` and waits for /health (`server(tmp)`: the same as a context). `train(...)` runs
tests/mlflow_train.py with that venv's python (the real MLflow client: log_input, artifacts,
register, alias).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

MLFLOW_VERSION = "3.17.2"
HERE = Path(__file__).resolve().parent
_THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def venv_dir() -> Path:
    cache = os.environ.get("MONITOR_TEST_CACHE") or str(Path.home() / ".cache" / "monitor-tests")
    return Path(cache) / f"mlflow-{MLFLOW_VERSION}"


def ensure_venv() -> Path:
    """The MLflow virtualenv, built once (a file lock keeps two builds apart)."""
    target = venv_dir()
    stamp = target / ".installed"
    if stamp.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        python = target / "bin" / "python"
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        if uv:
            subprocess.run(
                [uv, "venv", "--quiet", "--python", sys.executable, str(target)], check=True
            )
            install = [
                uv,
                "pip",
                "install",
                "--quiet",
                "--compile-bytecode",
                "--python",
                str(python),
            ]
        else:
            subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)  # pip compiles
            install = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*install, f"mlflow=={MLFLOW_VERSION}"], check=True)
        stamp.touch()
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Running:
    """A tracking server process that answered /health."""

    url: str
    proc: subprocess.Popen
    log: IO[bytes]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def start(
    tmp: Path, timeout_s: float = 900, spawned: Callable[[subprocess.Popen], object] = id
) -> Running:
    """Start a tracking server (SQLite backend, proxied local artifacts); return once it
    answers /health (a server that dies or stays silent is stopped and raises). `spawned`
    sees the process as soon as it exists (prestart.track)."""
    venv = ensure_venv()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        str(venv / "bin" / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
        "--artifacts-destination", str(tmp / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        cmd, cwd=tmp, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **_THREADS}
    )
    spawned(proc)
    running = Running(url, proc, log)
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (tmp / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mlflow server did not start:\n{tail}")
            time.sleep(0.2)
    except BaseException:
        running.stop()
        raise
    return running


@contextmanager
def server(tmp: Path, timeout_s: float = 900) -> Iterator[str]:
    """A running tracking server (SQLite backend, proxied local artifacts): its URL."""
    running = start(tmp, timeout_s)
    try:
        yield running.url
    finally:
        running.stop()


def train(url: str, data: Path, *args: str) -> list[dict[str, str]]:
    """Run tests/mlflow_train.py in the MLflow venv against `url`; its JSON lines."""
    python = ensure_venv() / "bin" / "python"
    env = {**os.environ, **_THREADS, "MLFLOW_TRACKING_URI": url}
    for key in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        env.pop(key, None)
    done = subprocess.run(
        [str(python), str(HERE / "mlflow_train.py"), *args, "--data", str(data)],
        env=env,
        cwd=data,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlflow_train.py failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


if __name__ == "__main__":  # `make test`'s setup step
    start = time.monotonic()
    print(f"mlflow venv: {ensure_venv()} ({time.monotonic() - start:.0f} s)")
