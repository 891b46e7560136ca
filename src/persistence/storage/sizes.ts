import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * DynamoDB's size arithmetic, in one place: what an attribute, a map entry and an item count
 * toward the 400 KB item limit and toward capacity units. Sizes of attribute objects are
 * remembered by {@link SizeCache}, shared by the tracked state (maxStateBytes) and the store (the
 * layout of a write), so that a write sizes only the fields it changed.
 */

// DynamoDB's item limit is 400 KB (409,600 bytes) with attribute names. Our size count follows the
// documented rules; the margin covers servers that count a little differently.
export const ITEM_LIMIT = 400 * 1024 - 2 * 1024;

// The largest value a field item holds (as moto counts it, binary as base64): beside it the item
// has its key, name and write id, and must stay under DynamoDB's 400 KB. A larger field stays with
// the state in the row (packed, or split into parts, as a whole state is).
export const FIELD_ITEM_BYTES = 350 * 1024;

// Part items carry their key (table key + "#part#" + a 36-character id + index) beside the slice,
// and moto counts binary as base64 (4/3 of the bytes): 296 KiB of bytes is 395 KiB of base64.
export const PART_BYTES = 296 * 1024;

// DynamoDB's partition key holds at most 2,048 bytes.
export const KEY_LIMIT = 2048;

/**
 * The longest row key: {@link KEY_LIMIT}, less what part item keys append (`#part#`, a
 * 36-character id, `#` and the index).
 */
export const MAX_TABLE_KEY_BYTES = 1984;

/**
 * The size DynamoDB counts for an attribute value, per "DynamoDB item sizes and formats" in the
 * DynamoDB developer guide: UTF-8 bytes for strings, raw bytes for binary, about one byte per two
 * significant digits plus one for numbers, 1 for BOOL/NULL, and 3 bytes plus one per element for
 * lists and maps. Attribute names are counted by the caller.
 */
export function attributeSize(attribute: AttributeValue, binaryAsBase64 = false): number {
  if (attribute.S !== undefined) return Buffer.byteLength(attribute.S, 'utf8');
  if (attribute.N !== undefined) return numberSize(attribute.N);
  if (attribute.BOOL !== undefined || attribute.NULL !== undefined) return 1;
  // DynamoDB counts raw bytes; moto counts the base64 text, 4/3 as much. Layout decisions count
  // the larger so that a row fits on both.
  if (attribute.B !== undefined) return binaryAsBase64 ? Math.ceil(attribute.B.length / 3) * 4 : attribute.B.length;
  if (attribute.L !== undefined) {
    let size = 3;
    for (const item of attribute.L) size += 1 + attributeSize(item, binaryAsBase64);
    return size;
  }
  if (attribute.M !== undefined) {
    let size = 3;
    for (const key of Object.keys(attribute.M)) {
      size += 1 + Buffer.byteLength(key, 'utf8') + attributeSize(attribute.M[key]!, binaryAsBase64);
    }
    return size;
  }
  return 0;
}

function numberSize(text: string): number {
  // Significant digits: the mantissa without sign, point, and leading or trailing zeros.
  let end = text.length;
  const exponent = text.search(/[eE]/);
  if (exponent >= 0) end = exponent;
  let first = -1;
  let last = -1;
  let digits = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    digits++;
    if (c !== 48) {
      if (first < 0) first = digits;
      last = digits;
    }
  }
  const significant = first < 0 ? 1 : last - first + 1;
  return Math.ceil(significant / 2) + 1;
}

/** The size of one entry of a map (or one attribute of an item): name and value. */
export function entrySize(name: string, valueSize: number): number {
  return 1 + Buffer.byteLength(name, 'utf8') + valueSize;
}

/** An item's size per the DynamoDB rules: attribute names plus values. */
export function itemSize(item: Readonly<Record<string, AttributeValue>>): number {
  let size = 0;
  for (const name of Object.keys(item)) size += Buffer.byteLength(name, 'utf8') + attributeSize(item[name]!);
  return size;
}

/**
 * Sizes of attribute objects, remembered per object: the state's size is summed on every
 * assignment and every write, and attribute objects are never changed once made. `dynamo` is
 * DynamoDB's count (maxStateBytes); `layout` counts binary as base64 as moto does, the larger of
 * the two, so that a row laid out by it fits on both.
 */
export class SizeCache {
  private readonly dynamoSizes = new WeakMap<AttributeValue, number>();
  private readonly layoutSizes = new WeakMap<AttributeValue, number>();

  dynamo(attribute: AttributeValue): number {
    let size = this.dynamoSizes.get(attribute);
    if (size === undefined) this.dynamoSizes.set(attribute, (size = attributeSize(attribute)));
    return size;
  }

  layout(attribute: AttributeValue): number {
    let size = this.layoutSizes.get(attribute);
    if (size === undefined) this.layoutSizes.set(attribute, (size = attributeSize(attribute, true)));
    return size;
  }

  /** `attributeSize({ M: fields }, true)`, each field sized once per attribute object. */
  layoutMap(fields: Readonly<Record<string, AttributeValue>>): number {
    let size = 3;
    for (const name of Object.keys(fields)) size += entrySize(name, this.layout(fields[name]!));
    return size;
  }
}
