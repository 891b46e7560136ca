import { ConfigurationError, keepNames } from '../errors';
import { durationMs, Expiring, type Duration } from './Expiring';
import type { FieldSpec } from '../decorators/fieldSpecs';
import { describeGiven, resolveOptions, type PersistenceOptions } from './options';
import { isStandardSchema, type StandardSchema } from './fields/schema';
import { sum } from './fields/sum';
import { clientFor, Session, startedOnce } from './Session';
import { shared } from './shared';
import { Stats, type PersistenceStats } from './Stats';

// The maps opened in this execution environment, per client (the library's own: DEFAULT_CLIENT).
// Shared with the other build of the library, if a program loads both (src/persistence/shared.ts).
const DEFAULT_CLIENT = shared('defaultClientKey', () => ({}));
const opened = shared('openedMaps', () => new WeakMap<object, Map<string, () => Promise<PersistentMap<unknown>>>>());

/**
 * A Map-like view of the function's row: string keys, values of any storable type, every change
 * written before the call that made it resolves. It is the same state map that `@Persistent()` fields and
 * `withPersistence` state live in, so a key here is a field there (see docs/persistent-map.md).
 *
 * Reads (`get`, `has`, `size`, iteration) are answered from memory; writes (`set`, `delete`,
 * `clear`, `update`) resolve when the change is durable, so await them. Changes made inside a
 * stored object (`map.get('items').push(x)`) are written by `flush()`.
 *
 * `open()` reads the row once per execution environment; call it in each invocation, later calls
 * return the same map without a request.
 *
 * @typeParam V - the type of the values (`unknown` unless you say otherwise)
 *
 * @example
 * ```ts
 * import { PersistentMap } from 'aws-lambda-persistence';
 *
 * export async function handler() {
 *   const map = await PersistentMap.open(); // one GetItem on a cold start, none when warm
 *   await map.set('count', ((map.get('count') as number | undefined) ?? 0) + 1);
 *   return { count: map.get('count') };
 * }
 * ```
 */
export class PersistentMap<V = unknown> implements Iterable<[string, V]> {
  private constructor(
    private readonly session: Session,
    /** What this map's persistence has done in this execution environment: requests, capacity, conflicts, retries. */
    readonly stats: PersistenceStats,
  ) {}

  /**
   * The function's map. The first call in an execution environment reads the row (creating the
   * table if needed); later calls with the same options return the same map without a request —
   * unless the `refresh` policy says the copy is too old, then it is read again first. A failed
   * open is retried by the next call. Takes the same options and `PERSISTENCE_*` environment
   * variables as `Handler.bind()`; the row key defaults to the function name,
   * `AWS_LAMBDA_FUNCTION_NAME`.
   *
   * @example
   * ```ts
   * export async function handler() {
   *   const map = await PersistentMap.open<number>({ tableName: 'my-state' });
   *   await map.set('count', (map.get('count') ?? 0) + 1);
   * }
   * ```
   */
  static async open<V = unknown>(options?: MapOptions<V>): Promise<PersistentMap<V>> {
    const { schema, migrate, ...persistence } = options ?? {};
    const specOf = valueSpec(schema, migrate);
    const resolved = resolveOptions(persistence);
    // One map per client and row: the same row opened twice in one environment would be two
    // writers of it, each paying a conflict after the other wrote. The first open's other options
    // (sizes, retries) stay; each call's refresh policy applies.
    const key = resolved.client ?? DEFAULT_CLIENT;
    let maps = opened.get(key);
    if (maps === undefined) opened.set(key, (maps = new Map()));
    const name = JSON.stringify([resolved.tableName, resolved.tableKey, resolved.keyFieldName, resolved.valueFieldName]);
    let open = maps.get(name);
    if (open === undefined) {
      const view = { fieldDescription: 'a key', open: true, attach: () => undefined, ...(specOf !== undefined && { specOf }) };
      const stats = new Stats();
      const start = () => Session.start(resolved, clientFor(resolved), {}, view, stats).then((session) => new PersistentMap<unknown>(session, stats));
      maps.set(name, (open = startedOnce(start)));
      // The first open read the row just now.
      return (await open()) as PersistentMap<V>;
    }
    const map = await open();
    // The refresh policy, as at the start of an invocation.
    await map.session.refreshIfOlderThan(resolved.refreshAfterMs);
    return map as PersistentMap<V>;
  }

  /** The number of keys. */
  get size(): number {
    return [...this.session.state.names()].length;
  }

  /** The value stored under `key`, or undefined. */
  get(key: string): V | undefined {
    return this.session.state.get(checkKey(key)) as V | undefined;
  }

  /** Whether a value is stored under `key`. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Stores `value` under `key`; resolves when it is durable. Storing `undefined` deletes the key.
   * A value that cannot be stored throws a `SerializationError` and changes nothing.
   *
   * @example
   * ```ts
   * await map.set('cursor', { page: 3, at: new Date() });
   * ```
   */
  async set(key: string, value: V): Promise<void> {
    return this.session.update({ [checkKey(key)]: value });
  }

  /** Deletes `key`; resolves to whether it was there, once the deletion is durable. */
  async delete(key: string): Promise<boolean> {
    if (!this.has(key)) return false;
    await this.session.update({ [key]: undefined });
    return true;
  }

  /** Deletes every key, in one write. */
  async clear(): Promise<void> {
    const changes: Record<string, undefined> = {};
    for (const key of this.session.state.names()) changes[key] = undefined;
    if (Object.keys(changes).length > 0) await this.session.update(changes);
  }

  /**
   * Stores several values in one write; resolves when they are durable. All values are checked
   * before any is stored.
   *
   * @example
   * ```ts
   * await map.update({ cursor: next, lastRun: new Date() });
   * await map.update(new Map([['a', 1], ['b', 2]]));
   * ```
   */
  async update(entries: Readonly<Record<string, V>> | Iterable<readonly [string, V]>): Promise<void> {
    const changes: Record<string, unknown> = {};
    const pairs = isIterable(entries) ? entries : Object.entries(entries);
    for (const [key, value] of pairs) changes[checkKey(key)] = value;
    return this.session.update(changes);
  }

  /**
   * Adds `by` to the number under `key` (absent: 0) and resolves to the new total once the change
   * is durable. Concurrent increments from any number of environments all count: the write adds
   * this environment's change to whatever the row holds, and the total is the row's after it
   * (the key merges as `sum` from then on, in this environment).
   *
   * @example
   * ```ts
   * const visits = await map.increment('visits');
   * ```
   */
  async increment(key: string, by = 1): Promise<number> {
    checkKey(key);
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw new ConfigurationError('by', `increment("${key}", by) takes a finite number, got ${String(by)}.`);
    }
    const current = this.session.state.get(key) ?? 0;
    if (typeof current !== 'number') {
      throw new ConfigurationError('key', `increment("${key}") found a ${typeof current} under "${key}", not a number: use another key, or delete it first.`);
    }
    this.session.state.mergeAs(key, sum);
    await this.session.update({ [key]: current + by });
    return this.session.state.get(key) as number;
  }

  /**
   * The value under `key` while it is fresh; otherwise computes one, stores it with its expiry
   * (as an {@link Expiring}) and returns it once durable.
   *
   * @example
   * ```ts
   * const rates = await map.remember('rates', '4h', fetchRates);
   * ```
   */
  async remember<T extends V>(key: string, ttl: Duration, compute: () => T | Promise<T>): Promise<T> {
    durationMs(ttl);
    const held = this.get(key);
    if (held !== undefined && !(held instanceof Expiring)) {
      throw new ConfigurationError(
        'key',
        `remember("${key}") found a value that is not an Expiring one under "${key}": use another key, or delete it first.`,
      );
    }
    const expiring = (held as Expiring<T> | undefined) ?? new Expiring<T>();
    if (expiring.fresh) return expiring.value as T;
    const value = await compute();
    expiring.set(value, ttl);
    await this.session.update({ [key]: expiring });
    return value;
  }

  /** Resolves when every change so far, in-place changes of stored objects included, is durable. */
  flush(): Promise<void> {
    return this.session.flush();
  }

  /**
   * Writes what changed here, then reads the row again to see other environments' changes
   * (one GetItem).
   */
  refresh(): Promise<void> {
    return this.session.refresh();
  }

  /** The keys, in the order they were first seen. */
  keys(): IterableIterator<string> {
    return this.session.state.names();
  }

  /** The values, in key order. */
  *values(): IterableIterator<V> {
    for (const key of this.session.state.names()) yield this.session.state.get(key) as V;
  }

  /** The `[key, value]` pairs. */
  *entries(): IterableIterator<[string, V]> {
    for (const key of this.session.state.names()) yield [key, this.session.state.get(key) as V];
  }

  /** The `[key, value]` pairs, for `for…of` and spreading. */
  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** Calls `callback` for each entry, like `Map.prototype.forEach`. */
  forEach(callback: (value: V, key: string, map: this) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }

  /** A plain object of the entries, for `JSON.stringify` and logging. */
  toJSON(): Record<string, V> {
    return Object.fromEntries(this.entries());
  }

  /** `[object PersistentMap]`. */
  get [Symbol.toStringTag](): string {
    return 'PersistentMap';
  }
}

function checkKey(key: string): string {
  if (typeof key !== 'string' || key === '' || key === '__proto__') {
    const got = key === '' ? 'an empty string' : key === '__proto__' ? '"__proto__" (reserved by JavaScript objects)' : typeof key;
    throw new ConfigurationError('key', `PersistentMap keys are non-empty strings other than "__proto__"; got ${got}.`);
  }
  return key;
}

function isIterable<T>(value: unknown): value is Iterable<T> {
  return typeof (value as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] === 'function';
}

keepNames({ PersistentMap });

/**
 * Options of {@link PersistentMap.open}: those of `Handler.bind()`, plus a schema (and migration)
 * for the values. They are the first `open()`'s in an execution environment: later calls return
 * the same map.
 */
export interface MapOptions<V = unknown> extends PersistenceOptions {
  /**
   * A Standard Schema validator (zod, valibot, arktype) checking every stored value when the row is
   * read, or one per key: `{ schema: z.number() }`, `{ schema: { count: z.number() } }` (keys not
   * named are not checked). A rejected value follows `onInvalid`.
   */
  schema?: StandardSchema<unknown, V> | Readonly<Record<string, StandardSchema>>;
  /** Turns a stored value of an older shape into today's (with a schema: only values it rejects). */
  migrate?: (stored: unknown, key: string) => V;
}

/** The spec a map gives each key from its options; undefined when there are none. */
function valueSpec(schema: unknown, migrate: unknown): ((name: string) => Omit<FieldSpec, 'name'>) | undefined {
  if (schema === undefined && migrate === undefined) return undefined;
  const one = isStandardSchema(schema);
  if (schema !== undefined && !one && (typeof schema !== 'object' || schema === null)) {
    throw new ConfigurationError('schema', `Option "schema" takes a Standard Schema validator, or an object of one per key; got ${describeGiven(schema)}.`);
  }
  if (!one && schema !== undefined) {
    for (const [key, value] of Object.entries(schema as object)) {
      if (!isStandardSchema(value)) throw new ConfigurationError('schema', `Option "schema.${key}" takes a Standard Schema validator (zod, valibot, arktype); got ${describeGiven(value)}.`);
    }
  }
  if (migrate !== undefined && typeof migrate !== 'function') {
    throw new ConfigurationError('migrate', `Option "migrate" takes a function (stored, key) => value; got ${describeGiven(migrate)}.`);
  }
  return (name) => {
    const keySchema = one ? (schema as StandardSchema) : (schema as Record<string, StandardSchema> | undefined)?.[name];
    return {
      ...(keySchema !== undefined && { schema: keySchema }),
      ...(migrate !== undefined && { migrate: (stored: unknown) => (migrate as (stored: unknown, key: string) => unknown)(stored, name) }),
    };
  };
}
