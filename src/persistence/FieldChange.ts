import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * What a write does to one field of the stored state: the one vocabulary between the tracked state,
 * which works changes out, and the store, which writes them.
 *
 * - `set`: store this encoding (last writer wins between environments).
 * - `remove`: the field is absent (set to `undefined`).
 * - `add`: add `delta` (a DynamoDB number) to whatever the row holds, so concurrent additions from
 *   several environments all count.
 */
export type FieldChange =
  | { readonly kind: 'set'; readonly attribute: AttributeValue }
  | { readonly kind: 'remove' }
  | { readonly kind: 'add'; readonly delta: AttributeValue };

/** The changes of one write, by field name. */
export type FieldChanges = ReadonlyMap<string, FieldChange>;
