#!/bin/sh
# Smoke checks for the b2i-builder image, run inside it as its own user. The tools must work when a job
# script calls them directly; a job with nothing configured fails with one line naming what to set.
set -eu

b2i-build --help > /dev/null
b2i-build --version | grep -q 'b2i-build'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if B2I_APP_REGISTRY='' B2I_BASE_IMAGE='' CI_PROJECT_NAME=orders b2i-build > out.log 2> err.log; then
  echo "b2i-build succeeded with nothing to build" >&2
  exit 1
fi
grep -q '^error: ' err.log
if grep -q Traceback err.log; then cat err.log >&2; exit 1; fi
grep -q "B2I_JAR='target/\*.jar' matches no jar" err.log
echo "b2i smoke: ok"
