import { build } from 'esbuild';
import { unzipSync } from 'fflate';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { consumerDir } from '../support/consumer';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const run = promisify(execFile);
const REPOSITORY = join(__dirname, '../..');

/** The CLI of the package as installed from the tarball (with its dependencies and reflect-metadata). */
let cli: string;
let work: string;
let entries: Record<string, Uint8Array>;
beforeAll(async () => {
  cli = join(consumerDir(), 'node_modules/aws-lambda-persistence/dist/cli.js');
  // Outside the repository: nothing below it can resolve from the repository's node_modules.
  work = realpathSync(mkdtempSync(join(tmpdir(), 'alp-layer-')));
  const { stdout } = await run(process.execPath, [cli, 'layer', '--out', join(work, 'layer.zip')], { cwd: work });
  expect(stdout).toContain(`Wrote ${join(work, 'layer.zip')}`);
  entries = unzipSync(readFileSync(join(work, 'layer.zip')));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const packagesIn = (paths: string[]) => [...new Set(paths.map((path) => /^nodejs\/node_modules\/((@[^/]+\/)?[^/]+)\//.exec(path)?.[1]))].sort();

describe('CLI: layer', () => {
  it('holds the package and its runtime dependencies under nodejs/node_modules, without the AWS SDK or dev tools', () => {
    const paths = Object.keys(entries);
    expect(paths.every((path) => path.startsWith('nodejs/node_modules/'))).toBe(true);
    expect(packagesIn(paths)).toEqual(['aws-lambda-persistence', 'class-transformer', 'reflect-metadata']);
    expect(paths.filter((path) => /@aws-sdk|dynalite|fflate|esbuild/.test(path))).toEqual([]);
    for (const file of ['package.json', 'dist/index.js', 'dist/index.mjs', 'dist/middy.js']) {
      expect(paths).toContain(`nodejs/node_modules/aws-lambda-persistence/${file}`);
    }
    // What a function never loads: source maps, declarations, docs, the command line itself.
    expect(paths.filter((path) => /\.(map|d\.ts|md)$/.test(path) || /aws-lambda-persistence\/dist\/cli\./.test(path))).toEqual([]);
    // Only what the package publishes, not the checkout around it.
    expect(paths.filter((path) => /aws-lambda-persistence\/(src|spec|node_modules)\//.test(path))).toEqual([]);
  });

  it('runs a bundled handler that resolves the package from the layer, as Lambda does with /opt/nodejs/node_modules', async () => {
    const opt = join(work, 'opt');
    for (const [path, bytes] of Object.entries(entries)) {
      mkdirSync(dirname(join(opt, path)), { recursive: true });
      writeFileSync(join(opt, path), bytes);
    }
    // The function's own code, bundled as a CDK or SAM build would with the layer: the package external.
    const task = join(work, 'task');
    await build({
      entryPoints: [join(REPOSITORY, 'examples/counter.ts')],
      outfile: join(task, 'index.js'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['@aws-sdk/*', 'aws-lambda-persistence'],
      logLevel: 'warning',
    });
    writeFileSync(
      join(task, 'invoke.js'),
      `const { handler } = require('./index.js');
const context = { functionName: 'layer-counter', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:layer-counter', getRemainingTimeInMillis: () => 10000 };
(async () => {
  const first = await handler({ name: 'a' }, context);
  const second = await handler({ name: 'b' }, context);
  console.log(JSON.stringify({
    results: [first, second],
    library: require.resolve('aws-lambda-persistence'),
    classTransformer: require.resolve('class-transformer'),
    sdk: require.resolve('@aws-sdk/client-dynamodb'),
  }));
})().catch((error) => { console.error(error); process.exit(1); });
`,
    );
    const layerModules = join(opt, 'nodejs/node_modules');
    // Lambda's order: layers first, then the runtime's own modules (here the repository's SDK).
    const runtimeModules = join(REPOSITORY, 'node_modules');
    const { stdout } = await run(process.execPath, [join(task, 'invoke.js')], {
      cwd: task,
      env: {
        ...process.env,
        NODE_PATH: [layerModules, runtimeModules].join(':'),
        NODE_OPTIONS: '',
        AWS_LAMBDA_FUNCTION_NAME: 'layer-counter',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      },
    });
    const report = JSON.parse(stdout) as { results: { count: number; names: string[] }[]; library: string; classTransformer: string; sdk: string };
    expect(report.results.map((result) => result.count)).toEqual([1, 2]);
    expect(report.results[1]!.names).toEqual(['a', 'b']);
    expect(report.library).toBe(join(layerModules, 'aws-lambda-persistence/dist/index.js'));
    expect(report.classTransformer.startsWith(join(layerModules, 'class-transformer/'))).toBe(true);
    expect(report.sdk.startsWith(runtimeModules)).toBe(true);
  });

  it('names --out when it is a directory or in a missing folder, before building anything', async () => {
    for (const out of [work, join(work, 'missing-folder/layer.zip')]) {
      const result = await run(process.execPath, [cli, 'layer', '--out', out], { cwd: work }).catch((error: { code: number; stdout: string; stderr: string }) => error);
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^aws-lambda-persistence: --out ".*" (is a directory|is in .*, which does not exist): pass the path of the zip/);
    }
  });

  it('gives the same bytes for the same package, so deployments see no change', async () => {
    const again = join(work, 'again.zip');
    await run(process.execPath, [cli, 'layer', '--out', again], { cwd: work });
    expect(Buffer.compare(readFileSync(again), readFileSync(join(work, 'layer.zip')))).toBe(0);
  });
});
