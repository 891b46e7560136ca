import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * What a write does to one field of the stored state: the one vocabulary between a field's
 * behaviour, which works changes out, and the store, which writes them.
 *
 * @example
 * ```ts
 * const change: FieldChange = { kind: 'add', delta: { N: '1' }, from: { N: '0' } };
 * ```
 *
 * - `set`: store this encoding (last writer wins between environments, unless `condition` says).
 * - `remove`: the field is absent (set to `undefined`).
 * - `add`: add `delta` (a DynamoDB number) to whatever the row holds, so concurrent additions from
 *   several environments all count (`merge: sum`).
 * - `keys`: set and remove single keys of a map the row already holds (`merge: keys`), so writers
 *   of different keys never meet; `attribute` is the whole new value, for a store that cannot
 *   address keys (a field kept in an item of its own).
 */
export type FieldChange =
  | {
      /** Store `attribute`. */
      readonly kind: 'set';
      /** The field's new encoding. */
      readonly attribute: AttributeValue;
      /** What must hold for the write to apply; none: last writer wins. */
      readonly condition?: FieldCondition;
    }
  | {
      /** Remove the field from the row. */
      readonly kind: 'remove';
      /** What must hold for the write to apply; none: last writer wins. */
      readonly condition?: FieldCondition;
    }
  | {
      /** Add `delta` to the stored number. */
      readonly kind: 'add';
      /** A DynamoDB number: this environment's change since its last write. */
      readonly delta: AttributeValue;
      /** What the delta adds to while the row has no value for the field (its initializer). */
      readonly from: AttributeValue;
    }
  | {
      /** Set and remove single keys of the map the row holds. */
      readonly kind: 'keys';
      /** Where the keys live inside the field's value: `[]` for a plain map, `['@value']` inside a tag. */
      readonly path: readonly string[];
      /** The keys to set, with their encodings. */
      readonly set: ReadonlyMap<string, AttributeValue>;
      /** The keys to remove. */
      readonly remove: readonly string[];
      /** The whole new value, for a store that cannot address keys. */
      readonly attribute: AttributeValue;
    };

/**
 * What must hold for a `set` or `remove` to apply; when it does not, the write is a conflict and
 * the field is merged with the row's value and written again.
 *
 * - `absent`: the row has no value for the field yet (the first value of a `keys` field).
 * - `version`: the field's own version is still `expected` (0: never written with one), so writers
 *   of other fields and keys never make it retry (merge functions).
 * - `revision`: the whole row is still at the revision the change was based on.
 *
 * @example
 * ```ts
 * const condition: FieldCondition = { kind: 'version', expected: 3 };
 * ```
 */
export type FieldCondition =
  | {
      /** The row has no value for the field. */
      readonly kind: 'absent';
    }
  | {
      /** The field's own version is `expected`. */
      readonly kind: 'version';
      /** The version the change was based on (0: none yet). */
      readonly expected: number;
    }
  | {
      /** The row is still at the revision read. */
      readonly kind: 'revision';
    };

/** The changes of one write, by field name. */
export type FieldChanges = ReadonlyMap<string, FieldChange>;

/** The condition a change carries, if any. */
export function conditionOf(change: FieldChange): FieldCondition | undefined {
  return change.kind === 'set' || change.kind === 'remove' ? change.condition : undefined;
}
