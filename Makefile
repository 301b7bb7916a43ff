# Fapiao: the commands a newcomer uses. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCALE := src/fapiao/locale
PYTEST_ARGS ?=

.PHONY: run install messages test test-unit test-browser bench lint format makemessages clean

run: install messages  ## fresh clone to running app: venv, install, migrate, demo data, serve
	$(BIN)/fapiao migrate --no-input
	$(BIN)/fapiao demo
	$(BIN)/fapiao serve --no-migrate

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "$(VENV) uses Python older than 3.12: recreating it"; rm -rf $(VENV); fi
	@test -x $(BIN)/python || { py="$(PYTHON)"; test -n "$$py" || exit 1; echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

messages: install  ## compile the translation catalogues (.po -> .mo)
	$(BIN)/python scripts/msgfmt.py $(LOCALE)

makemessages: install  ## refresh the .po catalogues from the source (needs GNU gettext)
	cd src/fapiao && ../../$(BIN)/fapiao makemessages -l en --no-obsolete --ignore 'rules/*' --ignore 'tests/*'

test: test-unit test-browser  ## the whole suite

test-unit: install messages
	$(BIN)/python -m pytest -m "not browser" -p no:cacheprovider $(PYTEST_ARGS)

test-browser: install messages  ## browser tests: the real server in Debian's chromium
	$(BIN)/python -m pytest -m browser -p no:cacheprovider $(PYTEST_ARGS)

bench: install messages  ## benchmarks, each figure beside its anchor
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist src/*.egg-info test-artifacts
