/** Session against the in-memory store: the cold-start read, invocations and their own deadlines. */
import { DeadlineExceededError } from '../../src/errors';
import { encodeValue } from '../../src/persistence/codec';
import { context, N, openSession } from '../support/engine';
import { MemoryRowStore } from '../support/memoryStore';

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

  it('bounds a write started by an assignment by the deadline of the invocation that made it (its async context)', async () => {
    const store = new MemoryRowStore();
    const { session, state } = await openSession(store, { a: 0 });
    const later = await session.begin(context(20_000));
    const sooner = await session.begin(context(10_000));
    later.run(() => {
      state.a = 1;
    });
    await session.flush(later);
    const writes = store.requests.filter((request) => request.kind === 'put' || request.kind === 'update');
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ signal: later.signal() });
    session.end(sooner);
    session.end(later);
  });

  it("lets an invocation that changed nothing settle at once: it neither waits for nor fails from another's write", async () => {
    const store = new MemoryRowStore();
    const { session, state } = await openSession(store, { a: 0 }, { deadlineMarginMs: 0 });
    const writer = await session.begin(context());
    const idle = await session.begin(context(-1)); // no time left: any write it waited on would fail it
    let release!: () => void;
    store.beforeWrite = () => new Promise<void>((resolve) => (release = resolve));
    writer.run(() => {
      state.a = 1;
    });
    const written = session.flush(writer);
    await expect(session.flush(idle)).resolves.toBeUndefined();
    session.end(idle);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await written;
    session.end(writer);
    expect(store.row?.fields.a).toEqual(encodeValue('a', 1));
  });

  it('attributes in-place changes found at an invocation\'s end to it; changes made outside any invocation are written too', async () => {
    const store = new MemoryRowStore();
    const { session, state } = await openSession(store, { list: [] as number[], b: 0 });
    state.b = 5; // no invocation running: nobody's yet
    const first = await session.begin(context());
    (state.list as number[]).push(1); // found only at the end
    await session.flush(first);
    session.end(first);
    expect(first.changed).toBe(true);
    expect(store.row?.fields.list).toEqual(encodeValue('list', [1]));
    expect(store.row?.fields.b).toEqual(encodeValue('b', 5));
  });

  it("onFailure: 'discard': a failed invocation's changes are undone, another's kept, and each success is one write", async () => {
    const store = new MemoryRowStore();
    const { session, state } = await openSession(store, { a: 0, b: 0, shared: 'stored', list: [] as number[] }, { onFailure: 'discard' });
    const failing = await session.begin(context());
    const other = await session.begin(context());
    failing.run(() => {
      state.a = 1;
      state.shared = 'failing';
      (state.list as number[]).push(1);
    });
    other.run(() => {
      state.b = 2;
      state.shared = 'other'; // changed since by another invocation: that one's value stands
    });
    expect(store.kinds()).toEqual(['get']); // nothing written before an invocation succeeds
    await session.failWith(new Error('boom'), failing);
    session.end(failing);
    // An in-place change cannot be told apart by invocation: with another running, it stays, and
    // goes with the next invocation to end (docs/concurrency.md).
    expect(state).toMatchObject({ a: 0, b: 2, shared: 'other', list: [1] });
    await session.finish(other);
    session.end(other);
    expect(store.kinds()).toEqual(['get', 'put']);
    expect(store.row?.fields).toEqual({ b: encodeValue('b', 2), shared: encodeValue('shared', 'other'), list: encodeValue('list', [1]) });
  });

  it("onFailure: 'discard': update() assigns at once and is written with the rest; flush() writes at once", async () => {
    const store = new MemoryRowStore();
    const { session } = await openSession(store, { a: 0, b: 0 }, { onFailure: 'discard' });
    const invocation = await session.begin(context());
    await invocation.run(() => session.update({ a: 1 }));
    expect(store.kinds()).toEqual(['get']);
    await invocation.run(() => session.flush());
    expect(store.kinds()).toEqual(['get', 'put']);
    await invocation.run(() => session.update({ b: 2 }));
    // What flush() stored stays; what came after is undone with the failure.
    await session.failWith(new Error('boom'), invocation);
    session.end(invocation);
    expect(store.row?.fields).toEqual({ a: encodeValue('a', 1) });
    expect(session.state.get('b')).toBe(0);
  });
});
