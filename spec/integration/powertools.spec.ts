/**
 * A PersistentHandler subclass with Powertools for AWS Lambda's class method decorators on its
 * `handler`: Logger's `injectLambdaContext()` and Idempotency's `idempotent()`, the real packages,
 * against dynalite (the idempotency records in a table of their own, beside the state table).
 *
 * `bind()` calls `instance.handler(event, context)` on the one instance of the execution
 * environment, so the decorators' wrappers see `this` as that instance and `(event, context)` as
 * the `LambdaInterface` signature they expect. The state is flushed after the wrapped handler
 * returns, that is after the idempotency record was completed.
 */
import { CreateTableCommand, ScanCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig, idempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { Persistent, PersistentHandler } from '../../src';
import { lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';
import { useDynamoProxy } from '../support/dynamoProxy';

// Powertools' documented way to test Logger output: in dev mode it logs through the global
// console, which a test can spy on. Read when a Logger is constructed. Each test file gets its own
// copy of process.env, so this does not leak into other files.
process.env.POWERTOOLS_DEV = 'true';
const logger = new Logger({ serviceName: 'persistence-spec' });

const dynamo = useDynalite();
const faults = useDynamoProxy(dynamo);
const STATE_TABLE = 'PowertoolsState';
const IDEMPOTENCY_TABLE = 'PowertoolsIdempotency';

interface Order {
  orderId: string;
  amount: number;
}
interface Receipt {
  orderId: string;
  total: number;
  calls: number;
}

/** A Lambda context as the runtime passes it: `lambdaContext()` plus what Logger reads. */
function fullContext(functionName = 'powertools-fn'): Context {
  return {
    ...lambdaContext(functionName),
    callbackWaitsForEmptyEventLoop: true,
    functionVersion: '$LATEST',
    memoryLimitInMB: '128',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2024/01/01/[$LATEST]0123456789abcdef',
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

let reader: ReturnType<typeof recordingClient>;
let tableKey = '';

beforeAll(async () => {
  reader = recordingClient(dynamo.endpoint);
  await reader.send(
    new CreateTableCommand({
      TableName: IDEMPOTENCY_TABLE,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client: reader, maxWaitTime: 30, minDelay: 1 }, { TableName: IDEMPOTENCY_TABLE });
  // The state table too, so that request counts below are those of an existing table.
  class TableMaker extends PersistentHandler<void, void> {
    async handler() {}
  }
  await TableMaker.bind({ client: reader, tableKey: uniqueKey('table-maker'), tableName: STATE_TABLE })(undefined, lambdaContext());
});

let info: jest.SpyInstance;
beforeEach(() => {
  tableKey = uniqueKey('powertools');
  info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

/** The persistence layer Powertools stores idempotency records with, on the test's dynalite. */
function idempotencyStore(): DynamoDBPersistenceLayer {
  return new DynamoDBPersistenceLayer({ tableName: IDEMPOTENCY_TABLE, awsSdkV3Client: recordingClient(dynamo.endpoint) });
}

/** One execution environment of `Handler`, with the requests its persistence client made. */
function environment(Handler: { bind: typeof PersistentHandler.bind } & (new () => PersistentHandler<Order, Receipt>), onFailure?: 'save' | 'discard') {
  // Through the proxy: a test can fail this environment's requests alone.
  const client = recordingClient(faults.endpoint);
  const handler = Handler.bind<Order, Receipt>({ client, tableKey, tableName: STATE_TABLE, ...(onFailure && { onFailure }) });
  const invoke = (event: Order, context: Context = fullContext()) => {
    client.requests.length = 0;
    return handler(event, context);
  };
  return { client, invoke };
}

async function storedState() {
  return (await readItem(reader, STATE_TABLE, tableKey))?.value?.M;
}

/** Every idempotency record; with `orderId`, the completed ones whose stored result names it. */
async function idempotencyRecords(orderId?: string) {
  const { Items = [] } = await reader.send(new ScanCommand({ TableName: IDEMPOTENCY_TABLE, ConsistentRead: true }));
  return orderId === undefined ? Items : Items.filter((item) => item.data?.M?.orderId?.S === orderId);
}

/** What Logger printed through console.info, parsed. */
function logLines(): Record<string, unknown>[] {
  return info.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
}

describe('Powertools Logger: @logger.injectLambdaContext() on handler', () => {
  class LoggedCounter extends PersistentHandler<Order, Receipt> {
    @Persistent() total = 0;
    calls = 0;

    // Logger's decorator type asks for the LambdaInterface signature: a handler that omits the
    // context parameter fails to compile (TS1241), so it is declared, as `Context`.
    @logger.injectLambdaContext()
    async handler(event: Order, context: Context) {
      this.calls += 1;
      this.total += event.amount;
      logger.info('order counted', { orderId: event.orderId, total: this.total, remainingMs: context.getRemainingTimeInMillis() });
      return { orderId: event.orderId, total: this.total, calls: this.calls };
    }
  }

  it('runs the handler on the environment instance and stores its fields', async () => {
    const env = environment(LoggedCounter);
    await expect(env.invoke({ orderId: 'a', amount: 2 })).resolves.toEqual({ orderId: 'a', total: 2, calls: 1 });
    await expect(env.invoke({ orderId: 'b', amount: 3 })).resolves.toEqual({ orderId: 'b', total: 5, calls: 2 });
    expect(await storedState()).toEqual({ total: { N: '5' } });
  });

  it('hydrates a new environment from the row', async () => {
    await environment(LoggedCounter).invoke({ orderId: 'a', amount: 4 });
    const cold = environment(LoggedCounter);
    await expect(cold.invoke({ orderId: 'b', amount: 1 })).resolves.toEqual({ orderId: 'b', total: 5, calls: 1 });
    expect(cold.client.requests).toEqual(['GetItem', 'UpdateItem']);
    expect(await storedState()).toEqual({ total: { N: '5' } });
  });

  it('logs with the Lambda context fields of each invocation', async () => {
    const env = environment(LoggedCounter);
    const first = fullContext('logged-fn');
    const second = fullContext('logged-fn');
    await env.invoke({ orderId: 'a', amount: 1 }, first);
    await env.invoke({ orderId: 'b', amount: 1 }, second);
    const lines = logLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      message: 'order counted',
      service: 'persistence-spec',
      function_name: 'logged-fn',
      function_arn: first.invokedFunctionArn,
      function_request_id: first.awsRequestId,
      function_memory_size: '128', // as the context gives it
      orderId: 'a',
      total: 1,
    });
    expect(lines[0]!.remainingMs).toBeGreaterThan(0); // the context reached the method unchanged
    expect(typeof lines[0]!.cold_start).toBe('boolean');
    expect(lines[1]).toMatchObject({ function_request_id: second.awsRequestId, cold_start: false, total: 2 });
  });
});

describe('Powertools Idempotency: @idempotent({ persistenceStore }) on handler', () => {
  function idempotentCounter(options: { flushInside?: boolean } = {}) {
    const persistenceStore = idempotencyStore();
    class IdempotentCounter extends PersistentHandler<Order, Receipt> {
      @Persistent() total = 0;
      calls = 0;

      // The decorator registers the Lambda context itself (its second argument has
      // getRemainingTimeInMillis), for the in-progress record's expiry.
      @idempotent({ persistenceStore, config: new IdempotencyConfig({ eventKeyJmesPath: 'orderId' }) })
      async handler(event: Order) {
        this.calls += 1;
        this.total += event.amount;
        if (options.flushInside) await this.flush();
        return { orderId: event.orderId, total: this.total, calls: this.calls };
      }
    }
    return IdempotentCounter;
  }

  it('a repeated event returns the stored result without running the body or writing state', async () => {
    const env = environment(idempotentCounter());
    const orderId = uniqueKey('order');
    await expect(env.invoke({ orderId, amount: 5 })).resolves.toEqual({ orderId, total: 5, calls: 1 });
    expect(env.client.requests).toEqual(['GetItem', 'PutItem']);
    await expect(env.invoke({ orderId, amount: 5 })).resolves.toEqual({ orderId, total: 5, calls: 1 });
    expect(env.client.requests).toEqual([]);
    expect(await storedState()).toEqual({ total: { N: '5' } });
    const records = await idempotencyRecords(orderId);
    expect(records).toHaveLength(1);
    expect(records[0]!.status).toEqual({ S: 'COMPLETED' });
  });

  it('a repeated event in another environment: the stored result, the state read but not written', async () => {
    const Handler = idempotentCounter();
    const orderId = uniqueKey('order');
    await environment(Handler).invoke({ orderId, amount: 5 });
    const cold = environment(Handler);
    await expect(cold.invoke({ orderId, amount: 5 })).resolves.toEqual({ orderId, total: 5, calls: 1 });
    expect(cold.client.requests).toEqual(['GetItem']);
    // A new event runs the body on the hydrated state.
    const next = uniqueKey('order');
    await expect(cold.invoke({ orderId: next, amount: 1 })).resolves.toEqual({ orderId: next, total: 6, calls: 1 });
    expect(await storedState()).toEqual({ total: { N: '6' } });
  });

  it("onFailure: 'save': a failed state write after the body completed: the retry returns the stored result and stores the change", async () => {
    const env = environment(idempotentCounter(), 'save');
    const orderId = uniqueKey('order');
    const heal = faults.proxy.failNext('PutItem', 'InternalServerError', { message: 'injected' });
    await expect(env.invoke({ orderId, amount: 5 })).rejects.toThrow(/injected/);
    heal();
    // The idempotency record was completed before the state was flushed: the body does not run
    // again, and the change still pending in this environment goes out with the retry.
    expect((await idempotencyRecords(orderId))[0]?.status).toEqual({ S: 'COMPLETED' });
    await expect(env.invoke({ orderId, amount: 5 })).resolves.toEqual({ orderId, total: 5, calls: 1 });
    // The failed write got no answer it could trust (a 500 may have been applied): the next write
    // first reads the row to find out, then writes.
    expect(env.client.requests).toEqual(['GetItem', 'PutItem']);
    expect(await storedState()).toEqual({ total: { N: '5' } });
  });

  it("onFailure: 'discard' (the default): a failed state write after the body completed is undone, and the retry returns the stored result: the change is lost (flush inside the body instead)", async () => {
    const env = environment(idempotentCounter());
    const orderId = uniqueKey('order');
    const heal = faults.proxy.failNext('PutItem', 'InternalServerError', { message: 'injected' });
    await expect(env.invoke({ orderId, amount: 5 })).rejects.toThrow(/injected/);
    heal();
    expect((await idempotencyRecords(orderId))[0]?.status).toEqual({ S: 'COMPLETED' });
    await expect(env.invoke({ orderId, amount: 5 })).resolves.toEqual({ orderId, total: 5, calls: 1 });
    // The stored result says 5, the state does not hold it: the order that loses a change.
    expect(await storedState()).toBeUndefined();
  });

  it("onFailure: 'discard' with this.flush() inside the body: a failed state write fails the idempotent call, and the retry applies the event once", async () => {
    const env = environment(idempotentCounter({ flushInside: true }));
    const orderId = uniqueKey('order');
    await env.invoke({ orderId: uniqueKey('order'), amount: 0 }); // cold start done, table exists
    const heal = faults.proxy.failNext('PutItem', 'InternalServerError', { message: 'injected' });
    await expect(env.invoke({ orderId, amount: 5 })).rejects.toThrow(/injected/);
    heal();
    // The first attempt's change was undone with it: the retry runs the body on the stored state.
    await expect(env.invoke({ orderId, amount: 5 })).resolves.toEqual({ orderId, total: 5, calls: 3 });
    expect(await storedState()).toEqual({ total: { N: '5' } });
  });

  it("onFailure: 'save' with this.flush() inside the body makes a failed state write fail the idempotent call: no record is kept", async () => {
    const env = environment(idempotentCounter({ flushInside: true }), 'save');
    const orderId = uniqueKey('order');
    await env.invoke({ orderId: uniqueKey('order'), amount: 0 }); // cold start done, table exists
    const recordsBefore = (await idempotencyRecords()).length;
    const heal = faults.proxy.failNext('PutItem', 'InternalServerError', { message: 'injected' });
    await expect(env.invoke({ orderId, amount: 5 })).rejects.toThrow(/injected/);
    heal();
    // Powertools deleted its in-progress record when the body threw.
    expect(await idempotencyRecords()).toHaveLength(recordsBefore);
    // The retry runs the body again, on the in-memory state that still holds the first attempt's
    // change: the event is counted twice. Flushing inside trades a lost change for a repeated one.
    await expect(env.invoke({ orderId, amount: 5 })).resolves.toEqual({ orderId, total: 10, calls: 3 });
    expect(await storedState()).toEqual({ total: { N: '10' } });
  });
});

describe('Powertools Logger and Idempotency stacked on handler', () => {
  function stackedCounter() {
    const persistenceStore = idempotencyStore();
    class StackedCounter extends PersistentHandler<Order, Receipt> {
      @Persistent() total = 0;
      calls = 0;

      // Applied bottom-up: Logger wraps the idempotent handler, so replays are logged too.
      @logger.injectLambdaContext()
      @idempotent({ persistenceStore, config: new IdempotencyConfig({ eventKeyJmesPath: 'orderId' }) })
      async handler(event: Order, context: Context) {
        this.calls += 1;
        this.total += event.amount;
        logger.info('order counted', { orderId: event.orderId, total: this.total, remainingMs: context.getRemainingTimeInMillis() });
        return { orderId: event.orderId, total: this.total, calls: this.calls };
      }
    }
    return StackedCounter;
  }

  it('logs with context, stores state once, and replays a repeated event', async () => {
    const env = environment(stackedCounter());
    const orderId = uniqueKey('order');
    const context = fullContext('stacked-fn');
    await expect(env.invoke({ orderId, amount: 7 }, context)).resolves.toEqual({ orderId, total: 7, calls: 1 });
    await expect(env.invoke({ orderId, amount: 7 }, fullContext('stacked-fn'))).resolves.toEqual({ orderId, total: 7, calls: 1 });
    expect(env.client.requests).toEqual([]);
    const lines = logLines();
    expect(lines).toHaveLength(1); // the body, and so its log line, ran once
    expect(lines[0]).toMatchObject({ function_name: 'stacked-fn', function_request_id: context.awsRequestId, orderId, total: 7 });
    expect(await storedState()).toEqual({ total: { N: '7' } });
    expect((await idempotencyRecords(orderId))[0]?.status).toEqual({ S: 'COMPLETED' });
  });
});
