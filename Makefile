# Two commands for a fresh machine: `make demo` (main job) and `make test` (test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export PYTHONUNBUFFERED := 1

.PHONY: setup demo test test-all benchmark clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Train the body model on synthetic data, evaluate, predict, write pictures to outputs/demo/.
demo: $(STAMP)
	$(PY) scripts/demo.py

## The test suite (offline; slow tests included, well under 20 minutes on 2 CPU cores).
test: $(STAMP)
	WANDB_MODE=disabled $(PY) -m pytest -q --timeout=900 tests

## Only the fast tests.
test-fast: $(STAMP)
	WANDB_MODE=disabled $(PY) -m pytest -q -m "not slow" tests

benchmark: $(STAMP)
	$(PY) benchmarks/benchmark.py

clean:
	rm -rf outputs .pytest_cache
