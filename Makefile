# Two commands set everything up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CUSTOMERS ?= 5000
export PREVENANCE_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run worker test install install-dev lint serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/prevenance migrate --noinput
	$(BIN)/prevenance collectstatic --noinput --verbosity 0
	$(BIN)/prevenance bootstrap --demo-customers $(DEMO_CUSTOMERS)
	$(BIN)/prevenance serve --bind $(HOST):$(PORT)

# A worker on its own (beside a web server started otherwise); at scale run several of these,
# and `$(BIN)/celery -A prevenance beat` once (docs/background-jobs.md).
worker: install
	$(BIN)/celery -A prevenance worker --loglevel INFO

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/prevenance makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var/test-*.sqlite3*
