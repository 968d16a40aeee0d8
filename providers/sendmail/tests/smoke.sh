#!/bin/sh
# Smoke checks for the sendmail image, run inside it as its own user (tests/images mounts this
# folder read-only). The tools must work when a job script calls them directly.
set -eu

send-mail --help > /dev/null

# pipeyard's Python sees both Debian's libraries and the extras' pinned packages.
/opt/pipeyard/bin/python3 - <<'PY'
import gitlab, jinja2, premailer, requests, rich, yagmail  # noqa: F401
print("imports ok")
PY

echo "sendmail smoke: ok"
