/**
 * The engine's specs' common ground: a TrackedState, a Session and a Lambda context over the
 * in-memory store of the library's own contract (spec/support/memoryStore.ts).
 */
import { resolveOptions, type PersistenceOptions } from '../../src/persistence/options';
import { Session, type View } from '../../src/persistence/Session';
import { SizeCache } from '../../src/persistence/storage/sizes';
import { TrackedState } from '../../src/persistence/TrackedState';
import type { FieldSpec } from '../../src/decorators/fieldSpecs';
import type { MemoryRowStore } from './memoryStore';

export const context = (remainingMs = 30_000) => ({ getRemainingTimeInMillis: () => remainingMs });

/** A session over `store` whose fields are `defaults`' keys (with `specs` for some), read once. */
export async function openSession(store: MemoryRowStore, defaults: Record<string, unknown>, options: PersistenceOptions = {}, specs: Partial<Record<string, Omit<FieldSpec, 'name'>>> = {}) {
  let state!: Record<string, unknown>;
  const view: View = {
    fieldDescription: 'a field',
    attach(tracked) {
      state = { ...defaults };
      tracked.attach(state, Object.keys(defaults).map((name) => ({ ...specs[name], name })));
    },
  };
  // 'save' unless a spec says: the engine's specs pin writes made during an invocation.
  const resolved = resolveOptions({ tableName: store.tableName, tableKey: store.tableKey, onFailure: 'save', ...options }, {});
  const session = await Session.open(store, new SizeCache(), resolved, context(), view);
  return { session, state };
}

export function trackedOver(store: MemoryRowStore, defaults: Record<string, unknown>) {
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

export const N = (n: number) => ({ N: String(n) });
