/** TrackedState against the in-memory store: dirty fields, the changes handed to the write path, adopting a row. */
import { trackedOver, N } from '../support/engine';
import { MemoryRowStore } from '../support/memoryStore';

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
