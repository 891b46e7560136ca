import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { fingerprint, PAYLOAD, TAG } from '../codec';
import type { FieldBehaviour } from './FieldBehaviour';
import type { FieldChange } from './FieldChange';

// Past this many changed keys one write sends the whole value instead (conditional on the row's
// revision): an UpdateItem expression is limited to 4 KB.
const MAX_KEY_CHANGES = 50;

/** Where a value's keys are: the map of entries and its path inside the attribute; undefined: not a map of keys. */
function entriesOf(attribute: AttributeValue | undefined): { readonly path: readonly string[]; readonly tag?: string; readonly entries: Record<string, AttributeValue> } | undefined {
  const map = attribute?.M;
  if (map === undefined) return undefined;
  const tag = map[TAG]?.S;
  if (tag === undefined) return { path: [], entries: map };
  const payload = map[PAYLOAD]?.M;
  // A Map (stored by this behaviour as a map of its keys) or an object that has an "@type" key.
  return (tag === 'Map' || tag === 'Object') && payload !== undefined ? { path: [PAYLOAD], tag, entries: payload } : undefined;
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * `merge: keys`: a `Map` or plain object changed key by key. A write sets and removes only the keys
 * this environment changed, each at its own path in the row, with no condition on the row: writers
 * of different keys never conflict; of two writers of the same key, the later one's value stays.
 * A `Map` with string keys is stored as a map of its keys (tagged `Map`), so that each key has a
 * path; other keys are stored as the codec stores any `Map`, and its writes send the whole value.
 *
 * @example
 * ```ts
 * import { keys, Persistent, PersistentHandler } from 'aws-lambda-persistence';
 *
 * class Handler extends PersistentHandler<{ user: string }> {
 *   @Persistent({ merge: keys }) lastSeen = new Map<string, Date>();
 *   async handler(event: { user: string }) { this.lastSeen.set(event.user, new Date()); }
 * }
 * ```
 */
export const keys: FieldBehaviour<ReadonlyMap<unknown, unknown> | Readonly<Record<string, unknown>>> = {
  label: 'merge: keys',

  check(initial, field) {
    if (initial === undefined || initial instanceof Map || isPlainObject(initial)) return undefined;
    const what = Array.isArray(initial) ? 'an array' : typeof initial === 'object' && initial !== null ? `a ${initial.constructor?.name ?? 'class instance'}` : typeof initial;
    return `merge: keys merges a Map or a plain object key by key, but field "${field}" starts as ${what}. Use it on a Map or object field (seen = new Map<string, Date>()), or drop merge.`;
  },

  encode(value, field) {
    if (!(value instanceof Map) || value.constructor !== Map) return undefined;
    const entries: Record<string, AttributeValue> = {};
    for (const [key, item] of value) {
      if (typeof key !== 'string') return undefined;
      entries[key] = field.encodeValue(item, `${field.name}.get(${JSON.stringify(key)})`);
    }
    return { M: { [TAG]: { S: 'Map' }, [PAYLOAD]: { M: entries } } };
  },

  change({ current, baseline, inRow }): FieldChange {
    if (current === undefined) return { kind: 'remove' };
    // The row has no value yet (the baseline is the initializer's): the first writer's value, on the
    // condition that it is the first.
    if (!inRow || baseline === undefined) return { kind: 'set', attribute: current, condition: { kind: 'absent' } };
    const mine = entriesOf(current);
    const stored = entriesOf(baseline);
    // Not maps of keys of the same form on both sides: written whole, only over the row this was based on.
    if (mine === undefined || stored === undefined || mine.tag !== stored.tag) return { kind: 'set', attribute: current, condition: { kind: 'revision' } };
    const set = new Map<string, AttributeValue>();
    for (const [key, value] of Object.entries(mine.entries)) {
      const before = stored.entries[key];
      if (before === undefined || fingerprint(before) !== fingerprint(value)) set.set(key, value);
    }
    const remove = Object.keys(stored.entries).filter((key) => mine.entries[key] === undefined);
    if (set.size + remove.length > MAX_KEY_CHANGES) return { kind: 'set', attribute: current, condition: { kind: 'revision' } };
    return { kind: 'keys', path: mine.path, set, remove, attribute: current };
  },

  merge(base, mine, theirs, field) {
    return mergeKeys(base, mine, theirs, field.same);
  },
};

/**
 * The `keys` merge of a `Map` or plain object: `theirs`, with the keys this environment added,
 * changed or removed since `base` applied on top (`same` tells a changed value).
 */
export function mergeKeys(base: unknown, mine: unknown, theirs: unknown, same: (a: unknown, b: unknown) => boolean): unknown {
  if (mine instanceof Map || theirs instanceof Map) {
    const from = base instanceof Map ? base : new Map();
    const result = new Map(theirs instanceof Map ? theirs : []);
    const own = mine instanceof Map ? mine : new Map();
    for (const [key, value] of own) if (!from.has(key) || !same(from.get(key), value)) result.set(key, value);
    for (const key of from.keys()) if (!own.has(key)) result.delete(key);
    return result;
  }
  const from = isRecord(base) ? base : {};
  const result: Record<string, unknown> = { ...(isRecord(theirs) ? theirs : {}) };
  const own = isRecord(mine) ? mine : {};
  for (const key of Object.keys(own)) if (!(key in from) || !same(from[key], own[key])) result[key] = own[key];
  for (const key of Object.keys(from)) if (!(key in own)) delete result[key];
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
