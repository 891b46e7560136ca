// `npm run test:node -- <major>`: the test suite on another Node.js major (22, 24), with the binary
// scripts/with-node.mjs installs from npm into the temp folder (not a dependency of `npm ci`).
// Type-check and lint do not depend on the Node version and run in `npm test`; this runs jest
// itself. Extra arguments go to jest.
import { runWithNode } from './with-node.mjs';

const [major, ...jestArgs] = process.argv.slice(2);
if (!/^\d+$/.test(major ?? '')) {
  console.error('usage: npm run test:node -- <major version, e.g. 22 or 24> [jest arguments]');
  process.exit(2);
}
process.exitCode = runWithNode(major, ['node_modules/jest/bin/jest.js', ...jestArgs], 'test:node: jest');
