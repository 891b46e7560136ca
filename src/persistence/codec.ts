import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CLASS_CODEC_FIX, registeredClassCodec } from './classCodec';
import { Expiring } from './Expiring';

/**
 * Value <-> DynamoDB attribute conversion.
 *
 * JSON-like values use DynamoDB's native types (S, N, BOOL, NULL, L, M) and bytes use B, so the
 * row stays readable in the console. Values JSON cannot carry are stored self-described as a map
 * `{ "@type": name, "@value": payload }`; a plain object that merely has an `"@type"` key is
 * wrapped as `{ "@type": "Object", "@value": {...} }`, so it still round-trips. The type of a
 * value never depends on compile-time metadata: only instances of user classes need the field's
 * declared type, and they are restored through class-transformer (`aws-lambda-persistence/class-transformer`).
 */

/** The key that marks a tagged value. */
export const TAG = '@type';
/** The key holding a tagged value's payload. */
export const PAYLOAD = '@value';

// DynamoDB allows 32 levels of nesting; the state map itself is one of them.
const MAX_DEPTH = 31;
// DynamoDB numbers: 38 significant digits, magnitude 1E-130 .. 9.9999999999999999999999999999999999999E+125
// (no double lies between that and 1E+126).
const TOO_LARGE = 1e126;
const MIN_NUMBER = 1e-130;

/**
 * A class whose instances a field holds (or whose instances an array field holds), as given to
 * `@Persistent({ type: () => Session })`.
 *
 * @example
 * ```ts
 * const type: ClassType = Session;
 * ```
 */
export type ClassType = abstract new (...args: never[]) => unknown;

/** A problem found while encoding, with the path inside the value. */
export class EncodeProblem {
  constructor(
    readonly path: string,
    readonly problem: string,
    readonly cause?: unknown,
  ) {}
}

/** A problem found while decoding a stored value. */
export class DecodeProblem {
  constructor(
    readonly path: string,
    readonly problem: string,
    readonly cause?: unknown,
  ) {}
}

/**
 * The classes whose instances the codec stores and restores by itself: the one list that decides
 * whether a declared class (the `type` option or `design:type` metadata) needs class-transformer.
 * Naming one of them is the same as declaring nothing. Number, String, Boolean, Symbol, Function and
 * Promise are here because `design:type` names them for primitives and callbacks (tsc emits Object
 * for unions, interfaces and `T | undefined`); values of the last three are refused by the encoder.
 */
const OWNED_CLASSES: ReadonlySet<unknown> = new Set<unknown>([
  Object, Array, Date, Map, Set, RegExp, ArrayBuffer, Buffer, Expiring,
  Number, String, Boolean, BigInt, Symbol, Function, Promise,
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
]);

/**
 * Built-in classes a user class may extend and still be stored by the codec: an instance of
 * `class Stamp extends Date` is stored as a Date and restored as a Stamp when the field declares
 * Stamp. Nearest first (Buffer before Uint8Array).
 */
const EXTENSIBLE_BUILT_INS: readonly Function[] = [
  Date, Map, Set, RegExp, ArrayBuffer, Buffer, Expiring, Array,
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];

/**
 * How a field's declared class is stored: `undefined` when the codec stores it by itself exactly
 * (Date, Map, Expiring, ...: as if nothing were declared), `{ base }` for a subclass of one of those
 * (stored as `base`, restored with the declared class's prototype), `{ classCodec: true }` for any
 * other class (class-transformer).
 */
export type DeclaredStorage = { readonly base: Function } | { readonly classCodec: true };

/** See {@link DeclaredStorage}. `declared` is what the `type` option returned, or `design:type`. */
export function declaredStorage(declared: unknown): DeclaredStorage | undefined {
  if (typeof declared !== 'function' || OWNED_CLASSES.has(declared)) return undefined;
  const base = EXTENSIBLE_BUILT_INS.find((builtIn) => declared.prototype instanceof builtIn);
  return base === undefined ? { classCodec: true } : { base };
}

/** Whether values of the declared class `type` go through class-transformer. */
export function needsClassCodec(type: ClassType): boolean {
  const storage = declaredStorage(type);
  return storage !== undefined && 'classCodec' in storage;
}

/**
 * Encodes the value of field `field`. Throws an {@link EncodeProblem} naming the path of the first
 * part of the value that cannot be stored. `type` is the field's declared user class (see
 * {@link declaredStorage}); the classes the codec owns need none.
 */
export function encodeValue(field: string, value: unknown, type?: ClassType): AttributeValue {
  const storage = declaredStorage(type);
  if (storage === undefined) return encode(value, field, 0, []);
  if ('base' in storage) return encode(asBase(value, storage.base), field, 0, []);
  // The declared class applies to an Expiring's value, which the Expiring tag wraps.
  if (value instanceof Expiring) {
    const parts = Expiring.parts(value);
    return encode(Expiring.restore(toPlain(field, parts.value), parts.expiresAt), field, 0, []);
  }
  return encode(toPlain(field, value), field, 0, []);
}

/** A class instance as class-transformer's plain value; anything else as it is. */
function toPlain(field: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const codec = registeredClassCodec();
  if (codec === undefined) throw new EncodeProblem(field, `class instances need class-transformer: ${CLASS_CODEC_FIX}`);
  try {
    return codec.instanceToPlain(value);
  } catch (error) {
    const problem =
      error instanceof RangeError
        ? 'circular reference (class-transformer cannot convert it)'
        : `class-transformer could not convert the value: ${(error as Error)?.message ?? String(error)}`;
    throw new EncodeProblem(field, problem, error);
  }
}

/**
 * A value of a declared subclass of a built-in, as the built-in: only typed arrays need it (the
 * encoder matches them by exact prototype); a view shares the bytes, so nothing is copied twice.
 * Applies to the elements of an array and the value inside an Expiring, as the `type` option does.
 */
function asBase(value: unknown, base: Function): unknown {
  if (value instanceof base) {
    if (!TYPED_ARRAYS.includes(base as TypedArrayClass)) return value;
    const view = value as InstanceType<TypedArrayClass>;
    const Base = base as TypedArrayClass;
    return new Base(view.buffer, view.byteOffset, view.length);
  }
  if (Array.isArray(value)) return value.map((item) => asBase(item, base));
  if (value instanceof Expiring) {
    const parts = Expiring.parts(value);
    return Expiring.restore(asBase(parts.value, base), parts.expiresAt);
  }
  return value;
}

/** The reverse of {@link asBase}: a decoded built-in takes the declared class's prototype. */
function fromBase(value: unknown, base: Function, type: ClassType): unknown {
  if (value instanceof base) return Object.setPrototypeOf(value, type.prototype);
  if (Array.isArray(value)) return value.map((item) => fromBase(item, base, type));
  if (value instanceof Expiring) {
    const parts = Expiring.parts(value);
    return Expiring.restore(fromBase(parts.value, base, type), parts.expiresAt);
  }
  return value;
}

/**
 * Decodes a stored field value. Throws a {@link DecodeProblem} for a tag it does not know or a
 * payload that does not fit its tag.
 */
export function decodeValue(field: string, attribute: AttributeValue, type?: ClassType): unknown {
  const value = decode(attribute, field);
  if (type === undefined) return value;
  const storage = declaredStorage(type);
  if (storage === undefined) return value;
  if ('base' in storage) return fromBase(value, storage.base, type);
  if (value instanceof Expiring) {
    const parts = Expiring.parts(value);
    return Expiring.restore(toInstance(field, parts.value, type), parts.expiresAt);
  }
  return toInstance(field, value, type);
}

function toInstance(field: string, value: unknown, type: ClassType): unknown {
  if (value === null || typeof value !== 'object') return value;
  const codec = registeredClassCodec();
  if (codec === undefined) throw new DecodeProblem(field, `restoring ${type.name} needs class-transformer: ${CLASS_CODEC_FIX}`);
  try {
    return codec.plainToInstance(type as new () => unknown, value);
  } catch (error) {
    throw new DecodeProblem(field, `class-transformer could not restore ${type.name}`, error);
  }
}

function encode(value: unknown, path: string, depth: number, ancestors: object[]): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'boolean':
      return { BOOL: value };
    case 'number':
      return encodeNumber(value);
    case 'bigint':
      return tagged('BigInt', { S: value.toString() });
    case 'undefined':
      return tagged('undefined', { NULL: true });
    case 'function':
      throw new EncodeProblem(path, 'functions cannot be stored');
    case 'symbol':
      throw new EncodeProblem(path, 'symbols cannot be stored');
  }
  if (value === null) return { NULL: true };
  const object = value as object;
  if (depth >= MAX_DEPTH) {
    throw new EncodeProblem(path, `nested deeper than the ${MAX_DEPTH} levels DynamoDB allows`);
  }
  if (ancestors.includes(object)) {
    throw new EncodeProblem(path, 'circular reference (the value contains itself)');
  }
  ancestors.push(object);
  try {
    return encodeObject(object, path, depth, ancestors);
  } finally {
    ancestors.pop();
  }
}

function encodeNumber(value: number): AttributeValue {
  const magnitude = Math.abs(value);
  if (
    Number.isNaN(value) ||
    magnitude === Infinity ||
    Object.is(value, -0) ||
    magnitude >= TOO_LARGE ||
    (magnitude !== 0 && magnitude < MIN_NUMBER)
  ) {
    // Outside what a DynamoDB number can hold exactly: keep JavaScript's own spelling.
    return tagged('Number', { S: Object.is(value, -0) ? '-0' : String(value) });
  }
  return { N: String(value) };
}

function encodeObject(object: object, path: string, depth: number, ancestors: object[]): AttributeValue {
  if (Array.isArray(object)) {
    const items: AttributeValue[] = new Array(object.length);
    for (let i = 0; i < object.length; i++) items[i] = encode(object[i], `${path}[${i}]`, depth + 1, ancestors);
    return { L: items };
  }
  const prototype = Object.getPrototypeOf(object);
  if (prototype === Object.prototype || prototype === null) {
    return encodePlainObject(object as Record<string, unknown>, path, depth, ancestors);
  }
  if (object instanceof Date) {
    const time = object.getTime();
    return tagged('Date', Number.isNaN(time) ? { NULL: true } : { S: object.toISOString() });
  }
  if (Buffer.isBuffer(object)) return tagged('Buffer', { B: copyBytes(object) });
  if (object instanceof Uint8Array && prototype === Uint8Array.prototype) return { B: copyBytes(object) };
  const typedArray = TYPED_ARRAYS.find((candidate) => prototype === candidate.prototype);
  if (typedArray !== undefined) return tagged(typedArray.name, { B: copyBytes(object as ArrayBufferView) });
  if (object instanceof ArrayBuffer) return tagged('ArrayBuffer', { B: new Uint8Array(object.slice(0)) });
  if (object instanceof Map) {
    const entries: AttributeValue[] = [];
    for (const [key, item] of object) {
      const at = `${path}.get(${describeKey(key)})`;
      entries.push({ L: [encode(key, `${at} key`, depth + 3, ancestors), encode(item, at, depth + 3, ancestors)] });
    }
    return tagged('Map', { L: entries });
  }
  if (object instanceof Set) {
    const items: AttributeValue[] = [];
    let i = 0;
    for (const item of object) items.push(encode(item, `${path}[set item ${i++}]`, depth + 2, ancestors));
    return tagged('Set', { L: items });
  }
  if (object instanceof RegExp) return tagged('RegExp', { L: [{ S: object.source }, { S: object.flags }] });
  if (object instanceof Expiring) {
    // The expiry beside the value, so that it survives cold starts; an empty one stores neither.
    const { value, expiresAt } = Expiring.parts(object);
    const parts: Record<string, AttributeValue> = {};
    if (value !== undefined) parts.value = encode(value, `${path}.value`, depth + 2, ancestors);
    if (expiresAt !== undefined) parts.expiresAt = { N: String(expiresAt) };
    return tagged('Expiring', { M: parts });
  }
  const name = (prototype?.constructor as { name?: string } | undefined)?.name || 'an unnamed class';
  // Everything the fix takes, at once: a class of the user's own also needs the class codec.
  const codec =
    EXTENSIBLE_BUILT_INS.some((builtIn) => object instanceof builtIn) || registeredClassCodec() !== undefined
      ? ''
      : ` and ${CLASS_CODEC_FIX}`;
  throw new EncodeProblem(
    path,
    `an instance of ${name} cannot be restored without its class: declare the field with ` +
      `@Persistent({ type: () => ${name} })${codec}, or store a plain object`,
  );
}

function encodePlainObject(
  object: Record<string, unknown>,
  path: string,
  depth: number,
  ancestors: object[],
): AttributeValue {
  if (Object.getOwnPropertySymbols(object).some((symbol) => Object.prototype.propertyIsEnumerable.call(object, symbol))) {
    throw new EncodeProblem(path, 'symbol-keyed properties cannot be stored');
  }
  const map: Record<string, AttributeValue> = {};
  const keys = Object.keys(object);
  // Stay clear of the tag: an object with a "@type" key of its own is stored wrapped.
  const wrap = keys.includes(TAG);
  const inner = wrap ? depth + 2 : depth + 1;
  for (const key of keys) map[key] = encode(object[key], appendKey(path, key), inner, ancestors);
  return wrap ? tagged('Object', { M: map }) : { M: map };
}

function tagged(type: string, payload: AttributeValue): AttributeValue {
  return { M: { [TAG]: { S: type }, [PAYLOAD]: payload } };
}

function copyBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

type TypedArrayClass = (typeof TYPED_ARRAYS)[number];

const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function appendKey(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (typeof key === 'number' || typeof key === 'boolean' || typeof key === 'bigint') return String(key);
  return typeof key === 'object' ? (key === null ? 'null' : 'an object key') : typeof key;
}

function decode(attribute: AttributeValue, path: string): unknown {
  if (attribute.S !== undefined) return attribute.S;
  if (attribute.N !== undefined) return Number(attribute.N);
  if (attribute.BOOL !== undefined) return attribute.BOOL;
  if (attribute.NULL !== undefined) return null;
  if (attribute.B !== undefined) return new Uint8Array(attribute.B);
  if (attribute.L !== undefined) return attribute.L.map((item, i) => decode(item, `${path}[${i}]`));
  if (attribute.M !== undefined) {
    const map = attribute.M;
    const tag = map[TAG];
    if (tag !== undefined) return decodeTagged(tag, map, path);
    const object: Record<string, unknown> = {};
    for (const key of Object.keys(map)) object[key] = decode(map[key]!, appendKey(path, key));
    return object;
  }
  throw new DecodeProblem(path, `unsupported DynamoDB type ${Object.keys(attribute).join(', ') || '(empty)'}`);
}

function decodeTagged(tag: AttributeValue, map: Record<string, AttributeValue>, path: string): unknown {
  const type = tag.S;
  const payload = map[PAYLOAD];
  const keys = Object.keys(map);
  if (type === undefined || payload === undefined || keys.length !== 2) {
    throw new DecodeProblem(path, `malformed tagged value (expected exactly "${TAG}" and "${PAYLOAD}")`);
  }
  const bad = (expected: string): never => {
    throw new DecodeProblem(path, `tagged ${type} holds ${Object.keys(payload).join('')}, expected ${expected}`);
  };
  switch (type) {
    case 'Date':
      if (payload.NULL) return new Date(NaN);
      return payload.S !== undefined ? new Date(payload.S) : bad('S or NULL');
    case 'BigInt':
      return payload.S !== undefined ? BigInt(payload.S) : bad('S');
    case 'Number':
      return payload.S !== undefined ? Number(payload.S) : bad('S');
    case 'undefined':
      return undefined;
    case 'Object': {
      if (payload.M === undefined) return bad('M');
      const object: Record<string, unknown> = {};
      for (const key of Object.keys(payload.M)) object[key] = decode(payload.M[key]!, appendKey(path, key));
      return object;
    }
    case 'Map': {
      // A Map with string keys as a map of its keys (what `merge: keys` stores, so that each key has a path).
      if (payload.M !== undefined) {
        const result = new Map<unknown, unknown>();
        for (const key of Object.keys(payload.M)) result.set(key, decode(payload.M[key]!, `${path}.get(${JSON.stringify(key)})`));
        return result;
      }
      if (payload.L === undefined) return bad('L or M');
      const result = new Map<unknown, unknown>();
      for (const [i, entry] of payload.L.entries()) {
        if (entry.L?.length !== 2) throw new DecodeProblem(`${path} entry ${i}`, 'a Map entry must be a [key, value] list');
        result.set(decode(entry.L[0]!, `${path} entry ${i} key`), decode(entry.L[1]!, `${path} entry ${i}`));
      }
      return result;
    }
    case 'Set':
      if (payload.L === undefined) return bad('L');
      return new Set(payload.L.map((item, i) => decode(item, `${path}[set item ${i}]`)));
    case 'RegExp': {
      const [source, flags] = payload.L ?? [];
      if (source?.S === undefined || flags?.S === undefined) return bad('L of two S');
      return new RegExp(source.S, flags.S);
    }
    case 'Buffer':
      return payload.B !== undefined ? Buffer.from(payload.B) : bad('B');
    case 'ArrayBuffer':
      return payload.B !== undefined ? new Uint8Array(payload.B).slice().buffer : bad('B');
    case 'Expiring': {
      const parts = payload.M ?? bad('M');
      const expiresAt = parts.expiresAt?.N;
      if (parts.expiresAt !== undefined && expiresAt === undefined) return bad('M with a numeric expiresAt');
      const value = parts.value === undefined ? undefined : decode(parts.value, `${path}.value`);
      return Expiring.restore(value, expiresAt === undefined ? undefined : Number(expiresAt));
    }
  }
  const typedArray = TYPED_ARRAYS.find((candidate) => candidate.name === type);
  if (typedArray !== undefined) {
    if (payload.B === undefined) return bad('B');
    const bytes = new Uint8Array(payload.B).slice();
    return new typedArray(bytes.buffer, 0, bytes.byteLength / typedArray.BYTES_PER_ELEMENT);
  }
  throw new DecodeProblem(path, `unknown tag "${type}" (written by a newer version of aws-lambda-persistence?)`);
}

/**
 * A string that is equal for two attributes exactly when they encode the same value. Used to tell
 * changed fields from unchanged ones without a deep comparison of JavaScript values.
 */
export function fingerprint(attribute: AttributeValue): string {
  if (attribute.S !== undefined) return `S${attribute.S.length}:${attribute.S}`;
  if (attribute.N !== undefined) return `N${attribute.N};`;
  if (attribute.BOOL !== undefined) return attribute.BOOL ? 'T' : 'F';
  if (attribute.NULL !== undefined) return '0';
  if (attribute.B !== undefined) return `B${attribute.B.length}:${Buffer.from(attribute.B).toString('latin1')}`;
  if (attribute.L !== undefined) {
    let out = `L${attribute.L.length}[`;
    for (const item of attribute.L) out += fingerprint(item);
    return `${out}]`;
  }
  if (attribute.M !== undefined) {
    // DynamoDB does not keep the order of map keys, so equality must not depend on it.
    const keys = Object.keys(attribute.M).sort();
    let out = `M${keys.length}{`;
    for (const key of keys) out += `${key.length}:${key}${fingerprint(attribute.M[key]!)}`;
    return `${out}}`;
  }
  return '?';
}
