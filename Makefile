# Everything the project needs is set up by these targets on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
JS_STAMP := js/node_modules/.installed-stamp
BUNDLE := src/plebiscite/server/static/js/booth.js

.PHONY: all demo test lint typecheck unit jstest sweep tamper bench docs clean setup

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The booth's JavaScript: pinned packages from the npm registry, bundled at install time
# (nothing is fetched when the booth runs).
$(JS_STAMP): js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

$(BUNDLE): $(JS_STAMP) $(wildcard js/src/*.js) js/build.mjs
	cd js && npm run --silent build

# plebiscite's variable-time ristretto255 library for verifiers (public values only),
# loaded with ctypes by plebiscite.crypto.native; without it verification is slower.
NATIVE := src/plebiscite/crypto/_ristretto_vt.so
CC ?= cc
$(NATIVE): native/ristretto_vt.c
	$(CC) -O3 -fPIC -shared -Wall -Wextra -o $@ $<

SYSDEPS_STAMP := $(VENV)/.sysdeps-stamp
$(SYSDEPS_STAMP): scripts/system-deps.sh
	scripts/system-deps.sh
	@mkdir -p $(VENV) && touch $(SYSDEPS_STAMP)

setup: $(SYSDEPS_STAMP) $(STAMP) $(BUNDLE) $(NATIVE)

demo: setup
	$(BIN)/plebiscite demo --record demo-record --force

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check --quiet src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -n 2 --ignore=tests/test_browser.py
	# The browser tests, named one by one so CI's log shows they ran (headless Chromium).
	$(BIN)/pytest -v -p no:cacheprovider tests/test_browser.py

jstest: $(BUNDLE)
	cd js && npm test --silent

test: lint typecheck jstest unit

# The full sweep over every value of a published record (slow, opt-in).
sweep: $(STAMP)
	PLEBISCITE_FULL_SWEEP=1 $(BIN)/pytest tests/test_tamper_sweep.py -n 2

# The tamper suite: every mutation of a demo record, verified in-process with one worker
# (minutes); make test runs a seeded sample (tests/test_tamper_suite.py).
tamper: $(STAMP)
	$(PY) scripts/tamper.py

docs: $(STAMP)
	$(PY) docs/gen_cli.py > docs/cli.md

bench: $(STAMP) $(NATIVE)
	$(PY) bench/bench_ballots.py

clean:
	rm -rf $(VENV) demo-record js/node_modules src/plebiscite/server/static/js $(NATIVE)
