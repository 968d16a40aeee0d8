#!/bin/sh
# Smoke checks for the npm image, run inside it as its own user (tests/images mounts this
# folder read-only, pipeyard's test jobs run it from the checkout). The tools must work when a
# job script calls them directly, on the variant's Node.
set -eu

node=${PIPEYARD_VARIANT#node}
node --version | grep -q "^v${node}\."
npm -v | grep -Eq '^[0-9]+\.[0-9]+'
pnpm --version | grep -q '^10\.'

# Node's TLS and crypto are there (Node's own build carries its OpenSSL).
node -e 'const c = require("crypto"); require("https"); console.log(c.createHash("sha256").update("x").digest("hex"))' \
  | grep -qx '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'
# The language level of the line: ES2023's array copies from 20 on, require() of ES modules from 22.
node -e 'console.log([3, 1, 2].toSorted().join(""))' | grep -qx 123
if [ "$node" -ge 22 ]; then
  work=$(mktemp -d)
  echo 'export const answer = 42;' > "$work/m.mjs"
  node -e "console.log(require('$work/m.mjs').answer)" 2>/dev/null | grep -qx 42
  rm -rf "$work"
fi

# Each package manager works offline on a package of its own, through the wrappers on PATH, and
# `yarn` is the one the project asks for.
work=$(mktemp -d)
cd "$work"
printf '{"name": "smoke", "version": "1.0.0", "main": "index.js"}\n' > package.json
echo 'module.exports = 42;' > index.js
npm pack --cache "$work/.npm" --silent > /dev/null
test -s smoke-1.0.0.tgz
# That went through the wrapper's main path: npm-configure wrote .npmrc and its state first.
test -s "${PIPEYARD_STATE_DIR:-$HOME/.cache/pipeyard}/npm/current.sh"
yarn --version | grep -q '^1\.22\.'
printf '{"name": "smoke", "version": "1.0.0", "packageManager": "yarn@4.0.0"}\n' > package.json
yarn --version | grep -q '^4\.'

cd /
rm -rf "$work"
echo "npm smoke: ok"
