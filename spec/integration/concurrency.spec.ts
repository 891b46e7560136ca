import { Persistent, PersistentHandler } from '../../src';
import { conflictReread, lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();

const TABLE = 'Concurrency';

class Fields extends PersistentHandler<{ field: 'a' | 'b' | 'shared'; value: number }, Record<string, number>> {
  @Persistent() a = 0;
  @Persistent() b = 0;
  @Persistent() shared = 0;
  async handler(event: { field: 'a' | 'b' | 'shared'; value: number }) {
    this[event.field] = event.value;
    return { a: this.a, b: this.b, shared: this.shared };
  }
}

const bindEnv = (tableKey: string, options: Parameters<typeof Fields.bind>[0] = {}) => {
  const client = recordingClient(dynamo.endpoint);
  return { client, handler: Fields.bind({ client, tableKey, tableName: TABLE, ...options }) };
};

describe('Concurrent environments', () => {
  it('keeps both changes when two warm environments write different fields', async () => {
    const key = uniqueKey();
    const one = bindEnv(key);
    const two = bindEnv(key);
    await one.handler({ field: 'a', value: 0 }, lambdaContext());
    await two.handler({ field: 'b', value: 0 }, lambdaContext());
    await one.handler({ field: 'a', value: 1 }, lambdaContext());
    two.client.requests.length = 0;
    // Environment two started before the row existed: its first write, a conditional PutItem,
    // finds environment one's row, takes it in and writes only b, as an UpdateItem. (Its handler
    // had already returned, having seen a = 0; the next invocation sees a = 1.)
    await expect(two.handler({ field: 'b', value: 2 }, lambdaContext())).resolves.toEqual({ a: 0, b: 2, shared: 0 });
    expect(two.client.requests).toEqual(['PutItem', ...conflictReread, 'UpdateItem']);
    // Once both know the row, writes of different fields do not conflict at all.
    await one.handler({ field: 'a', value: 5 }, lambdaContext());
    two.client.requests.length = 0;
    await expect(two.handler({ field: 'b', value: 6 }, lambdaContext())).resolves.toEqual({ a: 1, b: 6, shared: 0 });
    expect(two.client.requests).toEqual(['UpdateItem']);
    await expect(two.handler({ field: 'b', value: 7 }, lambdaContext())).resolves.toEqual({ a: 5, b: 7, shared: 0 });
    const row = (await readItem(two.client, TABLE, key))?.value?.M;
    expect(row).toEqual({ a: { N: '5' }, b: { N: '7' } });
  });

  it('keeps every change of environments writing at the same moment', async () => {
    const key = uniqueKey();
    const environments = Array.from({ length: 4 }, () => bindEnv(key));
    for (const env of environments) await env.handler({ field: 'a', value: 0 }, lambdaContext());
    const fields = ['a', 'b', 'shared'] as const;
    await Promise.all(environments.slice(0, 3).map((env, i) => env.handler({ field: fields[i]!, value: 10 + i }, lambdaContext())));
    const row = (await readItem(environments[0]!.client, TABLE, key))?.value?.M;
    expect(row).toEqual({ a: { N: '10' }, b: { N: '11' }, shared: { N: '12' } });
  });

  it("with refresh 'every-invocation', a warm environment sees another's change before its handler runs", async () => {
    const key = uniqueKey();
    const reader = bindEnv(key, { refresh: 'every-invocation' });
    const writer = bindEnv(key);
    await reader.handler({ field: 'a', value: 0 }, lambdaContext());
    await writer.handler({ field: 'shared', value: 5 }, lambdaContext());
    reader.client.requests.length = 0;
    await expect(reader.handler({ field: 'a', value: 1 }, lambdaContext())).resolves.toEqual({ a: 1, b: 0, shared: 5 });
    expect(reader.client.requests).toEqual(['GetItem', 'UpdateItem']);
  });

  it("with the default 'cold-start' refresh, a warm invocation makes no read", async () => {
    const key = uniqueKey();
    const env = bindEnv(key);
    await env.handler({ field: 'a', value: 1 }, lambdaContext());
    env.client.requests.length = 0;
    await env.handler({ field: 'a', value: 1 }, lambdaContext());
    expect(env.client.requests).toEqual([]);
  });

  it('does not apply a write twice when its answer was lost and the SDK retried it', async () => {
    const key = uniqueKey();
    const env = bindEnv(key);
    await env.handler({ field: 'a', value: 1 }, lambdaContext());
    // The first UpdateItem reaches DynamoDB, but its answer is lost: the SDK sends it again, and the
    // condition (the row must not name this write as its last) fails: the first attempt was applied.
    let lost = false;
    env.client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'UpdateItemCommand' && !lost) {
          lost = true;
          throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET', $metadata: {} });
        }
        return result;
      },
      { step: 'deserialize', name: 'loseAnswer', priority: 'high' },
    );
    env.client.requests.length = 0;
    await expect(env.handler({ field: 'a', value: 2 }, lambdaContext())).resolves.toEqual({ a: 2, b: 0, shared: 0 });
    // The resend fails its condition (the row names this write as its last); the row, from the
    // failure or read, shows the write was applied.
    expect(env.client.requests).toEqual(['UpdateItem', 'UpdateItem', ...conflictReread]);
    const item = await readItem(env.client, TABLE, key);
    expect(item?.value?.M).toEqual({ a: { N: '2' } });
    // Applied once: revision 2 (the first write made revision 1), not 3.
    expect(item?.revision).toEqual({ N: '2' });
  });
});

describe('Conflicts and in-place changes', () => {
  class Listing extends PersistentHandler<{ item?: string; other?: number }, unknown> {
    @Persistent() items: string[] = [];
    @Persistent() count = 0;
    @Persistent() other = 0;
    async handler(event: { item?: string; other?: number }) {
      if (event.other !== undefined) this.other = event.other;
      if (event.item !== undefined) {
        this.items.push(event.item); // in place: no setter runs
        await this.update({ count: this.count + 1 }); // this write meets the conflict
      }
      return { items: [...this.items], count: this.count, other: this.other };
    }
  }

  it('keeps an in-place change made before a write that meets a conflict', async () => {
    const key = uniqueKey('inplace');
    const one = Listing.bind({ client: recordingClient(dynamo.endpoint), tableKey: key, tableName: TABLE, onFailure: 'save' });
    const two = Listing.bind({ client: recordingClient(dynamo.endpoint), tableKey: key, tableName: TABLE, onFailure: 'save' });
    await one({}, lambdaContext());
    await two({}, lambdaContext());
    await two({ other: 7 }, lambdaContext());
    await expect(one({ item: 'kept' }, lambdaContext())).resolves.toEqual({ items: ['kept'], count: 1, other: 7 });
    const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, key))?.value?.M;
    expect(row).toEqual({ items: { L: [{ S: 'kept' }] }, count: { N: '1' }, other: { N: '7' } });
  });
});
