#!/bin/sh
# Smoke checks for the sonar image, run inside it as its own user (tests/images mounts this
# folder read-only). The tools must work when a job script calls them directly.
set -eu

java -version 2>&1 | grep -q 'version "21'
sonar-scan --help > /dev/null

# The scanner sonar-scan runs by default (SONAR_SCANNER=pysonar) is on PATH and starts.
pysonar --help > /dev/null

echo "sonar smoke: ok"
