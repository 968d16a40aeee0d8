'use strict';

// The "build": copy the sources to dist/, the folder the package publishes and the
// build job keeps as an artifact. Real projects run a bundler or tsc here.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });
for (const name of fs.readdirSync(src)) {
  fs.copyFileSync(path.join(src, name), path.join(dist, name));
}
console.log(`built ${fs.readdirSync(dist).length} file(s) into dist/`);
