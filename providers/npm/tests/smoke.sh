#!/bin/sh
# Smoke checks for the npm image, run inside it as its own user (tests/images mounts this
# folder read-only). The tools must work when a job script calls them directly.
set -eu

node --version | grep -q '^v20\.'
npm -v | grep -Eq '^[0-9]+\.[0-9]+'

# Node's TLS and crypto are there (Debian builds node against the system OpenSSL).
node -e 'const c = require("crypto"); require("https"); console.log(c.createHash("sha256").update("x").digest("hex"))' \
  | grep -qx '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'

# npm works offline on a package of its own: pack it, through the npm wrapper on PATH.
work=$(mktemp -d)
cd "$work"
printf '{"name": "smoke", "version": "1.0.0", "main": "index.js"}\n' > package.json
echo 'module.exports = 42;' > index.js
npm pack --cache "$work/.npm" --silent > /dev/null
test -s smoke-1.0.0.tgz
# That went through the wrapper's main path: npm-configure wrote .npmrc and its state first.
test -s "${PIPEYARD_STATE_DIR:-$HOME/.cache/pipeyard}/npm/current.sh"

cd /
rm -rf "$work"
echo "npm smoke: ok"
