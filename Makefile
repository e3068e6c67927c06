# Two commands for a fresh machine: `make demo` (main job) and `make test` (test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export PYTHONUNBUFFERED := 1

.PHONY: setup demo test test-all test-slow lint benchmark clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Train the body model on synthetic data, evaluate, predict, write pictures to outputs/demo/.
demo: $(STAMP)
	$(PY) scripts/demo.py

## The test suite without the slow tests (offline; 730 tests, 5 minutes on 2 CPU cores shared with a training, less on idle ones).
test: $(STAMP)
	WANDB_MODE=disabled $(PY) -m pytest -q --timeout=900 -m "not slow" tests

## Every test, slow ones included (about 10 minutes on 2 CPU cores).
test-all: $(STAMP)
	WANDB_MODE=disabled $(PY) -m pytest -q --timeout=900 tests

## Lint (ruff: rules + format) and types (pyright, basic), configured in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check landmarks tasks scripts tests benchmarks
	$(VENV)/bin/ruff format --check landmarks tasks scripts tests benchmarks
	$(VENV)/bin/pyright

## Only the slow tests (trainings, subprocesses, DDP).
test-slow: $(STAMP)
	WANDB_MODE=disabled $(PY) -m pytest -q --timeout=900 -m slow tests

benchmark: $(STAMP)
	$(PY) benchmarks/benchmark.py

clean:
	rm -rf outputs .pytest_cache
