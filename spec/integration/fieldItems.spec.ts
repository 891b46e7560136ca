/**
 * Large fields in items of their own (docs/storage-format.md, "Fields in items of their own"): a
 * change costs what it changes. Capacity is DynamoDB's count as dynalite computes it (moto reports
 * its own figures: there, the request counts and the stored items are checked, not the units).
 */
import { PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { Persistent, PersistentHandler, sum } from '../../src';
import { atOnce, lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'FieldItemsTable';
const ON_MOTO = process.env.TEST_DYNAMODB_IMPLEMENTATION === 'moto';
const KB = 1024;

class Cache extends PersistentHandler<{ blob?: string | null; tag?: string; bump?: number } | undefined, { blob: string | undefined; tag: string; count: number }> {
  @Persistent() blob?: string;
  @Persistent() tag = '';
  @Persistent({ merge: sum }) count = 0;
  async handler(event: { blob?: string | null; tag?: string; bump?: number } | undefined) {
    if (event?.blob !== undefined) this.blob = event.blob ?? undefined;
    if (event?.tag !== undefined) this.tag = event.tag;
    if (event?.bump !== undefined) this.count += event.bump;
    return { blob: this.blob, tag: this.tag, count: this.count };
  }
}

function environment(tableKey: string, options: { largeFieldBytes?: number } = {}) {
  return Cache.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey, ...options });
}

/** What one invocation cost: requests by kind (only those sent) and capacity units. */
async function costOf(handler: ReturnType<typeof environment>, event: Parameters<Cache['handler']>[0]) {
  const before = JSON.parse(JSON.stringify(handler.stats));
  const result = await handler(event, lambdaContext());
  const requests: Record<string, number> = {};
  for (const [op, n] of Object.entries(handler.stats.requests)) if (n > before.requests[op]) requests[op] = n - before.requests[op];
  return { result, requests, writeUnits: handler.stats.writeUnits - before.writeUnits, readUnits: handler.stats.readUnits - before.readUnits };
}

const big = (letter: string, size = 100 * KB) => letter.repeat(size);

describe('fields in items of their own', () => {
  let client: ReturnType<typeof recordingClient>;
  beforeAll(async () => {
    client = recordingClient(dynamo.endpoint);
    // The table exists before the measured invocations.
    await environment(uniqueKey('warm-up'))(undefined, lambdaContext());
  });

  it('adds 1 to a counter beside a 100 KB field for at most 2 WCU, and replaces the field for its size + 2', async () => {
    const tableKey = uniqueKey('cost');
    const handler = environment(tableKey);
    await handler({ blob: big('a'), tag: 'a' }, lambdaContext());
    const bump = await costOf(handler, { bump: 1 });
    expect(bump.requests).toEqual({ UpdateItem: 1 });
    expect(bump.result.count).toBe(1);
    const replace = await costOf(handler, { blob: big('b'), tag: 'b' });
    expect(replace.requests).toEqual({ PutItem: 1, UpdateItem: 1 });
    if (!ON_MOTO) {
      expect(bump.writeUnits).toBeLessThanOrEqual(2);
      expect(replace.writeUnits).toBeLessThanOrEqual(100 + 2 + 1); // the item's key, name and id beside 100 KB
    }
    // The row points to the field's item; the item holds the value, readable in the console.
    const row = (await readItem(client, TABLE, tableKey))!;
    expect(row.format).toEqual({ N: '2' });
    expect(row.value?.M?.blob).toBeUndefined();
    expect(row.value?.M?.tag).toEqual({ S: 'b' });
    const ref = row.items?.M?.blob?.M;
    expect(ref).toMatchObject({ slot: { N: '1' }, size: { N: String(100 * KB) } });
    const item = (await readItem(client, TABLE, `${tableKey}#field#1#blob`))!;
    expect(item).toMatchObject({ field: { S: 'blob' }, writeId: ref!.writeId!, value: { S: big('b') } });
  });

  it('reads the row and its field items on a cold start in two requests, and the next replacement overwrites the oldest slot', async () => {
    const tableKey = uniqueKey('cold');
    const writer = environment(tableKey);
    await writer({ blob: big('a'), tag: 'a' }, lambdaContext());
    await writer({ blob: big('b'), tag: 'b' }, lambdaContext());
    const cold = await costOf(environment(tableKey), undefined);
    expect(cold.requests).toEqual({ GetItem: 1, BatchGetItem: 1 });
    expect(cold.result).toEqual({ blob: big('b'), tag: 'b', count: 0 });
    // Strongly consistent reads: 1 RCU for the row, one per 4 KB for the item (100 KB beside its
    // key, name and write id: 26).
    if (!ON_MOTO) expect(cold.readUnits).toBe(1 + 26);
    await writer({ blob: big('c'), tag: 'c' }, lambdaContext());
    const slots = await Promise.all([0, 1].map((slot) => readItem(client, TABLE, `${tableKey}#field#${slot}#blob`)));
    expect(slots.map((item) => item?.value?.S?.[0])).toEqual(['c', 'b']);
  });

  it('keeps a state under 4 KB in one item: one GetItem on a cold start', async () => {
    const tableKey = uniqueKey('small');
    await environment(tableKey)({ blob: big('s', 3 * KB), tag: 's' }, lambdaContext());
    const cold = await costOf(environment(tableKey), undefined);
    expect(cold.requests).toEqual({ GetItem: 1 });
    expect((await readItem(client, TABLE, tableKey))?.format).toEqual({ N: '1' });
  });

  it('moves a field back into the row when it shrinks, and drops it when it is removed', async () => {
    const tableKey = uniqueKey('shrink');
    const handler = environment(tableKey);
    await handler({ blob: big('a') }, lambdaContext());
    await handler({ blob: 'small' }, lambdaContext());
    let row = (await readItem(client, TABLE, tableKey))!;
    expect(row.value?.M?.blob).toEqual({ S: 'small' });
    expect(row.items?.M).toEqual({});
    expect((await costOf(environment(tableKey), undefined)).result.blob).toBe('small');
    await handler({ blob: big('b') }, lambdaContext());
    await handler({ blob: null }, lambdaContext());
    row = (await readItem(client, TABLE, tableKey))!;
    expect(row.value?.M?.blob).toBeUndefined();
    expect(row.items?.M).toEqual({});
    expect((await costOf(environment(tableKey), undefined)).result.blob).toBeUndefined();
  });

  it('takes over a slot filled by an environment that died before pointing the row to it', async () => {
    const tableKey = uniqueKey('orphan');
    const handler = environment(tableKey);
    await handler({ blob: big('a') }, lambdaContext());
    // A writer put its value into the free slot (1) and was killed before it wrote the row.
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { key: { S: `${tableKey}#field#1#blob` }, field: { S: 'blob' }, writeId: { S: 'killed-writer' }, value: { S: big('x') } },
      }),
    );
    expect((await costOf(environment(tableKey), undefined)).result.blob).toBe(big('a'));
    await handler({ blob: big('b') }, lambdaContext());
    expect((await costOf(environment(tableKey), undefined)).result.blob).toBe(big('b'));
  });

  it('upgrades a row of 0.1.0 with a large field in its map on its next write', async () => {
    const tableKey = uniqueKey('upgrade');
    const value: Record<string, AttributeValue> = { blob: { S: big('o') }, tag: { S: 'old' }, count: { N: '5' } };
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { key: { S: tableKey }, value: { M: value }, revision: { N: '3' }, format: { N: '1' } } }));
    const handler = environment(tableKey);
    const first = await costOf(handler, { bump: 1 });
    expect(first.result).toEqual({ blob: big('o'), tag: 'old', count: 6 });
    expect(first.requests).toEqual({ GetItem: 1, PutItem: 2 }); // the field's item, then the row
    const row = (await readItem(client, TABLE, tableKey))!;
    expect(row.value?.M).toEqual({ tag: { S: 'old' }, count: { N: '6' } });
    expect(row.items?.M?.blob).toBeDefined();
    const next = await costOf(handler, { bump: 1 });
    expect(next.requests).toEqual({ UpdateItem: 1 });
    if (!ON_MOTO) expect(next.writeUnits).toBeLessThanOrEqual(2);
  });

  it('keeps every environment’s change to different fields and counts every increment, large fields included', async () => {
    const tableKey = uniqueKey('concurrent');
    await environment(tableKey)({ blob: big('a'), tag: 'start' }, lambdaContext());
    const environments = Array.from({ length: 6 }, () => environment(tableKey));
    await Promise.all(environments.map((env) => env(undefined, lambdaContext())));
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      await atOnce(
        environments.map((env, i) => () =>
          env(i === 0 ? { blob: big(String.fromCharCode(98 + round)), bump: 1 } : { bump: 1 }, lambdaContext()),
        ),
      );
    }
    const result = (await costOf(environment(tableKey), undefined)).result;
    expect(result.count).toBe(environments.length * rounds);
    expect(result.blob).toBe(big(String.fromCharCode(98 + rounds - 1)));
  });

  it('reads one whole version while several environments replace the same large field', async () => {
    const tableKey = uniqueKey('versions');
    await environment(tableKey)({ blob: big('a', 20 * KB), tag: 'a' }, lambdaContext());
    const writers = Array.from({ length: 4 }, () => environment(tableKey));
    await Promise.all(writers.map((env) => env(undefined, lambdaContext())));
    const letters = 'bcdefghijklmnopq';
    const seen: { blob: string | undefined; tag: string }[] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) seen.push((await environment(tableKey)(undefined, lambdaContext())) as { blob: string | undefined; tag: string });
    })();
    await atOnce(
      writers.map((env, w) => async () => {
        for (let i = w; i < letters.length; i += writers.length) {
          const letter = letters[i]!;
          await env({ blob: big(letter, 20 * KB), tag: letter }, lambdaContext());
        }
      }),
    );
    writing = false;
    await reader;
    expect(seen.length).toBeGreaterThan(0);
    // Each read is one write's blob with that same write's tag: never the blob of one and the tag of another.
    for (const read of seen) expect(read.blob).toBe(big(read.tag, 20 * KB));
    const final = (await costOf(environment(tableKey), undefined)).result;
    expect(final.blob).toBe(big(final.tag, 20 * KB));
  });
});
