/**
 * Schemas and migrations through the packed package, as a user builds a handler with zod or
 * valibot (installed beside it, not by the package): the fixture (spec/fixtures/schemas) is compiled
 * in each mode (tsc legacy + metadata, standard decorators with define false / true, an esbuild
 * bundle) and every invocation is a fresh process, one version of the handler after another on one row.
 */
import { uniqueKey, useDynalite } from '../support/dynalite';
import { ConsumerFixture, MODES } from '../support/consumerModes';

const dynamo = useDynalite();
const TABLE_NAME = 'Schemas';
let fixture: ConsumerFixture;

beforeAll(async () => {
  fixture = new ConsumerFixture('schemas', ['handlers']);
  await fixture.compileAll();
}, 120_000);

describe.each(MODES.map((mode) => [mode.id, mode] as const))('compiled as %s', (_id, mode) => {
  const run = (tableKey: string, exportName: string, event: unknown = {}) =>
    fixture.invoke(fixture.compiled(mode, 'handlers'), exportName, event, { endpoint: dynamo.endpoint, tableName: TABLE_NAME, tableKey });

  it('checks, migrates or replaces a value an earlier version stored, and a rollback still finds it', async () => {
    const tableKey = uniqueKey(`schemas-${mode.id}`);
    expect(await run(tableKey, 'version1', { b: 'hello', a: 1 })).toMatchObject({ ok: true, result: { b: 'hello' } });
    // Version 2 (zod) refuses text where it expects a number, naming the field.
    const refused = await run(tableKey, 'version2', { a: 2 });
    expect(refused).toMatchObject({ ok: false, error: { name: 'InvalidStoredValueError', field: 'b' } });
    expect(refused.error!.message).toContain('field "b" (a string ("hello")) does not match its schema');
    // Version 3 (valibot, use-initializer) starts from 0 and writes its other field only.
    expect(await run(tableKey, 'version3', { a: 3 })).toEqual({ ok: true, result: { a: 3, b: 0, type: 'number' } });
    // Rolling back to version 1: its value is still there.
    expect(await run(tableKey, 'version1')).toEqual({ ok: true, result: { a: 3, b: 'hello', type: 'string' } });
  });

  it('migrates text to a number and writes it back with the next write', async () => {
    const tableKey = uniqueKey(`migrate-${mode.id}`);
    await run(tableKey, 'version1', { b: '42', a: 1 });
    expect(await run(tableKey, 'version2Migrating', { a: 2 })).toEqual({ ok: true, result: { a: 2, b: 42, type: 'number' } });
    // Written back: version 2, which does not migrate, now reads a number.
    expect(await run(tableKey, 'version2')).toEqual({ ok: true, result: { a: 2, b: 42, type: 'number' } });
    expect(await run(tableKey, 'mapOfNumbers')).toEqual({ ok: true, result: { a: 2, b: 42 } });
  });
});
