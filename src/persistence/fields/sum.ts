import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { EncodeProblem } from '../codec';
import type { FieldBehaviour } from './FieldBehaviour';
import type { FieldChange } from './FieldChange';

// DynamoDB numbers carry 38 significant digits: a bigint within them is stored as a native number,
// so that the write can add to it; a larger one is stored tagged and written whole.
const MAX_DIGITS = 38;
const ZERO: AttributeValue = { N: '0' };

/** A bigint as a native DynamoDB number, when it fits. */
function bigintNumber(value: bigint): AttributeValue | undefined {
  const text = value.toString();
  return text.replace('-', '').length <= MAX_DIGITS ? { N: text } : undefined;
}

/** A stored integer (possibly in exponent form, as some servers answer) as a bigint. */
function toBigInt(text: string): bigint | undefined {
  const match = /^(-?)(\d+)(?:\.(\d*?)0*)?(?:[eE]\+?(\d+))?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  const shift = Number(exponent);
  if (fraction.length > shift) return undefined;
  return BigInt(`${sign}${whole}${fraction}${'0'.repeat(shift - fraction.length)}`);
}

/** `a - b` of two stored numbers: exact for integers (bigint arithmetic), a double otherwise. */
function difference(a: string, b: string): string | undefined {
  const x = toBigInt(a);
  const y = toBigInt(b);
  if (x !== undefined && y !== undefined) return (x - y).toString();
  const delta = Number(a) - Number(b);
  return Number.isFinite(delta) ? String(delta) : undefined;
}

/**
 * `merge: sum`: a counter that every environment adds to. A write adds this environment's change
 * (`this.count += 1` adds 1) to whatever the row holds, in the same request, so concurrent
 * increments from any number of environments all count and never conflict; after a write the field
 * holds the row's total. Numbers and bigints (up to 38 digits, DynamoDB's precision: a bigint sum
 * field is stored as a native number and needs a bigint initializer, `total = 0n`).
 *
 * @example
 * ```ts
 * import { Persistent, PersistentHandler, sum } from 'aws-lambda-persistence';
 *
 * class Handler extends PersistentHandler {
 *   @Persistent({ merge: sum }) invocations = 0;
 *   @Persistent({ merge: sum }) bytes = 0n;
 *   async handler() { this.invocations += 1; }
 * }
 * ```
 */
export const sum: FieldBehaviour<number | bigint> = {
  label: 'merge: sum',

  check(initial, field) {
    if (initial === undefined || typeof initial === 'number' || typeof initial === 'bigint') return undefined;
    return `merge: sum adds numbers, but field "${field}" starts as ${typeof initial}. Use it on a number or bigint field (count = 0, total = 0n), or drop merge.`;
  },

  encode(value, field) {
    if (typeof value !== 'bigint') return undefined;
    if (typeof field.initialValue !== 'bigint') {
      throw new EncodeProblem(
        field.name,
        `a bigint in a field that merges as sum needs a bigint initializer (${field.name} = 0n), so that the stored number reads back as a bigint`,
      );
    }
    return bigintNumber(value);
  },

  decode(attribute, field) {
    if (attribute.N === undefined || typeof field.initialValue !== 'bigint') return undefined;
    const value = toBigInt(attribute.N);
    return value === undefined ? undefined : { value };
  },

  change({ current, baseline, initial }): FieldChange {
    if (current === undefined) return { kind: 'remove' };
    // A field the row has no value for counts from its initializer, or from 0 without one.
    const from = initial ?? ZERO;
    const base = baseline === undefined ? from.N : baseline.N;
    const delta = current.N !== undefined && base !== undefined && from.N !== undefined ? difference(current.N, base) : undefined;
    // Not a number on one side (a value of another type was assigned, or stored by an older
    // handler): the value is written whole, last writer wins.
    if (delta === undefined) return { kind: 'set', attribute: current };
    return { kind: 'add', delta: { N: delta }, from };
  },

  merge(base, mine, theirs) {
    // This environment's increments on top of the row's total (an absent value counts as 0).
    if (typeof mine === 'bigint') {
      const from = typeof base === 'bigint' ? base : 0n;
      const total = typeof theirs === 'bigint' ? theirs : typeof theirs === 'number' ? BigInt(theirs) : 0n;
      return total + (mine - from);
    }
    const from = base ?? 0;
    const total = theirs ?? 0;
    return typeof mine === 'number' && typeof from === 'number' && typeof total === 'number' ? total + (mine - from) : mine;
  },
};
