# The README's two commands: `make demo` and `make test`. Both set up everything they need.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: demo test lint format bench-ingest bench-drift bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/monitor demo

test: $(STAMP)
	$(VENV)/bin/ruff check monitor tests bench
	$(VENV)/bin/ruff format --check monitor tests bench
	$(VENV)/bin/pytest

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

bench: bench-ingest bench-drift

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-data
