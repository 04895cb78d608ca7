# Everything the project needs is set up by these targets on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: all demo test lint typecheck unit sweep bench docs clean

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/plebiscite demo --record demo-record --force

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2

test: lint typecheck unit

# The full sweep over every value of a published record (slow, opt-in).
sweep: $(STAMP)
	PLEBISCITE_FULL_SWEEP=1 $(BIN)/pytest tests/test_tamper_sweep.py -n 2

docs: $(STAMP)
	$(PY) docs/gen_cli.py > docs/cli.md

bench: $(STAMP)
	$(PY) bench/bench_ballots.py

clean:
	rm -rf $(VENV) demo-record
