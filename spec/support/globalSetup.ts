/**
 * Jest globalSetup: once per jest run, packs the package as npm would publish it and installs the
 * tarball into a consumer project outside the repository, so specs can load the library exactly as
 * a user's function does (spec/support/consumer.ts).
 *
 * - `npm pack` runs the `prepack` script (the build), so dist/ is rebuilt from src/; the tarball
 *   lands in .tmp/packed/.
 * - The consumer lives under os.tmpdir(): nothing in it can resolve from the repository's
 *   node_modules. It gets the tarball plus the peer dependencies at the repository's exact
 *   versions (@aws-sdk/client-dynamodb, @middy/core, class-transformer, reflect-metadata,
 *   @aws-lambda-powertools/logger),
 *   through `npm install`.
 * - The peer dependencies are installed once per pair of versions into a folder that later runs
 *   copy: of the ~17 s that packing and a full install took here, the install of the peers was ~5 s
 *   and a copy of them takes ~0.2 s. Each run then installs its own tarball into its own copy.
 *
 * The result reaches the test files through process.env (jest 30 starts its workers, and the
 * in-band test environment, after globalSetup, with a copy of its environment). A failure is
 * recorded there instead of thrown, so only the specs that need the package fail, with the reason.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PACKED_PACKAGE_ENV, type PackedPackage } from './consumer';

const ROOT = path.resolve(__dirname, '../..');
const PACK_DIR = path.join(ROOT, '.tmp/packed');
const CONSUMER_PREFIX = 'aws-lambda-persistence-consumer-';
/** The peer dependencies a consumer installs, at the versions in the repository's node_modules. */
// zod and valibot: what users validate stored values with (spec/package/schemas.spec.ts); the package depends on neither.
const PEERS = ['@aws-sdk/client-dynamodb', '@middy/core', 'class-transformer', 'reflect-metadata', '@aws-lambda-powertools/logger', 'zod', 'valibot'];
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--save-exact', '--loglevel=error'];

const run = promisify(execFile);

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  let packed: PackedPackage | { error: string };
  try {
    packed = await packAndInstall();
    console.log(
      `\nglobalSetup: packed ${path.relative(ROOT, packed.tarball)} in ${seconds(packed.timings.packMs)}, ` +
        `consumer ready in ${seconds(packed.timings.consumerMs)} (${packed.consumerDir}); total ${seconds(Date.now() - started)}`,
    );
  } catch (error) {
    // A failed npm's message holds the command and its stderr.
    packed = { error: (error as Error).message };
    console.error(`\nglobalSetup: packing or installing the package failed after ${seconds(Date.now() - started)}:\n${packed.error}`);
  }
  process.env[PACKED_PACKAGE_ENV] = JSON.stringify(packed);
}

async function packAndInstall(): Promise<PackedPackage> {
  const packStart = Date.now();
  mkdirSync(PACK_DIR, { recursive: true });
  // `--json` output follows whatever the prepack script printed to stdout.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', PACK_DIR], { cwd: ROOT, env: npmEnv(), maxBuffer: 16 << 20 });
  const [report] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as [{ filename: string; files: { path: string }[] }];
  const tarball = path.join(PACK_DIR, report.filename);
  const packMs = Date.now() - packStart;

  const consumerStart = Date.now();
  removeAbandonedConsumers();
  const consumerDir = mkdtempSync(path.join(os.tmpdir(), `${CONSUMER_PREFIX}${process.pid}-`));
  cpSync(await peersFolder(), consumerDir, { recursive: true, verbatimSymlinks: true });
  await run('npm', [...NPM_INSTALL, tarball], { cwd: consumerDir, env: npmEnv() });
  return {
    consumerDir,
    tarball,
    files: report.files.map((file) => file.path),
    timings: { packMs, consumerMs: Date.now() - consumerStart },
  };
}

/** A project holding only the peer dependencies, installed once per set of versions and kept. */
async function peersFolder(): Promise<string> {
  const specs = PEERS.map((name) => `${name}@${repositoryVersion(name)}`);
  const folder = path.join(os.tmpdir(), `aws-lambda-persistence-peers-${specs.join('-').replace(/[^\w.-]+/g, '_')}`);
  if (existsSync(folder)) return folder;
  // Built aside and renamed into place: an interrupted or concurrent install never leaves a
  // half-filled folder under the final name.
  const building = mkdtempSync(`${folder}.building-`);
  try {
    writeFileSync(
      path.join(building, 'package.json'),
      `${JSON.stringify({ name: 'aws-lambda-persistence-consumer', version: '0.0.0', private: true }, null, 2)}\n`,
    );
    await run('npm', [...NPM_INSTALL, ...specs], { cwd: building, env: npmEnv() });
    try {
      renameSync(building, folder);
    } catch (error) {
      if (!existsSync(folder)) throw error; // else a concurrent run was first: use its folder
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return folder;
}

function repositoryVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Consumer folders of earlier runs whose jest process is gone. */
function removeAbandonedConsumers(): void {
  for (const entry of readdirSync(os.tmpdir())) {
    const pid = Number(/^aws-lambda-persistence-consumer-(\d+)-/.exec(entry)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
    }
  }
}

/** npm's environment without the settings of an enclosing `npm test` (its cwd-relative prefix and the like). */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
  for (const name of Object.keys(env)) {
    if (/^npm_(config_(?!cache$|registry$|update_notifier$)|package_|lifecycle_)/i.test(name)) delete env[name];
  }
  return env;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
