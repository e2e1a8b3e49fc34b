# Sapa — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
# Front-end libraries of the inbox: from the npm registry (package-lock.json), served locally.
VENDOR := crm/inbox/static/vendor/chart.umd.min.js

.PHONY: install install-dev run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install -q -c requirements.lock -e .
	touch $@

$(DEVSTAMP): $(STAMP)
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@# The browser tests drive Debian's Chromium (never a browser download).
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium) \
		|| echo "warning: Chromium could not be installed; the browser tests will be skipped (fail with CI=true)"
	touch $@

$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(dir $(VENDOR))
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)

install: $(STAMP) $(VENDOR)

install-dev: $(DEVSTAMP) $(VENDOR)

run: install
	$(BIN)/sapa db upgrade
	$(BIN)/sapa nlu train --if-missing
	$(BIN)/sapa demo --if-empty
	$(BIN)/sapa run

test: install-dev
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/nlu.py
	$(BIN)/python bench/order_text.py
	$(BIN)/python bench/faq.py
	$(BIN)/python bench/geo.py
	$(BIN)/python bench/inbox.py
	$(BIN)/python bench/broadcast.py
	$(BIN)/python bench/contacts_import.py
	$(BIN)/python bench/customer_value.py

clean:
	rm -rf $(VENV) data/*.db data/*.db-* .pytest_cache node_modules crm/inbox/static/vendor
