# pipeyard's developer entry points. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: all setup venv render check lint test demo bench clean

all: venv

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[platform,sendmail,screenshot,test]'
	touch $(STAMP)

venv: $(STAMP)

tools/node_modules/.installed: tools/package.json
	cd tools && npm install --no-audit --no-fund --silent
	touch $@

# System packages and node tools everything else needs (idempotent; Debian 12, root).
setup: venv tools/node_modules/.installed
	./scripts/setup-system.sh

render: venv
	$(VENV)/bin/pipeyard render

check: venv
	$(VENV)/bin/pipeyard check

test: setup
	$(VENV)/bin/pytest

demo: setup
	$(VENV)/bin/pipeyard demo

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) tools/node_modules .pytest_cache
