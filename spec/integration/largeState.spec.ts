import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { StateTooLargeError, type PersistenceOptions } from '../../src';
import { bigEnvironment } from '../support/bigState';
import { readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'LargeState';

const bindEnv = (tableKey: string, options: PersistenceOptions = {}) => bigEnvironment(dynamo.endpoint, TABLE, tableKey, options);

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

describe('A lost answer to the write of a state in parts', () => {
  it('keeps the parts the applied write made: the row stays readable', async () => {
    const key = uniqueKey('lost-parts');
    const env = bindEnv(key);
    await env.handler({ op: 'random', bytes: 1_000, marker: 1 });
    // The row's PutItem reaches the server, its answer is lost, and the SDK sends it again.
    let lost = false;
    env.client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const item = (args as { input: { Item?: Record<string, { S?: string }> } }).input.Item;
        if (context.commandName === 'PutItemCommand' && item?.key?.S === key && !lost) {
          lost = true;
          throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET', $metadata: {} });
        }
        return result;
      },
      { step: 'deserialize', name: 'loseRowAnswer', priority: 'high' },
    );
    await expect(env.handler({ op: 'random', bytes: 1_000_000, marker: 2 })).resolves.toMatchObject({ markers: [2] });
    expect(lost).toBe(true);
    await expect(bindEnv(key).handler({ op: 'read' })).resolves.toMatchObject({ blobLength: 1_000_000, markers: [2] });
  });
});
