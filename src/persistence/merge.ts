/**
 * How concurrent changes to one field from several execution environments (or several invocations
 * at once) combine. Set per field with `@Persistent({ merge })`, per key with the `merge` option of
 * `withPersistence` / `persistentState` / the middy middleware.
 *
 * - `'last-writer-wins'` (the default): a write stores this environment's value; of two writers of
 *   the same field, the later one's value stays. Writers of different fields never conflict.
 * - `'sum'`: a number field whose writes add this environment's change (`this.count += 1` adds 1),
 *   so every increment from every environment counts; after a write the field holds the row's total.
 * - `'keys'`: a `Map` or plain-object field merged key by key: changes to different keys from
 *   different writers all stay, the same key is last writer wins.
 * - a function `(base, mine, theirs) => merged`: a write of the field is conditional on the value it
 *   was based on; when another writer changed the field meanwhile, the write is retried with
 *   `merged`. `base` is the value both started from, `mine` this environment's, `theirs` the row's
 *   (`undefined` where absent).
 *
 * @example
 * ```ts
 * @Persistent({ merge: 'sum' }) invocations = 0;
 * @Persistent({ merge: 'keys' }) seen = new Map<string, Date>();
 * @Persistent({ merge: (base, mine, theirs) => [...new Set([...(theirs ?? []), ...(mine ?? [])])] }) tags: string[] = [];
 * ```
 */
export type MergeStrategy = 'last-writer-wins' | 'sum' | 'keys' | ((base: never, mine: never, theirs: never) => unknown);

/**
 * A three-way merge of one field: `base` is the value this environment's change started from,
 * `mine` its value now, `theirs` the value another writer stored meanwhile.
 *
 * @example
 * ```ts
 * const union: MergeFunction<string[]> = (base, mine, theirs) => [...new Set([...(theirs ?? []), ...(mine ?? [])])];
 * ```
 */
export type MergeFunction<T = unknown> = (base: T | undefined, mine: T | undefined, theirs: T | undefined) => T | undefined;

/** What is wrong with a `merge` option, or undefined when it is one of the {@link MergeStrategy} values. */
export function mergeProblem(merge: unknown): string | undefined {
  if (merge === undefined || typeof merge === 'function' || merge === 'last-writer-wins' || merge === 'sum' || merge === 'keys') return undefined;
  return `must be 'last-writer-wins', 'sum', 'keys' or a function (base, mine, theirs) => merged; got ${JSON.stringify(merge)}`;
}

/**
 * The `'keys'` merge of a `Map` or plain object: `theirs`, with the keys this environment added,
 * changed or removed since `base` applied on top (`sameValue` tells a changed value).
 */
export function mergeKeys(base: unknown, mine: unknown, theirs: unknown, sameValue: (a: unknown, b: unknown) => boolean): unknown {
  if (mine instanceof Map || theirs instanceof Map) {
    const from = base instanceof Map ? base : new Map();
    const result = new Map(theirs instanceof Map ? theirs : []);
    const own = mine instanceof Map ? mine : new Map();
    for (const [key, value] of own) if (!from.has(key) || !sameValue(from.get(key), value)) result.set(key, value);
    for (const key of from.keys()) if (!own.has(key)) result.delete(key);
    return result;
  }
  const from = isRecord(base) ? base : {};
  const result: Record<string, unknown> = { ...(isRecord(theirs) ? theirs : {}) };
  const own = isRecord(mine) ? mine : {};
  for (const key of Object.keys(own)) if (!(key in from) || !sameValue(from[key], own[key])) result[key] = own[key];
  for (const key of Object.keys(from)) if (!(key in own)) delete result[key];
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
