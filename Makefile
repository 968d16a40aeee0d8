# pipeyard's entry points. The README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tools/node_modules/.installed-stamp
SYS_STAMP := .work/.system-stamp

.PHONY: all setup render check test test-in-images test-variants test-journeys test-supply demo bench clean

all: setup

# System packages (apt) first: a fresh Debian 12 lacks python3-venv, podman, chromium...
$(SYS_STAMP): scripts/setup-system.sh
	./scripts/setup-system.sh
	mkdir -p $(dir $@) && touch $@

# The platform, the kit and every provider's own distribution, editable: the three floors in one venv.
PROVIDER_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard providers/*/pyproject.toml))
$(STAMP): pyproject.toml sdk/kit/pyproject.toml $(addsuffix /pyproject.toml,$(PROVIDER_DIRS)) $(SYS_STAMP)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e sdk/kit $(addprefix -e ,$(PROVIDER_DIRS)) -e '.[platform,test]'
	touch $@

$(NODE_STAMP): tools/package.json tools/package-lock.json $(SYS_STAMP)
	cd tools && npm ci --no-audit --no-fund --silent
	touch $@

setup: $(SYS_STAMP) $(STAMP) $(NODE_STAMP)

render: $(STAMP)
	$(VENV)/bin/pipeyard render

SHELL_SCRIPTS = $(wildcard providers/*/rootfs/usr/local/bin/* providers/*/tests/*.sh b2i/rootfs/usr/local/bin/*) \
                sdk/pipeyard/demo/localci_data/podman-gcl

# Render drift, provider.yaml schema, templates against GitLab's schema, examples; the import
# contracts of the three floors (.importlinter, generated); then lint.
check: $(STAMP)
	$(VENV)/bin/pipeyard check
	$(VENV)/bin/lint-imports --no-cache .importlinter
	$(VENV)/bin/ruff check sdk providers tests bench
	shellcheck $(SHELL_SCRIPTS)

IMAGE_TAG := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

# The whole suite on the host, then the build providers' own tests again inside their images.
test: setup
	$(VENV)/bin/pytest
	$(MAKE) test-in-images

test-in-images: setup
	$(VENV)/bin/pipeyard base bootstrap --release trixie
	$(VENV)/bin/pipeyard build maven npm
	PIPEYARD_TEST_IMAGE_MAVEN=localhost/pipeyard/maven:$(IMAGE_TAG) \
	PIPEYARD_TEST_IMAGE_NPM=localhost/pipeyard/npm:$(IMAGE_TAG) \
	  $(VENV)/bin/pytest providers/maven/tests providers/npm/tests

# Every toolchain variant (maven's JDK 8-25, npm's Node 20-26, the B2I bases for the same JDKs): the
# image checks on each, and a project of each one's language level; `make test` checks the default
# variants only. pipeyard's own pipeline builds and tests every variant in parallel jobs.
VARIANT_TESTS := tests/images tests/b2i/test_variants.py providers/maven/tests/test_maven_variants.py \
                 providers/npm/tests/test_npm_variants.py

test-variants: setup
	$(VENV)/bin/pipeyard base bootstrap --release trixie
	$(VENV)/bin/pipeyard build maven npm --all-variants
	PIPEYARD_TEST_VARIANTS=all $(VENV)/bin/pytest $(VARIANT_TESTS)

# Every example's pipelines (push, merge request, tag, schedule) in gitlab-ci-local inside the
# provider images; `make test` runs java-app's push pipeline only.
test-journeys: setup
	PIPEYARD_JOURNEYS=all $(VENV)/bin/pytest tests/journeys

# The supply chain end to end on real images (about 2 minutes once they are built): signed by pipeyard
# and checked by the real cosign (Debian unstable's, in a throwaway image built once), re-tagged and
# refused, carried by a bundle into a second registry and run from there by gitlab-ci-local.
test-supply: setup
	$(VENV)/bin/pipeyard base bootstrap --release trixie
	$(VENV)/bin/pipeyard build npm sendmail
	PIPEYARD_TEST_SUPPLY=1 $(VENV)/bin/pytest tests/supply/test_real_cosign.py

demo: setup
	$(VENV)/bin/pipeyard demo

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) tools/node_modules .pytest_cache .work
