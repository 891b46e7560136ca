/**
 * Many writers of one row (execution environments, each with its own handler instance and client,
 * as Lambda runs them), all at once, against dynalite: distinct fields never conflict, `sum`
 * counters count every increment, `keys` keeps every writer's keys, a merge function is applied on
 * conflict. No invocation fails because another environment wrote.
 */
import { keys, Persistent, PersistentHandler, PersistentMap, sum, withPersistence } from '../../src';
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
  @Persistent({ merge: sum }) total = 0;
  @Persistent({ merge: sum }) startsAtTen = 10;
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
  @Persistent({ merge: sum }) total = 0;
  @Persistent({ merge: keys }) seen = new Map<string, number>();
  @Persistent({ merge: keys }) byEnv: Record<string, number> = {};
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

  it("withPersistence({ merge: { count: sum, seen: keys } }): counts and keys from every environment", async () => {
    const tableKey = uniqueKey('state-merge');
    const handlers = Array.from({ length: ENVIRONMENTS }, () =>
      withPersistence(
        { count: 0, seen: {} as Record<string, number> },
        async (event: Event, _context, state) => {
          state.count += 1;
          state.seen = { ...state.seen, [`e${event.env}`]: event.round };
          return state.count;
        },
        { client: recordingClient(dynamo.endpoint), tableName: TABLE, tableKey, merge: { count: sum, seen: keys } },
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
    expect(() => withPersistence({ count: 0 }, async () => 0, { merge: { cont: sum } as never })).toThrow(
      /Option "merge" names "cont", which is not a key of the defaults/,
    );
    expect(() => withPersistence({ count: 0 }, async () => 0, { merge: { count: 'add' as never } })).toThrow(/merge\.count.*sum, keys/);
    expect(() => Persistent({ merge: 'total' as never })).toThrow(/@Persistent\(\{ merge \}\) must be/);
  });
});

/** Keys and a merge function beside writers of other fields: after the row exists, no write conflicts. */
class KeyWriters extends PersistentHandler<Event, number> {
  @Persistent({ merge: sum }) total = 0;
  @Persistent({ merge: keys }) seen = new Map<string, number>();
  @Persistent({ merge: keys }) byEnv: Record<string, number> = {};
  @Persistent({ merge: union }) tags: string[] = [];

  async handler(event: Event) {
    this.total += 1;
    this.seen.set(`e${event.env}`, event.round);
    this.byEnv[`e${event.env}`] = event.round;
    // Only environment 0 changes the merged list: the others' writes must not make it retry.
    if (event.env === 0) this.tags = [...this.tags, `r${event.round}`];
    return this.total;
  }
}

describe('merges that do not conflict', () => {
  it('keys: each writer sets only its own keys, and a merge function conditions only on its own field: no conflict once the row exists', async () => {
    const tableKey = uniqueKey('keys');
    const envs = environments(KeyWriters, tableKey);
    // The row's first write is the one race (every environment creates it): round 0 is played first.
    await atOnce(envs.map((env, i) => () => env.handler({ env: i, round: 0 }, lambdaContext())));
    const conflictsBefore = envs.map((env) => env.handler.stats.conflicts);
    const requestsBefore = envs.map((env) => env.client.requests.length);
    const failures: unknown[] = [];
    for (let round = 1; round < ROUNDS; round++) {
      await atOnce(envs.map((env, i) => () => env.handler({ env: i, round }, lambdaContext()).catch((error: unknown) => failures.push(error))));
    }
    expect(failures).toEqual([]);
    expect(envs.map((env, i) => env.handler.stats.conflicts - conflictsBefore[i]!)).toEqual(envs.map(() => 0));
    // One UpdateItem per invocation, and no read.
    const requests = envs.flatMap((env, i) => env.client.requests.slice(requestsBefore[i]));
    expect(requests.filter((name) => name === 'UpdateItem').length).toBe(ENVIRONMENTS * (ROUNDS - 1));
    expect(requests.filter((name) => name !== 'UpdateItem')).toEqual([]);
    const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
    expect(row?.total).toEqual({ N: String(INCREMENTS) });
    expect(row?.byEnv?.M).toEqual(Object.fromEntries(envs.map((_, i) => [`e${i}`, { N: String(ROUNDS - 1) }])));
    // A Map with string keys is stored as a map of its keys, so that each key has a path.
    expect(row?.seen?.M?.['@type']).toEqual({ S: 'Map' });
    expect(row?.seen?.M?.['@value']?.M).toEqual(Object.fromEntries(envs.map((_, i) => [`e${i}`, { N: String(ROUNDS - 1) }])));
    expect(row?.tags?.L?.map((tag) => tag.S)).toEqual(Array.from({ length: ROUNDS }, (_, round) => `r${round}`).sort());
  });

  it('keys: a removed key is removed from the row, and a key another writer set meanwhile stays', async () => {
    const tableKey = uniqueKey('keys-remove');
    const [first, second] = environments(KeyWriters, tableKey);
    await first!.handler({ env: 0, round: 0 }, lambdaContext());
    await second!.handler({ env: 1, round: 0 }, lambdaContext());
    class Remover extends KeyWriters {
      override async handler() {
        this.seen.delete('e0');
        delete this.byEnv.e0;
        return this.total;
      }
    }
    const client = recordingClient(dynamo.endpoint);
    await Remover.bind({ client, tableKey, tableName: TABLE })({ env: 0, round: 1 }, lambdaContext());
    const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
    expect(row?.byEnv?.M).toEqual({ e1: { N: '0' } });
    expect(row?.seen?.M?.['@value']?.M).toEqual({ e1: { N: '0' } });
  });

  it('sum on a bigint: every increment counts, beyond the 53 bits of a number, and reads back as a bigint', async () => {
    const STEP = 10n ** 30n;
    class Big extends PersistentHandler<Event, bigint> {
      @Persistent({ merge: sum }) bytes = 0n;
      async handler() {
        this.bytes += STEP;
        return this.bytes;
      }
    }
    const tableKey = uniqueKey('bigint-sum');
    const envs = environments(Big as never, tableKey) as unknown as { handler: (event: Event, context: object) => Promise<bigint> }[];
    for (let round = 0; round < ROUNDS; round++) await atOnce(envs.map((env, i) => () => env.handler({ env: i, round }, lambdaContext())));
    const row = (await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey))?.value?.M;
    expect(row?.bytes).toEqual({ N: (STEP * BigInt(INCREMENTS)).toString() });
    const fresh = Big.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE });
    await expect(fresh({ env: 0, round: 0 }, lambdaContext())).resolves.toBe(STEP * BigInt(INCREMENTS + 1));
  });

  it('refuses sum on a field that does not hold numbers and keys on one that is not a Map or object, naming the field, before anything is read', async () => {
    class Wrong extends PersistentHandler<Event, number> {
      // @ts-expect-error sum adds numbers: a string field does not compile
      @Persistent({ merge: sum }) label = 'x';
      async handler() {
        return 0;
      }
    }
    class AlsoWrong extends PersistentHandler<Event, number> {
      // @ts-expect-error keys merges a Map or an object
      @Persistent({ merge: keys }) list: string[] = [];
      async handler() {
        return 0;
      }
    }
    const client = recordingClient(dynamo.endpoint);
    await expect(Wrong.bind({ client, tableKey: uniqueKey('wrong'), tableName: TABLE })({ env: 0, round: 0 }, lambdaContext())).rejects.toThrow(
      /merge: sum adds numbers, but field "label" starts as string/,
    );
    await expect(AlsoWrong.bind({ client, tableKey: uniqueKey('wrong'), tableName: TABLE })({ env: 0, round: 0 }, lambdaContext())).rejects.toThrow(
      /merge: keys merges a Map or a plain object key by key, but field "list" starts as an array/,
    );
    expect(client.requests).toEqual([]);
  });

  it("refuses the 0.1 strings 'sum' and 'keys' with the import that replaces them", () => {
    expect(() => Persistent({ merge: 'sum' as never })).toThrow(/import \{ sum \} from 'aws-lambda-persistence' and write merge: sum/);
    expect(() => withPersistence({ seen: {} }, async () => 0, { merge: { seen: 'keys' as never } })).toThrow(/merge\.seen" takes the imported keys/);
  });
});
