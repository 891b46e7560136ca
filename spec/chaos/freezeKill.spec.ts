/**
 * No lost updates across the Lambda lifecycle, with real processes: every execution environment is a
 * child Node process running an esbuild bundle of a fixture (spec/lifecycle-harness/), frozen with
 * SIGSTOP the moment its invocation reports an outcome (as Lambda freezes it when the handler's
 * promise settles), thawed for its next invocation, and killed with SIGKILL. DynamoDB is dynalite in
 * this process. See spec/support/lambdaHarness.ts.
 */
import { startDynamoProxy, type DynamoProxy, type ProxiedRequest } from '../support/dynamoProxy';
import { seededRandom } from '../support/seededRandom';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  buildFixtures,
  EnvironmentExitedError,
  InvocationError,
  killAllEnvironments,
  lambdaEnv,
  liveEnvironments,
  removeBuild,
  startEnvironment,
  type HarnessBuild,
  type LambdaEnvironment,
} from '../support/lambdaHarness';
import { readItem, recordingClient, startDynalite, uniqueKey, type LocalDynamo } from '../support/dynalite';
import type { RecorderView } from '../lifecycle-harness/recorder';
import type { CounterName, CountersView } from '../lifecycle-harness/counters';
import type { BlobKind, GenerationsView } from '../lifecycle-harness/generations';

const TABLE = 'FreezeKill';

let dynamo: LocalDynamo;
let build: HarnessBuild;
let raw: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startDynalite();
  build = await buildFixtures(['recorder', 'counters', 'generations']);
  raw = recordingClient(dynamo.endpoint);
}, 60_000);

afterEach(async () => {
  // Whatever a test left behind (a failure half-way, say), frozen processes included.
  await killAllEnvironments();
});

afterAll(async () => {
  await killAllEnvironments();
  const survivors = liveEnvironments().map((environment) => environment.pid);
  removeBuild(build);
  raw?.destroy();
  await dynamo?.close();
  if (survivors.length > 0) throw new Error(`environments still alive after the run: ${survivors.join(', ')}`);
});

function environmentOf(module: string, tableKey: string, endpoint = dynamo.endpoint, extra?: NodeJS.ProcessEnv): Promise<LambdaEnvironment> {
  return startEnvironment({ module, env: lambdaEnv({ endpoint, tableName: TABLE, tableKey, ...(extra && { extra }) }), timeoutMs: 10_000 });
}

/** Starts the next environment's init phase now; a failure surfaces when it is awaited. */
function prestart(start: () => Promise<LambdaEnvironment>): Promise<LambdaEnvironment> {
  const started = start();
  started.catch(() => undefined);
  return started;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** The state map of the row, raw from GetItem. */
async function rawState(tableKey: string): Promise<Record<string, AttributeValue>> {
  const item = await readItem(raw, TABLE, tableKey);
  expect(item?.value?.M).toBeDefined();
  return item!.value!.M!;
}

describe('freeze and kill right after each invocation (Lambda recycling environments)', () => {
  // 4 rows × 25 invocations: the rows run side by side, the invocations on one row one after
  // another, so on each row every cold start must find everything its predecessors stored.
  const ROWS = 4;
  const PER_ROW = 25;

  it(`keeps every change of ${ROWS * PER_ROW} invocations, each a cold start frozen and killed the moment it resolves`, async () => {
    const started = Date.now();
    const rows = range(0, ROWS).map((row) => ({ key: uniqueKey(`freeze-kill-cold-${row}`), numbers: range(row * PER_ROW + 1, PER_ROW) }));

    const runRow = async ({ key, numbers }: (typeof rows)[number]) => {
      const views: RecorderView[] = [];
      const failures: string[] = [];
      const pids = new Set<number>();
      let next = prestart(() => environmentOf(build.modules.recorder!, key));
      for (const [index, n] of numbers.entries()) {
        const environment = await next;
        // The next environment's init phase (module load) overlaps this invocation; like Lambda's
        // init, it reads nothing: its first invocation reads the row, after this one is killed.
        if (index + 1 < numbers.length) next = prestart(() => environmentOf(build.modules.recorder!, key));
        pids.add(environment.pid);
        try {
          views.push(await environment.invoke<RecorderView>({ action: 'record', n }, { requestId: `request-${n}` }));
          // Frozen by the harness when the result arrived (and stopped for real, where /proc tells).
          expect(environment.state).toBe('frozen');
          expect(await environment.stopped()).not.toBe(false);
        } catch (error) {
          failures.push(`invocation ${n}: ${(error as Error).name}: ${(error as Error).message}`);
        }
        await environment.kill();
      }
      return { views, failures, pids };
    };
    const outcomes = await Promise.all(rows.map(runRow));
    const coldStartsMs = Date.now() - started;

    for (const [r, { key, numbers }] of rows.entries()) {
      const { views, failures, pids } = outcomes[r]!;
      expect(failures).toEqual([]);
      expect(pids.size).toBe(numbers.length); // every invocation in a process of its own

      // A fresh environment reads the row through the library...
      const reader = await environmentOf(build.modules.recorder!, key);
      const final = await reader.invoke<RecorderView>({ action: 'read' });
      await reader.kill();
      const lost = numbers.filter((n) => !final.invocations.includes(n) || !final.seen.some(([, seen]) => seen === n));
      expect({ row: key, lost }).toEqual({ row: key, lost: [] });
      expect(final.invocations).toEqual(numbers);
      expect(final.seen).toEqual(numbers.map((n) => [`invocation-${n}`, n]));
      expect(Object.fromEntries(final.requests)).toEqual(Object.fromEntries(numbers.map((n) => [`invocation-${n}`, `request-${n}`])));
      expect(final.last).toBe(numbers.at(-1));

      // ...and raw: the stored item holds every change, in the documented format.
      const state = await rawState(key);
      expect(state.invocations?.L?.map((value) => Number(value.N))).toEqual(numbers);
      expect(state.seen?.M?.['@type']).toEqual({ S: 'Map' });
      expect(state.seen?.M?.['@value']?.L?.map((pair) => [pair.L?.[0]?.S, Number(pair.L?.[1]?.N)])).toEqual(
        numbers.map((n) => [`invocation-${n}`, n]),
      );
      expect(state.requests?.M).toEqual(Object.fromEntries(numbers.map((n) => [`invocation-${n}`, { S: `request-${n}` }])));
      expect(state.last).toEqual({ N: String(numbers.at(-1)) });

      // Each cold start found exactly what the invocations before it stored, in order.
      expect(views.map((view) => view.invocations)).toEqual(numbers.map((_, i) => numbers.slice(0, i)));
      expect(views.map((view) => view.warmInvocations)).toEqual(numbers.map(() => 1));
    }
    console.log(`freeze+kill: ${ROWS * PER_ROW} cold starts on ${ROWS} rows in ${coldStartsMs} ms`);
  }, 240_000);

  it('discards by default: an invocation that throws rejects with the handler error and leaves nothing, frozen and killed or not', async () => {
    const key = uniqueKey('freeze-kill-discard');
    const writer = await environmentOf(build.modules.recorder!, key);
    await writer.invoke({ action: 'record', n: 1 }, { requestId: 'request-1' });
    const failed = await writer.invoke({ action: 'record-then-throw', n: 7 }, { requestId: 'request-7' }).then(
      () => new Error('the invocation resolved'),
      (error: unknown) => error as InvocationError,
    );
    expect(failed).toBeInstanceOf(InvocationError);
    // The same environment, thawed: its state does not hold the failed invocation's changes either.
    const again = await writer.invoke<RecorderView>({ action: 'read' });
    await writer.kill();
    expect(again).toMatchObject({ invocations: [1], last: 1 });
    const reader = await environmentOf(build.modules.recorder!, key);
    const final = await reader.invoke<RecorderView>({ action: 'read' });
    await reader.kill();
    expect(final).toMatchObject({ invocations: [1], last: 1 });
  });

  it("onFailure: 'save': an invocation that throws rejects with the handler error, and its changes were saved before the freeze", async () => {
    const key = uniqueKey('freeze-kill-throw');
    const writer = await environmentOf(build.modules.recorder!, key, dynamo.endpoint, { PERSISTENCE_ON_FAILURE: 'save' });
    const failed = await writer.invoke({ action: 'record-then-throw', n: 7 }, { requestId: 'request-7' }).then(
      () => new Error('the invocation resolved'),
      (error: unknown) => error as InvocationError,
    );
    expect(writer.state).toBe('frozen');
    await writer.kill();
    expect(failed).toBeInstanceOf(InvocationError);
    expect({ name: failed.name, message: failed.message }).toEqual({ name: 'RangeError', message: 'invocation 7 refused' });
    expect((failed as InvocationError).remote?.properties).toEqual({ invocation: 7 });

    const reader = await environmentOf(build.modules.recorder!, key);
    const final = await reader.invoke<RecorderView>({ action: 'read' });
    await reader.kill();
    expect(final).toMatchObject({ invocations: [7], seen: [['invocation-7', 7]], requests: [['invocation-7', 'request-7']], last: 7 });
  });
});


function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

describe('four warm environments on one row, frozen between invocations', () => {
  const COUNTERS: readonly CounterName[] = ['a', 'b', 'c', 'd'];
  const ROUNDS = 25;

  it(`keeps each environment's own counter exact through ${COUNTERS.length} × ${ROUNDS} interleaved invocations`, async () => {
    const seed = Number(process.env.FREEZE_KILL_SEED ?? Date.now() % 2 ** 31);
    const random = seededRandom(seed);
    const key = uniqueKey('freeze-kill-warm');
    const environments = await Promise.all(COUNTERS.map(() => environmentOf(build.modules.counters!, key)));
    const views = new Map<CounterName, CountersView[]>(COUNTERS.map((name) => [name, []]));
    const failures: string[] = [];

    for (let round = 1; round <= ROUNDS; round++) {
      // All four in flight at once, started in a random order with random gaps, each handler
      // waiting a random time before it changes anything: their conditional writes collide.
      const order = shuffled(COUNTERS, random);
      let gap = Promise.resolve();
      await Promise.all(
        order.map((name) => {
          const environment = environments[COUNTERS.indexOf(name)]!;
          const delayMs = Math.floor(random() * 15);
          const startAfterMs = Math.floor(random() * 4);
          gap = gap.then(() => new Promise((resolve) => setTimeout(resolve, startAfterMs)));
          return gap.then(async () => {
            expect(environment.state).toBe(round === 1 ? 'idle' : 'frozen');
            environment.thaw();
            try {
              views.get(name)!.push(await environment.invoke<CountersView>({ action: 'increment', counter: name, delayMs }));
              expect(environment.state).toBe('frozen');
            } catch (error) {
              failures.push(`round ${round}, environment ${name}: ${(error as Error).name}: ${(error as Error).message}`);
            }
          });
        }),
      );
      // Between rounds every environment is stopped by the kernel: no write can sneak out of it.
      for (const environment of environments) expect(await environment.stopped()).not.toBe(false);
    }
    await Promise.all(environments.map((environment) => environment.kill()));

    expect({ seed, failures }).toEqual({ seed, failures: [] });
    // Each environment saw its own counter go 1, 2, ... 25 (its change survived every conflict).
    for (const name of COUNTERS) expect(views.get(name)!.map((view) => view[name])).toEqual(range(1, ROUNDS));

    const reader = await environmentOf(build.modules.counters!, key);
    const final = await reader.invoke<CountersView>({ action: 'read' });
    await reader.kill();
    expect({ seed, a: final.a, b: final.b, c: final.c, d: final.d }).toEqual({ seed, a: ROUNDS, b: ROUNDS, c: ROUNDS, d: ROUNDS });
    const state = await rawState(key);
    expect(COUNTERS.map((name) => state[name])).toEqual(COUNTERS.map(() => ({ N: String(ROUNDS) })));
    expect(state.shared).toEqual({ N: String(final.shared) });
    // Not asserted: the shared counter is last-writer-wins per field (docs/concurrency.md).
    console.log(`shared counter after ${COUNTERS.length * ROUNDS} increments: ${final.shared} (seed ${seed})`);
  }, 240_000);
});

describe('a kill while a write is in flight', () => {
  let interceptor: DynamoProxy;

  beforeAll(async () => {
    interceptor = await startDynamoProxy(dynamo.endpoint);
  });

  afterAll(async () => {
    await interceptor?.close();
  });

  /**
   * Where to kill the environment during its write:
   * - `before-row-put`: the PutItem of the row reached DynamoDB's door and was never applied;
   * - `after-row-put`: DynamoDB applied it, the environment never heard the answer;
   * - `after-first-part`: a part item of a large state was stored, the row not yet;
   * - a number: that many ms after the handler assigned the fields, wherever the write then is.
   */
  type KillPoint = 'before-row-put' | 'after-row-put' | 'after-first-part' | number;

  // Blobs that make the library choose each layout of the row (docs/storage-format.md), with room
  // to spare either way, so that tuning the library's size thresholds does not change the choice.
  interface Blob {
    readonly blobBytes: number;
    readonly blobKind: BlobKind;
    readonly layout: 'value' | 'packed' | 'parts';
  }
  const SMALL: Blob = { blobBytes: 1_000, blobKind: 'random', layout: 'value' }; // the state map in the row
  const PACKED: Blob = { blobBytes: 600_000, blobKind: 'repetitive', layout: 'packed' }; // gzips to a few KB
  const PARTS: Blob = { blobBytes: 1_200_000, blobKind: 'random', layout: 'parts' }; // gzips to ~900 KB
  const blobName = (blob: { blobBytes: number; blobKind: BlobKind }) => `${blob.blobBytes}B ${blob.blobKind}`;

  const PLAN: readonly { blob: Blob; kill: KillPoint }[] = [
    { blob: SMALL, kill: 'before-row-put' },
    { blob: SMALL, kill: 'after-row-put' },
    { blob: PARTS, kill: 'after-first-part' },
    { blob: PARTS, kill: 'before-row-put' },
    { blob: PARTS, kill: 'after-row-put' },
    { blob: PACKED, kill: 'before-row-put' },
    { blob: PACKED, kill: 'after-row-put' },
    { blob: PARTS, kill: 'after-row-put' },
    { blob: SMALL, kill: 'after-row-put' },
    ...[0, 2, 5, 10, 20].map((ms) => ({ blob: SMALL, kill: ms })),
    ...[0, 10, 30, 60, 120].map((ms) => ({ blob: PARTS, kill: ms })),
  ];

  it('leaves a row that a fresh environment reads whole: every field from the old write or every field from the new', async () => {
    const key = uniqueKey('freeze-kill-mid-write');
    const isRowPut = (request: ProxiedRequest) => request.operation === 'PutItem' && request.key === key;
    const isPartPut = (request: ProxiedRequest) => request.operation === 'PutItem' && request.key?.startsWith(`${key}#part#`) === true;
    /** The blobs attempted for each generation number (a lost write's number is written again). */
    const attempts = new Map<number, Blob[]>();
    const timedOutcomes: string[] = [];

    /** The blob `view` holds, among those written for its generation. */
    const check = (view: GenerationsView, allowed: readonly number[], step: string): Blob | undefined => {
      expect({ step, generation: allowed.includes(view.generation) ? 'as expected' : view.generation }).toEqual({ step, generation: 'as expected' });
      // All fields of one write, never a mix.
      const blob = attempts
        .get(view.generation)
        ?.find((attempt) => attempt.blobBytes === view.blobLength && view.blobHead.startsWith(`g${view.generation}/${attempt.blobKind}:`));
      expect({ step, stamp: view.stamp, history: view.history, blobIntact: view.blobIntact, blob: blob === undefined ? view.blobHead : 'one of this generation' }).toEqual({
        step,
        stamp: `g${view.generation}`,
        history: range(1, view.generation),
        blobIntact: true,
        blob: view.generation === 0 ? '' : 'one of this generation',
      });
      return blob;
    };

    let known = 0; // the generation the row holds
    let environment = await environmentOf(build.modules.generations!, key, interceptor.endpoint);
    for (const [index, { blob, kill }] of PLAN.entries()) {
      const step = `step ${index + 1} (${blobName(blob)}, kill ${typeof kill === 'number' ? `${kill} ms after the assignment` : kill})`;
      // A cold start reads the row the previous environment's kill left: it must load whole.
      const before = await environment.invoke<GenerationsView>({ action: 'read' });
      check(before, [known], `${step}: before`);
      const next = prestart(() => environmentOf(build.modules.generations!, key, interceptor.endpoint));

      const generation = known + 1;
      attempts.set(generation, [...(attempts.get(generation) ?? []), blob]);
      const killing = environment;
      let killed: Promise<void> | undefined;
      const killNow = () => (killed ??= killing.kill());
      interceptor.hooks = {
        beforeServer: async (request) => {
          if (kill === 'before-row-put' && isRowPut(request)) {
            await killNow();
            return 'drop';
          }
          return 'forward';
        },
        afterServer: async (request) => {
          if ((kill === 'after-row-put' && isRowPut(request)) || (kill === 'after-first-part' && isPartPut(request))) await killNow();
        },
      };
      const outcome = killing.invoke<GenerationsView>({ action: 'write', blobBytes: blob.blobBytes, blobKind: blob.blobKind }).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const assigned = (await killing.marked('assigned')) as { generation: number };
      expect(assigned.generation).toBe(generation);
      if (typeof kill === 'number') {
        if (kill > 0) await new Promise((resolve) => setTimeout(resolve, kill));
        await killNow();
      }
      // The handler never returns (it waits for a signal), so no outcome but the kill can come.
      const settled = await outcome;
      expect(settled.ok).toBe(false);
      expect(settled.ok ? undefined : settled.error).toBeInstanceOf(EnvironmentExitedError);
      await killed;
      expect(killing.exitSignal).toBe('SIGKILL');
      interceptor.hooks = {};

      environment = await next;
      const after = await environment.invoke<GenerationsView>({ action: 'read' });
      const expected = kill === 'after-row-put' ? [generation] : typeof kill === 'number' ? [known, generation] : [known];
      const stored = check(after, expected, `${step}: after`);
      // The row has the layout its state calls for (so the kill points of each layout were hit).
      const item = await readItem(raw, TABLE, key);
      expect({ step, layout: ['value', 'packed', 'parts'].filter((name) => item?.[name] !== undefined) }).toEqual({
        step,
        layout: stored === undefined ? [] : [stored.layout],
      });
      if (typeof kill === 'number') timedOutcomes.push(`${blobName(blob)} @${kill}ms: ${after.generation === generation ? 'new' : 'old'}`);
      known = after.generation;
    }
    await environment.kill();

    // Part items that killed writes left behind: unreachable, harmless (docs/storage-format.md).
    let partItems = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      // Paginated: a Scan page stops after 1 MB of items read, and part items are ~400 KB each.
      const page = await raw.send(
        new ScanCommand({ TableName: TABLE, ProjectionExpression: '#key', ExpressionAttributeNames: { '#key': 'key' }, ExclusiveStartKey: start }),
      );
      partItems += (page.Items ?? []).filter((item) => item.key?.S?.startsWith(`${key}#part#`)).length;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    const referenced = Number((await readItem(raw, TABLE, key))?.parts?.M?.count?.N ?? 0);
    console.log(
      `kill mid-write: ${PLAN.length} kills, final generation ${known}, ${partItems} part items in the table ` +
        `(${referenced} referenced by the row); ` +
        `timed kills (row after): ${timedOutcomes.join(', ')}`,
    );
  }, 240_000);
});
