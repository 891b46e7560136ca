/**
 * Whether a field's live value still matches `snapshot`, a decoded copy of the encoding last
 * written or read for it. This is the fast path of the end-of-invocation change check: comparing
 * two object graphs costs a fraction of re-encoding and fingerprinting them (see
 * docs/performance.md). It answers `true` only when the encoding would be the same; whenever in
 * doubt it answers `false` and the caller re-encodes, which stays the ground truth.
 */
export function sameValue(live: unknown, snapshot: unknown): boolean {
  // A symbol-keyed property cannot be stored: one added in place to the field's own object makes
  // the caller re-encode, and the encoder refuses it. Deeper objects are not checked (it made the
  // whole comparison ~30 % slower, docs/performance.md); a symbol key added in place there is
  // refused when that field is next assigned or changed otherwise, and is never stored.
  if (typeof live === 'object' && live !== null && Object.getOwnPropertySymbols(live).length > 0) return false;
  return same(live, snapshot);
}

function same(live: unknown, snapshot: unknown): boolean {
  if (Object.is(live, snapshot)) return true;
  if (typeof live !== typeof snapshot || typeof live !== 'object' || live === null || snapshot === null) return false;
  const a = live as object;
  const b = snapshot as object;
  const prototype = Object.getPrototypeOf(a);
  if (prototype !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) return sameArray(a, b as unknown[]);
  if (prototype === Object.prototype || prototype === null) return sameObject(a as Record<string, unknown>, b as Record<string, unknown>);
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Map) return sameMap(a, b as Map<unknown, unknown>);
  if (a instanceof Set) return sameArray([...a], [...(b as Set<unknown>)]);
  if (ArrayBuffer.isView(a)) return sameBytes(a, b as ArrayBufferView);
  if (a instanceof ArrayBuffer) return sameBytes(new Uint8Array(a), new Uint8Array(b as ArrayBuffer));
  if (a instanceof RegExp) return a.source === (b as RegExp).source && a.flags === (b as RegExp).flags;
  // Instances of user classes (restored through class-transformer): compare their own data.
  return sameObject(a as Record<string, unknown>, b as Record<string, unknown>);
}

function sameArray(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
  return true;
}

function sameObject(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(b, key) || !same(a[key], b[key])) return false;
  }
  return true;
}

function sameMap(a: Map<unknown, unknown>, b: Map<unknown, unknown>): boolean {
  if (a.size !== b.size) return false;
  // Entry order is part of the encoding: compare in order.
  const left = a.entries();
  const right = b.entries();
  for (let x = left.next(), y = right.next(); !x.done; x = left.next(), y = right.next()) {
    if (y.done || !same(x.value[0], y.value[0]) || !same(x.value[1], y.value[1])) return false;
  }
  return true;
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return (
    a.constructor === b.constructor &&
    a.byteLength === b.byteLength &&
    Buffer.compare(
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}
