import { Persistent, PersistentHandler } from '../../src';
import { lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();

const TABLE = 'LifecycleTable';

type Action =
  | { op: 'none' }
  | { op: 'add'; n: number }
  | { op: 'same' }
  | { op: 'three-sets' }
  | { op: 'update' }
  | { op: 'mutate' }
  | { op: 'throw' }
  | { op: 'steps'; n: number };

class Counter extends PersistentHandler<Action, unknown> {
  @Persistent() count = 0;
  @Persistent() label = 'none';
  @Persistent() lastRun?: Date;
  @Persistent() items: string[] = [];
  @Persistent() seen = new Map<string, number>();
  /** Not persistent: an ordinary field. */
  calls = 0;

  async handler(event: Action) {
    this.calls += 1;
    switch (event.op) {
      case 'add':
        this.count += event.n;
        break;
      case 'same':
        this.count = this.count; // eslint-disable-line no-self-assign
        this.label = String(this.label);
        break;
      case 'three-sets':
        this.count += 1;
        this.label = 'three';
        this.lastRun = new Date(1_000);
        break;
      case 'update':
        await this.update({ count: 100, label: 'updated', lastRun: new Date(2_000) });
        break;
      case 'mutate':
        this.items.push('pushed');
        this.seen.set('k', 1);
        this.lastRun?.setTime(3_000);
        break;
      case 'throw':
        this.count += 1;
        throw new Error('handler failed');
      case 'steps':
        for (let i = 1; i <= event.n; i++) {
          this.count = i;
          await new Promise((resolve) => setImmediate(resolve));
        }
        break;
    }
    return { count: this.count, calls: this.calls };
  }
}

let reader: ReturnType<typeof recordingClient>;
let currentKey = '';
beforeAll(() => {
  reader = recordingClient(dynamo.endpoint);
});

function environment(tableKey = currentKey, onFailure?: 'save' | 'discard') {
  const client = recordingClient(dynamo.endpoint);
  const handler = Counter.bind({ client, tableKey, tableName: TABLE, ...(onFailure && { onFailure }) });
  const invoke = async (event: Action) => {
    client.requests.length = 0;
    return handler(event, lambdaContext());
  };
  return { client, invoke };
}

async function stored() {
  return (await readItem(reader, TABLE, currentKey))?.value?.M;
}

beforeEach(() => {
  currentKey = uniqueKey('lifecycle');
});

describe('PersistentHandler: cold start and warm invocations', () => {
  it('reads the row once on a cold start and never when warm', async () => {
    const env = environment();
    await env.invoke({ op: 'none' }); // may create the table on the first test
    const cold = environment();
    await expect(cold.invoke({ op: 'none' })).resolves.toEqual({ count: 0, calls: 1 });
    expect(cold.client.requests).toEqual(['GetItem']);
    await cold.invoke({ op: 'none' });
    expect(cold.client.requests).toEqual([]);
    await cold.invoke({ op: 'add', n: 2 });
    expect(cold.client.requests).toEqual(['PutItem']); // the row's first write
  });

  it('hydrates a new environment from the row; missing fields keep their initializers', async () => {
    await environment().invoke({ op: 'add', n: 5 });
    const cold = environment();
    await expect(cold.invoke({ op: 'add', n: 1 })).resolves.toEqual({ count: 6, calls: 1 });
    // The row exists in the readable layout: the write carries only the changed field.
    expect(cold.client.requests).toEqual(['GetItem', 'UpdateItem']);
    expect(await stored()).toEqual({ count: { N: '6' } });
  });

  it('writes nothing for a set that leaves the encoded value as stored', async () => {
    const env = environment();
    await env.invoke({ op: 'add', n: 1 });
    await env.invoke({ op: 'same' });
    expect(env.client.requests).toEqual([]);
  });

  it('shares one PutItem among sets in the same synchronous stretch', async () => {
    const env = environment();
    await env.invoke({ op: 'none' });
    await env.invoke({ op: 'three-sets' });
    expect(env.client.requests).toEqual(['PutItem']);
    expect(await stored()).toEqual({
      count: { N: '1' },
      label: { S: 'three' },
      lastRun: { M: { '@type': { S: 'Date' }, '@value': { S: '1970-01-01T00:00:01.000Z' } } },
    });
  });

  it('update() of several fields writes exactly one PutItem', async () => {
    const env = environment();
    await env.invoke({ op: 'none' });
    await env.invoke({ op: 'update' });
    expect(env.client.requests).toEqual(['PutItem']);
    expect(await stored()).toMatchObject({ count: { N: '100' }, label: { S: 'updated' } });
  });

  it("onFailure: 'save': the row read right after update() resolved already holds the update", async () => {
    const client = recordingClient(dynamo.endpoint);
    let seen: unknown;
    class Probe extends PersistentHandler<void, void> {
      @Persistent() value = 0;
      async handler() {
        await this.update({ value: 7 });
        seen = (await readItem(reader, TABLE, currentKey))?.value;
      }
    }
    await Probe.bind({ client, tableKey: currentKey, tableName: TABLE, onFailure: 'save' })(undefined, lambdaContext());
    expect(seen).toEqual({ M: { value: { N: '7' } } });
  });

  it('detects in-place mutations (push, Map.set, Date.setTime) before the invocation settles', async () => {
    const env = environment();
    await env.invoke({ op: 'three-sets' });
    await env.invoke({ op: 'mutate' });
    expect(env.client.requests).toEqual(['UpdateItem']);
    const cold = environment();
    await cold.invoke({ op: 'none' });
    const row = await stored();
    expect(row?.items).toEqual({ L: [{ S: 'pushed' }] });
    expect(row?.lastRun?.M?.['@value']).toEqual({ S: '1970-01-01T00:00:03.000Z' });
    expect(row?.seen?.M?.['@type']).toEqual({ S: 'Map' });
  });

  it("onFailure: 'save' saves changes made before the handler threw, and rethrows the handler error", async () => {
    const env = environment(currentKey, 'save');
    await expect(env.invoke({ op: 'throw' })).rejects.toThrow('handler failed');
    expect(env.client.requests).toContain('PutItem');
    expect((await stored())?.count).toEqual({ N: '1' });
  });

  it('discards by default: a handler that throws leaves no trace in the row, and its fields show what they held before', async () => {
    const env = environment();
    await env.invoke({ op: 'add', n: 5 });
    await expect(env.invoke({ op: 'throw' })).rejects.toThrow('handler failed');
    expect(env.client.requests).toEqual([]);
    // In memory too: the next invocation starts from 5, not 6.
    await env.invoke({ op: 'add', n: 1 });
    expect((await stored())?.count).toEqual({ N: '6' });
  });

  it('discards in-place changes of a handler that throws, and writes a successful invocation\'s changes in one request', async () => {
    const env = environment();
    await env.invoke({ op: 'three-sets' });
    expect(env.client.requests).toEqual(['GetItem', 'PutItem']); // the cold read; three assignments, one write at the end
    class Failing extends Counter {
      override async handler(event: Action) {
        if (event.op === 'throw') {
          this.items.push('never');
          this.seen.set('never', 1);
        }
        return super.handler(event);
      }
    }
    const client = recordingClient(dynamo.endpoint);
    const failing = Failing.bind({ client, tableKey: currentKey, tableName: TABLE });
    await expect(failing({ op: 'throw' }, lambdaContext())).rejects.toThrow('handler failed');
    await failing({ op: 'add', n: 10 }, lambdaContext());
    const row = await stored();
    expect(row?.items).toBeUndefined();
    expect(row?.seen).toBeUndefined();
    expect(row?.count).toEqual({ N: '11' });
  });

  it('keeps writes in order: the row ends with the last state, never an earlier one', async () => {
    const env = environment();
    const written: number[] = [];
    env.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = (args as { input: { Item?: { value?: { M?: { count?: { N?: string } } } }; ExpressionAttributeValues?: Record<string, { N?: string }> } })
          .input;
        // The first write puts the row; later ones update the changed field (count, the only one).
        if (context.commandName === 'PutItemCommand') written.push(Number(input.Item?.value?.M?.count?.N));
        if (context.commandName === 'UpdateItemCommand') written.push(Number(input.ExpressionAttributeValues?.[':v0']?.N));
        // Later requests answer sooner: ordering must not depend on the network.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20 - written.length)));
        return next(args);
      },
      { step: 'initialize', name: 'slowPuts' },
    );
    await env.invoke({ op: 'steps', n: 20 });
    expect((await stored())?.count).toEqual({ N: '20' });
    expect(written.length).toBeLessThanOrEqual(20);
    expect(written).toEqual([...written].sort((a, b) => a - b));
    expect(written[written.length - 1]).toBe(20);
  });

  it('flush() resolves when every scheduled write is durable', async () => {
    const client = recordingClient(dynamo.endpoint);
    let durable: unknown;
    class Flusher extends PersistentHandler<void, void> {
      @Persistent() list: number[] = [];
      async handler() {
        this.list.push(1, 2);
        await this.flush();
        durable = (await readItem(reader, TABLE, currentKey))?.value;
      }
    }
    await Flusher.bind({ client, tableKey: currentKey, tableName: TABLE })(undefined, lambdaContext());
    expect(durable).toEqual({ M: { list: { L: [{ N: '1' }, { N: '2' }] } } });
  });

  it('keeps fields of the row that the class does not declare', async () => {
    await environment().invoke({ op: 'add', n: 1 });
    const client = recordingClient(dynamo.endpoint);
    class Other extends PersistentHandler<void, void> {
      @Persistent() other = '';
      async handler() {
        this.other = 'mine';
      }
    }
    await Other.bind({ client, tableKey: currentKey, tableName: TABLE })(undefined, lambdaContext());
    expect(await stored()).toEqual({ count: { N: '1' }, other: { S: 'mine' } });
  });

  it('treats a field set to undefined as absent from the row', async () => {
    const env = environment();
    await env.invoke({ op: 'three-sets' });
    const client = recordingClient(dynamo.endpoint);
    class Clearer extends PersistentHandler<void, void> {
      @Persistent() lastRun?: Date;
      async handler() {
        this.lastRun = undefined;
      }
    }
    await Clearer.bind({ client, tableKey: currentKey, tableName: TABLE })(undefined, lambdaContext());
    expect(Object.keys((await stored()) ?? {}).sort()).toEqual(['count', 'label']);
  });
});
