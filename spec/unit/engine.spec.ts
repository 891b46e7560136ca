/**
 * The engine (TrackedState, WriteQueue, Session) against the in-memory store of the library's own
 * contract (spec/support/memoryStore.ts): ordering, coalescing, conflicts, table creation and
 * per-invocation deadlines, pinned without DynamoDB. spec/integration proves the same against dynalite.
 */
import { DeadlineExceededError, WriteConflictError } from '../../src/errors';
import { encodeValue } from '../../src/persistence/codec';
import { sum } from '../../src/persistence/fields/sum';
import { resolveOptions, type PersistenceOptions } from '../../src/persistence/options';
import { Session, type View } from '../../src/persistence/Session';
import { SizeCache } from '../../src/persistence/storage/sizes';
import { TrackedState } from '../../src/persistence/TrackedState';
import { WriteQueue } from '../../src/persistence/WriteQueue';
import { MemoryRowStore } from '../support/memoryStore';

const context = (remainingMs = 30_000) => ({ getRemainingTimeInMillis: () => remainingMs });

async function openSession(store: MemoryRowStore, defaults: Record<string, unknown>, options: PersistenceOptions = {}) {
  let state!: Record<string, unknown>;
  const view: View = {
    fieldDescription: 'a field',
    attach(tracked) {
      state = { ...defaults };
      tracked.attach(state, Object.keys(defaults).map((name) => ({ name })));
    },
  };
  const resolved = resolveOptions({ tableName: store.tableName, tableKey: store.tableKey, ...options }, {});
  const session = await Session.open(store, new SizeCache(), resolved, context(), view);
  return { session, state };
}

function trackedOver(store: MemoryRowStore, defaults: Record<string, unknown>) {
  const tracked = new TrackedState({
    location: { tableName: store.tableName, tableKey: store.tableKey },
    rowOverhead: () => store.rowOverhead,
    maxBytes: 400 * 1024,
    sizes: new SizeCache(),
    onCorruptField: 'fail',
    open: false,
  });
  const holder: Record<string, unknown> = { ...defaults };
  tracked.attach(holder, Object.keys(defaults).map((name) => ({ name })));
  tracked.load(store.row);
  return { tracked, holder };
}

const N = (n: number) => ({ N: String(n) });

describe('TrackedState', () => {
  it('hands the write path one change per dirty field: set for a value, remove for undefined', () => {
    const store = new MemoryRowStore();
    store.row = { fields: { a: N(1), gone: N(2) }, revision: 3 };
    const { tracked, holder } = trackedOver(store, { a: 0, gone: 0, b: 0 });
    holder.a = 5;
    holder.gone = undefined;
    const snapshot = tracked.snapshot()!;
    expect(snapshot.expectedRevision).toBe(3);
    expect([...snapshot.changes]).toEqual([
      ['a', { kind: 'set', attribute: N(5) }],
      ['gone', { kind: 'remove' }],
    ]);
    expect(snapshot.fields).toEqual({ a: N(5) });
    tracked.confirm(snapshot, { revision: 4 });
    expect(tracked.snapshot()).toBeUndefined();
  });

  it('keeps fields it does not declare in every whole-row write (rollback safety)', () => {
    const store = new MemoryRowStore();
    store.row = { fields: { a: N(1), fromAnotherVersion: { S: 'keep me' } }, revision: 1 };
    const { tracked, holder } = trackedOver(store, { a: 0 });
    holder.a = 2;
    expect(tracked.snapshot()!.fields).toEqual({ a: N(2), fromAnotherVersion: { S: 'keep me' } });
  });

  it("adopts another writer's row: its fields come in, fields changed here keep their new value", () => {
    const store = new MemoryRowStore();
    store.row = { fields: { a: N(1), b: N(1) }, revision: 1 };
    const { tracked, holder } = trackedOver(store, { a: 0, b: 0 });
    holder.a = 10;
    tracked.adopt({ fields: { a: N(2), b: N(2) }, revision: 2 });
    expect(holder).toEqual({ a: 10, b: 2 });
    expect(tracked.snapshot()).toMatchObject({ expectedRevision: 2, fields: { a: N(10), b: N(2) } });
  });
});

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
  function sumSession(store: MemoryRowStore) {
    let state!: Record<string, unknown>;
    const view: View = {
      fieldDescription: 'a field',
      attach(tracked) {
        state = { total: 0 };
        tracked.attach(state, [{ name: 'total', merge: sum }]);
      },
    };
    return Session.open(store, new SizeCache(), resolveOptions({ tableName: store.tableName, tableKey: store.tableKey }, {}), context(), view).then(
      (session) => ({ session, state }),
    );
  }

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

describe('Session: invocations', () => {
  it('reads the row once when it opens, and writes nothing for an invocation that changes nothing', async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { count: N(41) }, revision: 1 };
    const { session, state } = await openSession(store, { count: 0 });
    expect(state.count).toBe(41);
    await session.run(context(), async () => undefined);
    expect(store.kinds()).toEqual(['get']);
  });

  it('gives each invocation its own deadline: ending one leaves the others armed, and each flush uses its own', async () => {
    const store = new MemoryRowStore();
    const { session, state } = await openSession(store, { a: 0, b: 0 });
    const first = await session.begin(context(10_000));
    const second = await session.begin(context(20_000));
    expect(first.deadlineAt).toBeLessThan(second.deadlineAt!);
    state.a = 1;
    session.end(first);
    expect(second.signal()).toBeDefined();
    expect(second.signal()!.aborted).toBe(false);
    state.b = 2;
    await session.flush(second);
    const writes = store.requests.filter((request) => request.kind === 'put' || request.kind === 'update');
    expect(writes.at(-1)).toMatchObject({ signal: second.signal() });
    session.end(second);
    expect(second.signal()).toBeUndefined();
    expect(store.row?.fields).toEqual({ a: N(1), b: N(2) });
  });

  it('refuses a write whose invocation has no time left, without sending it; the change stays pending', async () => {
    const store = new MemoryRowStore();
    const { session } = await openSession(store, { a: 0 }, { deadlineMarginMs: 0 });
    const late = await session.begin(context(-1));
    await expect(session.update({ a: 1 }, late)).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(store.kinds()).toEqual(['get']);
    session.end(late);
    await session.flush(await session.begin(context()));
    expect(store.row?.fields.a).toEqual(encodeValue('a', 1));
  });

  it("one invocation's expired deadline does not fail another that shares its write: that one writes again with its own", async () => {
    const store = new MemoryRowStore();
    const { session } = await openSession(store, { a: 0, b: 0 }, { deadlineMarginMs: 0 });
    const late = await session.begin(context(-1));
    const onTime = await session.begin(context(30_000));
    const lateUpdate = session.update({ a: 1 }, late);
    const onTimeUpdate = session.update({ b: 2 }, onTime); // joins the write the late one asked for
    await expect(lateUpdate).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(onTimeUpdate).resolves.toBeUndefined();
    expect(store.row?.fields).toEqual({ a: N(1), b: N(2) });
    session.end(late);
    session.end(onTime);
  });

  it('bounds a write started by an assignment by the earliest deadline among the live invocations', async () => {
    const store = new MemoryRowStore();
    const { session, state } = await openSession(store, { a: 0 });
    const later = await session.begin(context(20_000));
    const sooner = await session.begin(context(10_000));
    state.a = 1;
    await session.flush(later);
    const writes = store.requests.filter((request) => request.kind === 'put' || request.kind === 'update');
    expect(writes[0]).toMatchObject({ signal: sooner.signal() });
    session.end(sooner);
    session.end(later);
  });
});
