# Kizashi — `make run` and `make test` are all a new user needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ASSETS := src/kizashi/web/static/dist/.built
export KIZASHI_DATA_DIR ?= $(CURDIR)/data

.PHONY: install run test check bench assets messages clean help

help:
	@echo "make run    install, then start Kizashi on http://$${KIZASHI_HOST:-127.0.0.1}:$${KIZASHI_PORT:-8000}"
	@echo "make test   install, then run the whole test suite"
	@echo "make check  ruff, mypy (strict) and the import layering contract"
	@echo "make bench  measure the store and feed ingestion (make bench ARGS=--quick for a short run)"

# The UI's message catalogues, compiled, and the front-end's message ids, listed for an
# installed package to find without frontend/src (src/kizashi/web/i18n.py).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard src/kizashi/locale/*/LC_MESSAGES/*.po))
JS_MESSAGES := src/kizashi/web/static/dist/messages.json

install: $(INSTALLED) $(ASSETS) $(CATALOGS) $(JS_MESSAGES)

%.mo: %.po $(INSTALLED)
	$(BIN)/pybabel compile --statistics -i $< -o $@

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(ASSETS): frontend/package.json frontend/package-lock.json frontend/build.mjs $(wildcard frontend/src/*)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

assets: $(ASSETS)

$(JS_MESSAGES): babel.cfg $(wildcard frontend/src/*.js) $(ASSETS) $(INSTALLED)
	$(BIN)/python -m kizashi.web.i18n $@

# Extract the UI's messages, keep the Japanese catalogue's translations, take new ones
# from JSON files (ARGS="--add new.json") and list what is still missing.
messages: $(INSTALLED)
	$(BIN)/python tools/update_catalogue.py $(ARGS)

run: install
	$(BIN)/kizashi run

# One test process per core (pytest-xdist), a test file's tests in the same process so
# that its module fixtures (a server, a browser) start once. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

check: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

BENCH_INSTALLED := $(VENV)/.bench-installed

$(BENCH_INSTALLED): pyproject.toml $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: install $(BENCH_INSTALLED)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) frontend/node_modules src/kizashi/web/static/dist
