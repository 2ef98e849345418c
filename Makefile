# Two commands matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS := lambdas,jobs,local,dev

.PHONY: install run test system-deps node-deps frontend lint bench clean lock

## install: idempotent; the .venv with every extra, node tools and the built front end
install: $(VENV)/.installed node-deps frontend

# Exactly what locks/dev.txt says, every file hash-checked (a registry release changes nothing);
# then the project itself, editable, built by the locked setuptools without fetching anything.
$(VENV)/.installed: locks/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r locks/dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e '.[$(EXTRAS)]'
	touch $@

## lock: re-resolve every lock (locks/*.txt) from pyproject.toml, on purpose; then `make install`
lock: $(VENV)/.installed
	$(PY) locks/lock.py

## system-deps: what the machine lacks (Debian packages: chromium for browser tests); needs root
system-deps:
	bash .ci/system-deps.sh

node-deps:
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi

frontend:
	@if [ -f frontend/package-lock.json ]; then \
	  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build); fi

## run: start the local stack (states service, API, front end) and serve until stopped
run: install
	$(VENV)/bin/aiorch serve

## test: the whole suite through tox (python tests with coverage, lint, front end, Terraform)
test: system-deps $(VENV)/.installed node-deps frontend
	$(VENV)/bin/tox run

lint: $(VENV)/.installed
	$(VENV)/bin/tox run -e lint

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf .tox $(VENV) node_modules frontend/node_modules frontend/dist
