import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { FieldChange } from './FieldChange';

/**
 * The seam between the tracker, which knows fields, values, encodings and what changed, and what a
 * field does beyond that: store a value in a form of its own, check or migrate a stored value on
 * read, turn a change into what the write sends, combine with another writer's change. Each
 * behaviour is one module (`sum`, `keys`, a merge function, a schema) that only the handlers that
 * use it import; every hook is optional, and a field without behaviours is last writer wins.
 *
 * The type parameter is the type of the values a field may hold to use it: `@Persistent({ merge: sum })`
 * on a `string` field does not compile.
 *
 * @example
 * ```ts
 * // A high-water mark: a write is conditional on the field's own version; on a conflict the larger value stays.
 * const max: FieldBehaviour<number> = {
 *   label: 'merge: max',
 *   change: ({ current, version }) =>
 *     current === undefined ? { kind: 'remove' } : { kind: 'set', attribute: current, condition: { kind: 'version', expected: version } },
 *   merge: (_base, mine, theirs) => Math.max(Number(mine ?? 0), Number(theirs ?? 0)),
 * };
 * class Handler extends PersistentHandler {
 *   @Persistent({ merge: max }) highest = 0;
 *   async handler() {}
 * }
 * ```
 */
export interface FieldBehaviour<T = unknown> {
  /** How the option reads in messages, e.g. `merge: sum`. */
  readonly label: string;
  /** Phantom: the values the behaviour applies to (type checking only). */
  readonly __values?: (value: T) => void;
  /**
   * Checks the field when a handler's fields are attached, before the row is read: its
   * initializer's value. A sentence saying what is wrong and the fix, or undefined.
   */
  check?(initial: unknown, field: string): string | undefined;
  /** The field's own stored form of `value`, or undefined for the codec's. */
  encode?(value: unknown, field: FieldContext): AttributeValue | undefined;
  /** The value of an attribute in the behaviour's own form (`{ value }`), or undefined for the codec's. */
  decode?(attribute: AttributeValue, field: FieldContext): DecodedValue | undefined;
  /** A stored value as read (cold start, refresh, a conflict's re-read): checked, migrated. */
  read?(stored: unknown, field: ReadContext): ReadOutcome;
  /** What a write sends for the changed field. Without it: set the value, or remove it. */
  change?(field: ChangeContext): FieldChange;
  /**
   * The field changed here and in the row since this environment read it: the value to write
   * instead of this environment's. Without it, this environment's value stays (last writer wins).
   * `base` is the value both started from, `mine` this environment's, `theirs` the row's.
   */
  merge?(base: unknown, mine: unknown, theirs: unknown, field: MergeContext): unknown;
}

/**
 * A value a behaviour decoded (wrapped, since `undefined` is a value too).
 *
 * @example
 * ```ts
 * const decoded: DecodedValue = { value: 12n };
 * ```
 */
export interface DecodedValue {
  /** The decoded value. */
  readonly value: unknown;
}

/**
 * What a behaviour knows of its field.
 *
 * @example
 * ```ts
 * const check: FieldBehaviour['encode'] = (value, field) => (typeof value === 'bigint' ? { N: String(value) } : undefined);
 * ```
 */
export interface FieldContext {
  /** The field's name, its key in the stored state map. */
  readonly name: string;
  /** The initializer's value, as the constructor made it. */
  readonly initialValue: unknown;
  /** The codec's encoding of a value of this field (throws the codec's problem). */
  encodeValue(value: unknown, path: string): AttributeValue;
}

/**
 * What a `read` hook sees beside the stored value.
 *
 * @example
 * ```ts
 * const read: FieldBehaviour['read'] = (stored, field) => (typeof stored === 'number' ? { value: stored } : { useInitializer: true });
 * ```
 */
export interface ReadContext extends FieldContext {
  /** "Row "fn" of table "T"", for messages. */
  readonly row: string;
  /** The table and row, for errors. */
  readonly location: {
    /** The table's name. */
    readonly tableName: string;
    /** The row's key. */
    readonly tableKey: string;
  };
  /** The handler's `onInvalid` option, for fields that do not set their own. */
  readonly onInvalid: 'fail' | 'use-initializer' | undefined;
  /** Whether the field already stands in for this very stored value (warned before). */
  readonly standingIn: boolean;
}

/**
 * What a `read` hook decides: the field's value, or the initializer in place of the stored value.
 *
 * @example
 * ```ts
 * const outcome: ReadOutcome = { value: 0 };
 * ```
 */
export type ReadOutcome =
  | {
      /** The field's value (checked, migrated). */
      readonly value: unknown;
    }
  | {
      /** The initializer stands in for the stored value, which stays until the field is assigned. */
      readonly useInitializer: true;
    };

/**
 * What a `change` hook sees: the field's encodings.
 *
 * @example
 * ```ts
 * const change: FieldBehaviour['change'] = ({ current }) => (current === undefined ? { kind: 'remove' } : { kind: 'set', attribute: current });
 * ```
 */
export interface ChangeContext extends FieldContext {
  /** The encoding to store now; undefined: the field is absent. */
  readonly current: AttributeValue | undefined;
  /** What the row holds for the field as last seen (its initializer's encoding while the row has nothing); undefined: nothing. */
  readonly baseline: AttributeValue | undefined;
  /** Whether the row holds a value for the field (as last seen). */
  readonly inRow: boolean;
  /** The initializer's encoding (what a `sum` adds to while the row has nothing). */
  readonly initial: AttributeValue | undefined;
  /** The field's own version as last seen (0: none), for a change conditional on the field only. */
  readonly version: number;
}

/**
 * What a `merge` hook sees.
 *
 * @example
 * ```ts
 * const merge: FieldBehaviour['merge'] = (base, mine, theirs, field) => (field.same(mine, base) ? theirs : mine);
 * ```
 */
export interface MergeContext extends FieldContext {
  /** Whether two values of the field store the same. */
  same(a: unknown, b: unknown): boolean;
}

/**
 * How concurrent changes to one field from several execution environments (or several invocations
 * at once) combine: `'last-writer-wins'` (the default), a behaviour imported from the package
 * ({@link sum}, {@link keys}), or a function `(base, mine, theirs) => merged`.
 *
 * @example
 * ```ts
 * import { keys, sum } from 'aws-lambda-persistence';
 * @Persistent({ merge: sum }) invocations = 0;
 * @Persistent({ merge: keys }) seen = new Map<string, Date>();
 * @Persistent({ merge: (base, mine, theirs) => [...new Set([...(theirs ?? []), ...(mine ?? [])])] }) tags: string[] = [];
 * ```
 */
export type MergeStrategy<T = never> = 'last-writer-wins' | FieldBehaviour<T> | ((base: T, mine: T, theirs: T) => unknown);

/**
 * A three-way merge of one field: `base` is the value this environment's change started from,
 * `mine` its value now, `theirs` the value another writer stored meanwhile. A write of the field is
 * conditional on the field's own version: writers of other fields never make it retry.
 *
 * @example
 * ```ts
 * const union: MergeFunction<string[]> = (base, mine, theirs) => [...new Set([...(theirs ?? []), ...(mine ?? [])])];
 * ```
 */
export type MergeFunction<T = unknown> = (base: T | undefined, mine: T | undefined, theirs: T | undefined) => T | undefined;

/** Whether `value` is a field behaviour (an object with a `label`). */
export function isFieldBehaviour(value: unknown): value is FieldBehaviour {
  return typeof value === 'object' && value !== null && typeof (value as { label?: unknown }).label === 'string';
}

/** The merge function's behaviour: its writes are conditional on the field's own version. */
export function mergeFunction(merge: MergeFunction): FieldBehaviour {
  return {
    label: 'merge: (base, mine, theirs) => merged',
    change: ({ current, version }) =>
      current === undefined ? { kind: 'remove', condition: { kind: 'version', expected: version } } : { kind: 'set', attribute: current, condition: { kind: 'version', expected: version } },
    merge: (base, mine, theirs) => merge(base, mine, theirs),
  };
}

/** The behaviour a `merge` option names (undefined: last writer wins), or the sentence saying what is wrong with it. */
export function mergeBehaviour(merge: unknown): FieldBehaviour | undefined | { readonly problem: string } {
  if (merge === undefined || merge === 'last-writer-wins') return undefined;
  if (typeof merge === 'function') return mergeFunction(merge as MergeFunction);
  if (isFieldBehaviour(merge)) return merge;
  if (merge === 'sum' || merge === 'keys') {
    return {
      problem:
        `takes the imported ${merge} since 0.2 (a handler that does not use it does not load it): ` +
        `import { ${merge} } from 'aws-lambda-persistence' and write merge: ${merge}`,
    };
  }
  return { problem: `must be 'last-writer-wins', sum, keys (imported from 'aws-lambda-persistence') or a function (base, mine, theirs) => merged; got ${describe(merge)}` };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
