# Two commands matter: `make demo` (walkthrough on the local stack) and `make test`.
# Each target creates the virtual environment with the pinned requirements on first use.

PYTHON ?= python3
VENV ?= .venv
# Ports of `make run`: the HTTP API and moto's server, both on 127.0.0.1.
PORT ?= 3000
MOTO_PORT ?= 5000
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements

.PHONY: help venv test unit lint lint-template demo run bench openapi clean

help:
	@echo "make demo           run the walkthrough on the local stack; exits non-zero on any unexpected outcome"
	@echo "make run            serve the local stack on 127.0.0.1:3000 until stopped (Ctrl-C);"
	@echo "                    PORT=3001 MOTO_PORT=5001 choose other ports"
	@echo "make test           lint (ruff, cfn-lint, checkov) and run every test"
	@echo "make unit           run the unit tests only (no AWS mocks, no servers)"
	@echo "make bench          print import times and DynamoDB calls per operation"
	@echo "make openapi        regenerate openapi.json from the routes"

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(PY) -m ruff check layers functions local tests bench tools
	$(PY) -m ruff format --check layers functions local tests bench tools

lint-template: venv
	bash tools/lint-template.sh

test: lint lint-template
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest tests/unit

demo: venv
	$(PY) -m local demo

run: venv
	$(PY) -m local run --port $(PORT) --moto-port $(MOTO_PORT)

bench: venv
	$(PY) bench/bench.py

openapi: venv
	$(PY) tools/openapi.py --write
	$(PY) tools/event_schemas.py --write

clean:
	rm -rf $(VENV) .venv-checkov .venv-sam .pytest_cache .ruff_cache .aws-sam
