import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { Persistent, PersistentHandler, StateTooLargeError } from '../src';
import { lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from './support/dynalite';

const dynamo = useDynalite();
const TABLE = 'LargeState';

type Event = { op: 'read' } | { op: 'text'; kb: number } | { op: 'random'; bytes: number; marker: number } | { op: 'small' };

class Big extends PersistentHandler<Event, unknown> {
  @Persistent() text = '';
  @Persistent() blob = new Uint8Array();
  @Persistent() markers: number[] = [];
  @Persistent() small = 0;
  async handler(event: Event) {
    switch (event.op) {
      case 'text':
        this.text = 'state 1 '.repeat(event.kb * 128);
        break;
      case 'random':
        this.blob = randomBytes(event.bytes);
        this.markers = Array.from({ length: 100 }, () => event.marker);
        break;
      case 'small':
        this.small += 1;
        break;
      case 'read':
        break;
    }
    return { textLength: this.text.length, blobLength: this.blob.length, markers: [...new Set(this.markers)], small: this.small };
  }
}

const bindEnv = (tableKey: string, options: Parameters<typeof Big.bind>[0] = {}) => {
  const client = recordingClient(dynamo.endpoint);
  return { client, handler: (event: Event) => Big.bind({ client, tableKey, tableName: TABLE, ...options })(event, lambdaContext()) };
};

async function itemsOf(tableKey: string) {
  const client = recordingClient(dynamo.endpoint);
  const keys: string[] = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey: start, ProjectionExpression: '#k', ExpressionAttributeNames: { '#k': 'key' } }));
    keys.push(...(page.Items ?? []).map((item) => item.key!.S!).filter((key) => key === tableKey || key.startsWith(`${tableKey}#`)));
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return keys.sort();
}

describe('States larger than one DynamoDB item', () => {
  it('stores a 1 MB compressible state packed in the row itself and reads it back in one GetItem', async () => {
    const key = uniqueKey('packed');
    await expect(bindEnv(key).handler({ op: 'text', kb: 1024 })).resolves.toMatchObject({ textLength: 1024 * 1024 });
    const item = await readItem(recordingClient(dynamo.endpoint), TABLE, key);
    expect(item?.packed?.B).toBeDefined();
    expect(item?.value).toBeUndefined();
    const cold = bindEnv(key);
    await expect(cold.handler({ op: 'read' })).resolves.toMatchObject({ textLength: 1024 * 1024 });
    expect(cold.client.requests).toEqual(['GetItem']);
  });

  it('splits a 4 MB incompressible state across items and restores it exactly', async () => {
    const key = uniqueKey('parts');
    const writer = bindEnv(key);
    await writer.handler({ op: 'random', bytes: 4_000_000, marker: 1 });
    const parts = (await itemsOf(key)).filter((k) => k.includes('#part#'));
    // ~4 MB of packed bytes in slices of 296 KiB (sized so that even moto, which counts binary as
    // base64, accepts them).
    expect(parts.length).toBe(14);
    const cold = bindEnv(key);
    await expect(cold.handler({ op: 'read' })).resolves.toMatchObject({ blobLength: 4_000_000, markers: [1] });
    expect(cold.client.requests).toEqual(['GetItem', ...Array(14).fill('GetItem')]);
  });

  it('deletes the parts a write replaced, including when the state shrinks back into the row', async () => {
    const key = uniqueKey('replace');
    const env = bindEnv(key);
    await env.handler({ op: 'random', bytes: 1_000_000, marker: 1 });
    const first = await itemsOf(key);
    await env.handler({ op: 'random', bytes: 1_000_000, marker: 2 });
    const second = await itemsOf(key);
    expect(second.length).toBe(first.length);
    expect(second.filter((k) => first.includes(k))).toEqual([key]);
    await env.handler({ op: 'random', bytes: 1_000, marker: 3 });
    expect(await itemsOf(key)).toEqual([key]);
    await expect(bindEnv(key).handler({ op: 'read' })).resolves.toMatchObject({ blobLength: 1_000, markers: [3] });
  });

  it('never shows a reader a mix of two versions while another environment rewrites the state', async () => {
    const key = uniqueKey('mix');
    await bindEnv(key).handler({ op: 'random', bytes: 800_000, marker: 0 });
    const writer = bindEnv(key);
    const reader = bindEnv(key, { refresh: 'every-invocation' });
    const writes = (async () => {
      for (let marker = 1; marker <= 6; marker++) await writer.handler({ op: 'random', bytes: 800_000, marker });
    })();
    const seen: number[][] = [];
    const reads = (async () => {
      for (let i = 0; i < 12; i++) seen.push(((await reader.handler({ op: 'read' })) as { markers: number[] }).markers);
    })();
    await Promise.all([writes, reads]);
    for (const markers of seen) expect(markers).toHaveLength(1);
    expect(await bindEnv(key).handler({ op: 'read' })).toMatchObject({ markers: [6], blobLength: 800_000 });
  });

  it('refuses a state over the 4 MiB ceiling at assignment, keeps the previous value, and goes on persisting', async () => {
    const key = uniqueKey('ceiling');
    const env = bindEnv(key);
    await env.handler({ op: 'random', bytes: 1_000, marker: 1 });
    const failure = await env.handler({ op: 'random', bytes: 5_000_000, marker: 2 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StateTooLargeError);
    expect((failure as StateTooLargeError).field).toBe('blob');
    expect((failure as StateTooLargeError).limit).toBe(4 * 1024 * 1024);
    expect((failure as Error).message).toMatch(/"blob".*5\d{6} bytes.*4194304 bytes/);
    await expect(env.handler({ op: 'small' })).resolves.toMatchObject({ blobLength: 1_000, small: 1 });
    await expect(bindEnv(key).handler({ op: 'read' })).resolves.toMatchObject({ blobLength: 1_000, markers: [1], small: 1 });
  });
});
