import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * What a write does to one field of the stored state: the one vocabulary between the tracked state,
 * which works changes out, and the store, which writes them.
 *
 * - `set`: store this encoding (last writer wins between environments).
 * - `remove`: the field is absent (set to `undefined`).
 * - `add`: add `delta` (a DynamoDB number) to whatever the row holds, so concurrent additions from
 *   several environments all count (`merge: 'sum'`).
 *
 * A `conditional` `set` or `remove` (fields with a merge function, or `'keys'`) applies only if the
 * row is still at the revision the change was based on; otherwise the write is a conflict, and the
 * field is merged with the row's value and written again. (DynamoDB can compare a stored map or
 * list with a given one, but dynalite cannot, so the condition is the row's revision.)
 */
export type FieldChange =
  | { readonly kind: 'set'; readonly attribute: AttributeValue; readonly conditional?: true }
  | { readonly kind: 'remove'; readonly conditional?: true }
  /** `from`: what the delta adds to while the row has no value for the field (its initializer). */
  | { readonly kind: 'add'; readonly delta: AttributeValue; readonly from: AttributeValue };


/** The changes of one write, by field name. */
export type FieldChanges = ReadonlyMap<string, FieldChange>;
