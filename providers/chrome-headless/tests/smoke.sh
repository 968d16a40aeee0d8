#!/bin/sh
# Smoke checks for the chrome-headless image, run inside it as its own user (tests/images mounts
# this folder read-only). The tools must work when a job script calls them directly.
set -eu

chromium --version | grep -q '^Chromium '

# Latin and CJK fonts are installed: pages in either render without tofu.
fc-list | grep -qi 'Liberation'
fc-list ':lang=zh' | grep -q .

# A real headless capture with only the flags a job script would pass: the container defaults
# (no GPU, no first run, no updates) come from /etc/chromium.d/pipeyard-container. No sandbox:
# a non-root container without user namespaces has none.
work=$(mktemp -d)
chromium --headless --no-sandbox --user-data-dir="$work/profile" --window-size=320,240 \
  --screenshot="$work/shot.png" 'data:text/html,<h1>pipeyard 你好</h1>' > /dev/null 2>&1
head -c 8 "$work/shot.png" | od -An -tx1 | tr -d ' \n' | grep -qx '89504e470d0a1a0a'

# Playwright is importable and never downloaded a browser of its own.
/opt/pipeyard/bin/python3 -c 'import playwright.sync_api'
test ! -d "$HOME/.cache/ms-playwright"

rm -rf "$work"
echo "chrome-headless smoke: ok"
