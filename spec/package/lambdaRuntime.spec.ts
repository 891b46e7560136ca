/**
 * The packed package's handlers under the real Lambda runtime for Node.js (aws-lambda-ric on Node
 * 22, spec/support/lambdaRuntime.ts), against dynalite:
 *
 * - Lambda Managed Instances mode (`AWS_LAMBDA_MAX_CONCURRENCY`, 4 worker threads, each running
 *   many invocations at once on one handler object): 160 invocations at once, increments over ten
 *   `sum` counters, and a `PersistentMap` key each. None fails, none is lost.
 * - The standard mode, frozen with SIGSTOP the moment each response is posted (as Lambda freezes the
 *   process), then killed after the last: every change was durable before its response.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { consumerDir } from '../support/consumer';
import { isolatesConcurrentWrites, readItem, recordingClient, uniqueKey, useDynalite } from '../support/dynalite';
import { installLambdaRuntime, startRuntime, startRuntimeApi, type Answer, type LambdaRuntime, type RuntimeApi } from '../support/lambdaRuntime';

const dynamo = useDynalite();
const TABLE = 'RuntimeSpec';
const COUNTERS = 10;

/** Plain JavaScript, as a user without a compiler writes it: `Persistent()` called as a legacy decorator. */
const HANDLERS = `'use strict';
const { Persistent, PersistentHandler, PersistentMap, sum } = require('aws-lambda-persistence');

class Counters extends PersistentHandler {
${Array.from({ length: COUNTERS }, (_, i) => `  c${i} = 0;`).join('\n')}
  async handler(event) {
    this['c' + event.counter] += 1;
    return { counter: event.counter, value: this['c' + event.counter] };
  }
}
for (let i = 0; i < ${COUNTERS}; i++) Persistent({ merge: sum })(Counters.prototype, 'c' + i);
exports.counters = Counters.bind();

// The mistake a newcomer makes: Function.prototype.bind instead of the library's bind().
const unbound = new Counters();
exports.unbound = unbound.handler.bind(unbound);

// Invocations that change the count and invocations that change nothing, running at once.
class Mixed extends PersistentHandler {
  count = 0;
  async handler(event) {
    if (event.change) this.count += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { changed: Boolean(event.change) };
  }
}
Persistent({ merge: sum })(Mixed.prototype, 'count');
exports.mixed = Mixed.bind();

exports.map = async (event) => {
  const map = await PersistentMap.open();
  await map.set(event.key, event.value);
  return { stored: event.key };
};
`;

let runtime: LambdaRuntime;
let taskRoot: string;

beforeAll(async () => {
  runtime = await installLambdaRuntime();
  taskRoot = path.join(consumerDir(), 'lambda-task');
  mkdirSync(taskRoot, { recursive: true });
  writeFileSync(path.join(taskRoot, 'handlers.js'), HANDLERS);
}, 600_000);

function environment(functionName: string, handler: string, extra: NodeJS.ProcessEnv) {
  return {
    handler: `handlers.${handler}`,
    taskRoot,
    functionName,
    env: {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      PERSISTENCE_TABLE_NAME: TABLE,
      ...extra,
    },
  };
}

async function withRuntime<T>(functionName: string, handler: string, extra: NodeJS.ProcessEnv, body: (api: RuntimeApi, child: ChildProcess) => Promise<T>) {
  const api = await startRuntimeApi();
  const child = startRuntime(runtime, api, environment(functionName, handler, extra));
  try {
    return await body(api, child);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nruntime output:\n${child.output()}`, { cause: error });
  } finally {
    child.kill('SIGKILL');
    await api.close();
  }
}

const MANAGED_INSTANCES = { AWS_LAMBDA_MAX_CONCURRENCY: '64', AWS_LAMBDA_NODEJS_WORKER_COUNT: '4' };
/**
 * The Managed Instances scenarios hand all 160 events to the runtime at once, and need a server
 * that isolates concurrent writes (dynalite, DynamoDB), not moto (docs/dynamodb-implementations.md).
 * Handing them one at a time is no way out: under this stand-in of the Runtime API, a worker thread's
 * first invocation then never finishes any request, even a raw SDK GetItem without the library
 * (measured 2026-11-29; cause not found). So on moto they do not run.
 */
const managedInstances = isolatesConcurrentWrites;

/** The function's stored state map; undefined when nothing was stored (or the table was never created). */
async function storedRow(functionName: string) {
  const item = await readItem(recordingClient(dynamo.endpoint), TABLE, functionName).catch((error: Error) => {
    if (error.name === 'ResourceNotFoundException') return undefined;
    throw error;
  });
  return item?.value?.M;
}

describe('under the Lambda runtime (aws-lambda-ric, Node 22)', () => {
  if (managedInstances) {
    it('Managed Instances: 160 invocations at once over ten sum counters, none failed, every increment counted', async () => {
      const functionName = uniqueKey('ric-counters');
      const events = Array.from({ length: 160 }, (_, i) => ({ counter: i % COUNTERS }));
      const answers = await withRuntime(functionName, 'counters', MANAGED_INSTANCES, (api) => api.invokeAll(events, { concurrency: 160, timeoutMs: 60_000 }));
      expect(answers.filter((answer) => !answer.ok)).toEqual([]);
      const row = await storedRow(functionName);
      for (let i = 0; i < COUNTERS; i++) expect(row?.[`c${i}`]).toEqual({ N: '16' });
    }, 120_000);

    it("Managed Instances: invocations that change nothing settle at once, even with no time left to write; the writers' changes all land", async () => {
      const functionName = uniqueKey('ric-mixed');
      // 30 writers with time to spare, 30 that change nothing with a deadline inside the write margin
      // (500 ms): waiting for, or sending, any write would fail them.
      const events = Array.from({ length: 60 }, (_, i) => ({ change: i % 2 === 0 }));
      const answers = await withRuntime(functionName, 'mixed', { AWS_LAMBDA_MAX_CONCURRENCY: '64', AWS_LAMBDA_NODEJS_WORKER_COUNT: '1' }, async (api) => {
        // The environment's cold start first (its read is bounded by the deadline of the invocation that starts it).
        await api.invokeAll([{ change: false }], { concurrency: 1, timeoutMs: 60_000 });
        return api.invokeAll(events, { concurrency: 60, timeoutMs: 60_000, remainingMs: (i) => (i % 2 === 0 ? 30_000 : 300) });
      });
      expect(answers.filter((answer) => !answer.ok)).toEqual([]);
      const row = await storedRow(functionName);
      expect(row?.count).toEqual({ N: '30' });
    }, 120_000);

    it('Managed Instances: 160 PersistentMap sets of distinct keys at once, none failed, every key stored', async () => {
      const functionName = uniqueKey('ric-map');
      const events = Array.from({ length: 160 }, (_, i) => ({ key: `k${i}`, value: i }));
      const answers = await withRuntime(functionName, 'map', MANAGED_INSTANCES, (api) => api.invokeAll(events, { concurrency: 160, timeoutMs: 60_000 }));
      expect(answers.filter((answer) => !answer.ok)).toEqual([]);
      const row = await storedRow(functionName);
      expect(Object.keys(row ?? {}).length).toBe(160);
      expect(row?.k159).toEqual({ N: '159' });
    }, 120_000);
  }

  it("says once, naming the fix, when the handler runs without the library's bind() (new + Function.prototype.bind)", async () => {
    const functionName = uniqueKey('ric-unbound');
    const output = await withRuntime(functionName, 'unbound', {}, async (api, child) => {
      const answers = await api.invokeAll([{ counter: 1 }, { counter: 1 }], { concurrency: 1 });
      expect(answers.map((answer) => answer.ok)).toEqual([true, true]);
      return (child as ChildProcess & { output: () => string }).output();
    });
    expect(output.match(/AWS_LAMBDA_PERSISTENCE_UNBOUND/g)).toHaveLength(1);
    expect(output).toContain('Counters was constructed with new in a Lambda environment');
    expect(output).toContain('export const handler = Counters.bind();');
    // Nothing was stored: that is what the warning is about.
    expect(await storedRow(functionName)).toBeUndefined();
  }, 120_000);

  it('standard mode: frozen the moment each response is posted, killed after the last, nothing lost', async () => {
    const functionName = uniqueKey('ric-freeze');
    const events = Array.from({ length: 20 }, () => ({ counter: 3 }));
    let frozen = 0;
    const answers = await withRuntime(functionName, 'counters', {}, async (api, child) => {
      // Lambda freezes the environment as soon as the response is posted: whatever the handler left
      // in flight does not run until the next invocation thaws it. Thawed only to be handed the next event.
      const freeze = (answer: Answer) => {
        if (answer.ok && child.kill('SIGSTOP')) frozen += 1;
      };
      const all: Answer[] = [];
      for (const event of events) {
        const [answer] = await api.invokeAll([event], { concurrency: 1, onAnswer: freeze });
        all.push(answer!);
        // What the row holds while the environment is frozen: the invocation's change is already there.
        expect((await storedRow(functionName))?.c3).toEqual({ N: String(all.length) });
        child.kill('SIGCONT');
      }
      child.kill('SIGSTOP');
      return all;
    });
    expect(frozen).toBe(20);
    expect(answers.map((answer) => (answer.body as { value?: number }).value)).toEqual(events.map((_, i) => i + 1));
    expect((await storedRow(functionName))?.c3).toEqual({ N: '20' });
  }, 120_000);
});
