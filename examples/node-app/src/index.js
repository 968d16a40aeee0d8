'use strict';

const { greet } = require('@corp/greeting');

// The service's one feature: a welcome line built on the company's shared greeting package.
function welcome(name) {
  return `${greet(name)}, welcome aboard!`;
}

module.exports = { welcome };

if (require.main === module) {
  console.log(welcome(process.argv[2]));
}
