/**
 * Many writers of one row (execution environments, each with its own handler instance and client,
 * as Lambda runs them), all at once, against dynalite: distinct fields never conflict, `sum`
 * counters count every increment, `keys` keeps every writer's keys, a merge function is applied on
 * conflict. No invocation fails because another environment wrote.
 */
import { Persistent, PersistentHandler, PersistentMap, withPersistence } from '../../src';
import { atOnce, lambdaContext, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'MergeTable';
const ENVIRONMENTS = 8;
const ROUNDS = 10;

interface Event {
  env: number;
  round: number;
}

/** Fields that never conflict: sums and one last-writer-wins field per environment. */
class Counters extends PersistentHandler<Event, number> {
  @Persistent({ merge: 'sum' }) total = 0;
  @Persistent({ merge: 'sum' }) startsAtTen = 10;
  @Persistent() env0 = 0;
  @Persistent() env1 = 0;
  @Persistent() env2 = 0;
  @Persistent() env3 = 0;
  @Persistent() env4 = 0;
  @Persistent() env5 = 0;
  @Persistent() env6 = 0;
  @Persistent() env7 = 0;

  async handler(event: Event) {
    this.total += 1;
    this.startsAtTen += 1;
    (this as unknown as Record<string, number>)[`env${event.env}`] = event.round + 1;
    return this.total;
  }
}

const union = (_base: string[] | undefined, mine: string[] | undefined, theirs: string[] | undefined) =>
  [...new Set([...(theirs ?? []), ...(mine ?? [])])].sort();

/** Fields merged on conflict: by key, and by a function. */
class Mergers extends PersistentHandler<Event, number> {
  @Persistent({ merge: 'sum' }) total = 0;
  @Persistent({ merge: 'keys' }) seen = new Map<string, number>();
  @Persistent({ merge: 'keys' }) byEnv: Record<string, number> = {};
  @Persistent({ merge: union }) tags: string[] = [];

  async handler(event: Event) {
    this.total += 1;
    this.seen.set(`e${event.env}`, event.round);
    this.byEnv = { ...this.byEnv, [`e${event.env}`]: event.round };
    if (event.round === 0) this.tags = [...this.tags, `tag${event.env}`];
    return this.total;
  }
}

type Handler = typeof Counters | typeof Mergers;

function environments(Handler: Handler, tableKey: string) {
  return Array.from({ length: ENVIRONMENTS }, () => {
    const client = recordingClient(dynamo.endpoint);
    return { client, handler: Handler.bind({ client, tableKey, tableName: TABLE }) };
  });
}

/**
 * ROUNDS rounds of every environment invoked at the same moment (one after the other on moto, see
 * atOnce); the first is every cold start.
 */
async function race(Handler: Handler, tableKey: string) {
  const envs = environments(Handler, tableKey);
  const totals: number[][] = envs.map(() => []);
  const failures: unknown[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await atOnce(
      envs.map((env, i) => () =>
        env.handler({ env: i, round }, lambdaContext()).then(
          (total) => totals[i]!.push(total),
          (error: unknown) => failures.push(error),
        ),
      ),
    );
  }
  const writes = envs.flatMap((env) => env.client.requests.filter((name) => name === 'PutItem' || name === 'UpdateItem')).length;
  const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
  return { envs, totals, failures, writes, row };
}

const INCREMENTS = ENVIRONMENTS * ROUNDS;

describe('many environments writing one row at once', () => {
  beforeAll(async () => {
    // The table exists before the races (its creation is table.spec.ts's subject).
    await Counters.bind({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey: uniqueKey('warm-up') })(
      { env: 0, round: 0 },
      lambdaContext(),
    );
  });

  it('distinct fields and sums: no failed invocation, every increment counted, one write per invocation', async () => {
    const { totals, failures, writes, row } = await race(Counters, uniqueKey('sums'));
    expect(failures).toEqual([]);
    expect(row?.total).toEqual({ N: String(INCREMENTS) });
    expect(row?.startsAtTen).toEqual({ N: String(10 + INCREMENTS) }); // added to the initializer
    for (let i = 0; i < ENVIRONMENTS; i++) expect(row?.[`env${i}`]).toEqual({ N: String(ROUNDS) });
    // After its write, a summed field holds the row's total: each environment's totals only grow,
    // and its last is at least its own count.
    for (const own of totals) {
      expect(own).toEqual([...own].sort((a, b) => a - b));
      expect(own[own.length - 1]).toBeGreaterThanOrEqual(ROUNDS);
    }
    // One UpdateItem per invocation once the row exists; creating it is the one race (a PutItem
    // each, all but one conflicting and retried as an UpdateItem).
    expect(writes).toBeLessThanOrEqual(INCREMENTS + ENVIRONMENTS);
  });

  it("merged fields: every environment's keys and tags kept, every increment counted", async () => {
    const tableKey = uniqueKey('merged');
    const { envs, failures, row } = await race(Mergers, tableKey);
    expect(failures).toEqual([]);
    expect(row?.total).toEqual({ N: String(INCREMENTS) });
    expect(row?.byEnv?.M).toEqual(Object.fromEntries(envs.map((_, i) => [`e${i}`, { N: String(ROUNDS - 1) }])));
    expect(row?.tags?.L?.map((tag) => tag.S)).toEqual(envs.map((_, i) => `tag${i}`).sort());
    let seen: Map<string, number> | undefined;
    class Peek extends Mergers {
      override async handler() {
        seen = this.seen;
        return this.total;
      }
    }
    await expect(Peek.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE })({ env: 0, round: 0 }, lambdaContext())).resolves.toBe(
      INCREMENTS,
    );
    expect(seen).toEqual(new Map(envs.map((_, i) => [`e${i}`, ROUNDS - 1])));
  });

  it('a summed field with no stored value adds to its initializer', async () => {
    const tableKey = uniqueKey('sum-initial');
    const [first, second] = environments(Counters, tableKey);
    await first!.handler({ env: 0, round: 0 }, lambdaContext());
    await second!.handler({ env: 1, round: 0 }, lambdaContext());
    const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
    expect(row?.startsAtTen).toEqual({ N: '12' });
    expect(row?.total).toEqual({ N: '2' });
  });
});

describe('the other styles, many environments at once', () => {
  it('PersistentMap.increment: every increment counts, and each resolves to a total that includes it', async () => {
    const tableKey = uniqueKey('map-increment');
    const maps = await Promise.all(
      Array.from({ length: ENVIRONMENTS }, () => PersistentMap.open<number>({ client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey })),
    );
    const totals = await atOnce(maps.flatMap((map) => Array.from({ length: ROUNDS }, () => () => map.increment('visits'))));
    expect(totals.length).toBe(INCREMENTS);
    expect(Math.max(...totals)).toBeLessThanOrEqual(INCREMENTS);
    const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
    expect(row?.visits).toEqual({ N: String(INCREMENTS) });
    await expect(maps[0]!.increment('visits', 0.5)).resolves.toBe(INCREMENTS + 0.5);
  });

  it("withPersistence({ merge: { count: 'sum', seen: 'keys' } }): counts and keys from every environment", async () => {
    const tableKey = uniqueKey('state-merge');
    const handlers = Array.from({ length: ENVIRONMENTS }, () =>
      withPersistence(
        { count: 0, seen: {} as Record<string, number> },
        async (event: Event, _context, state) => {
          state.count += 1;
          state.seen = { ...state.seen, [`e${event.env}`]: event.round };
          return state.count;
        },
        { client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey, merge: { count: 'sum', seen: 'keys' } },
      ),
    );
    for (let round = 0; round < ROUNDS; round++) {
      await atOnce(handlers.map((handler, env) => () => handler({ env, round }, lambdaContext())));
    }
    const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
    expect(row?.count).toEqual({ N: String(INCREMENTS) });
    expect(Object.keys(row?.seen?.M ?? {}).sort()).toEqual(handlers.map((_, env) => `e${env}`).sort());
  });

  it('refuses a merge that names no key of the defaults, or an unknown strategy, at module load', () => {
    expect(() => withPersistence({ count: 0 }, async () => 0, { merge: { cont: 'sum' } as never })).toThrow(
      /Option "merge" names "cont", which is not a key of the defaults/,
    );
    expect(() => withPersistence({ count: 0 }, async () => 0, { merge: { count: 'add' as never } })).toThrow(/merge\.count.*'sum'/);
    expect(() => Persistent({ merge: 'total' as never })).toThrow(/@Persistent\(\{ merge \}\) must be/);
  });
});
