#!/bin/sh
# Smoke checks for the chrome-headless image, run inside it as its own user (tests/images mounts
# this folder read-only). The tools must work when a job script calls them directly.
set -eu

chromium-headless-shell --version | grep -q '^Chromium '

# Latin and CJK fonts are installed: pages in either render without tofu.
fc-list | grep -qi 'Liberation'
fc-list ':lang=zh' | grep -q .

work=$(mktemp -d)
png_magic() { head -c 8 "$1" | od -An -tx1 | tr -d ' \n' | grep -qx '89504e470d0a1a0a'; }

# A bare headless capture, the way a job script would call the browser itself. No sandbox:
# a non-root container without user namespaces has none.
chromium-headless-shell --no-sandbox --disable-gpu --user-data-dir="$work/profile" --window-size=320,240 \
  --screenshot="$work/shot.png" 'data:text/html,<h1>pipeyard 你好</h1>' > /dev/null 2>&1
png_magic "$work/shot.png"

# The build warmed Node's compile cache for this user (Node keeps one directory per uid), so
# Playwright's driver starts without compiling; then the same capture through Playwright.
set -- "$NODE_COMPILE_CACHE"/*-"$(id -u)"/*
test -s "$1"
printf '<!doctype html><meta charset="utf-8"><h1>pipeyard 你好</h1>' > "$work/page.html"
screenshot "$work/page.html" -o "$work/page.png" --width 320 --height 240
png_magic "$work/page.png"

# Playwright never downloaded a browser of its own.
test ! -d "$HOME/.cache/ms-playwright"

rm -rf "$work"
echo "chrome-headless smoke: ok"
