/**
 * Decoded field values in a form JSON can carry. Values JSON has no type for are printed in the
 * notation the row itself uses (docs/storage-format.md): `{ "@type": name, "@value": payload }`,
 * with bytes as base64, so one notation serves both the console view and `inspect`.
 */
import { PAYLOAD, TAG } from '../persistence/codec';
import { Expiring } from '../persistence/Expiring';

/**
 * `value` as a JSON-safe value: Date → ISO text, Map → `[key, value]` pairs, Set → items, BigInt →
 * decimal text, bytes → base64, NaN/±Infinity/-0 → their JavaScript spelling, each tagged.
 *
 * @example
 * ```ts
 * readableJson(new Map([['a', new Date(0)]]));
 * // { '@type': 'Map', '@value': [['a', { '@type': 'Date', '@value': '1970-01-01T00:00:00.000Z' }]] }
 * ```
 */
export function readableJson(value: unknown): unknown {
  switch (typeof value) {
    case 'bigint':
      return tagged('BigInt', value.toString());
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? value : tagged('Number', Object.is(value, -0) ? '-0' : String(value));
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(readableJson);
  if (value instanceof Date) return tagged('Date', Number.isNaN(value.getTime()) ? null : value.toISOString());
  if (value instanceof Map) return tagged('Map', [...value].map(([key, item]) => [readableJson(key), readableJson(item)]));
  if (value instanceof Set) return tagged('Set', [...value].map(readableJson));
  if (value instanceof RegExp) return tagged('RegExp', [value.source, value.flags]);
  if (value instanceof Expiring) {
    const { value: held, expiresAt } = Expiring.parts(value);
    return tagged('Expiring', {
      ...(held !== undefined && { value: readableJson(held) }),
      ...(expiresAt !== undefined && { expiresAt: new Date(expiresAt).toISOString() }),
    });
  }
  if (value instanceof ArrayBuffer) return tagged('ArrayBuffer', Buffer.from(value).toString('base64'));
  if (ArrayBuffer.isView(value)) {
    const name = Buffer.isBuffer(value) ? 'Buffer' : value.constructor.name;
    return tagged(name, Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
  }
  const object = Object.fromEntries(Object.entries(value).map(([key, item]) => [key, readableJson(item)]));
  // A plain object with a "@type" key of its own would read as a tagged value: wrap it, as the row does.
  return TAG in object ? tagged('Object', object) : object;
}

function tagged(type: string, payload: unknown): object {
  return { [TAG]: type, [PAYLOAD]: payload };
}
