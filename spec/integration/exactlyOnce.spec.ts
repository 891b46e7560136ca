/**
 * Exactly once across retries, against dynalite: a write records the key of the event whose changes
 * it carries (by default the request id) in the same request, so that the same event invoked again,
 * in the same environment or another, after a failure or a lost answer, changes the row once.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Persistent, PersistentHandler, sum } from '../../src';
import { digestOf } from '../../src/persistence/eventMarks';
import { useDynamoProxy } from '../support/dynamoProxy';
import { conflictReread, lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const faults = useDynamoProxy(dynamo);
const TABLE = 'ExactlyOnce';

interface Order {
  readonly id: string;
  readonly amount: number;
}

class Orders extends PersistentHandler<Order, number> {
  @Persistent({ merge: sum }) total = 0;
  @Persistent() last = '';
  async handler(order: Order) {
    this.total += order.amount;
    this.last = order.id;
    return this.total;
  }
}

async function stored(tableKey: string) {
  return (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
}

/** The context of one event's attempts: the same request id each time, as Lambda's retries of an asynchronous event keep it. */
function attemptOf(requestId: string) {
  return { ...lambdaContext(), awsRequestId: requestId };
}

describe.each(['discard', 'save'] as const)('exactly once across retries (onFailure: %s)', (onFailure) => {
  it('the same event invoked twice in one environment changes the row once, and the second attempt sends nothing', async () => {
    const tableKey = uniqueKey('once-same');
    const client = recordingClient(dynamo.endpoint);
    const handler = Orders.bind({ client, tableKey, tableName: TABLE, onFailure });
    await handler({ id: 'a', amount: 5 }, attemptOf('request-a'));
    client.requests.length = 0;
    await handler({ id: 'a', amount: 5 }, attemptOf('request-a'));
    expect(client.requests).toEqual([]);
    expect(handler.stats.skippedRetries).toBe(1);
    // A new event counts again, from the state the first left.
    await expect(handler({ id: 'b', amount: 1 }, attemptOf('request-b'))).resolves.toBe(6);
    expect(await stored(tableKey)).toMatchObject({ total: { N: '6' }, last: { S: 'b' } });
  });

  it('the same event in another environment (warm, its row read before the first attempt wrote) changes the row once', async () => {
    const tableKey = uniqueKey('once-other');
    const first = Orders.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE, onFailure });
    const secondClient = recordingClient(dynamo.endpoint);
    const second = Orders.bind({ client: secondClient, tableKey, tableName: TABLE, onFailure });
    await first({ id: 'warm-1', amount: 1 }, attemptOf('request-warm-1'));
    await second({ id: 'warm-2', amount: 1 }, attemptOf('request-warm-2'));
    await first({ id: 'c', amount: 10 }, attemptOf('request-c'));
    // The second environment does not know of request-c: its write meets the row that holds it. The
    // handler runs (its result is its own: 2 + 10); its changes are dropped.
    secondClient.requests.length = 0;
    await expect(second({ id: 'c', amount: 10 }, attemptOf('request-c'))).resolves.toBe(12);
    expect(second.stats.skippedRetries).toBe(1);
    // Refused; the row comes back with the refusal (DynamoDB, moto) or is read (dynalite returns none).
    expect(secondClient.requests).toEqual(['UpdateItem', ...conflictReread]);
    expect(await stored(tableKey)).toMatchObject({ total: { N: '12' }, last: { S: 'c' } });
    // Its state is the row's now: the next event counts from there.
    await expect(second({ id: 'd', amount: 100 }, attemptOf('request-d'))).resolves.toBe(112);
  });

  it('a cold start for a retried event reads the row, finds the event, and applies nothing', async () => {
    const tableKey = uniqueKey('once-cold');
    await Orders.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE, onFailure })({ id: 'e', amount: 3 }, attemptOf('request-e'));
    const client = recordingClient(dynamo.endpoint);
    const cold = Orders.bind({ client, tableKey, tableName: TABLE, onFailure });
    // The handler runs, and its assignments take no effect (it sees the stored 3); nothing is written.
    await expect(cold({ id: 'e', amount: 3 }, attemptOf('request-e'))).resolves.toBe(3);
    expect(client.requests).toEqual(['GetItem']);
    expect(cold.stats.skippedRetries).toBe(1);
    expect(await stored(tableKey)).toMatchObject({ total: { N: '3' } });
    expect((await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.events?.M).toEqual({
      [digestOf('request-e')]: { N: expect.stringMatching(/^\d{13}\.\d{3}$/) },
    });
  });

  it('a retry after a write whose answer was lost applies nothing again', async () => {
    const tableKey = uniqueKey('once-lost');
    const client = recordingClient(faults.endpoint, { maxAttempts: 1 });
    const handler = Orders.bind({ client, tableKey, tableName: TABLE, onFailure });
    await handler({ id: 'warm', amount: 1 }, attemptOf('request-warm'));
    // The write reaches DynamoDB; its answer does not reach the function, which fails.
    let lost = false;
    faults.proxy.hooks.afterServer = (request) => {
      if (lost || request.operation !== 'UpdateItem') return undefined;
      lost = true;
      return 'drop';
    };
    // discard: the invocation fails and undoes its change in memory; save: its final flush finds the
    // lost write in the row (by its writeId) and succeeds. Either way the row holds it once.
    const outcome = await handler({ id: 'f', amount: 7 }, attemptOf('request-f')).then(
      () => 'succeeded',
      () => 'failed',
    );
    expect(outcome).toBe(onFailure === 'discard' ? 'failed' : 'succeeded');
    faults.proxy.hooks = {};
    expect(await stored(tableKey)).toMatchObject({ total: { N: '8' } });
    // Lambda runs the event again: in the same environment, and in a fresh one.
    await handler({ id: 'f', amount: 7 }, attemptOf('request-f'));
    await Orders.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE, onFailure })({ id: 'f', amount: 7 }, attemptOf('request-f'));
    expect(await stored(tableKey)).toMatchObject({ total: { N: '8' }, last: { S: 'f' } });
    await expect(handler({ id: 'g', amount: 1 }, attemptOf('request-g'))).resolves.toBe(9);
  });
});

describe('the events a row remembers', () => {
  it('are at most eventKeyLimit, the newest kept, pruned by the writes themselves', async () => {
    const tableKey = uniqueKey('once-limit');
    const client = recordingClient(dynamo.endpoint);
    const handler = Orders.bind({ client, tableKey, tableName: TABLE, eventKeyLimit: 3 });
    for (let i = 0; i < 6; i++) await handler({ id: `o${i}`, amount: 1 }, attemptOf(`request-${i}`));
    const events = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.events?.M ?? {};
    expect(Object.keys(events).sort()).toEqual(['request-3', 'request-4', 'request-5'].map(digestOf).sort());
    // One request per invocation all along: pruning rides on the writes.
    expect(client.requests.filter((name) => name !== 'GetItem')).toHaveLength(6);
  });

  it('eventKey names what repeats (an SQS message id), and 0 keeps none', async () => {
    const tableKey = uniqueKey('once-key');
    const handler = Orders.bind({
      client: recordingClient(dynamo.endpoint),
      tableKey,
      tableName: TABLE,
      eventKey: (event) => (event as Order).id,
    });
    // Different request ids, same message: once.
    await handler({ id: 'message-1', amount: 2 }, attemptOf('request-x'));
    await handler({ id: 'message-1', amount: 2 }, attemptOf('request-y'));
    expect(await stored(tableKey)).toMatchObject({ total: { N: '2' } });
    const noKeys = uniqueKey('once-none');
    const plain = Orders.bind({ client: recordingClient(dynamo.endpoint), tableKey: noKeys, tableName: TABLE, eventKeyLimit: 0 });
    await plain({ id: 'h', amount: 2 }, attemptOf('request-h'));
    await plain({ id: 'h', amount: 2 }, attemptOf('request-h'));
    expect(await stored(noKeys)).toMatchObject({ total: { N: '4' } });
    expect((await readItem(recordingClient(dynamo.endpoint), TABLE, noKeys))?.events).toBeUndefined();
  });
});

describe('a row whose events another release dropped', () => {
  it('is read again and written, not failed: the write that meets it is a conflict', async () => {
    const tableKey = uniqueKey('once-dropped');
    const client = recordingClient(dynamo.endpoint);
    const handler = Orders.bind({ client, tableKey, tableName: TABLE });
    await handler({ id: 'a', amount: 1 }, attemptOf('request-1'));
    // A 0.1 environment rewrites the row whole, without the attribute it does not know.
    const item = (await readItem(client, TABLE, tableKey))!;
    delete item.events;
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...item, revision: { N: String(Number(item.revision!.N) + 1) } } }));
    await expect(handler({ id: 'b', amount: 1 }, attemptOf('request-2'))).resolves.toBe(2);
    const after = await readItem(client, TABLE, tableKey);
    expect(after?.value?.M?.total).toEqual({ N: '2' });
    expect(Object.keys(after?.events?.M ?? {})).toEqual([digestOf('request-2')]);
  });
});

describe('exactly once beside a field in an item of its own', () => {
  class Report extends PersistentHandler<Order, number> {
    @Persistent({ merge: sum }) total = 0;
    @Persistent() report = '';
    async handler(order: Order) {
      this.total += order.amount;
      this.report = order.id.repeat(2048); // over largeFieldBytes: kept in an item of its own
      return this.total;
    }
  }

  it('a retry of an event another environment applied changes neither the row nor the field it points to', async () => {
    const tableKey = uniqueKey('once-large');
    const options = { tableKey, tableName: TABLE, largeFieldBytes: 1024 };
    const first = Report.bind({ client: recordingClient(dynamo.endpoint), ...options });
    const second = Report.bind({ client: recordingClient(dynamo.endpoint), ...options });
    await first({ id: 'a', amount: 1 }, attemptOf('request-a'));
    await second({ id: 'b', amount: 1 }, attemptOf('request-b'));
    await first({ id: 'c', amount: 5 }, attemptOf('request-c'));
    // The second environment runs request-c again with another value for the large field.
    await second({ id: 'x', amount: 5 }, attemptOf('request-c'));
    expect(second.stats.skippedRetries).toBe(1);
    // A fresh environment reads what the row points to: the first attempt's field, the count once.
    let seen: { total: number; report: string } | undefined;
    class Reader extends Report {
      override async handler() {
        seen = { total: this.total, report: this.report };
        return this.total;
      }
    }
    await Reader.bind({ client: recordingClient(dynamo.endpoint), ...options })({ id: 'r', amount: 0 }, attemptOf('request-read'));
    expect(seen).toEqual({ total: 7, report: 'c'.repeat(2048) });
  });
});
