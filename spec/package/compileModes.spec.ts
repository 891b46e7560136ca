/**
 * The same handler source (spec/fixtures/compile-modes/handler.ts) must work however the user
 * compiles it: tsc with legacy or standard decorators, with or without `emitDecoratorMetadata`,
 * `useDefineForClassFields` on or off, and an esbuild bundle (what CDK NodejsFunction, SAM and
 * serverless-esbuild produce). Each compiled output runs in fresh Node processes, so every
 * invocation is a true cold start: process 1 writes every field, process 2 reads them back.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as ts from 'typescript';
import { readItem, recordingClient, startDynalite, uniqueKey, type LocalDynamo } from '../support/dynalite';
import { NODEJS_FUNCTION_BUNDLE } from '../support/bundling';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'spec/fixtures/compile-modes');
const OUT = path.join(ROOT, '.tmp/compile-modes');
const RUNNER = path.join(FIXTURES, 'run.js');
const ENTRIES = ['handler', 'misuseStatic', 'misuseMethod'] as const;
type Entry = (typeof ENTRIES)[number];
const TABLE_NAME = 'CompileModes';

interface TscMode {
  readonly id: string;
  readonly title: string;
  readonly compiler: 'tsc';
  readonly options: ts.CompilerOptions;
  readonly standardDecorators: boolean;
}
interface EsbuildMode {
  readonly id: string;
  readonly title: string;
  readonly compiler: 'esbuild';
  readonly standardDecorators: true;
}
type Mode = TscMode | EsbuildMode;

const MODES: readonly Mode[] = [
  {
    id: 'tsc-legacy-metadata-es2022',
    title: 'tsc, legacy decorators + emitDecoratorMetadata, ES2022 (define semantics)',
    compiler: 'tsc',
    options: { experimentalDecorators: true, emitDecoratorMetadata: true, target: ts.ScriptTarget.ES2022 },
    standardDecorators: false,
  },
  {
    id: 'tsc-legacy-es2020-assign',
    title: 'tsc, legacy decorators without metadata, ES2020, useDefineForClassFields false',
    compiler: 'tsc',
    options: { experimentalDecorators: true, target: ts.ScriptTarget.ES2020, useDefineForClassFields: false },
    standardDecorators: false,
  },
  {
    id: 'tsc-standard-es2022-assign',
    title: 'tsc, standard decorators, ES2022, useDefineForClassFields false',
    compiler: 'tsc',
    options: { target: ts.ScriptTarget.ES2022, useDefineForClassFields: false },
    standardDecorators: true,
  },
  {
    id: 'tsc-standard-es2022-define',
    title: 'tsc, standard decorators, ES2022, useDefineForClassFields true',
    compiler: 'tsc',
    options: { target: ts.ScriptTarget.ES2022, useDefineForClassFields: true },
    standardDecorators: true,
  },
  {
    id: 'esbuild-standard-bundle-minify',
    title: 'esbuild bundle (cjs, minified, @aws-sdk external), standard decorators',
    compiler: 'esbuild',
    standardDecorators: true,
  },
];

/** Where a mode's compiled entry lands: outputs keep the repository layout under OUT/<mode>. */
function compiled(mode: Mode, entry: Entry): string {
  return path.join(OUT, mode.id, 'spec/fixtures/compile-modes', `${entry}.js`);
}

/** Shared by the tsc modes: each file is read and parsed once per language version. */
function cachingHost(): ts.CompilerHost {
  const host = ts.createCompilerHost({});
  const cache = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const key = `${fileName}\0${JSON.stringify(languageVersion)}`;
    if (!cache.has(key)) cache.set(key, getSourceFile(fileName, languageVersion, ...rest));
    return cache.get(key);
  };
  return host;
}

function compileWithTsc(mode: TscMode, host: ts.CompilerHost): void {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    rootDir: ROOT,
    outDir: path.join(OUT, mode.id),
    ...mode.options,
  };
  const program = ts.createProgram({
    rootNames: ENTRIES.map((entry) => path.join(FIXTURES, `${entry}.ts`)),
    options,
    host,
  });
  const emitted = program.emit();
  // The fixtures and the library must type-check in every mode, not merely emit.
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0 || emitted.emitSkipped) {
    throw new Error(
      `tsc (${mode.id}) reported:\n` +
        ts.formatDiagnostics(diagnostics, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => ROOT,
          getNewLine: () => '\n',
        }),
    );
  }
}

async function compileWithEsbuild(mode: EsbuildMode): Promise<void> {
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES.map((entry) => path.join(FIXTURES, `${entry}.ts`)),
    outdir: path.join(OUT, mode.id),
    outbase: ROOT,
    ...NODEJS_FUNCTION_BUNDLE,
    // Explicitly standard decorators, whatever tsconfig.json files lie around.
    tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true } },
  });
}

/** What run.js prints: the handler's result, or the error it (or loading the module) threw. */
interface RunOutput {
  ok: boolean;
  phase?: 'load' | 'invoke' | 'runner';
  result?: Record<string, unknown>;
  exports?: string[];
  error?: { name?: string; message?: string; field?: string; prototypeDepth?: number; thrown?: string };
}

/** Runs run.js in a fresh Node process (a cold start) against dynalite. */
function runChild(args: string[], tableKey: string): Promise<RunOutput> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    PERSISTENCE_TABLE_NAME: TABLE_NAME,
    PERSISTENCE_TABLE_KEY: tableKey,
  };
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [RUNNER, ...args], { env, cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as RunOutput);
      } catch {
        reject(new Error(`run.js ${args.join(' ')} printed no result (${error?.message ?? 'exit 0'}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

interface ModeRun {
  tableKey: string;
  write: RunOutput;
  read: RunOutput;
  misuseStatic: RunOutput;
  misuseMethod: RunOutput;
}

let dynamo: LocalDynamo;
const runs = new Map<string, ModeRun>();
const failures = new Map<string, unknown>();

async function runMode(mode: Mode): Promise<ModeRun> {
  const tableKey = uniqueKey(`compile-modes-${mode.id}`);
  // Sequential on purpose: the read must see what the write made durable.
  const write = await runChild(['invoke', compiled(mode, 'handler'), JSON.stringify({ action: 'write' })], tableKey);
  const read = await runChild(['invoke', compiled(mode, 'handler'), JSON.stringify({ action: 'read' })], tableKey);
  const misuseStatic = await runChild(['load', compiled(mode, 'misuseStatic')], uniqueKey('misuse'));
  const misuseMethod = await runChild(['load', compiled(mode, 'misuseMethod')], uniqueKey('misuse'));
  return { tableKey, write, read, misuseStatic, misuseMethod };
}

beforeAll(async () => {
  dynamo = await startDynalite();
  for (const mode of MODES) rmSync(path.join(OUT, mode.id), { recursive: true, force: true });
  const host = cachingHost();
  for (const mode of MODES) {
    if (mode.compiler === 'tsc') compileWithTsc(mode, host);
    else await compileWithEsbuild(mode);
  }
  // The modes run side by side, so several cold starts find the table missing at once and create it
  // concurrently (as parallel Lambda environments of a fresh deployment would).
  await Promise.all(
    MODES.map((mode) =>
      runMode(mode).then(
        (run) => runs.set(mode.id, run),
        (error: unknown) => failures.set(mode.id, error),
      ),
    ),
  );
}, 120_000);

afterAll(async () => {
  await dynamo?.close();
});

function runOf(mode: Mode): ModeRun {
  if (failures.has(mode.id)) throw failures.get(mode.id);
  const run = runs.get(mode.id);
  if (run === undefined) throw new Error(`mode ${mode.id} did not run`);
  return run;
}

const PERSISTENT_AND_TRANSIENT_KEYS = [
  'absent', 'big', 'bytes', 'count', 'inherited', 'labels', 'lastRun', 'nested', 'nothing', 'session', 'tags', 'transient',
];

const NO_DESIGN_TYPES = { count: null, tags: null, lastRun: null, session: null };
// tsc with emitDecoratorMetadata: fields without a type annotation (`count = 0`) come out as Object;
// `lastRun?: Date` as Date even under `strict`. So `session` could be restored from metadata in
// this mode alone: the other modes prove the `type` option does it.
const LEGACY_DESIGN_TYPES = { count: 'Object', tags: 'Object', lastRun: 'Date', session: 'Session' };

function designTypes(mode: Mode) {
  return mode.compiler === 'tsc' && mode.options.emitDecoratorMetadata ? LEGACY_DESIGN_TYPES : NO_DESIGN_TYPES;
}

/** What a fresh environment sees before anything was stored: the initializers. */
function defaults(mode: Mode) {
  return {
    ownKeys: PERSISTENT_AND_TRANSIENT_KEYS,
    count: { value: 0, type: 'number' },
    lastRun: { isDate: false, iso: 'undefined' },
    tags: { isMap: true, entries: [['default', true]], keyTypes: ['string'] },
    labels: { isSet: true, values: ['default'] },
    big: { type: 'bigint', value: '0' },
    bytes: { isUint8Array: true, exactlyUint8Array: true, values: [7] },
    nested: { value: { list: [], inner: {} }, listIsArray: true },
    nothing: { isNull: false, value: 'not null yet' },
    absent: { isUndefined: true, persistentKey: true },
    inherited: { value: 'base default', isBaseHandler: true },
    session: 'undefined',
    transient: 'initial',
    designTypes: designTypes(mode),
  };
}

/** What the write sets, and what a later cold start must read back exactly. */
function written(mode: Mode, transient: string) {
  return {
    ownKeys: PERSISTENT_AND_TRANSIENT_KEYS,
    count: { value: 42, type: 'number' },
    lastRun: { isDate: true, iso: '2024-02-29T12:34:56.789Z' },
    tags: {
      isMap: true,
      entries: [
        ['default', true],
        [2, { deep: [1, 'two'] }],
        ['when', { date: '2024-02-29T12:34:56.789Z' }],
      ],
      keyTypes: ['string', 'number', 'string'],
    },
    labels: { isSet: true, values: ['a', 3, 'b'] },
    big: { type: 'bigint', value: '12345678901234567890123' },
    bytes: { isUint8Array: true, exactlyUint8Array: true, values: [0, 1, 127, 128, 255] },
    nested: {
      value: { list: [1, 'two', [3, { four: 4 }], null, true], inner: { empty: {}, zero: 0, text: '' } },
      listIsArray: true,
    },
    nothing: { isNull: true, value: null },
    absent: { isUndefined: true, persistentKey: true },
    inherited: { value: 'set by subclass', isBaseHandler: true },
    session: {
      isSession: true,
      describeIsFunction: true,
      described: 'alice@2023-12-31T23:59:59.999Z#3',
      startedAtIsDate: true,
      user: 'alice',
      visits: 3,
    },
    transient,
    designTypes: designTypes(mode),
  };
}

describe.each(MODES.map((mode) => [mode.title, mode] as const))('compiled with %s', (_title, mode) => {
  it('emitted what this mode claims', () => {
    const handlerJs = readFileSync(compiled(mode, 'handler'), 'utf8');
    if (mode.compiler === 'esbuild') {
      // One file: the library and class-transformer inlined, only the AWS SDK left as a require.
      expect(handlerJs).toMatch(/require\("@aws-sdk\/client-dynamodb"\)/);
      expect(handlerJs).not.toMatch(/require\("(class-transformer|reflect-metadata|\.{1,2}\/[^"]*)"\)/);
      expect(Math.max(...handlerJs.split('\n').map((line) => line.length))).toBeGreaterThan(10_000); // minified
      return;
    }
    expect(existsSync(path.join(OUT, mode.id, 'src/index.js'))).toBe(true);
    if (mode.standardDecorators) {
      expect(handlerJs).toContain('__esDecorate(');
      expect(handlerJs).not.toContain('__decorate(');
    } else {
      expect(handlerJs).toContain('__decorate(');
      expect(handlerJs).not.toContain('__esDecorate(');
    }
    expect(handlerJs.includes('__metadata("design:type"')).toBe(mode.options.emitDecoratorMetadata === true);
    // [[Define]] fields are class-body declarations; [[Set]] fields are constructor assignments.
    const define = mode.options.useDefineForClassFields !== false;
    expect(/^\s+count = /m.test(handlerJs)).toBe(define);
    expect(/this\.count = /.test(handlerJs)).toBe(!define);
    expect(/12345678901234567890123n/.test(handlerJs)).toBe(true); // BigInt literals need ES2020+
  });

  it('starts a fresh environment from the initializers, then writes every field', () => {
    const { write } = runOf(mode);
    expect(write).toMatchObject({ ok: true });
    const { before, ...after } = write.result!;
    expect(before).toEqual(defaults(mode));
    expect(after).toEqual(written(mode, 'changed'));
  });

  it('restores every value and type exactly in a new process (cold start)', () => {
    const { read } = runOf(mode);
    expect(read).toEqual({ ok: true, result: written(mode, 'initial') });
  });

  it('stores the same row as every other mode', async () => {
    const client = recordingClient(dynamo.endpoint);
    const reference = await readItem(client, TABLE_NAME, runOf(MODES[0]!).tableKey);
    const item = await readItem(client, TABLE_NAME, runOf(mode).tableKey);
    expect(item?.value).toBeDefined();
    expect(item!.value).toEqual(reference!.value);
    // JSON-like values in native DynamoDB types, bytes as B, null as NULL, missing left out.
    const fields = item!.value!.M!;
    expect(Object.keys(fields).sort()).toEqual(
      PERSISTENT_AND_TRANSIENT_KEYS.filter((k) => k !== 'absent' && k !== 'transient'),
    );
    expect(fields.count).toEqual({ N: '42' });
    expect(fields.inherited).toEqual({ S: 'set by subclass' });
    expect(fields.nothing).toEqual({ NULL: true });
    expect(fields.bytes).toEqual({ B: new Uint8Array([0, 1, 127, 128, 255]) });
  });

  describe('@Persistent() misuse throws DecoratorUsageError when the class is defined', () => {
    it('on a static field: the message names the member', () => {
      const { misuseStatic } = runOf(mode);
      expect(misuseStatic).toMatchObject({ ok: false, phase: 'load' });
      expect(misuseStatic.error).toMatchObject({ field: 'total', prototypeDepth: 3 });
      expect(misuseStatic.error!.message).toMatch(/"total"/);
      expect(misuseStatic.error!.message).toMatch(/static/);
    });

    it('on a method: the message names the member', () => {
      const { misuseMethod } = runOf(mode);
      expect(misuseMethod).toMatchObject({ ok: false, phase: 'load' });
      expect(misuseMethod.error).toMatchObject({ field: 'tally', prototypeDepth: 3 });
      expect(misuseMethod.error!.message).toMatch(/"tally"/);
      expect(misuseMethod.error!.message).toMatch(/method/);
    });

    it('the error is named DecoratorUsageError', () => {
      const { misuseStatic, misuseMethod } = runOf(mode);
      expect(misuseStatic.error?.name).toBe('DecoratorUsageError');
      expect(misuseMethod.error?.name).toBe('DecoratorUsageError');
    });
  });
});
