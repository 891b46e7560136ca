/**
 * The package as users get it: packed by `npm pack` and installed with npm into a project outside
 * the repository (jest globalSetup, spec/support/globalSetup.ts). Plain JavaScript handlers load it
 * through `require` and through `import`, run in fresh Node processes (cold starts) against
 * dynalite, and the published entry points and types resolve.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { NODEJS_FUNCTION_BUNDLE } from '../support/bundling';
import { consumerDir, packedPackage, runInConsumer, type ConsumerRun } from '../support/consumer';
import { readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE_NAME = 'PackedPackage';
const PACKAGE = 'aws-lambda-persistence';

/** A counter handler in plain JavaScript: no decorator syntax, so `Persistent()` is called as a legacy decorator. */
const COUNTER_CLASS = `
class Counter extends PersistentHandler {
  count = 0;
  async handler() {
    this.count += 1;
    return { count: this.count };
  }
}
Persistent()(Counter.prototype, 'count');
`;

/** CommonJS, with its own client on the endpoint and every option passed to bind(). */
const COUNTER_CJS = `'use strict';
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { Persistent, PersistentHandler } = require('${PACKAGE}');
${COUNTER_CLASS}
const client = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
const handler = Counter.bind({ client, tableName: process.env.TABLE_NAME, tableKey: process.env.TABLE_KEY });
handler({}, { functionName: 'packed-cjs', getRemainingTimeInMillis: () => 30000 }).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
`;

/**
 * An ES module with the defaults: the library's own client (AWS_ENDPOINT_URL_DYNAMODB), the table
 * from PERSISTENCE_TABLE_NAME, the row named after the function in the context. It also checks that
 * `require` of the package in the same program, which loads the CommonJS build beside the ES module
 * one, is the same library: its errors are instances of this one's classes, and the reverse.
 */
const COUNTER_ESM = `import { createRequire } from 'node:module';
import { Persistent, PersistentHandler, PersistenceError } from '${PACKAGE}';
${COUNTER_CLASS}
export const handler = Counter.bind();
const result = await handler({}, { functionName: process.env.TABLE_KEY, getRemainingTimeInMillis: () => 30000 });
const required = createRequire(import.meta.url)('${PACKAGE}');
const oneLibrary = new required.ConfigurationError('o', 'm') instanceof PersistenceError && new PersistenceError('m') instanceof required.PersistenceError;
console.log(JSON.stringify({ ...result, sameCopy: oneLibrary }));
`;

/**
 * Both builds in one program, mixed as a program with dependencies might: a class decorated with
 * the ES module build's Persistent on the CommonJS build's PersistentHandler, an Expiring of one
 * stored by the other, one PersistentMap per row whichever build opens it.
 */
const MIXED_BUILDS = `import { createRequire } from 'node:module';
import * as esm from '${PACKAGE}';
const cjs = createRequire(import.meta.url)('${PACKAGE}');
class Mixed extends cjs.PersistentHandler {
  count = 0;
  token = new esm.Expiring();
  async handler() {
    this.count += 1;
    if (!this.token.fresh) this.token = new esm.Expiring('t' + this.count, '1h');
    return { count: this.count, token: this.token.value, expiring: this.token instanceof cjs.Expiring };
  }
}
esm.Persistent()(Mixed.prototype, 'count');
esm.Persistent()(Mixed.prototype, 'token');
const result = await Mixed.bind()({}, { functionName: process.env.TABLE_KEY, getRemainingTimeInMillis: () => 30000 });
const options = { tableKey: process.env.TABLE_KEY + '-map' };
const [fromEsm, fromCjs] = [await esm.PersistentMap.open(options), await cjs.PersistentMap.open(options)];
const error = await cjs.PersistentMap.open({ tableName: '' }).catch((e) => e);
console.log(JSON.stringify({ ...result, oneMap: fromEsm === fromCjs, errorIsEsm: error instanceof esm.ConfigurationError }));
`;

const EXPORTS_CJS = `'use strict';
const keys = (module) => Object.keys(module).filter((name) => name !== '__esModule').sort();
const manifest = require.resolve('${PACKAGE}/package.json');
console.log(JSON.stringify({
  manifest,
  version: require(manifest).version,
  main: { path: require.resolve('${PACKAGE}'), names: keys(require('${PACKAGE}')) },
  middy: { path: require.resolve('${PACKAGE}/middy'), names: keys(require('${PACKAGE}/middy')) },
}));
`;

const EXPORTS_ESM = `import { fileURLToPath } from 'node:url';
const keys = (module) => Object.keys(module).filter((name) => name !== 'default').sort();
const resolved = (specifier) => fileURLToPath(import.meta.resolve(specifier));
console.log(JSON.stringify({
  main: { path: resolved('${PACKAGE}'), names: keys(await import('${PACKAGE}')) },
  middy: { path: resolved('${PACKAGE}/middy'), names: keys(await import('${PACKAGE}/middy')) },
}));
`;

/** TypeScript consumers (node16 resolution, both module kinds) type-check against the published types. */
const TYPED_CONSUMER = `import { Persistent, PersistentHandler, PersistenceError, type BoundHandler } from '${PACKAGE}';
import * as middy from '${PACKAGE}/middy';

class Counter extends PersistentHandler<{ step: number }, { count: number }> {
  @Persistent() count = 0;
  async handler(event: { step: number }) {
    await this.update({ count: this.count + event.step });
    return { count: this.count };
  }
}
export const handler: BoundHandler<{ step: number }, { count: number }> = Counter.bind({ tableName: 'x' });
export const isError = (error: unknown): boolean => error instanceof PersistenceError;
export const middyEntry: object = middy;
`;

/** The last line of stdout as JSON; the whole run in the message when it failed. */
function resultOf(run: ConsumerRun): Record<string, unknown> {
  const last = run.stdout.trim().split('\n').pop() ?? '';
  if (run.code === 0 && last.startsWith('{')) return JSON.parse(last) as Record<string, unknown>;
  throw new Error(`exit code ${run.code}, signal ${run.signal}, no JSON result\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
}

function countEnv(tableKey: string): NodeJS.ProcessEnv {
  return { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, TABLE_NAME, TABLE_KEY: tableKey, PERSISTENCE_TABLE_NAME: TABLE_NAME };
}

async function storedCount(tableKey: string) {
  return (await readItem(recordingClient(dynamo.endpoint), TABLE_NAME, tableKey))?.value?.M?.count;
}

const installed = () => path.join(consumerDir(), 'node_modules', PACKAGE);

describe('packed package: a handler in a project that installed the tarball', () => {
  it('CommonJS (require), own client: counts across two processes', async () => {
    const tableKey = uniqueKey('packed-cjs');
    const first = resultOf(await runInConsumer('count.cjs', countEnv(tableKey), { source: COUNTER_CJS }));
    expect(first).toEqual({ count: 1 });
    const second = resultOf(await runInConsumer('count.cjs', countEnv(tableKey)));
    expect(second).toEqual({ count: 2 }); // a cold start read the first process's count
    expect(await storedCount(tableKey)).toEqual({ N: '2' });
  });

  it('ES module (import), default client and options from the environment: counts across two processes', async () => {
    const tableKey = uniqueKey('packed-esm');
    const first = resultOf(await runInConsumer('count.mjs', countEnv(tableKey), { source: COUNTER_ESM }));
    expect(first).toEqual({ count: 1, sameCopy: true });
    const second = resultOf(await runInConsumer('count.mjs', countEnv(tableKey)));
    expect(second).toEqual({ count: 2, sameCopy: true });
    expect(await storedCount(tableKey)).toEqual({ N: '2' });
  });
});

describe('packed package: both builds in one program', () => {
  it('is one library: decorators, values, maps and errors of either build work with the other', async () => {
    const tableKey = uniqueKey('packed-mixed');
    const first = resultOf(await runInConsumer('mixed.mjs', countEnv(tableKey), { source: MIXED_BUILDS }));
    expect(first).toEqual({ count: 1, token: 't1', expiring: true, oneMap: true, errorIsEsm: true });
    const second = resultOf(await runInConsumer('mixed.mjs', countEnv(tableKey)));
    expect(second).toEqual({ count: 2, token: 't1', expiring: true, oneMap: true, errorIsEsm: true });
  });
});

describe('packed package: entry points and contents', () => {
  it('resolves the package, its package.json and ./middy for require, from the consumer', async () => {
    const cjs = resultOf(await runInConsumer('exports.cjs', {}, { source: EXPORTS_CJS }));
    const version = (JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
    expect(cjs).toMatchObject({ manifest: path.join(installed(), 'package.json'), version });
    expect(cjs.main).toMatchObject({ path: path.join(installed(), 'dist/index.js') });
    expect((cjs.main as { names: string[] }).names).toEqual(expect.arrayContaining(['Persistent', 'PersistentHandler', 'PersistenceError', 'policyFor']));
    expect(cjs.middy).toMatchObject({ path: path.join(installed(), 'dist/middy.js') });
  });

  it('resolves the package and ./middy for import, with the same names as require', async () => {
    const esm = resultOf(await runInConsumer('exports.mjs', {}, { source: EXPORTS_ESM }));
    const cjs = resultOf(await runInConsumer('exports.cjs', {}, { source: EXPORTS_CJS }));
    expect(esm.main).toEqual({ path: path.join(installed(), 'dist/index.mjs'), names: (cjs.main as { names: string[] }).names });
    expect(esm.middy).toEqual({ path: path.join(installed(), 'dist/middy.mjs'), names: (cjs.middy as { names: string[] }).names });
  });

  it('ships every file that package.json points at, types included', () => {
    const manifest = JSON.parse(readFileSync(path.join(installed(), 'package.json'), 'utf8')) as {
      main: string;
      module: string;
      types: string;
      exports: Record<string, string | Record<string, string>>;
      bin: Record<string, string>;
    };
    const targets = [
      manifest.main,
      manifest.module,
      manifest.types,
      ...Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target))),
      ...Object.values(manifest.bin),
    ].map((target) => path.posix.normalize(target));
    expect(targets).toEqual(expect.arrayContaining(['dist/index.d.ts', 'dist/middy/index.d.ts']));
    const shipped = new Set(packedPackage().files);
    expect(targets.filter((target) => !shipped.has(target))).toEqual([]);
    expect(targets.filter((target) => !existsSync(path.join(installed(), target)))).toEqual([]);
  });

  it('the tarball holds only the build, the docs pages and the package files: no src/, spec/, bench/', () => {
    const files = packedPackage().files;
    expect(files.filter((file) => /^(src|spec|bench)\//.test(file))).toEqual([]);
    // docs/ ships its Markdown pages only: not the TypeDoc site `npm run docs` writes to docs/api/.
    const allowed = /^(dist\/.+|docs\/[^/]+\.md|README\.md|CHANGELOG\.md|LICENSE|package\.json)$/;
    expect(files.filter((file) => !allowed.test(file))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'README.md']));
  });

  it('type-checks TypeScript consumers (node16 resolution, CommonJS and ES module) against the published types', () => {
    const files = ['typed-consumer.cts', 'typed-consumer.mts'].map((name) => path.join(consumerDir(), name));
    const host = ts.createCompilerHost({});
    const readFile = host.readFile.bind(host);
    host.readFile = (file) => (files.includes(file) ? TYPED_CONSUMER : readFile(file));
    host.fileExists = ((fileExists) => (file: string) => files.includes(file) || fileExists(file))(host.fileExists.bind(host));
    const program = ts.createProgram({
      rootNames: files,
      options: {
        module: ts.ModuleKind.Node16,
        moduleResolution: ts.ModuleResolutionKind.Node16,
        target: ts.ScriptTarget.ES2022,
        strict: true,
        noEmit: true,
        types: [],
        // The consumer has no @types/node; the package's own declarations are checked by the build.
        skipLibCheck: true,
      },
      host,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    expect(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: consumerDir, getNewLine: () => '\n' })).toBe('');
    // Resolved to the installed package, not to the repository.
    const library = program.getSourceFiles().map((file) => file.fileName).filter((name) => name.includes(`/${PACKAGE}/`));
    expect(library).toEqual(expect.arrayContaining([path.join(installed(), 'dist/index.d.ts'), path.join(installed(), 'dist/middy/index.d.ts')]));
  });
});

/** middy 6 (ES module only) with the middleware from the `./middy` subpath, as a middy user writes it. */
const MIDDY_ESM = `import middy from '@middy/core';
import { persistence } from '${PACKAGE}/middy';
import { PersistenceError } from '${PACKAGE}';
const defaults = { count: 0, seen: [] };
export const handler = middy(async (event, context) => {
  context.state.count += 1;
  context.state.seen.push(event.id);
  if (event.fail) throw new Error('handler failed');
  return { count: context.state.count, seen: [...context.state.seen] };
}).use(persistence(defaults, { tableName: process.env.TABLE_NAME, tableKey: process.env.TABLE_KEY }));
const context = () => ({ functionName: 'packed-middy', getRemainingTimeInMillis: () => 30000 });
const first = await handler({ id: 'a' }, context());
const failed = await handler({ id: 'b', fail: true }, context()).then(() => 'resolved', (error) => error.message);
console.log(JSON.stringify({ first, failed, isLibraryError: failed instanceof PersistenceError }));
`;

/** withPersistence and PersistentMap with an Expiring value, from CommonJS. */
const FUNCTIONAL_CJS = `'use strict';
const { withPersistence, PersistentMap, Expiring } = require('${PACKAGE}');
const options = { tableName: process.env.TABLE_NAME, tableKey: process.env.TABLE_KEY };
const handler = withPersistence({ runs: 0, token: new Expiring() }, async (event, context, state) => {
  state.runs += 1;
  const token = await state.token.getOrCompute('1h', () => 'token-of-run-' + state.runs);
  return { runs: state.runs, token };
}, options);
(async () => {
  const result = await handler({}, { functionName: 'packed-functional', getRemainingTimeInMillis: () => 30000 });
  const map = await PersistentMap.open(options);
  await map.set('fromMap', process.pid);
  console.log(JSON.stringify({ ...result, keys: [...map.keys()].sort() }));
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

describe('packed package: the other styles', () => {
  it('middy 6 with the ./middy middleware: state on context.state, saved after success, undone after a throw (or saved, with onFailure: save)', async () => {
    const tableKey = uniqueKey('packed-middy');
    const env = countEnv(tableKey);
    const first = resultOf(await runInConsumer('middy.mjs', env, { source: MIDDY_ESM }));
    expect(first).toEqual({ first: { count: 1, seen: ['a'] }, failed: 'handler failed', isLibraryError: false });
    const stored = (await readItem(recordingClient(dynamo.endpoint), TABLE_NAME, tableKey))?.value?.M;
    expect(stored).toEqual({ count: { N: '1' }, seen: { L: [{ S: 'a' }] } });
    const second = resultOf(await runInConsumer('middy.mjs', { ...env, PERSISTENCE_ON_FAILURE: 'save' }));
    expect(second.first).toEqual({ count: 2, seen: ['a', 'a'] });
    const saved = (await readItem(recordingClient(dynamo.endpoint), TABLE_NAME, tableKey))?.value?.M;
    expect(saved).toEqual({ count: { N: '3' }, seen: { L: [{ S: 'a' }, { S: 'a' }, { S: 'b' }] } });
  });

  it('withPersistence with an Expiring value and PersistentMap on the same row, across two processes', async () => {
    const tableKey = uniqueKey('packed-functional');
    const env = countEnv(tableKey);
    const first = resultOf(await runInConsumer('functional.cjs', env, { source: FUNCTIONAL_CJS }));
    // The map, opened after the handler's write, sees the handler's keys beside its own.
    expect(first).toEqual({ runs: 1, token: 'token-of-run-1', keys: ['fromMap', 'runs', 'token'] });
    const second = resultOf(await runInConsumer('functional.cjs', env));
    // The token is still fresh after the cold start: its expiry was stored beside it.
    expect(second).toEqual({ runs: 2, token: 'token-of-run-1', keys: ['fromMap', 'runs', 'token'] });
  });
});

/**
 * A handler keeping an instance of its own class, bundled by esbuild from the installed package as
 * CDK's NodejsFunction does: the side-effect import of ./class-transformer must survive the
 * bundler's tree shaking (package.json `sideEffects`).
 */
const CLASSES_ESM = `import 'aws-lambda-persistence/class-transformer';
import { Persistent, PersistentHandler } from '${PACKAGE}';
class Visit {
  at = new Date(0);
  page = '';
  describe() {
    return this.page + ' at ' + this.at.toISOString();
  }
}
class Visits extends PersistentHandler {
  last = undefined;
  async handler(event) {
    const previous = this.last;
    const visit = new Visit();
    visit.at = new Date(event.at);
    visit.page = event.page;
    this.last = visit;
    return { previous: previous === undefined ? null : { isVisit: previous instanceof Visit, text: previous.describe() } };
  }
}
Persistent({ type: () => Visit })(Visits.prototype, 'last');
const handler = Visits.bind({ tableName: process.env.TABLE_NAME, tableKey: process.env.TABLE_KEY });
const event = JSON.parse(process.env.EVENT);
handler(event, { functionName: 'packed-classes', getRemainingTimeInMillis: () => 30000 }).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => { console.error(error); process.exitCode = 1; },
);
`;

/** Bundles `source` (written to the consumer folder as `name`) the way CDK's NodejsFunction does; returns the bundle's name. */
async function bundleInConsumer(name: string, source: string): Promise<string> {
  const esbuild = await import('esbuild');
  const entry = path.join(consumerDir(), name);
  writeFileSync(entry, source);
  const outName = name.replace(/\.\w+$/, '.bundle.cjs');
  await esbuild.build({
    absWorkingDir: consumerDir(),
    entryPoints: [entry],
    outfile: path.join(consumerDir(), outName),
    ...NODEJS_FUNCTION_BUNDLE,
  });
  return outName;
}

describe('packed package: class instances through ./class-transformer', () => {
  it('an esbuild bundle importing it restores the instance in the next cold start', async () => {
    const tableKey = uniqueKey('packed-classes');
    const bundle = await bundleInConsumer('classes.mjs', CLASSES_ESM);
    const first = resultOf(await runInConsumer(bundle, { ...countEnv(tableKey), EVENT: '{"at":1000,"page":"/a"}' }));
    expect(first).toEqual({ previous: null });
    const second = resultOf(await runInConsumer(bundle, { ...countEnv(tableKey), EVENT: '{"at":2000,"page":"/b"}' }));
    expect(second).toEqual({ previous: { isVisit: true, text: '/a at 1970-01-01T00:00:01.000Z' } });
  });

  it('a bundle that does not import it carries no class-transformer code', async () => {
    const bundle = await bundleInConsumer('plain.cjs', COUNTER_CJS);
    const code = readFileSync(path.join(consumerDir(), bundle), 'utf8');
    expect(code).toContain('aws-lambda-persistence.classCodec'); // the library is in the bundle...
    // ...class-transformer is not (its internals; the library names its functions in messages).
    expect(/TransformOperationExecutor|MetadataStorage/.test(code)).toBe(false);
    const withIt = readFileSync(path.join(consumerDir(), await bundleInConsumer('classes-check.mjs', CLASSES_ESM)), 'utf8');
    expect(/TransformOperationExecutor|MetadataStorage/.test(withIt)).toBe(true);
  });
});

/** An ES module handler that uses only PersistentHandler: a bundler reads the package's `module` build. */
const HANDLER_ONLY_ESM = `import { Persistent, PersistentHandler } from '${PACKAGE}';
${COUNTER_CLASS}
const handler = Counter.bind();
handler({}, { functionName: process.env.TABLE_KEY, getRemainingTimeInMillis: () => 30000 }).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
`;
/** Messages only the other styles carry: PersistentMap's and persistentState's. */
const OTHER_STYLES = [/PersistentMap keys are non-empty strings/, /was called outside an invocation: call begin\(context\) first/];

describe('packed package: a bundler leaves out what a handler does not use', () => {
  it('a handler that uses only PersistentHandler carries neither PersistentMap nor persistentState, and counts', async () => {
    const tableKey = uniqueKey('packed-shaken');
    const bundle = await bundleInConsumer('handler-only.mjs', HANDLER_ONLY_ESM);
    const code = readFileSync(path.join(consumerDir(), bundle), 'utf8');
    expect(OTHER_STYLES.filter((marker) => marker.test(code))).toEqual([]);
    expect(resultOf(await runInConsumer(bundle, countEnv(tableKey)))).toEqual({ count: 1 });
    const withStyles = `${HANDLER_ONLY_ESM}import { PersistentMap, withPersistence } from '${PACKAGE}';\nconsole.log(typeof PersistentMap, typeof withPersistence);\n`;
    const other = readFileSync(path.join(consumerDir(), await bundleInConsumer('handler-and-map.mjs', withStyles)), 'utf8');
    expect(OTHER_STYLES.filter((marker) => marker.test(other))).toEqual(OTHER_STYLES);
  });
});

/**
 * Powertools Logger's class method decorator on `handler`, applied as TypeScript's legacy decorators
 * compile it (plain JavaScript here), with the packed library.
 */
const POWERTOOLS_CJS = `'use strict';
const { Logger } = require('@aws-lambda-powertools/logger');
const { Persistent, PersistentHandler } = require('${PACKAGE}');
const logger = new Logger({ serviceName: 'packed' });
class Counter extends PersistentHandler {
  count = 0;
  async handler(event, context) {
    this.count += 1;
    logger.info('counted', { count: this.count });
    return { count: this.count };
  }
}
Persistent()(Counter.prototype, 'count');
const descriptor = Object.getOwnPropertyDescriptor(Counter.prototype, 'handler');
Object.defineProperty(Counter.prototype, 'handler', logger.injectLambdaContext()(Counter.prototype, 'handler', descriptor) ?? descriptor);
const handler = Counter.bind({ tableName: process.env.TABLE_NAME, tableKey: process.env.TABLE_KEY });
const context = {
  functionName: 'packed-powertools', functionVersion: '$LATEST', memoryLimitInMB: '128', awsRequestId: process.env.REQUEST_ID,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:packed-powertools',
  getRemainingTimeInMillis: () => 30000,
};
handler({}, context).then((result) => console.log(JSON.stringify(result)), (error) => { console.error(error); process.exitCode = 1; });
`;

describe('packed package: Powertools and the command line', () => {
  it('a handler with Powertools Logger injectLambdaContext on handler counts across two processes and logs with context', async () => {
    const tableKey = uniqueKey('packed-powertools');
    const env = { ...countEnv(tableKey), POWERTOOLS_LOG_LEVEL: 'INFO' };
    const first = await runInConsumer('powertools.cjs', { ...env, REQUEST_ID: 'req-1' }, { source: POWERTOOLS_CJS });
    expect(resultOf(first)).toEqual({ count: 1 });
    const log = JSON.parse(first.stdout.trim().split('\n').find((line) => line.includes('"counted"')) ?? '{}') as Record<string, unknown>;
    expect(log).toMatchObject({ message: 'counted', count: 1, function_name: 'packed-powertools', function_request_id: 'req-1' });
    expect(resultOf(await runInConsumer('powertools.cjs', { ...env, REQUEST_ID: 'req-2' }))).toEqual({ count: 2 });
    // The same request again (Lambda's retry of the event): its assignment takes no effect.
    expect(resultOf(await runInConsumer('powertools.cjs', { ...env, REQUEST_ID: 'req-2' }))).toEqual({ count: 2 });
    expect(await storedCount(tableKey)).toEqual({ N: '2' });
  });

  it('npx aws-lambda-persistence policy and inspect, from the installed bin', async () => {
    const bin = 'node_modules/.bin/aws-lambda-persistence';
    const policy = await runInConsumer(bin, {}, { args: ['policy', '--function', 'my-function', '--no-create'] });
    expect(policy.code).toBe(0);
    const document = JSON.parse(policy.stdout) as { Statement: { Action: string[]; Condition?: unknown }[] };
    expect(document.Statement).toHaveLength(1);
    expect(JSON.stringify(document.Statement[0]!.Condition)).toContain('my-function#part#*');

    const tableKey = uniqueKey('packed-inspect');
    resultOf(await runInConsumer('count.cjs', countEnv(tableKey), { source: COUNTER_CJS }));
    const inspect = await runInConsumer(bin, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint }, {
      args: ['inspect', '--function', tableKey, '--table', TABLE_NAME, '--endpoint', dynamo.endpoint],
    });
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ key: tableKey, format: 1, fields: { count: 1 } });

    const wrong = await runInConsumer(bin, {}, { args: ['inspect'] });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/--function/);
  });
});

/** What a user sees printed: errors and values of the package, in an unminified esbuild bundle. */
const NAMES_CJS = `'use strict';
const util = require('node:util');
const { ConfigurationError, Expiring, PersistentMap, PersistentHandler, WriteConflictError } = require('${PACKAGE}');
const error = new ConfigurationError('tableName', 'bad table');
console.log(JSON.stringify({
  inspected: util.inspect(error).split('\\n')[0],
  stack: String(error.stack).split('\\n')[0],
  expiring: util.inspect(new Expiring()),
  names: [ConfigurationError, WriteConflictError, Expiring, PersistentMap, PersistentHandler].map((type) => type.name),
}));
`;

describe('packed package: the names users see', () => {
  it.each([
    ['an unminified', false],
    ['a minified', true],
  ])('errors and values print with their documented names in %s esbuild bundle', async (_label, minify) => {
    const esbuild = await import('esbuild');
    const entry = path.join(consumerDir(), 'names.cjs');
    writeFileSync(entry, NAMES_CJS);
    const outName = `names-${minify ? 'min' : 'plain'}.bundle.cjs`;
    await esbuild.build({ absWorkingDir: consumerDir(), entryPoints: [entry], outfile: path.join(consumerDir(), outName), ...NODEJS_FUNCTION_BUNDLE, minify });
    const printed = resultOf(await runInConsumer(outName));
    expect(printed).toEqual({
      inspected: 'ConfigurationError: bad table',
      stack: 'ConfigurationError: bad table',
      expiring: expect.stringMatching(/^Expiring \{/),
      names: ['ConfigurationError', 'WriteConflictError', 'Expiring', 'PersistentMap', 'PersistentHandler'],
    });
  });
});

/** One invocation of a handler that stores whatever the event names, printing the error it ends with. */
const NEWCOMER_CJS = `'use strict';
const { Persistent, PersistentHandler } = require('${PACKAGE}');
class Session { constructor() { this.user = 'ann'; } }
class Keeper extends PersistentHandler {
  value = null;
  async handler(event) {
    if (event.store === 'session') this.value = new Session();
    return this.value === null ? null : 'stored';
  }
}
Persistent()(Keeper.prototype, 'value');
let handler;
try {
  handler = Keeper.bind({ tableName: process.env.TABLE_NAME, tableKey: process.env.TABLE_KEY });
} catch (error) {
  console.log(JSON.stringify({ at: 'bind', name: error.name, message: error.message }));
  process.exit(0);
}
handler(JSON.parse(process.env.EVENT), { functionName: 'newcomer', getRemainingTimeInMillis: () => 30000 }).then(
  (result) => console.log(JSON.stringify({ result })),
  (error) => console.log(JSON.stringify({ at: 'invoke', name: error.name, message: error.message })),
);
`;

describe('packed package: what a newcomer trips over says what to do', () => {
  it('an instance of a class of your own in a field without type: the type option and the class-transformer import at once', async () => {
    const run = resultOf(await runInConsumer('newcomer.cjs', { ...countEnv(uniqueKey('newcomer')), EVENT: '{"store":"session"}' }, { source: NEWCOMER_CJS }));
    expect(run).toMatchObject({ at: 'invoke', name: 'SerializationError' });
    expect(run.message).toContain('@Persistent({ type: () => Session })');
    expect(run.message).toContain("import 'aws-lambda-persistence/class-transformer'");
  });

  it('PERSISTENCE_REFRESH that is not a policy: the error says a number of milliseconds is accepted', async () => {
    const run = resultOf(
      await runInConsumer('newcomer.cjs', { ...countEnv(uniqueKey('newcomer')), EVENT: '{}', PERSISTENCE_REFRESH: 'often' }, { source: NEWCOMER_CJS }),
    );
    expect(run).toMatchObject({ at: 'bind', name: 'ConfigurationError' });
    expect(run.message).toContain('whole number of milliseconds');
  });

  it('an endpoint that never answers: fails soon, naming the endpoint and AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const env = {
        ...countEnv(uniqueKey('newcomer')),
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        EVENT: '{}',
        PERSISTENCE_REQUEST_TIMEOUT_MS: '200',
        PERSISTENCE_MAX_ATTEMPTS: '2',
      };
      const run = resultOf(await runInConsumer('newcomer.cjs', env, { source: NEWCOMER_CJS }));
      expect(run).toMatchObject({ at: 'invoke', name: 'PersistenceReadError' });
      expect(run.message).toContain(`no answer from ${endpoint} (from AWS_ENDPOINT_URL_DYNAMODB)`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
