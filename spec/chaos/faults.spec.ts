import { Persistent, PersistenceError, PersistentHandler } from '../../src';
import { FAULT_KINDS, startFaultProxy, type FaultProxy } from '../support/faultProxy';
import { lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();
const TABLE = 'Faults';
const INVOCATIONS = 240;
const FAULT_RATE = 0.2;
const COLD_START_EVERY = 20;

class Ledger extends PersistentHandler<{ id: number }, { count: number }> {
  @Persistent() count = 0;
  @Persistent() ids: number[] = [];
  async handler(event: { id: number }) {
    this.ids.push(event.id);
    this.count = this.ids.length;
    return { count: this.count };
  }
}

/** The same ledger with entries of 100 bytes: after ~40 invocations `ids` is a large field, in items of its own. */
class LargeLedger extends PersistentHandler<{ id?: number }, { count: number; ids: string[] }> {
  @Persistent() count = 0;
  @Persistent() ids: string[] = [];
  async handler(event: { id?: number }) {
    if (event.id !== undefined) {
      this.ids.push(`${event.id}:${'x'.repeat(96)}`);
      this.count = this.ids.length;
    }
    return { count: this.count, ids: this.ids };
  }
}

/**
 * INVOCATIONS invocations `{ id }` through the faults, in a new execution environment every
 * COLD_START_EVERY (cold starts read through the faults too): the ids acknowledged, and the errors
 * of the others by name (each must be one of ours).
 */
async function invokeThroughFaults(environment: () => (event: { id: number }, context: ReturnType<typeof lambdaContext>) => Promise<unknown>) {
  const acknowledged: number[] = [];
  const failures: Record<string, number> = {};
  let handler = environment();
  for (let id = 0; id < INVOCATIONS; id++) {
    if (id % COLD_START_EVERY === 0) handler = environment();
    try {
      await handler({ id }, lambdaContext('faults', 20_000));
      acknowledged.push(id);
    } catch (error) {
      expect(error).toBeInstanceOf(PersistenceError);
      const name = (error as Error).name;
      failures[name] = (failures[name] ?? 0) + 1;
    }
  }
  return { acknowledged, failures };
}

describe('Injected DynamoDB faults (seeded, 20 % of requests)', () => {
  let proxy: FaultProxy;
  afterAll(() => proxy?.close());

  it.each([3, 1])(`over ${INVOCATIONS} invocations with %i attempt(s) per request: each succeeds durably or fails with an error, and no acknowledged change is lost`, async (maxAttempts) => {
    const tableKey = uniqueKey('faults');
    // Create the table outside the faults.
    await Ledger.bind({ client: recordingClient(dynamo.endpoint), tableKey: uniqueKey(), tableName: TABLE })({ id: -1 }, lambdaContext());
    await proxy?.close();
    proxy = await startFaultProxy(dynamo.endpoint, { seed: 20261126 + maxAttempts, rate: FAULT_RATE, latencyMs: 40 });

    const { acknowledged, failures } = await invokeThroughFaults(() =>
      Ledger.bind({ client: recordingClient(proxy.endpoint, { maxAttempts }), tableKey, tableName: TABLE }),
    );
    proxy.setRate(0);

    const item = await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey);
    const stored = (item?.value?.M?.ids?.L ?? []).map((entry) => Number(entry.N));
    const lost = acknowledged.filter((id) => !stored.includes(id));
    const duplicates = stored.length - new Set(stored).size;
    const faults = Object.entries(proxy.injected).map(([kind, n]) => `${kind} ${n}`).join(', ');
    console.log(
      `fault injection (maxAttempts ${maxAttempts}): ${INVOCATIONS} invocations, ${acknowledged.length} succeeded, ` +
        `${INVOCATIONS - acknowledged.length} failed with an error (${JSON.stringify(failures)}); ` +
        `requests ${JSON.stringify(proxy.requests)}; faults injected: ${faults}; ` +
        `acknowledged changes lost: ${lost.length}; applied twice: ${duplicates}`,
    );
    expect(FAULT_KINDS.every((kind) => proxy.injected[kind] > 0)).toBe(true);
    expect(lost).toEqual([]);
    expect(duplicates).toBe(0);
    // Fields written together stay consistent.
    expect(item?.value?.M?.count).toEqual({ N: String(stored.length) });
    // With the SDK's retries nearly every invocation gets through; without them, most still do.
    expect(acknowledged.length).toBeGreaterThan(INVOCATIONS * (maxAttempts > 1 ? 0.95 : 0.6));
  }, 180_000);

  it.each([3, 1])(`the same with a field large enough for items of its own, %i attempt(s) per request`, async (maxAttempts) => {
    const tableKey = uniqueKey('faults-large');
    await LargeLedger.bind({ client: recordingClient(dynamo.endpoint), tableKey: uniqueKey(), tableName: TABLE })({}, lambdaContext());
    await proxy?.close();
    proxy = await startFaultProxy(dynamo.endpoint, { seed: 20261130 + maxAttempts, rate: FAULT_RATE, latencyMs: 40 });
    const { acknowledged } = await invokeThroughFaults(() =>
      LargeLedger.bind({ client: recordingClient(proxy.endpoint, { maxAttempts }), tableKey, tableName: TABLE }),
    );
    proxy.setRate(0);
    // Read as a cold start does, without faults: the row, then the field's item.
    const reader = LargeLedger.bind({ client: recordingClient(dynamo.endpoint), tableKey, tableName: TABLE });
    const { count, ids } = await reader({}, lambdaContext());
    const stored = ids.map((entry) => Number(entry.split(':')[0]));
    const row = await readItem(recordingClient(dynamo.endpoint), TABLE, tableKey);
    console.log(
      `fault injection, large field (maxAttempts ${maxAttempts}): ${acknowledged.length} of ${INVOCATIONS} succeeded; ` +
        `requests ${JSON.stringify(proxy.requests)}; acknowledged changes lost: ${acknowledged.filter((id) => !stored.includes(id)).length}; ` +
        `applied twice: ${stored.length - new Set(stored).size}`,
    );
    expect(row?.items?.M?.ids).toBeDefined();
    expect(acknowledged.filter((id) => !stored.includes(id))).toEqual([]);
    expect(stored.length - new Set(stored).size).toBe(0);
    expect(count).toBe(stored.length);
    expect(acknowledged.length).toBeGreaterThan(INVOCATIONS * (maxAttempts > 1 ? 0.95 : 0.5));
  }, 180_000);
});
