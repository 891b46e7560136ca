/**
 * Several invocations at once in one process (Lambda Managed Instances) with onFailure: 'discard' and
 * event keys, against the in-memory store: whose changes a write carries, what an undo puts back, and
 * an event applied once whatever runs beside it or fails.
 */
import { keys, sum } from '../../src';
import { context, N, openSession } from '../support/engine';
import { MemoryRowStore } from '../support/memoryStore';

const ctx = (id: string) => ({ ...context(), awsRequestId: id });

describe('Session: invocations at once, discard and event keys', () => {
  it("discard: another invocation's write leaves a running invocation's changes and event out; the failed one's retry applies its event once", async () => {
    const store = new MemoryRowStore();
    const { session, state } = await openSession(store, { count: 0, other: 0 }, { onFailure: 'discard' }, { count: { merge: sum } });
    const a = await session.begin(ctx('req-A'), {});
    const b = await session.begin(ctx('req-B'), {});
    a.run(() => { state.count = (state.count as number) + 1; });
    b.run(() => { state.other = 1; });
    await session.finish(b); session.end(b); // B succeeds: its write must carry neither A's +1 nor A's mark
    expect(store.row?.events).toBeDefined();
    await session.failWith(new Error('boom'), a); session.end(a); // A fails
    // Lambda retries A's event (same request id)
    const retry = await session.begin(ctx('req-A'), {});
    await retry.run(async () => { state.count = (state.count as number) + 1; });
    await session.finish(retry); session.end(retry);
    // one more unrelated success: anything still pending goes out
    const c = await session.begin(ctx('req-C'), {});
    c.run(() => { state.other = 2; });
    await session.finish(c); session.end(c);
    expect(store.row?.fields.count).toEqual(N(1)); // A's event applied once
  });

  it("discard: one invocation's failure leaves another running invocation's in-place change alone", async () => {
    const store = new MemoryRowStore();
    const { session, state } = await openSession(store, { a: 0, list: [] as number[] }, { onFailure: 'discard' });
    const failing = await session.begin(ctx('req-F'), {});
    const ok = await session.begin(ctx('req-OK'), {});
    failing.run(() => { state.a = 1; });
    ok.run(() => { (state.list as number[]).push(42); });
    await session.failWith(new Error('boom'), failing); session.end(failing);
    await session.finish(ok); session.end(ok); // resolves: success
    expect(store.row?.fields.list).toBeDefined(); // the successful invocation's push
  });

  it("discard: an undo goes back to the row's value taken in since, not to an older one (a sum writes no negative delta)", async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { count: N(5) }, revision: 1, layout: 'map' };
    const { session, state } = await openSession(store, { count: 0 }, { onFailure: 'discard', refresh: 'every-invocation' }, { count: { merge: sum } });
    const a = await session.begin(ctx('req-A'), {});
    a.run(() => { state.count = (state.count as number) + 1; }); // 6, base 5
    store.writeAsOther({ count: N(7) }); // another environment adds 2
    const b = await session.begin(ctx('req-B'), {}); // refreshAfterMs 0: reads and merges -> 8
    expect(state.count).toBe(8);
    await session.failWith(new Error('boom'), a); session.end(a);
    b.run(() => { state.count = (state.count as number) + 10; });
    await session.finish(b); session.end(b);
    expect(store.row?.fields.count).toEqual(N(17)); // 7 + B's 10
  });

  it("a write whose answer was lost and whose resend met another writer's row is recognised by its mark: the delta counts once", async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { count: N(0) }, revision: 1, layout: 'map' };
    const { session, state } = await openSession(store, { count: 0 }, { onFailure: 'discard' }, { count: { merge: sum } });
    let lost = true;
    const realUpdate = store.update.bind(store);
    // Emulates the SDK: the first UpdateItem lands, its answer is lost, another writer writes, the resend fails its condition.
    store.update = async (changes, fields, rev, writeId, signal, events) => {
      const out = await realUpdate(changes, fields, rev, writeId, signal, events);
      if (lost && out.status === 'written') {
        lost = false;
        store.writeAsOther({ count: N(Number(store.row!.fields.count!.N) + 100) });
        store.row = { ...store.row!, events: { ...(events ? Object.fromEntries(events.recorded) : {}) } };
        return { status: 'conflict', current: store.row };
      }
      return out;
    };
    const a = await session.begin(ctx('req-A'), {});
    a.run(() => { state.count = (state.count as number) + 1; });
    await session.finish(a); session.end(a);
    expect(store.row?.fields.count).toEqual(N(101));
  });

  it("discard: a failed write of one invocation does not make another's delta count twice", async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { count: N(0), a: N(0) }, revision: 1, layout: 'map' };
    const { session, state } = await openSession(store, { count: 0, a: 0 }, { onFailure: 'discard' }, { count: { merge: sum } });
    const a = await session.begin(ctx('req-A'), {});
    const b = await session.begin(ctx('req-B'), {});
    a.run(() => { state.a = 1; });
    b.run(() => { state.count = (state.count as number) + 1; });
    let first = true;
    store.afterWrite = () => { if (first) { first = false; throw new Error('socket hang up'); } };
    await expect(session.finish(a)).rejects.toThrow(); session.end(a); // A's write landed, answer lost; A discarded
    await session.finish(b); session.end(b);
    expect(store.row?.fields.count).toEqual(N(1));
  });

  it("keys: a field the row has no value for yet (added to a deployed handler) is written whole, once", async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { count: N(3) }, revision: 1, layout: 'map' };
    const { session, state } = await openSession(store, { count: 0, seen: new Map<string, number>() }, { onFailure: 'discard' }, { seen: { merge: keys } });
    const a = await session.begin(ctx('req-A'), {});
    a.run(() => { (state.seen as Map<string, number>).set('x', 1); });
    await session.finish(a); session.end(a);
    expect(store.row?.fields.seen).toBeDefined();
  });

  it("two running attempts of one event (a duplicate delivery): the second applies nothing", async () => {
    const store = new MemoryRowStore();
    store.row = { fields: { count: N(0) }, revision: 1, layout: 'map' };
    const { session, state } = await openSession(store, { count: 0 }, { onFailure: 'discard', eventKey: (e) => (e as { id: string }).id }, { count: { merge: sum } });
    const a = await session.begin(ctx('req-1'), { id: 'msg-1' });
    const a2 = await session.begin(ctx('req-2'), { id: 'msg-1' });
    a.run(() => { state.count = (state.count as number) + 1; });
    a2.run(() => { state.count = (state.count as number) + 1; });
    await session.finish(a); session.end(a);
    await session.finish(a2); session.end(a2);
    expect(store.row?.fields.count).toEqual(N(1));
  });
});
