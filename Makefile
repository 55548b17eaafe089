# The README's two commands: `make demo` and `make test`. Both set up everything they need.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: demo test mlflow-venv target-venvs check lint format bench-ingest bench-drift bench-scheduler bench-performance bench clean system-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/monitor demo

# Real peers the tests drive: Prometheus + promtool (tests/api), Alertmanager
# (tests/notify) and headless Chromium (tests/reports). Installed from Debian's packages when missing; a failed install fails.
system-deps:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null && \
		command -v prometheus-alertmanager >/dev/null && command -v chromium >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			prometheus prometheus-alertmanager chromium)

# MLflow for tests/test_mlflow_reference.py (a real tracking server): its own virtualenv under
# $$MONITOR_TEST_CACHE or ~/.cache/monitor-tests, mlflow pinned in tests/mlflow_support.py;
# built once with uv (~20 s with a warm cache, about a minute from PyPI), a no-op afterwards.
mlflow-venv: $(STAMP)
	$(PY) tests/mlflow_support.py

# Real retraining targets the tests drive (tests/notify/targets/test_target_prefect_real.py):
# Prefect server in its own virtualenv .targets-venv/prefect (~70 s, ~220 MB on first build;
# a no-op afterwards). A failed build fails `make test`.
target-venvs: $(STAMP)
	$(PY) tests/notify/targets/real_targets.py build

test: $(STAMP) system-deps mlflow-venv target-venvs
	$(VENV)/bin/ruff check monitor tests bench
	$(VENV)/bin/ruff format --check monitor tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# Layer contracts and types (pyproject: [tool.importlinter], [tool.mypy]).
check: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

lint: $(STAMP)
	$(VENV)/bin/ruff check monitor tests bench
	$(VENV)/bin/ruff format --check monitor tests bench

format: $(STAMP)
	$(VENV)/bin/ruff check --fix monitor tests bench
	$(VENV)/bin/ruff format monitor tests bench

bench-ingest: $(STAMP)
	$(PY) bench/ingest.py

bench-drift: $(STAMP)
	$(PY) bench/drift.py

bench-scheduler: $(STAMP)
	$(PY) bench/scheduler.py --sizes 10000,1000000,10000000 --latency

bench-performance: $(STAMP)
	$(PY) bench/performance.py --rows 1000000

bench: bench-ingest bench-drift bench-scheduler bench-performance

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-data
