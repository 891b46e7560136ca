/**
 * Data outlives code: stored values checked by Standard Schema validators (zod, valibot) when the
 * row is read, migrated to today's shape, and the choice for values that still do not fit
 * (docs/changing-your-handler.md). Each "version" of a handler is a class of its own on one row,
 * as two deployments of one function would be.
 */
import * as v from 'valibot';
import { z } from 'zod';
import {
  DecoratorUsageError,
  InvalidStoredValueError,
  Persistent,
  PersistentHandler,
  PersistentMap,
  persistentState,
  withPersistence,
  type StandardSchema,
} from '../../src';
import { persistence } from '../../src/middy';
import { lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'SchemaTable';

type Event = { b?: unknown; a?: number } | undefined;

class V1 extends PersistentHandler<Event, unknown> {
  @Persistent() b: unknown = 'init';
  @Persistent() a = 0;
  async handler(event: Event) {
    if (event?.b !== undefined) this.b = event.b;
    if (event?.a !== undefined) this.a = event.a;
    return { a: this.a, b: this.b };
  }
}

class Strict extends PersistentHandler<Event, unknown> {
  @Persistent({ schema: z.number() }) b = 0;
  @Persistent() a = 0;
  async handler(event: Event) {
    if (event?.b !== undefined) this.b = event.b as number;
    if (event?.a !== undefined) this.a = event.a;
    return { a: this.a, b: this.b };
  }
}

class Lenient extends PersistentHandler<Event, unknown> {
  @Persistent({ schema: z.number(), onInvalid: 'use-initializer' }) b = 0;
  @Persistent() a = 0;
  async handler(event: Event) {
    if (event?.b !== undefined) this.b = event.b as number;
    if (event?.a !== undefined) this.a = event.a;
    return { a: this.a, b: this.b };
  }
}

class Migrating extends PersistentHandler<Event, unknown> {
  // Version 1 stored text; today the field is a number.
  @Persistent({ schema: z.number(), migrate: (stored) => Number(stored) }) b = 0;
  @Persistent() a = 0;
  async handler(event: Event) {
    if (event?.a !== undefined) this.a = event.a;
    return { a: this.a, b: this.b };
  }
}

const bind = <H extends typeof PersistentHandler<Event, unknown>>(Handler: H, tableKey: string, options: object = {}) =>
  (Handler as unknown as typeof V1).bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey, ...options });

async function rowWithB(b: unknown): Promise<string> {
  const tableKey = uniqueKey('schema');
  await bind(V1, tableKey)({ b, a: 1 }, lambdaContext());
  return tableKey;
}

const storedB = async (tableKey: string) => (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M?.b;

describe('schema: stored values checked when the row is read', () => {
  it("fails naming the field, the stored value's shape and the fix, and changes nothing", async () => {
    const tableKey = await rowWithB('hello');
    const failure = await bind(Strict, tableKey)({ a: 2 }, lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidStoredValueError);
    expect(failure).toMatchObject({ field: 'b', tableKey, tableName: TABLE });
    const message = (failure as Error).message;
    expect(message).toContain('field "b" (a string ("hello")) does not match its schema');
    expect(message).toContain('Nothing was changed');
    expect(message).toMatch(/migrate: \(stored\) => .*onInvalid: 'use-initializer'/);
    expect(await storedB(tableKey)).toEqual({ S: 'hello' });
  });

  it("with onInvalid: 'use-initializer' warns, uses the initializer, and keeps the stored value until the field is assigned", async () => {
    const tableKey = await rowWithB('hello');
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const warnings = () =>
      emitWarning.mock.calls.map(([message, options]) => `${(options as { code?: string } | undefined)?.code}: ${String(message)}`);
    try {
      const handler = bind(Lenient, tableKey);
      await expect(handler({ a: 2 }, lambdaContext())).resolves.toEqual({ a: 2, b: 0 });
      // Another field's write, and another: the rejected value is never overwritten by them.
      await handler({ a: 3 }, lambdaContext());
      expect(await storedB(tableKey)).toEqual({ S: 'hello' });
      expect(warnings().filter((w) => w.startsWith('AWS_LAMBDA_PERSISTENCE_INVALID_VALUE'))).toHaveLength(1);
      expect(warnings().join('\n')).toContain('field "b" (a string ("hello"))');
      // Rolling back to version 1 still finds its value.
      await expect(bind(V1, tableKey)(undefined, lambdaContext())).resolves.toEqual({ a: 3, b: 'hello' });
      // Assigned: now it is written.
      await handler({ b: 7 }, lambdaContext());
      expect(await storedB(tableKey)).toEqual({ N: '7' });
    } finally {
      emitWarning.mockRestore();
    }
  });

  it("takes onInvalid from the handler's options (and PERSISTENCE_ON_INVALID) for fields that do not set it", async () => {
    const tableKey = await rowWithB('hello');
    await expect(bind(Strict, tableKey, { onInvalid: 'use-initializer' })({ a: 2 }, lambdaContext())).resolves.toEqual({ a: 2, b: 0 });
    expect(() => bind(Strict, tableKey, { onInvalid: 'ignore' })).toThrow(/"onInvalid" \(PERSISTENCE_ON_INVALID\) must be 'fail' or 'use-initializer'/);
  });

  it('migrates an old shape to today\'s, and writes it back with the next write, not as a request of its own', async () => {
    const tableKey = await rowWithB('42');
    const client = recordingClient(dynamo.endpoint);
    const handler = Migrating.bind({ client, tableName: TABLE, tableKey });
    await expect(handler(undefined, lambdaContext())).resolves.toEqual({ a: 1, b: 42 });
    expect(client.requests).toEqual(['GetItem']);
    expect(await storedB(tableKey)).toEqual({ S: '42' });
    await handler({ a: 2 }, lambdaContext());
    expect(client.requests).toEqual(['GetItem', 'UpdateItem']);
    expect(await storedB(tableKey)).toEqual({ N: '42' });
  });

  it('migrates only values the schema rejects; values of today pass as they are', async () => {
    const seen: unknown[] = [];
    class Watching extends PersistentHandler<void, unknown> {
      @Persistent({ schema: z.number(), migrate: (stored) => (seen.push(stored), Number(stored)) }) b = 0;
      async handler() {
        return this.b;
      }
    }
    const tableKey = await rowWithB(5);
    await expect(bind(Watching as never, tableKey)(undefined, lambdaContext())).resolves.toBe(5);
    expect(seen).toEqual([]);
  });

  it("takes a schema's output: a transform or default changes the value, and the change goes back with the next write", async () => {
    class Trimmed extends PersistentHandler<Event, unknown> {
      @Persistent({ schema: z.string().transform((text) => text.trim()) }) b = '';
      @Persistent() a = 0;
      async handler(event: Event) {
        if (event?.a !== undefined) this.a = event.a;
        return this.b;
      }
    }
    const tableKey = await rowWithB('  padded  ');
    const handler = bind(Trimmed as never, tableKey);
    await expect(handler(undefined, lambdaContext())).resolves.toBe('padded');
    await handler({ a: 5 }, lambdaContext());
    expect(await storedB(tableKey)).toEqual({ S: 'padded' });
  });

  it('works with valibot as with zod', async () => {
    class Tags extends PersistentHandler<void, unknown> {
      @Persistent({ schema: v.array(v.string()) }) b: string[] = [];
      async handler() {
        return this.b;
      }
    }
    await expect(bind(Tags as never, await rowWithB(['x', 'y']))(undefined, lambdaContext())).resolves.toEqual(['x', 'y']);
    const failure = await bind(Tags as never, await rowWithB(['x', 3]))(undefined, lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidStoredValueError);
    expect((failure as Error).message).toMatch(/field "b" \(an array of 2\) does not match its schema: 1: /);
  });

  it('checks values read again: a refresh that finds a rejected value fails the same way', async () => {
    const tableKey = await rowWithB(1);
    const handler = bind(Strict, tableKey, { refresh: 'every-invocation' });
    await expect(handler(undefined, lambdaContext())).resolves.toEqual({ a: 1, b: 1 });
    await bind(V1, tableKey)({ b: 'text' }, lambdaContext());
    await expect(handler(undefined, lambdaContext())).rejects.toBeInstanceOf(InvalidStoredValueError);
  });

  /** A handler whose `b` has a schema that counts its checks. */
  function counted() {
    const counter = { checks: 0 };
    const counting: StandardSchema<string> = {
      '~standard': { version: 1, vendor: 'test', validate: (value) => (counter.checks++, { value: value as string }) },
    };
    class Counted extends PersistentHandler<Event, unknown> {
      @Persistent({ schema: counting }) b = '';
      @Persistent() a = 0;
      async handler(event: Event) {
        if (event?.a !== undefined) this.a = event.a;
        return this.b;
      }
    }
    return { Counted, counter };
  }

  it('checks a large field once per read of it, not again on every write of other fields', async () => {
    const { Counted, counter } = counted();
    const tableKey = await rowWithB('x'.repeat(20_000)); // over largeFieldBytes: in an item of its own
    const handler = bind(Counted as never, tableKey);
    await expect(handler(undefined, lambdaContext())).resolves.toHaveLength(20_000);
    expect(counter.checks).toBe(1);
    for (let a = 2; a <= 4; a++) await handler({ a }, lambdaContext());
    expect(counter.checks).toBe(1);
  });

  it('checks the fields of a row written in between by another environment, and only then', async () => {
    const { Counted, counter } = counted();
    const tableKey = await rowWithB('kept in the row');
    const handler = bind(Counted as never, tableKey);
    await handler(undefined, lambdaContext());
    for (let a = 2; a <= 4; a++) await handler({ a }, lambdaContext());
    expect(counter.checks).toBe(1);
    // Another environment writes b: the next write brings its value in, checked.
    await bind(V1, tableKey)({ b: 'theirs' }, lambdaContext());
    await handler({ a: 5 }, lambdaContext());
    expect(counter.checks).toBe(2);
    await expect(handler(undefined, lambdaContext())).resolves.toBe('theirs');
  });

  it('refuses a schema that validates asynchronously, naming the field', async () => {
    const asyncSchema: StandardSchema<number> = { '~standard': { version: 1, vendor: 'test', validate: async (value) => ({ value: value as number }) } };
    class Async extends PersistentHandler<void, unknown> {
      @Persistent({ schema: asyncSchema }) b = 0;
      async handler() {
        return this.b;
      }
    }
    await expect(bind(Async as never, await rowWithB(1))(undefined, lambdaContext())).rejects.toThrow(/schema of field "b" validates asynchronously/);
  });

  it('refuses options that are not a schema, a function or a known choice, at the decorator', () => {
    expect(() => Persistent({ schema: { parse: () => 1 } as never })).toThrow(DecoratorUsageError);
    expect(() => Persistent({ schema: { parse: () => 1 } as never })).toThrow(/Standard Schema validator/);
    expect(() => Persistent({ migrate: 'Number' as never })).toThrow(/migrate \}\) takes a function/);
    expect(() => Persistent({ onInvalid: 'skip' as never })).toThrow(/'fail' or 'use-initializer'/);
  });

  it('checks the field type against the schema output at compile time', () => {
    class Typed extends PersistentHandler<void, void> {
      @Persistent({ schema: z.number() }) ok = 0;
      @Persistent({ schema: z.number() }) optional?: number;
      // @ts-expect-error the schema returns numbers, the field holds strings
      @Persistent({ schema: z.number() }) wrong = 'text';
      async handler() {}
    }
    expect(Typed).toBeDefined();
  });
});

describe('schema in the other styles', () => {
  it('withPersistence and persistentState take a schema and a migration per key', async () => {
    const tableKey = await rowWithB('41');
    const options = { client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey };
    const handler = withPersistence({ a: 0, b: 0 }, async (_event: void, _context, state) => (state.b += 1), {
      ...options,
      schema: { b: z.number() },
      migrate: { b: (stored) => Number(stored) },
    });
    await expect(handler(undefined, lambdaContext())).resolves.toBe(42);
    expect(await storedB(tableKey)).toEqual({ N: '42' });
    const strict = persistentState({ a: 0, b: 0 }, { ...options, schema: { a: z.string() } });
    const failure = await strict.begin(lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidStoredValueError);
    expect(failure).toMatchObject({ field: 'a' });
    expect(() => persistentState({ a: 0 }, { ...options, schema: { c: z.string() } as never })).toThrow(/"schema" names "c", which is not a key/);
    expect(() => persistentState({ a: 0 }, { ...options, schema: { a: 'string' } as never })).toThrow(/"schema.a" takes a Standard Schema validator/);
  });

  it('the middy middleware takes them too', async () => {
    const tableKey = await rowWithB('7');
    const middleware = persistence({ a: 0, b: 0 }, {
      client: recordingClient(dynamo.endpoint),
      tableName: TABLE,
      tableKey,
      schema: { b: z.number() },
      migrate: { b: (stored) => Number(stored) },
    });
    const context = lambdaContext() as ReturnType<typeof lambdaContext> & { state?: { a: number; b: number } };
    await middleware.before({ event: {}, context } as never);
    expect(context.state).toEqual({ a: 1, b: 7 });
    context.state!.a = 2;
    await middleware.after({ event: {}, context } as never);
    expect(await storedB(tableKey)).toEqual({ N: '7' });
  });

  it('PersistentMap.open checks values with one schema, or one per key', async () => {
    const tableKey = uniqueKey('map-schema');
    const client = recordingClient(dynamo.endpoint);
    const writer = await PersistentMap.open({ client, tableName: TABLE, tableKey });
    await writer.update({ count: 3, name: 'x' });
    const perKey = await PersistentMap.open({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey, schema: { count: z.number() } });
    expect(perKey.get('count')).toBe(3);
    const failure = await PersistentMap.open({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey, schema: v.number() }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidStoredValueError);
    expect(failure).toMatchObject({ field: 'name' });
    const migrated = await PersistentMap.open<number>({
      client: recordingClient(dynamo.endpoint),
      tableName: TABLE,
      tableKey,
      schema: z.number(),
      migrate: (stored, key) => (key === 'name' ? String(stored).length : Number(stored)),
    });
    expect(migrated.get('name')).toBe(1);
  });
});

describe('rollback safety: fields this version does not declare are kept, in every layout', () => {
  class Narrow extends PersistentHandler<{ a: number; big?: number }, void> {
    @Persistent() a = 0;
    @Persistent() filler = '';
    async handler(event: { a: number; big?: number }) {
      this.a = event.a;
      // A state over 400 KB in the row (packed), or a large field in its own item.
      if (event.big !== undefined) this.filler = 'f'.repeat(event.big);
    }
  }
  class Wide extends PersistentHandler<void, unknown> {
    @Persistent() a = 0;
    @Persistent() b: unknown = 'init';
    @Persistent() blob = '';
    async handler() {
      return { a: this.a, b: this.b, blob: this.blob.length };
    }
  }

  it.each([
    ['a small row', undefined],
    ['beside a large field in its own item', 20 * 1024],
    ['in a packed state', 600 * 1024],
  ])('%s', async (_layout, big) => {
    const tableKey = uniqueKey('rollback');
    const client = recordingClient(dynamo.endpoint);
    // The later version stored b and a large blob; the earlier one (Narrow) knows neither.
    class Later extends PersistentHandler<void, void> {
      @Persistent() b = '';
      @Persistent() blob = '';
      async handler() {
        this.b = 'kept';
        this.blob = 'x'.repeat(30 * 1024);
      }
    }
    await Later.bind({ client, tableName: TABLE, tableKey })(undefined, lambdaContext());
    const narrow = Narrow.bind({ client, tableName: TABLE, tableKey });
    await narrow({ a: 1, ...(big !== undefined && { big }) }, lambdaContext());
    await narrow({ a: 2 }, lambdaContext());
    await expect(Wide.bind({ client, tableName: TABLE, tableKey })(undefined, lambdaContext())).resolves.toEqual({ a: 2, b: 'kept', blob: 30 * 1024 });
  });
});
