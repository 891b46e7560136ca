import 'reflect-metadata';
import { Type } from 'class-transformer';
import '../../src/class-transformer';
import {
  DecoratorUsageError,
  Persistent,
  PersistentHandler,
  SerializationError,
  StateTooLargeError,
} from '../../src';
import { lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';
import { digestOf } from '../../src/persistence/eventMarks';

const dynamo = useDynalite();

const TABLE = 'Values';

class Address {
  city = '';
  describe() {
    return `in ${this.city}`;
  }
}

class Session {
  id = '';
  @Type(() => Date) started = new Date(0);
  @Type(() => Address) address?: Address;
  isOld(now: Date) {
    return now.getTime() - this.started.getTime() > 1000;
  }
}

/** Runs `write` in one environment and returns the instance of a second (cold) environment. */
async function roundTrip<T extends PersistentHandler<string, unknown>>(Handler: new () => T, write: (h: T) => void): Promise<T> {
  const tableKey = uniqueKey('values');
  let seen: T | undefined;
  const Base = Handler as unknown as typeof Everything;
  const Writer = class extends Base {
    override async handler() {
      write(this as unknown as T);
    }
  };
  const Reader = class extends Base {
    override async handler() {
      seen = this as unknown as T;
    }
  };
  await Writer.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE })('', lambdaContext());
  await Reader.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE })('', lambdaContext());
  return seen!;
}

class Everything extends PersistentHandler<string, unknown> {
  @Persistent() date?: Date;
  @Persistent() map = new Map<unknown, unknown>();
  @Persistent() set = new Set<unknown>();
  @Persistent() big = 0n;
  @Persistent() bytes = new Uint8Array();
  @Persistent() buffer = Buffer.alloc(0);
  @Persistent() nested: unknown = {};
  @Persistent() nothing: null | string = 'x';
  @Persistent() missing?: string = 'default';
  @Persistent({ type: () => Session }) session?: Session;
  @Persistent() sessions: Session[] = []; // design:type is Array: plain values only
  @Persistent() explicitSession!: Session; // design:type Session, from emitDecoratorMetadata
  async handler(): Promise<unknown> {
    return undefined;
  }
}

describe('values through DynamoDB', () => {
  it('restores Date, Map, Set, BigInt, bytes, nested values, null and missing exactly', async () => {
    const back = await roundTrip(Everything, (h) => {
      h.date = new Date('2026-11-26T12:34:56.789Z');
      h.map = new Map<unknown, unknown>([
        [1, 'one'],
        ['1', 'string one'],
        [{ k: 1 }.k, new Set([2])],
      ]);
      h.set = new Set(['a', 1, 2n]);
      h.big = 2n ** 100n;
      h.bytes = new Uint8Array([0, 255, 7]);
      h.buffer = Buffer.from('buffer');
      h.nested = { list: [1, [2, [3]], { deep: [null, true] }], empty: {}, emptyList: [], '@type': 'looks like a tag' };
      h.nothing = null;
      h.missing = undefined;
    });
    expect(back.date).toEqual(new Date('2026-11-26T12:34:56.789Z'));
    expect(back.map).toEqual(new Map<unknown, unknown>([[1, new Set([2])], ['1', 'string one']]));
    expect(back.set).toEqual(new Set(['a', 1, 2n]));
    expect(back.big).toBe(2n ** 100n);
    expect(back.bytes).toEqual(new Uint8Array([0, 255, 7]));
    expect(Buffer.isBuffer(back.buffer) && back.buffer.toString()).toBe('buffer');
    expect(back.nested).toEqual({ list: [1, [2, [3]], { deep: [null, true] }], empty: {}, emptyList: [], '@type': 'looks like a tag' });
    expect(back.nothing).toBeNull();
    // Set to undefined = absent from the row: a cold start sees the initializer again.
    expect(back.missing).toBe('default');
  });

  it('restores class instances through class-transformer when the field declares its type', async () => {
    const back = await roundTrip(Everything, (h) => {
      const session = Object.assign(new Session(), { id: 's1', started: new Date(5_000) });
      session.address = Object.assign(new Address(), { city: 'Lisbon' });
      h.session = session;
      h.explicitSession = Object.assign(new Session(), { id: 's2', started: new Date(1) });
    });
    expect(back.session).toBeInstanceOf(Session);
    expect(back.session?.started).toEqual(new Date(5_000));
    expect(back.session?.isOld(new Date(10_000))).toBe(true);
    expect(back.session?.address?.describe()).toBe('in Lisbon');
    expect(back.explicitSession).toBeInstanceOf(Session);
    expect(back.explicitSession.id).toBe('s2');
  });

  it('stores the row readably: a map of field to native values', async () => {
    const tableKey = uniqueKey('readable');
    class Readable extends PersistentHandler<void, void> {
      @Persistent() count = 3;
      @Persistent() name = 'x';
      @Persistent() tags = ['a'];
      async handler() {
        this.count += 1;
        this.tags.push('b');
      }
    }
    const client = recordingClient(dynamo.endpoint);
    const context = lambdaContext();
    await Readable.bind({ client, tableKey, tableName: TABLE })(undefined, context);
    const item = await readItem(client, TABLE, tableKey);
    expect(item).toEqual({
      key: { S: tableKey },
      value: { M: { count: { N: '4' }, tags: { L: [{ S: 'a' }, { S: 'b' }] } } },
      revision: { N: '1' },
      format: { N: '1' },
      updatedAt: { S: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      writeId: { S: expect.any(String) },
      // The invocation's event (its request id's digest), for exactly once across retries.
      events: { M: { [digestOf(context.awsRequestId)]: { N: expect.stringMatching(/^\d{13}\.\d{3}$/) } } },
    });
  });
});

class Guarded extends PersistentHandler<string, unknown> {
  @Persistent() cache: unknown = { items: [] };
  @Persistent() note = 'start';
  @Persistent() blob = '';
  async handler(event: string) {
    switch (event) {
      case 'assign-function':
        try {
          this.cache = { items: [1, 2, 3, { fn: () => 1 }] };
        } catch (error) {
          this.note = 'refused';
          return error;
        }
        return undefined;
      case 'mutate-bad':
        (this.cache as { items: unknown[] }).items.push(Symbol('bad'));
        this.note = 'still saved';
        return undefined;
      case 'update-bad':
        return this.update({ note: 'not applied', cache: { fn: () => 1 } }).catch((error: unknown) => error);
      case 'update-unknown':
        try {
          await this.update({ nope: 1 } as never);
        } catch (error) {
          return error;
        }
        return undefined;
      case 'too-big':
        try {
          this.blob = 'x'.repeat(100 * 1024);
        } catch (error) {
          return error;
        }
        return undefined;
      case 'small':
        this.blob = 'small';
        return undefined;
      default:
        return undefined;
    }
  }
}

describe('values that cannot be stored', () => {
  let tableKey: string;
  let handler: ReturnType<typeof Guarded.bind<string, unknown>>;
  const row = async () => (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
  beforeEach(async () => {
    tableKey = uniqueKey('guarded');
    handler = Guarded.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE, maxStateBytes: 64 * 1024 });
    await handler('nothing', lambdaContext());
  });

  it('refuses a function at assignment, naming the field and the path, and keeps the previous value', async () => {
    const error = await handler('assign-function', lambdaContext());
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).field).toBe('cache');
    expect((error as SerializationError).path).toBe('cache.items[3].fn');
    expect((error as Error).message).toBe('Cannot store field "cache": at cache.items[3].fn: functions cannot be stored');
    expect(await row()).toEqual({ note: { S: 'refused' } });
  });

  it('fails the invocation for a bad in-place mutation, keeps the stored value and saves the other fields', async () => {
    const failure = await handler('mutate-bad', lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SerializationError);
    expect((failure as SerializationError).path).toBe('cache.items[0]');
    expect(await row()).toEqual({ note: { S: 'still saved' } });
    // The field was put back to its stored value: the instance is not stuck.
    await expect(handler('small', lambdaContext())).resolves.toBeUndefined();
    expect(await row()).toEqual({ note: { S: 'still saved' }, blob: { S: 'small' } });
  });

  it('refuses an initializer that cannot be stored when the row has no value for it, naming the field', async () => {
    class BadDefault extends PersistentHandler<string, string> {
      @Persistent() label = 'start';
      @Persistent() format: unknown = () => 'not storable';
      async handler(event: string) {
        this.label = event;
        return this.label;
      }
    }
    const key = uniqueKey('bad-default');
    const failure = await BadDefault.bind({ client: recordingClient(dynamo.endpoint), tableKey: key, tableName: TABLE })(
      'first',
      lambdaContext(),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SerializationError);
    expect((failure as SerializationError).field).toBe('format');
    expect(await readItem(recordingClient(dynamo.endpoint), TABLE, key)).toBeUndefined();
    // A row that holds the field: the initializer is never used, so it is not encoded either.
    class GoodDefault extends PersistentHandler<string, string> {
      @Persistent() format: unknown = 'default';
      async handler() {
        this.format = 'text';
        return String(this.format);
      }
    }
    await GoodDefault.bind({ client: recordingClient(dynamo.endpoint), tableKey: key, tableName: TABLE })('', lambdaContext());
    const handler = BadDefault.bind({ client: recordingClient(dynamo.endpoint), tableKey: key, tableName: TABLE });
    await expect(handler('second', lambdaContext())).resolves.toBe('second');
    expect((await readItem(recordingClient(dynamo.endpoint), TABLE, key))?.value?.M).toEqual({ format: { S: 'text' }, label: { S: 'second' } });
  });

  it('an initializer that cannot be stored, met when another writer removed its field, takes in nothing of that row', async () => {
    // One environment's class: "format" starts as something that cannot be stored.
    class Reader extends PersistentHandler<string, number> {
      @Persistent() format: unknown = () => 'not storable';
      @Persistent() total = 0;
      @Persistent() touched = 0;
      async handler(event: string) {
        if (event === 'touch') this.touched += 1;
        if (event === 'add') this.total += 1;
        return this.total;
      }
    }
    // Another deployment of the function, whose initializers are fine.
    class Writer extends PersistentHandler<{ format?: string; total: number }, void> {
      @Persistent() format: unknown = 'text';
      @Persistent() total = 0;
      async handler(event: { format?: string; total: number }) {
        this.format = event.format;
        this.total = event.total;
      }
    }
    const key = uniqueKey('adopt-initializer');
    const options = () => ({ client: recordingClient(dynamo.endpoint), tableKey: key, tableName: TABLE });
    await Writer.bind(options())({ format: 'json', total: 1 }, lambdaContext());
    const reader = Reader.bind(options());
    await expect(reader('read', lambdaContext())).resolves.toBe(1); // the row holds "format": fine
    await Writer.bind(options())({ format: undefined, total: 5 }, lambdaContext()); // removes "format"
    // The reader's next write (of "touched" only) comes back with the row, which needs the
    // initializer, which it refuses...
    const failure = await reader('touch', lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SerializationError);
    expect((failure as Error).message).toMatch(/"format".*functions cannot be stored \(the field's initializer/);
    // ...without taking in half of the row, and without writing from its stale copy: its next write
    // is a whole-row write that conflicts, re-reads and refuses again. It does not count on from a stale total.
    await reader('add', lambdaContext()).catch((error: unknown) => error);
    const stored = (await readItem(recordingClient(dynamo.endpoint), TABLE, key))?.value?.M;
    expect(stored?.total).toEqual({ N: '5' });
    expect(stored?.format).toBeUndefined();
  });

  it('update() with one bad value assigns and writes nothing', async () => {
    const error = await handler('update-bad', lambdaContext());
    expect(error).toBeInstanceOf(SerializationError);
    expect(await row()).toBeUndefined();
  });

  it('update() with a field that is not @Persistent() throws a DecoratorUsageError naming it', async () => {
    const error = await handler('update-unknown', lambdaContext());
    expect(error).toBeInstanceOf(DecoratorUsageError);
    expect((error as Error).message).toMatch(/"nope".*not a @Persistent\(\) field of Guarded/);
  });

  it('refuses a value that would take the state over maxStateBytes, keeps the old one, and stays usable', async () => {
    const error = await handler('too-big', lambdaContext());
    expect(error).toBeInstanceOf(StateTooLargeError);
    expect((error as StateTooLargeError).field).toBe('blob');
    expect((error as StateTooLargeError).size).toBeGreaterThan(100 * 1024);
    expect((error as StateTooLargeError).limit).toBe(64 * 1024);
    expect((error as Error).message).toMatch(/"blob".*bytes.*maxStateBytes.*previous value was kept/);
    await handler('small', lambdaContext());
    expect(await row()).toEqual({ blob: { S: 'small' } });
  });
});
