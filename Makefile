# Two targets a newcomer needs: `make serve` (the HTTP service) and `make test`.
# Both create ./.venv and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: serve demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The service on the embedded default (SQLite in ./var/); HOST/PORT override where it listens.
HOST ?= 127.0.0.1
PORT ?= 8080
serve: $(STAMP)
	$(BIN)/shieldwall serve --host $(HOST) --port $(PORT)

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
