'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const { welcome } = require('../src/index.js');

test('welcomes by name', () => {
  assert.equal(welcome('Ada'), 'Hello, Ada, welcome aboard!');
});

test('welcomes the world when the name is blank', () => {
  assert.equal(welcome('  '), 'Hello, world, welcome aboard!');
});
