/**
 * `stats`: what one execution environment's persistence did, on every style. Request counts are
 * exact; capacity is DynamoDB's count as dynalite computes it (moto reports its own figures, so
 * there only that some was reported).
 */
import { Persistent, PersistentHandler, PersistentMap, persistentState, sum, withPersistence } from '../../src';
import { persistence } from '../../src/middy';
import { atOnce, lambdaContext, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'StatsTable';
const ON_MOTO = process.env.TEST_DYNAMODB_IMPLEMENTATION === 'moto';

class Counter extends PersistentHandler<void, number> {
  @Persistent({ merge: sum }) count = 0;
  async handler() {
    this.count += 1;
    return this.count;
  }
}

describe('stats', () => {
  beforeAll(async () => {
    await Counter.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: uniqueKey('warm-up') })(undefined, lambdaContext());
  });

  it('counts requests by kind from module load on, and the capacity DynamoDB reports', async () => {
    const handler = Counter.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: uniqueKey('stats') });
    expect(handler.stats).toMatchObject({ requests: { GetItem: 0, PutItem: 0, UpdateItem: 0 }, readUnits: 0, writeUnits: 0, conflicts: 0, retries: 0 });
    await handler(undefined, lambdaContext());
    await handler(undefined, lambdaContext());
    await handler(undefined, lambdaContext());
    expect(handler.stats.requests).toEqual({ GetItem: 1, BatchGetItem: 0, PutItem: 1, UpdateItem: 2, DeleteItem: 0, CreateTable: 0, DescribeTable: 0 });
    // A consistent read of an item under 4 KB is 1 RCU; a write of an item under 1 KB, 1 WCU.
    if (ON_MOTO) expect(handler.stats.writeUnits).toBeGreaterThan(0);
    else expect(handler.stats).toMatchObject({ readUnits: 1, writeUnits: 3 });
  });

  it('counts conflicts and retries when two new environments race to create the row', async () => {
    const tableKey = uniqueKey('race');
    const one = Counter.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey });
    const two = Counter.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey });
    await atOnce([() => one(undefined, lambdaContext()), () => two(undefined, lambdaContext())]);
    // Each environment that found no row writes it with a PutItem; all but one of those conflict
    // and are retried (as an UpdateItem).
    const puts = one.stats.requests.PutItem + two.stats.requests.PutItem;
    const conflicts = one.stats.conflicts + two.stats.conflicts;
    expect(puts).toBeGreaterThanOrEqual(1);
    expect(conflicts).toBe(puts - 1);
    expect(one.stats.retries + two.stats.retries).toBe(conflicts);
    expect(one.stats.requests.UpdateItem + two.stats.requests.UpdateItem).toBe(1);
  });

  it('is there for every style: withPersistence, persistentState, the middy middleware, PersistentMap', async () => {
    const options = () => ({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: uniqueKey('styles') });
    const handler = withPersistence({ n: 0 }, async (_event: void, _context, state) => (state.n += 1), options());
    await handler(undefined, lambdaContext());
    expect(handler.stats.requests.GetItem).toBe(1);
    const lifecycle = persistentState({ n: 0 }, options());
    expect(lifecycle.stats.requests.GetItem).toBe(0);
    await lifecycle.begin(lambdaContext());
    expect(lifecycle.stats.requests.GetItem).toBe(1);
    await lifecycle.end();
    const middleware = persistence({ n: 0 }, options());
    expect(middleware.stats.requests.GetItem).toBe(0);
    const map = await PersistentMap.open(options());
    await map.increment('n');
    expect(map.stats.requests).toMatchObject({ GetItem: 1, PutItem: 1 });
  });
});
