import type { ClassType } from '../persistence/codec';
import { Expiring } from '../persistence/Expiring';

/**
 * Where `@Persistent()` records its field specs, per class, for both decorator conventions:
 * legacy decorators see the prototype, standard (TC39) decorators see `context.metadata`. Reading
 * walks the constructor chain, so subclasses inherit their parents' fields.
 */

/** What `@Persistent()` knows about one field. */
export interface FieldSpec {
  /** The field name, also its key in the stored state map. */
  readonly name: string;
  /** The declared class of the value (or of array elements), from the `type` option. */
  readonly type?: () => ClassType;
  /** The prototype the legacy decorator saw, to look up `design:type` metadata lazily. */
  readonly prototype?: object;
}

// Node 20 has no Symbol.metadata: TypeScript then passes `context.metadata === undefined`, while
// esbuild falls back to Symbol.for('Symbol.metadata'). Defining it when the library loads, before
// any decorated class is evaluated, makes both compilers hand standard decorators the same object.
const symbols = Symbol as { metadata?: symbol };
symbols.metadata ??= Symbol.for('Symbol.metadata');
const METADATA: symbol = symbols.metadata;

const SPECS = Symbol.for('aws-lambda-persistence.fields');
const legacySpecs = new WeakMap<object, FieldSpec[]>();

function ownList(holder: Record<symbol, unknown>): FieldSpec[] {
  if (!Object.prototype.hasOwnProperty.call(holder, SPECS)) holder[SPECS] = [];
  return holder[SPECS] as FieldSpec[];
}

/** Records a field seen by a legacy decorator (`target` is the class prototype). */
export function recordOnPrototype(prototype: object, spec: FieldSpec): void {
  let list = legacySpecs.get(prototype);
  if (list === undefined) legacySpecs.set(prototype, (list = []));
  list.push(spec);
}

/** Records a field seen by a standard decorator in the class's decorator metadata object. */
export function recordInMetadata(metadata: object, spec: FieldSpec): void {
  ownList(metadata as Record<symbol, unknown>).push(spec);
}

/**
 * Every persistent field of `constructor`, base classes first. A field redeclared by a subclass is
 * listed once, with the subclass's spec.
 */
export function fieldSpecsOf(constructor: Function): FieldSpec[] {
  const chain: Function[] = [];
  for (let c: Function | null = constructor; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    chain.unshift(c);
  }
  const byName = new Map<string, FieldSpec>();
  for (const c of chain) {
    for (const spec of legacySpecs.get(c.prototype) ?? []) byName.set(spec.name, spec);
    const metadata = Object.prototype.hasOwnProperty.call(c, METADATA)
      ? (c as unknown as Record<symbol, Record<symbol, unknown> | undefined>)[METADATA]
      : undefined;
    if (metadata && Object.prototype.hasOwnProperty.call(metadata, SPECS)) {
      for (const spec of metadata[SPECS] as FieldSpec[]) byName.set(spec.name, spec);
    }
  }
  return [...byName.values()];
}

// Classes whose values the codec restores by itself; `design:type` naming one of them (or Object,
// which tsc emits for unions, interfaces and `T | undefined`) says nothing about a user class.
const BUILT_IN_TYPES = new Set<unknown>([
  Object, Array, Date, Map, Set, Number, String, Boolean, BigInt, Symbol, Function, Promise, RegExp,
  ArrayBuffer, Buffer, Uint8Array, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, Expiring, undefined,
]);

/**
 * The user class a field's values are instances of: the `type` option, else `design:type`
 * metadata when the compiler emitted a user class there; undefined for plain values.
 */
export function resolveFieldType(spec: FieldSpec): ClassType | undefined {
  if (spec.type !== undefined) return spec.type();
  if (spec.prototype === undefined) return undefined;
  const reflect = Reflect as unknown as { getMetadata?: (key: string, target: object, property: string) => unknown };
  const designType = reflect.getMetadata?.('design:type', spec.prototype, spec.name);
  return typeof designType === 'function' && !BUILT_IN_TYPES.has(designType) ? (designType as ClassType) : undefined;
}
