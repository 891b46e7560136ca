/**
 * WriteQueue against the in-memory store of the library's own contract: coalescing, order,
 * conflicts, table creation, and writes whose answer was lost (sums must not count twice).
 * spec/integration proves the same against dynalite.
 */
import { WriteConflictError } from '../../src/errors';
import { sum } from '../../src/persistence/fields/sum';
import { WriteQueue } from '../../src/persistence/WriteQueue';
import { openSession, trackedOver, N } from '../support/engine';
import { MemoryRowStore } from '../support/memoryStore';

describe('WriteQueue', () => {
  function queueOver(store: MemoryRowStore, defaults: Record<string, unknown>, conflictRetries = 5) {
    const { tracked, holder } = trackedOver(store, defaults);
    const queue = new WriteQueue(tracked, store, { conflictRetries, signal: () => undefined });
    return { tracked, holder, queue };
  }

  it('coalesces requests made before the write starts into one write', async () => {
    const store = new MemoryRowStore();
    const { holder, queue } = queueOver(store, { a: 0, b: 0 });
    holder.a = 1;
    const first = queue.request();
    holder.b = 2;
    const second = queue.request();
    await Promise.all([first, second]);
    expect(store.kinds()).toEqual(['put']);
    expect(store.row?.fields).toEqual({ a: N(1), b: N(2) });
  });

  it('keeps writes in order: a request made while one is in flight gets the next write, never overtaken', async () => {
    const store = new MemoryRowStore();
    const { holder, queue } = queueOver(store, { a: 0 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    store.beforeWrite = () => (store.requests.length === 1 ? gate : undefined);
    holder.a = 1;
    const first = queue.request();
    while (store.requests.length === 0) await new Promise((resolve) => setImmediate(resolve)); // the first write is in flight
    holder.a = 2;
    const second = queue.request();
    release();
    await Promise.all([first, second]);
    expect(store.requests.map((request) => request.kind !== 'get' && request.kind !== 'createTable' && request.fields.a)).toEqual([N(1), N(2)]);
    expect(store.row).toMatchObject({ fields: { a: N(2) }, revision: 2 });
  });

  it("writes only the changed fields once the row exists: another writer's field, stored meanwhile, stays without a conflict", async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { mine: N(0) }, revision: 1, layout: 'map' };
    const { holder, queue } = queueOver(store, { mine: 0 });
    store.beforeWrite = () => (store.requests.length === 1 ? store.writeAsOther({ theirs: { S: 'x' } }) : undefined);
    holder.mine = 7;
    await queue.request();
    expect(store.kinds()).toEqual(['update']);
    expect(store.requests[0]).toMatchObject({ changes: new Map([['mine', { kind: 'set', attribute: N(7) }]]) });
    expect(store.row).toMatchObject({ fields: { mine: N(7), theirs: { S: 'x' } }, revision: 3 });
  });

  it("a first write racing another environment's: takes the row from the failure at once and retries as changes", async () => {
    const store = new MemoryRowStore();
    const { holder, queue } = queueOver(store, { mine: 0 });
    store.beforeWrite = () => (store.requests.length === 1 ? store.writeAsOther({ theirs: { S: 'x' } }) : undefined);
    holder.mine = 7;
    await queue.request();
    expect(store.kinds()).toEqual(['put', 'update']);
    expect(store.row).toMatchObject({ fields: { mine: N(7), theirs: { S: 'x' } }, revision: 2 });
  });

  it('a state rewritten whole (packed) conflicts until conflictRetries, backing off and re-reading; the change stays pending', async () => {
    const store = new MemoryRowStore();
    store.row = { fields: {}, revision: 1, layout: 'packed' };
    const { tracked, holder, queue } = queueOver(store, { mine: 0 }, 2);
    store.beforeWrite = () => store.writeAsOther({ theirs: N(store.requests.length) }, 'packed');
    holder.mine = 1;
    await expect(queue.request()).rejects.toBeInstanceOf(WriteConflictError);
    // The first retry takes the row the failure returned; the next backs off, then reads.
    expect(store.kinds()).toEqual(['put', 'put', 'get', 'put']);
    expect(tracked.snapshot()?.changes.get('mine')).toEqual({ kind: 'set', attribute: N(1) });
    store.beforeWrite = () => undefined;
    await queue.request();
    expect(store.row?.fields.mine).toEqual(N(1));
  });

  it('creates a missing table and writes the whole last known state as a new row', async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { kept: N(1) }, revision: 4, layout: 'map' };
    const { holder, queue } = queueOver(store, { kept: 0, a: 0 });
    store.tableExists = false;
    holder.a = 2;
    await queue.request();
    expect(store.kinds()).toEqual(['update', 'createTable', 'put']);
    expect(store.requests[2]).toMatchObject({ kind: 'put', expectedRevision: 0, fields: { kept: N(1), a: N(2) } });
  });
});

describe('changes applied but not acknowledged, and reads overlapping writes (sums must not count twice)', () => {
  const sumSession = (store: MemoryRowStore) => openSession(store, { total: 0 }, {}, { total: { merge: sum } });

  it('a write whose answer was lost is found in the row by the next write, not applied again', async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { total: N(10) }, revision: 1, layout: 'map' };
    const { session, state } = await sumSession(store);
    store.afterWrite = () => {
      store.afterWrite = () => undefined;
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    };
    state.total = (state.total as number) + 1; // its write (started by the assignment) loses its answer
    await session.flush();
    // The flush's write read the row first, found the lost one applied, and had nothing left to send.
    expect(store.kinds()).toEqual(['get', 'update', 'get']);
    expect(store.row?.fields.total).toEqual(N(11));
    expect(state.total).toBe(11);
    state.total = (state.total as number) + 1;
    await session.flush();
    expect(store.kinds().slice(-1)).toEqual(['update']);
    expect(store.row?.fields.total).toEqual(N(12));
  });

  it('a refresh whose read overlapped a write is dropped: the written delta is not taken in twice', async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { total: N(5) }, revision: 1, layout: 'map' };
    const { session, state } = await sumSession(store);
    // While the refresh's GetItem is out, an assignment starts a write; it is applied before the
    // read answers, and its own answer comes after the read's.
    let readDone!: () => void;
    const read = new Promise<void>((resolve) => (readDone = resolve));
    store.afterWrite = async () => {
      await read;
      await new Promise((resolve) => setTimeout(resolve, 10));
    };
    store.beforeGet = async () => {
      store.beforeGet = () => undefined;
      state.total = (state.total as number) + 1;
      while (store.row?.revision !== 2) await new Promise((resolve) => setImmediate(resolve));
      readDone();
    };
    await session.refresh();
    store.afterWrite = () => undefined;
    await session.flush();
    expect(store.row?.fields.total).toEqual(N(6));
    expect(state.total).toBe(6);
  });
});
