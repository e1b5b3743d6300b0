# Two targets a newcomer needs: `make demo` (or `make serve` once the service exists) and `make test`.
# Both create ./.venv and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/shieldwall demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# Benchmarks read the photo corpus from ../shared/data/photos (or SHIELDWALL_BENCH_PHOTOS).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/hashing_speed.py
	$(BIN)/python bench/robustness.py
	OMP_NUM_THREADS=1 $(BIN)/python bench/lookup.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
