import { DeadlineExceededError, Persistent, PersistenceWriteError, PersistentHandler, WriteConflictError } from '../../src';
import { useDynamoProxy } from '../support/dynamoProxy';
import { lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();
const faults = useDynamoProxy(dynamo);

const TABLE = 'WriteFailures';

class Tally extends PersistentHandler<{ add: number; fail?: boolean }, number> {
  @Persistent() total = 0;
  async handler(event: { add: number; fail?: boolean }) {
    this.total += event.add;
    if (event.fail) throw new TypeError('handler broke');
    return this.total;
  }
}

async function storedTotal(key: string) {
  const reader = recordingClient(dynamo.endpoint);
  return (await readItem(reader, TABLE, key))?.value?.M?.total;
}

describe('PersistentHandler: failed writes', () => {
  it("onFailure: 'save': fails the invocation with a PersistenceWriteError naming the field, and stores the change with the next write", async () => {
    const key = uniqueKey();
    const client = recordingClient(faults.endpoint, { maxAttempts: 1 });
    const handler = Tally.bind({ client, tableKey: key, tableName: TABLE, onFailure: 'save' });
    await handler({ add: 1 }, lambdaContext());

    // The set's write and the final flush's retry both fail.
    const heal = faults.proxy.failNext('UpdateItem', 'InternalServerError', { message: 'boom' });
    const failure = await handler({ add: 10 }, lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PersistenceWriteError);
    expect((failure as PersistenceWriteError).fields).toEqual(['total']);
    expect((failure as Error).message).toMatch(/total.*WriteFailures.*boom.*stays pending/s);
    expect(((failure as Error).cause as Error).name).toBe('InternalServerError');
    expect(await storedTotal(key)).toEqual({ N: '1' });
    heal();

    // Nothing acknowledged is dropped: the pending 10 goes out with the next write.
    await expect(handler({ add: 100 }, lambdaContext())).resolves.toBe(111);
    expect(await storedTotal(key)).toEqual({ N: '111' });
  });

  it("onFailure: 'discard' (the default): a failed write fails the invocation and undoes its change; the next invocation reads the row again", async () => {
    const key = uniqueKey();
    const client = recordingClient(faults.endpoint, { maxAttempts: 1 });
    const handler = Tally.bind({ client, tableKey: key, tableName: TABLE });
    await handler({ add: 1 }, lambdaContext());
    const heal = faults.proxy.failNext('UpdateItem', 'InternalServerError', { message: 'boom' });
    const failure = await handler({ add: 10 }, lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PersistenceWriteError);
    expect((failure as Error).message).toMatch(/total.*boom.*its changes are undone \(onFailure: 'discard'\)/s);
    heal();
    // The retry of the event applies its change once, from the stored state.
    client.requests.length = 0;
    await expect(handler({ add: 10 }, lambdaContext())).resolves.toBe(11);
    expect(client.requests).toEqual(['GetItem', 'UpdateItem']);
    expect(await storedTotal(key)).toEqual({ N: '11' });
  });

  it("onFailure: 'save': succeeds when the final flush stores what an earlier background write could not", async () => {
    const key = uniqueKey();
    const client = recordingClient(faults.endpoint, { maxAttempts: 1 });
    const handler = Tally.bind({ client, tableKey: key, tableName: TABLE, onFailure: 'save' });
    await handler({ add: 1 }, lambdaContext());
    faults.proxy.failNext('UpdateItem', 'InternalServerError', { message: 'once', times: 1 });
    await expect(handler({ add: 2 }, lambdaContext())).resolves.toBe(3);
    expect(await storedTotal(key)).toEqual({ N: '3' });
  });

  it("onFailure: 'save': keeps the handler error and attaches the persistence error when both fail", async () => {
    const key = uniqueKey();
    const client = recordingClient(faults.endpoint, { maxAttempts: 1 });
    const handler = Tally.bind({ client, tableKey: key, tableName: TABLE, onFailure: 'save' });
    await handler({ add: 1 }, lambdaContext());
    faults.proxy.failNext('UpdateItem', 'InternalServerError', { message: 'down' });
    const failure = await handler({ add: 1, fail: true }, lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as Error).message).toBe('handler broke');
    expect((failure as { persistenceError?: unknown }).persistenceError).toBeInstanceOf(PersistenceWriteError);
  });

  it('fails with DeadlineExceededError when a write cannot finish before the deadline margin', async () => {
    const key = uniqueKey();
    const client = recordingClient(faults.endpoint, { maxAttempts: 1 });
    const handler = Tally.bind({ client, tableKey: key, tableName: TABLE, deadlineMarginMs: 200 });
    await handler({ add: 1 }, lambdaContext());
    faults.proxy.hooks.beforeServer = (request) => (request.operation === 'UpdateItem' ? { delayMs: 5_000 } : 'forward');
    const started = Date.now();
    const failure = await handler({ add: 1 }, lambdaContext('test-function', 500)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    expect((failure as Error).message).toMatch(/deadline/);
    // Given up at the deadline (500 ms - 200 ms margin), not after the proxy's 5 s delay.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await storedTotal(key)).toEqual({ N: '1' });
  });

  it('gives up with WriteConflictError after conflictRetries conflicting attempts', async () => {
    const key = uniqueKey();
    const client = recordingClient(faults.endpoint);
    const handler = Tally.bind({ client, tableKey: key, tableName: TABLE, conflictRetries: 2 });
    await handler({ add: 1 }, lambdaContext());
    faults.proxy.failNext('UpdateItem', 'ConditionalCheckFailedException');
    client.requests.length = 0;
    const failure = await handler({ add: 1 }, lambdaContext()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WriteConflictError);
    expect((failure as Error).message).toMatch(/3 conflicting attempts.*total/s);
  });
});
