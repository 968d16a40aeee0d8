# pipeyard's entry points. The README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tools/node_modules/.installed-stamp
SYS_STAMP := .work/.system-stamp

.PHONY: all setup render check test demo bench clean

all: setup

# System packages (apt) first: a fresh Debian 12 lacks python3-venv, podman, chromium...
$(SYS_STAMP): scripts/setup-system.sh
	./scripts/setup-system.sh
	mkdir -p $(dir $@) && touch $@

$(STAMP): pyproject.toml $(SYS_STAMP)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[platform,sendmail,screenshot,sonar,gitops,test]'
	touch $@

$(NODE_STAMP): tools/package.json tools/package-lock.json $(SYS_STAMP)
	cd tools && npm ci --no-audit --no-fund --silent
	touch $@

setup: $(SYS_STAMP) $(STAMP) $(NODE_STAMP)

render: $(STAMP)
	$(VENV)/bin/pipeyard render

SHELL_SCRIPTS = $(wildcard providers/*/rootfs/usr/local/bin/* providers/*/tests/*.sh b2i/rootfs/usr/local/bin/*) \
                sdk/pipeyard/localci_data/podman-gcl sdk/pipeyard/b2i/b2i-launch

# Render drift, provider.yaml schema, templates against GitLab's schema, examples; then lint.
check: $(STAMP)
	$(VENV)/bin/pipeyard check
	$(VENV)/bin/ruff check sdk tests bench
	shellcheck $(SHELL_SCRIPTS)

test: setup
	$(VENV)/bin/pytest

demo: setup
	$(VENV)/bin/pipeyard demo

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) tools/node_modules .pytest_cache .work
