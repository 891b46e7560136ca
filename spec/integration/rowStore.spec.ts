/**
 * DynamoDBRowStore.update: a write of changes (set / remove / add a delta) under the row's
 * revision, against dynalite. Fields the changes do not name stay as stored, whoever wrote them.
 */
import { resolveOptions } from '../../src/persistence/options';
import { DynamoDBRowStore, newWriteId, type StoredRow } from '../../src/persistence/RowStore';
import type { FieldChange } from '../../src/persistence/FieldChange';
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
  expect(written).toEqual({ status: 'written', revision: 1 });
  client.requests.length = 0;
  return { tableKey, client, store };
}

const changes = (entries: [string, FieldChange][]) => new Map(entries);

describe('DynamoDBRowStore.update: writing changes, not the whole state', () => {
  it('sets, removes and adds in one UpdateItem, leaves other fields alone, and returns the row after it', async () => {
    const { tableKey, client, store } = await rowWith({ keep: { S: 'theirs' }, gone: { N: '1' }, count: { N: '5' } });
    const outcome = await store.update(
      changes([
        ['name', { kind: 'set', attribute: { S: 'mine' } }],
        ['gone', { kind: 'remove' }],
        ['count', { kind: 'add', delta: { N: '2' } }],
        ['fresh', { kind: 'add', delta: { N: '3' } }],
      ]),
      1,
      newWriteId(),
    );
    expect(client.requests).toEqual(['UpdateItem']);
    expect(outcome).toMatchObject({ status: 'written', revision: 2 });
    const expected = { keep: { S: 'theirs' }, name: { S: 'mine' }, count: { N: '7' }, fresh: { N: '3' } };
    expect(outcome.status === 'written' && outcome.row?.fields).toEqual(expected);
    const item = await readItem(client, TABLE, tableKey);
    expect(item?.value?.M).toEqual(expected);
    expect(item?.revision).toEqual({ N: '2' });
  });

  it('is a conflict, with the row as it is, when the revision moved; nothing is written', async () => {
    const { tableKey, client, store } = await rowWith({ a: { S: 'one' } });
    const outcome = await store.update(changes([['a', { kind: 'set', attribute: { S: 'two' } }]]), 7, newWriteId());
    expect(outcome.status).toBe('conflict');
    // DynamoDB and moto return the item with the failure; dynalite does not.
    if (outcome.status === 'conflict' && outcome.current) expect(outcome.current).toMatchObject({ revision: 1, fields: { a: { S: 'one' } } });
    expect((await readItem(client, TABLE, tableKey))?.value?.M).toEqual({ a: { S: 'one' } });
  });

  it('is a conflict when the row is not in the readable map layout (a packed state is written whole)', async () => {
    const { tableKey, client, store } = await rowWith({ big: { B: new Uint8Array(420 * 1024).fill(7) } });
    const before = await readItem(client, TABLE, tableKey);
    expect(before?.packed ?? before?.parts).toBeDefined();
    const outcome = await store.update(changes([['small', { kind: 'set', attribute: { S: 'x' } }]]), 1, newWriteId());
    expect(outcome.status).toBe('conflict');
    expect(await readItem(client, TABLE, tableKey)).toEqual(before);
  });

  it('reports table-missing for a table that does not exist', async () => {
    const client = recordingClient(dynamo.endpoint);
    const store = new DynamoDBRowStore(client, resolveOptions({ tableName: 'NoSuchTableForChanges' }, {}), 'k', new SizeCache());
    await expect(store.update(changes([['a', { kind: 'remove' }]]), 1, newWriteId())).resolves.toEqual({ status: 'table-missing' });
  });
});
