/**
 * DynamoDBRowStore.update: a write of changes (set / remove / add a delta) under the row's
 * revision, against dynalite. Fields the changes do not name stay as stored, whoever wrote them.
 */
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { resolveOptions } from '../../src/persistence/options';
import { DynamoDBRowStore, newWriteId, type StoredRow } from '../../src/persistence/RowStore';
import type { FieldChange } from '../../src/persistence/fields/FieldChange';
import { SizeCache } from '../../src/persistence/storage/sizes';
import { readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'RowStoreChanges';

function storeFor(tableKey: string) {
  const client = recordingClient(dynamo.endpoint);
  const store = new DynamoDBRowStore(client, resolveOptions({ tableName: TABLE }, {}), tableKey, new SizeCache());
  return { client, store };
}

async function rowWith(fields: StoredRow['fields']) {
  const tableKey = uniqueKey('changes');
  const { client, store } = storeFor(tableKey);
  await store.createMissingTable();
  const written = await store.put(fields, 0, newWriteId());
  expect(written).toMatchObject({ status: 'written', revision: 1 });
  client.requests.length = 0;
  return { tableKey, client, store };
}

const changes = (entries: [string, FieldChange][]) => new Map(entries);

describe('DynamoDBRowStore.update: writing changes, not the whole state', () => {
  it('sets, removes and adds in one UpdateItem, leaves other fields alone, and returns the row after it', async () => {
    const { tableKey, client, store } = await rowWith({ keep: { S: 'theirs' }, gone: { N: '1' }, count: { N: '5' } });
    const expected = { keep: { S: 'theirs' }, name: { S: 'mine' }, count: { N: '7' }, fresh: { N: '13' } };
    const outcome = await store.update(
      changes([
        ['name', { kind: 'set', attribute: { S: 'mine' } }],
        ['gone', { kind: 'remove' }],
        ['count', { kind: 'add', delta: { N: '2' }, from: { N: '0' } }],
        // Absent from the row: the delta adds to the initializer's value.
        ['fresh', { kind: 'add', delta: { N: '3' }, from: { N: '10' } }],
      ]),
      expected,
      1,
      newWriteId(),
    );
    expect(client.requests).toEqual(['UpdateItem']);
    expect(outcome).toMatchObject({ status: 'written', revision: 2, layout: 'map' });
    expect(outcome.status === 'written' && outcome.row?.fields).toEqual(expected);
    const item = await readItem(client, TABLE, tableKey);
    expect(item?.value?.M).toEqual(expected);
    expect(item?.revision).toEqual({ N: '2' });
  });

  it('applies whatever the revision: writers of different fields never conflict', async () => {
    const { tableKey, client, store } = await rowWith({ a: { S: 'one' } });
    const other = storeFor(tableKey).store;
    await other.update(changes([['b', { kind: 'set', attribute: { S: 'theirs' } }]]), { a: { S: 'one' }, b: { S: 'theirs' } }, 1, newWriteId());
    // Still based on revision 1, now 2: a change that is not conditional applies all the same.
    const outcome = await store.update(changes([['a', { kind: 'set', attribute: { S: 'two' } }]]), { a: { S: 'two' } }, 1, newWriteId());
    expect(outcome).toMatchObject({ status: 'written', revision: 3, row: { fields: { a: { S: 'two' }, b: { S: 'theirs' } } } });
    expect((await readItem(client, TABLE, tableKey))?.value?.M).toEqual({ a: { S: 'two' }, b: { S: 'theirs' } });
  });

  it('is a conflict, with the row as it is, when a change conditional on the revision was based on an older one', async () => {
    const { tableKey, client, store } = await rowWith({ a: { S: 'one' } });
    const conditional = changes([['a', { kind: 'set', attribute: { S: 'two' }, condition: { kind: 'revision' } }]]);
    const outcome = await store.update(conditional, { a: { S: 'two' } }, 7, newWriteId());
    expect(outcome).toMatchObject({ status: 'conflict', current: { revision: 1, fields: { a: { S: 'one' } } } });
    expect((await readItem(client, TABLE, tableKey))?.value?.M).toEqual({ a: { S: 'one' } });
    await expect(store.update(conditional, { a: { S: 'two' } }, 1, newWriteId())).resolves.toMatchObject({ status: 'written', revision: 2 });
  });

  it('applies a resent write once: the row names it as its last write, and the resend counts as written', async () => {
    const { tableKey, client, store } = await rowWith({ count: { N: '1' } });
    const writeId = newWriteId();
    const add = changes([['count', { kind: 'add', delta: { N: '1' }, from: { N: '0' } }]]);
    await expect(store.update(add, { count: { N: '2' } }, 1, writeId)).resolves.toMatchObject({ status: 'written', revision: 2 });
    await expect(store.update(add, { count: { N: '2' } }, 1, writeId)).resolves.toMatchObject({ status: 'written', revision: 2 });
    expect((await readItem(client, TABLE, tableKey))?.value?.M).toEqual({ count: { N: '2' } });
  });

  it("recognises its own applied write in a resend's refusal and returns the row, other writers' fields included", async () => {
    const { tableKey, store } = await rowWith({ a: { S: 'one' } });
    const other = storeFor(tableKey).store;
    await other.update(changes([['b', { kind: 'set', attribute: { S: 'theirs' } }]]), { a: { S: 'one' }, b: { S: 'theirs' } }, 1, newWriteId());
    const writeId = newWriteId();
    const mine = changes([['c', { kind: 'set', attribute: { S: 'mine' } }]]);
    await store.update(mine, { a: { S: 'one' }, c: { S: 'mine' } }, 1, writeId);
    // The SDK's resend of the same write (its answer lost): refused, and known to be this one.
    const resent = await store.update(mine, { a: { S: 'one' }, c: { S: 'mine' } }, 1, writeId);
    expect(resent).toMatchObject({ status: 'written', revision: 3, row: { fields: { a: { S: 'one' }, b: { S: 'theirs' }, c: { S: 'mine' } } } });
  });

  it('is a conflict when the row is not in the readable map layout (a packed state is written whole)', async () => {
    const { tableKey, client, store } = await rowWith({ big: { B: new Uint8Array(420 * 1024).fill(7) } });
    const before = await readItem(client, TABLE, tableKey);
    expect(before?.packed ?? before?.parts).toBeDefined();
    const outcome = await store.update(changes([['small', { kind: 'set', attribute: { S: 'x' } }]]), { small: { S: 'x' } }, 1, newWriteId());
    expect(outcome.status).toBe('conflict');
    expect(await readItem(client, TABLE, tableKey)).toEqual(before);
  });

  it('asks for a whole-row write, without a request, when the state after the changes would not fit the readable layout', async () => {
    const { client, store } = await rowWith({ a: { S: 'one' } });
    const big = { B: new Uint8Array(420 * 1024) };
    await expect(store.update(changes([['big', { kind: 'set', attribute: big }]]), { a: { S: 'one' }, big }, 1, newWriteId())).resolves.toEqual({
      status: 'rewrite',
    });
    expect(client.requests).toEqual([]);
  });

  it('reports table-missing for a table that does not exist', async () => {
    const client = recordingClient(dynamo.endpoint);
    const store = new DynamoDBRowStore(client, resolveOptions({ tableName: 'NoSuchTableForChanges' }, {}), 'k', new SizeCache());
    await expect(store.update(changes([['a', { kind: 'remove' }]]), {}, 1, newWriteId())).resolves.toEqual({ status: 'table-missing' });
  });

  it('writes into a row that names no write (0.1.0, another program), and settles a write id that vanished meanwhile by one retry', async () => {
    const tableKey = uniqueKey('changes');
    const { client, store } = storeFor(tableKey);
    await store.createMissingTable();
    const conditions: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'UpdateItemCommand') conditions.push(String((args.input as { ConditionExpression?: string }).ConditionExpression));
        return next(args);
      },
      { step: 'initialize', name: 'recordConditions' },
    );
    const key = { key: { S: tableKey } };
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key, value: { M: { n: { N: '1' } } }, revision: { N: '1' }, format: { N: '1' } } }));
    const add = () => changes([['n', { kind: 'add', delta: { N: '1' }, from: { N: '0' } }]]);
    await store.get();
    await expect(store.update(add(), { n: { N: '2' } }, 1, newWriteId())).resolves.toMatchObject({ status: 'written', revision: 2 });
    // The row names a write from now on: the shorter condition.
    await expect(store.update(add(), { n: { N: '3' } }, 2, newWriteId())).resolves.toMatchObject({ status: 'written', revision: 3 });
    expect(conditions).toEqual([
      'attribute_exists(#state) AND (attribute_not_exists(#writeId) OR #writeId <> :writeId)',
      'attribute_exists(#state) AND #writeId <> :writeId',
    ]);
    // Another program rewrites the row without a write id: the change still lands exactly once,
    // at once or after one conflict (a server that takes a missing attribute as unequal, or not).
    await client.send(new UpdateItemCommand({ TableName: TABLE, Key: key, UpdateExpression: 'REMOVE writeId' }));
    let outcome = await store.update(add(), { n: { N: '4' } }, 3, newWriteId());
    if (outcome.status === 'conflict') outcome = await store.update(add(), { n: { N: '4' } }, 3, newWriteId());
    expect(outcome).toMatchObject({ status: 'written' });
    expect((await readItem(client, TABLE, tableKey))?.value?.M).toEqual({ n: { N: '4' } });
  });
});
