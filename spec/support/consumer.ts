/**
 * The packed package, installed in a consumer project outside the repository by the jest
 * globalSetup (spec/support/globalSetup.ts): what a user gets from `npm install aws-lambda-persistence`.
 *
 * ```ts
 * const run = await runInConsumer('count.cjs', { AWS_ENDPOINT_URL_DYNAMODB: endpoint }, { source: "require('aws-lambda-persistence')" });
 * const cli = await runInConsumer('node_modules/.bin/aws-lambda-persistence', {}, { args: ['--help'] });
 * ```
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Where globalSetup leaves its result for the test files: a JSON {@link PackedPackage} or `{ error }`. */
export const PACKED_PACKAGE_ENV = 'TEST_PACKED_PACKAGE';

/** The package as packed and installed for this jest run. */
export interface PackedPackage {
  /** The consumer project: package.json, node_modules with the package and its peers. */
  readonly consumerDir: string;
  /** The tarball `npm pack` wrote (.tmp/packed/). */
  readonly tarball: string;
  /** The paths inside the tarball, as `npm pack --json` lists them (`dist/index.js`, ...). */
  readonly files: readonly string[];
  readonly timings: { readonly packMs: number; readonly consumerMs: number };
}

/** The outcome of a Node process run in the consumer project. */
export interface ConsumerRun {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit code; null when the process was killed (see `signal`). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunOptions {
  /** Written to `file` (relative to the consumer folder) before it runs. */
  readonly source?: string;
  /** Command-line arguments after the file. */
  readonly args?: readonly string[];
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

/** This run's packed package; throws the reason when globalSetup could not pack or install it. */
export function packedPackage(): PackedPackage {
  const raw = process.env[PACKED_PACKAGE_ENV];
  if (raw === undefined) {
    throw new Error(`${PACKED_PACKAGE_ENV} is not set: run jest with jest.config.js, whose globalSetup packs the package`);
  }
  const packed = JSON.parse(raw) as PackedPackage | { error: string };
  if ('error' in packed) throw new Error(`globalSetup could not pack and install the package:\n${packed.error}`);
  return packed;
}

/** The consumer project's folder (under os.tmpdir()), with the package installed in node_modules. */
export function consumerDir(): string {
  return packedPackage().consumerDir;
}

/**
 * Runs `file` (relative to the consumer folder; `.cjs`/`.mjs` or any script Node can run, such as
 * `node_modules/.bin/<bin>`) with this Node in a child process, cwd the consumer folder. The
 * environment is the test's (dummy AWS credentials and region, from setupEnv.ts) plus `env`;
 * NODE_OPTIONS and NODE_PATH are dropped so that nothing loads from the repository. Resolves
 * whatever the exit code: the caller checks `code`.
 */
export function runInConsumer(file: string, env: NodeJS.ProcessEnv = {}, options: RunOptions = {}): Promise<ConsumerRun> {
  const cwd = consumerDir();
  const script = path.resolve(cwd, file);
  if (options.source !== undefined) writeFileSync(script, options.source);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env };
  delete childEnv.NODE_OPTIONS;
  delete childEnv.NODE_PATH;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...(options.args ?? [])],
      { cwd, env: childEnv, timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
        const code = failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null;
        const signal = failure?.signal ?? null;
        // Neither an exit code nor a signal: the process did not start, or its output overflowed.
        resolve({ stdout, stderr: code === null && signal === null ? `${stderr}${failure?.message}` : stderr, code, signal });
      },
    );
  });
}
