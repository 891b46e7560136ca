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
import { uniqueKey, useDynalite } from '../support/dynalite';
import { ConsumerFixture, MODES, type Mode } from '../support/consumerModes';

const dynamo = useDynalite();
const TABLE_NAME = 'DeclaredTypes';
const ENTRIES = ['withClassTransformer', 'withoutClassTransformer'] as const;
type Entry = (typeof ENTRIES)[number];

let fixture: ConsumerFixture;

/** One invocation in a fresh Node process of the consumer project. */
function invoke(file: string, exportName: string, action: 'write' | 'read', tableKey: string) {
  return fixture.invoke(file, exportName, { action }, { endpoint: dynamo.endpoint, tableName: TABLE_NAME, tableKey });
}

const compiled = (mode: Mode, entry: Entry) => fixture.compiled(mode, entry);

/** Write in one process, read in the next. */
async function roundTrip(mode: Mode, entry: Entry, exportName: string) {
  const tableKey = uniqueKey(`declared-${mode.id}-${entry}-${exportName}`);
  const write = await invoke(compiled(mode, entry), exportName, 'write', tableKey);
  const read = await invoke(compiled(mode, entry), exportName, 'read', tableKey);
  return { write, read };
}

beforeAll(async () => {
  fixture = new ConsumerFixture('declared-types', ENTRIES);
  await fixture.compileAll();
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
