import { declaredStorage, type ClassType } from '../persistence/codec';
import type { MergeStrategy } from '../persistence/fields/FieldBehaviour';
import { shared } from '../persistence/shared';
import type { OnInvalid, StandardSchema } from '../persistence/fields/schema';

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
  readonly type?: () => ClassType | BigIntConstructor;
  /** The prototype the legacy decorator saw, to look up `design:type` metadata lazily. */
  readonly prototype?: object;
  /** How concurrent changes to the field combine. @default 'last-writer-wins' */
  readonly merge?: MergeStrategy;
  /** Checks a stored value when the row is read (Standard Schema). */
  readonly schema?: StandardSchema;
  /** Turns a stored value of an older shape into today's. */
  readonly migrate?: (stored: unknown) => unknown;
  /** What a stored value the schema rejects leads to; the handler's option when undefined. */
  readonly onInvalid?: OnInvalid;
}

// Node 20 has no Symbol.metadata: TypeScript then passes `context.metadata === undefined`, while
// esbuild falls back to Symbol.for('Symbol.metadata'). Defining it when the library loads, before
// any decorated class is evaluated, makes both compilers hand standard decorators the same object.
const symbols = Symbol as { metadata?: symbol };
symbols.metadata ??= Symbol.for('Symbol.metadata');
const METADATA: symbol = symbols.metadata;

const SPECS = Symbol.for('aws-lambda-persistence.fields');
// Shared with the other build of the library, if a program loads both (src/persistence/shared.ts).
const legacySpecs = shared('legacyFieldSpecs', () => new WeakMap<object, FieldSpec[]>());

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

/**
 * The class a field declares for its values, from the `type` option or else `design:type` metadata;
 * undefined when it declares none or a class the codec stores by itself (Date, Map, Expiring, ...:
 * codec.ts keeps that one list for both sources). A subclass of a built-in (`class Stamp extends
 * Date`) and a user class are returned: the codec tells them apart.
 */
export function resolveFieldType(spec: FieldSpec): ClassType | undefined {
  const declared = spec.type !== undefined ? spec.type() : designTypeOf(spec);
  return declaredStorage(declared) === undefined ? undefined : (declared as ClassType);
}

function designTypeOf(spec: FieldSpec): unknown {
  if (spec.prototype === undefined) return undefined;
  const reflect = Reflect as unknown as { getMetadata?: (key: string, target: object, property: string) => unknown };
  return reflect.getMetadata?.('design:type', spec.prototype, spec.name);
}
