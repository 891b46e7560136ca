/**
 * `@Persistent({ type })` naming a class the codec stores by itself (Date, Map, typed arrays,
 * Expiring, ...) behaves as if the option were absent, and a subclass of one (`class Stamp extends
 * Date`) comes back as the subclass: neither needs class-transformer. A user class still does, with
 * the clear error when the subpath is not imported.
 *
 * Through the packed package, as a user builds a handler: the fixture (spec/fixtures/declared-types)
 * is copied into the consumer project and compiled there in each mode of compileModes.spec.ts (tsc
 * legacy + metadata, standard decorators with define false / true, an esbuild bundle), with and
 * without `import 'aws-lambda-persistence/class-transformer'`. Each run is a fresh process: one
 * writes, the next reads back.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as ts from 'typescript';
import { NODEJS_FUNCTION_BUNDLE } from '../support/bundling';
import { consumerDir } from '../support/consumer';
import { uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE_NAME = 'DeclaredTypes';
const RUNNER = path.join(__dirname, '../fixtures/compile-modes/run.js');
const ENTRIES = ['withClassTransformer', 'withoutClassTransformer'] as const;
type Entry = (typeof ENTRIES)[number];

interface Mode {
  readonly id: string;
  /** tsc options, or undefined for the esbuild bundle. */
  readonly tsc?: ts.CompilerOptions;
  readonly designTypes: boolean;
}

const MODES: readonly Mode[] = [
  { id: 'tsc-legacy-metadata', tsc: { experimentalDecorators: true, emitDecoratorMetadata: true }, designTypes: true },
  { id: 'tsc-standard-assign', tsc: { useDefineForClassFields: false }, designTypes: false },
  { id: 'tsc-standard-define', tsc: { useDefineForClassFields: true }, designTypes: false },
  { id: 'esbuild-bundle', designTypes: false },
];

let project: string;

function compiled(mode: Mode, entry: Entry): string {
  return path.join(project, 'out', mode.id, `${entry}.js`);
}

function compile(mode: Mode): Promise<unknown> | void {
  const sources = ENTRIES.map((entry) => path.join(project, 'src', `${entry}.ts`));
  if (mode.tsc === undefined) {
    return esbuild.build({
      absWorkingDir: project,
      entryPoints: sources,
      outdir: path.join(project, 'out', mode.id),
      ...NODEJS_FUNCTION_BUNDLE,
      tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true } },
    });
  }
  const program = ts.createProgram({
    rootNames: sources,
    options: {
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      skipLibCheck: true,
      // The consumer has no @types/node of its own; Buffer is in the fixture.
      typeRoots: [path.join(__dirname, '../../node_modules/@types')],
      types: ['node'],
      rootDir: path.join(project, 'src'),
      outDir: path.join(project, 'out', mode.id),
      ...mode.tsc,
    },
  });
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0 || emitted.emitSkipped) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => project, getNewLine: () => '\n' };
    throw new Error(`tsc (${mode.id}) reported:\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
}

interface RunOutput {
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { name?: string; message?: string; field?: string };
}

/** One invocation in a fresh Node process of the consumer project. */
function invoke(file: string, exportName: string, action: 'write' | 'read', tableKey: string): Promise<RunOutput> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    PERSISTENCE_TABLE_NAME: TABLE_NAME,
    PERSISTENCE_TABLE_KEY: tableKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  delete env.NODE_OPTIONS;
  delete env.NODE_PATH;
  return new Promise((resolve, reject) => {
    const args = [RUNNER, 'invoke', file, JSON.stringify({ action }), exportName];
    execFile(process.execPath, args, { cwd: project, env, timeout: 30_000 }, (error, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as RunOutput);
      } catch {
        reject(new Error(`${file} ${exportName} ${action} printed no result (${error?.message ?? 'exit 0'}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** Write in one process, read in the next. */
async function roundTrip(mode: Mode, entry: Entry, exportName: string) {
  const tableKey = uniqueKey(`declared-${mode.id}-${entry}-${exportName}`);
  const write = await invoke(compiled(mode, entry), exportName, 'write', tableKey);
  const read = await invoke(compiled(mode, entry), exportName, 'read', tableKey);
  return { write, read };
}

beforeAll(async () => {
  project = path.join(consumerDir(), 'declared-types');
  rmSync(project, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
  cpSync(path.join(__dirname, '../fixtures/declared-types'), path.join(project, 'src'), { recursive: true });
  for (const mode of MODES) await compile(mode);
}, 120_000);

/** The class each field holds after a round trip: the declared one (or the codec's, when the declared one is). */
function expectedClasses(mode: Mode): Record<string, string> {
  return {
    when: 'Date', map: 'Map', set: 'Set', buffer: 'Buffer', bytes: 'Uint8Array', int8: 'Int8Array',
    clamped: 'Uint8ClampedArray', int16: 'Int16Array', uint16: 'Uint16Array', int32: 'Int32Array',
    uint32: 'Uint32Array', float32: 'Float32Array', float64: 'Float64Array', bigint64: 'BigInt64Array',
    biguint64: 'BigUint64Array', arrayBuffer: 'ArrayBuffer', regexp: 'RegExp', array: 'Array', object: 'Object',
    expiring: 'Expiring', expiringDate: 'Expiring', stamp: 'Stamp', stamps: 'Array', registry: 'Registry',
    bytesSub: 'Bytes', path: 'Path', token: 'Token', expiringStamp: 'Expiring',
    // Only tsc's emitDecoratorMetadata names a class without the option; elsewhere a Stamp comes back as a Date.
    metadataStamp: mode.designTypes ? 'Stamp' : 'Date',
    metadataDate: 'Date',
  };
}

const classOf = (description: unknown) => (description as { class?: string }).class;

describe.each(MODES.map((mode) => [mode.id, mode] as const))('compiled as %s', (_id, mode) => {
  describe.each(ENTRIES.map((entry) => [entry, entry] as const))('%s', (_name, entry) => {
    it('restores every built-in class named through `type` exactly, in a new process', async () => {
      const { write, read } = await roundTrip(mode, entry, 'builtIns');
      expect(write).toMatchObject({ ok: true });
      expect(read).toMatchObject({ ok: true });
      const result = read.result!;
      const classes = Object.fromEntries(Object.keys(expectedClasses(mode)).map((name) => [name, classOf(result[name])]));
      expect(classes).toEqual(expectedClasses(mode));
      // Elements of array fields and values inside an Expiring take the declared class too.
      expect((result.dates as { items: unknown[] }).items).toEqual([
        { class: 'Date', time: Date.UTC(2024, 1, 29, 12, 34, 56, 789) },
        { class: 'Date', time: 0 },
      ]);
      expect((result.stamps as { items: unknown[] }).items.map(classOf)).toEqual(['Stamp', 'Stamp']);
      expect(classOf((result.expiringStamp as { value: unknown }).value)).toBe('Stamp');
      expect(classOf((result.expiringDate as { value: unknown }).value)).toBe('Date');
      expect(result.big).toEqual({ bigint: '12345678901234567890' });
      expect(result.stampMethod).toBe('2024-02-29T12:34:56.789Z');
      // The metadata-only Stamp is the one field whose class the write and the read may tell apart.
      const { metadataStamp: writtenStamp, ...written } = write.result!;
      const { metadataStamp: readStamp, ...restored } = result;
      expect(restored).toEqual(written);
      expect((readStamp as { time: number }).time).toBe((writtenStamp as { time: number }).time);
    });

    const withSubpath = entry === 'withClassTransformer';
    it(
      withSubpath
        ? 'restores a user class named through `type` through class-transformer'
        : 'refuses a user class named through `type` with the DecoratorUsageError naming the field and the import',
      async () => {
        const { write, read } = await roundTrip(mode, entry, 'session');
        if (withSubpath) {
          expect(write).toEqual({ ok: true, result: { session: 'hi alice', sessions: ['hi bob'] } });
          expect(read).toEqual(write);
          return;
        }
        expect(write).toMatchObject({ ok: false, error: { name: 'DecoratorUsageError', field: 'session' } });
        expect(write.error!.message).toContain("import 'aws-lambda-persistence/class-transformer'");
        expect(read).toMatchObject({ ok: false, error: { name: 'DecoratorUsageError' } });
      },
    );
  });
});
