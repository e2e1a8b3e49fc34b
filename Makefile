# Sapa — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: install install-dev run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install -q -c requirements.lock -e .
	touch $@

$(DEVSTAMP): $(STAMP)
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	touch $@

install: $(STAMP)

install-dev: $(DEVSTAMP)

run: install
	$(BIN)/sapa db upgrade
	$(BIN)/sapa nlu train --if-missing
	$(BIN)/sapa demo --if-empty
	$(BIN)/sapa run

test: install-dev
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/nlu.py
	$(BIN)/python bench/geo.py
	$(BIN)/python bench/broadcast.py

clean:
	rm -rf $(VENV) data/*.db data/*.db-* .pytest_cache
