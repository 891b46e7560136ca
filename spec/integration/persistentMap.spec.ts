import { AccessDeniedError, ConfigurationError, Persistent, PersistentHandler, PersistentMap, SerializationError } from '../../src';
import { lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';
import { useDynamoProxy } from '../support/dynamoProxy';

const dynamo = useDynalite();
const faults = useDynamoProxy(dynamo);
const TABLE = 'MapTable';

let key = '';
beforeEach(() => {
  key = uniqueKey('map');
});

function open<V = unknown>(tableKey = key) {
  const client = recordingClient(dynamo.endpoint);
  return { client, map: PersistentMap.open<V>({ client, tableName: TABLE, tableKey }) };
}

async function storedValue() {
  return (await readItem(recordingClient(dynamo.endpoint), TABLE, key))?.value?.M;
}

describe('Class: PersistentMap', () => {
  it('reads the row once on open, answers reads from memory and writes one request per set', async () => {
    await (await open().map).set('warm-up', 1); // creates the table on the first test
    const { client, map: opening } = open<number>();
    const map = await opening;
    expect(client.requests).toEqual(['GetItem']);
    client.requests.length = 0;
    expect(map.get('warm-up')).toBe(1);
    expect(map.has('nothing')).toBe(false);
    expect(client.requests).toEqual([]);
    await map.set('count', 1);
    await map.set('count', 2);
    // The row exists: each set writes only its key.
    expect(client.requests).toEqual(['UpdateItem', 'UpdateItem']);
    expect(await storedValue()).toEqual({ 'warm-up': { N: '1' }, count: { N: '2' } });
  });

  it('open() returns the same map per client and options: one GetItem per environment, refresh policy applied', async () => {
    const client = recordingClient(dynamo.endpoint);
    const first = await PersistentMap.open({ client, tableName: TABLE, tableKey: key });
    const again = await PersistentMap.open({ client, tableName: TABLE, tableKey: key });
    expect(again).toBe(first);
    expect(client.requests).toEqual(['GetItem']);
    const other = await PersistentMap.open({ client, tableName: TABLE, tableKey: `${key}-other` });
    expect(other).not.toBe(first);
    client.requests.length = 0;
    const refreshing = await PersistentMap.open({ client, tableName: TABLE, tableKey: key, refresh: 'every-invocation' });
    await PersistentMap.open({ client, tableName: TABLE, tableKey: key, refresh: 'every-invocation' });
    expect(refreshing).toBe(first);
    expect(client.requests).toEqual(['GetItem', 'GetItem']);
  });

  it('a refresh waits for a write nobody awaited, instead of reading the row from before it', async () => {
    const client = recordingClient(dynamo.endpoint);
    const map = await PersistentMap.open<number>({ client, tableName: TABLE, tableKey: key });
    await map.set('n', 1);
    const pending = map.set('n', 2);
    await PersistentMap.open({ client, tableName: TABLE, tableKey: key, refresh: 'every-invocation' });
    expect(map.get('n')).toBe(2);
    await pending;
    expect(await storedValue()).toEqual({ n: { N: '2' } });
  });

  it('a failed open() rejects, and the next call tries again', async () => {
    const client = recordingClient(faults.endpoint);
    const removeFault = faults.proxy.failNext('GetItem', 'AccessDeniedException', { message: 'denied', times: 1 });
    await expect(PersistentMap.open({ client, tableName: TABLE, tableKey: key })).rejects.toBeInstanceOf(AccessDeniedError);
    removeFault();
    await (await PersistentMap.open({ client, tableName: TABLE, tableKey: key })).set('after', 'retry');
    expect(await storedValue()).toEqual({ after: { S: 'retry' } });
  });

  it('behaves like a Map: size, keys, values, entries, iteration, forEach, delete, clear, toJSON', async () => {
    const map = await open<number | string>().map;
    await map.update({ a: 1, b: 'two' });
    await map.set('c', 3);
    expect(map.size).toBe(3);
    expect([...map.keys()]).toEqual(['a', 'b', 'c']);
    expect([...map.values()]).toEqual([1, 'two', 3]);
    expect([...map]).toEqual([['a', 1], ['b', 'two'], ['c', 3]]);
    const seen: string[] = [];
    map.forEach((value, k) => seen.push(`${k}=${value}`));
    expect(seen).toEqual(['a=1', 'b=two', 'c=3']);
    expect(JSON.stringify(map)).toBe('{"a":1,"b":"two","c":3}');
    expect(String(map)).toBe('[object PersistentMap]');
    await expect(map.delete('b')).resolves.toBe(true);
    await expect(map.delete('b')).resolves.toBe(false);
    expect(await storedValue()).toEqual({ a: { N: '1' }, c: { N: '3' } });
    await map.clear();
    expect(map.size).toBe(0);
    expect(await storedValue()).toEqual({});
    const reopened = await open().map;
    expect(reopened.size).toBe(0);
  });

  it('update() stores many keys in one request, from an object or from entries', async () => {
    const { client, map: opening } = open();
    const map = await opening;
    client.requests.length = 0;
    await map.update({ x: 1, y: new Date(5) });
    await map.update(new Map<string, unknown>([['z', [1, 2]], ['x', 2]]));
    expect(client.requests).toEqual(['PutItem', 'UpdateItem']); // the row's first write, then changes only
    const again = await open().map;
    expect(again.toJSON()).toEqual({ x: 2, y: new Date(5), z: [1, 2] });
  });

  it("treats the Python package's configuration words as ordinary keys", async () => {
    const map = await open().map;
    await map.update({ table_name: 'mine', table_key: 'also mine', key: 'k', value: 'v', revision: 7 });
    const again = await open().map;
    expect(again.toJSON()).toEqual({ table_name: 'mine', table_key: 'also mine', key: 'k', value: 'v', revision: 7 });
    const item = await readItem(recordingClient(dynamo.endpoint), TABLE, key);
    expect(item?.key).toEqual({ S: key });
  });

  it('restores native types exactly after a cold start', async () => {
    const map = await open().map;
    const value = { when: new Date(1_700_000_000_000), tags: new Set(['a']), counts: new Map([[1, 2n]]), bytes: new Uint8Array([1, 2]) };
    await map.set('rich', value);
    const again = await open().map;
    expect(again.get('rich')).toEqual(value);
  });

  it('writes in-place changes of stored objects on flush()', async () => {
    const map = await open<string[]>().map;
    await map.set('items', ['a']);
    map.get('items')!.push('b');
    await map.flush();
    expect((await open<string[]>().map).get('items')).toEqual(['a', 'b']);
  });

  it('refuses a value it cannot store, naming key and path, and keeps what is stored', async () => {
    const map = await open().map;
    await map.set('safe', { n: 1 });
    const error = await map.set('safe', { n: 2, fn: () => 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toMatch(/"safe".*safe\.fn.*functions cannot be stored/);
    expect(map.get('safe')).toEqual({ n: 1 });
    expect((await open().map).get('safe')).toEqual({ n: 1 });
  });

  it('refuses keys that are not non-empty strings', async () => {
    const map = await open().map;
    expect(() => map.get('')).toThrow(ConfigurationError);
    await expect(map.set(42 as unknown as string, 1)).rejects.toThrow(/keys are non-empty strings other than "__proto__"; got number/);
    await expect(map.update(JSON.parse('{"__proto__": {"polluted": true}, "fine": 1}') as Record<string, unknown>)).rejects.toThrow(
      /got "__proto__"/,
    );
    expect(map.has('fine')).toBe(false);
  });

  it('keeps both environments\' keys when two write concurrently, and refresh() shows the other\'s', async () => {
    const one = await open<number>().map;
    const two = await open<number>().map;
    await one.set('one', 1);
    await two.set('two', 2); // conflicts, re-reads, keeps 'one'
    expect(two.get('one')).toBe(1);
    expect(one.has('two')).toBe(false);
    await one.refresh();
    expect(one.toJSON()).toEqual({ one: 1, two: 2 });
    expect((await open().map).toJSON()).toEqual({ one: 1, two: 2 });
  });

  it('is a view of the same state map as a handler\'s @Persistent() fields', async () => {
    class Counter extends PersistentHandler<unknown, number> {
      @Persistent() count = 0;
      async handler() {
        this.count += 1;
        return this.count;
      }
    }
    const handler = Counter.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: key });
    await handler({}, lambdaContext());
    const map = await open<number>().map;
    expect(map.get('count')).toBe(1);
    await map.set('count', 41);
    const cold = Counter.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: key });
    await expect(cold({}, lambdaContext())).resolves.toBe(42);
  });

  it('takes the row key from AWS_LAMBDA_FUNCTION_NAME, and says what to do without one', async () => {
    const saved = process.env.AWS_LAMBDA_FUNCTION_NAME;
    try {
      process.env.AWS_LAMBDA_FUNCTION_NAME = key;
      const map = await PersistentMap.open({ client: recordingClient(dynamo.endpoint), tableName: TABLE });
      await map.set('from', 'env');
      expect(await storedValue()).toEqual({ from: { S: 'env' } });
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      await expect(PersistentMap.open({ client: recordingClient(dynamo.endpoint), tableName: TABLE })).rejects.toThrow(
        /No table key.*tableKey: 'my-function'.*PERSISTENCE_TABLE_KEY/,
      );
    } finally {
      if (saved === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      else process.env.AWS_LAMBDA_FUNCTION_NAME = saved;
    }
  });
});
