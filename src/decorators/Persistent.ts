import { DecoratorUsageError } from '../errors';
import type { ClassType } from '../persistence/codec';
import { fieldOptionProblem } from '../persistence/fields/behaviours';
import type { FieldBehaviour, MergeStrategy } from '../persistence/fields/FieldBehaviour';
import type { InferSchemaOutput, OnInvalid, StandardSchema } from '../persistence/fields/schema';
import { recordInMetadata, recordOnPrototype, type FieldSpec } from './fieldSpecs';

/** Options of {@link Persistent}. */
export interface PersistentOptions {
  /**
   * The class of the field's value (or of its elements, for an array; of the value inside, for an
   * `Expiring`).
   *
   * - Classes the library stores by itself (`Date`, `Map`, `Set`, `BigInt`, `Buffer`, typed arrays,
   *   `ArrayBuffer`, `RegExp`, `Array`, `Object`, `Expiring`, ...) need no `type`; naming one is
   *   the same as leaving it out.
   * - A subclass of one of those (`class Stamp extends Date`) is stored as the built-in and restored
   *   as the subclass (its prototype; the constructor does not run).
   * - Any other class is stored through class-transformer's `instanceToPlain` and restored with
   *   `plainToInstance`: install class-transformer and `import 'aws-lambda-persistence/class-transformer'`
   *   once (without it the first invocation fails with a `DecoratorUsageError`).
   *
   * Needed for instances of your own classes unless the compiler emits `design:type` metadata (tsc
   * with `emitDecoratorMetadata` and legacy decorators, with `reflect-metadata` imported by your code
   * before the class is defined); bundlers such as esbuild emit none.
   * @default undefined (plain and built-in values only)
   */
  type?: () => ClassType | BigIntConstructor;
  /**
   * How changes to this field from several execution environments at once combine (see
   * {@link MergeStrategy}): `sum` for counters (`this.count += 1` from any number of
   * environments all count), `keys` for a `Map` or object changed key by key (both imported from
   * the package), a function `(base, mine, theirs) => merged` for anything else. Different fields
   * never conflict, whatever this says. TypeScript checks that the field can hold what the
   * strategy merges (`sum` on a `string` field does not compile).
   * @default 'last-writer-wins'
   */
  merge?: MergeStrategy;
  /**
   * A Standard Schema validator (zod 4 `z.number()`, valibot `v.array(v.string())`, arktype, ...)
   * that every stored value of this field must pass when the row is read (cold start, refresh, a
   * re-read after a conflict). The schema's output is the field's value, so a schema that
   * transforms or applies defaults changes it; a changed value goes back to the row with the next
   * write. Assignments are not checked. A value the schema rejects goes to `migrate`, if given,
   * and is checked again; then `onInvalid` decides.
   * @default undefined (stored values are taken as they are)
   */
  schema?: StandardSchema;
  /**
   * Turns a stored value of an older shape into today's: `(stored) => today`. With a `schema`, it
   * receives only values the schema rejects; without one, every stored value (return it as it is
   * when it is current). The result is the field's value and is written back with the next write
   * (not as a request of its own).
   */
  migrate?: (stored: unknown) => unknown;
  /**
   * A stored value the `schema` rejects even after `migrate`: `'fail'` throws an
   * `InvalidStoredValueError` (the invocation fails, nothing changes); `'use-initializer'` warns
   * (`AWS_LAMBDA_PERSISTENCE_INVALID_VALUE`) and gives the field its initializer, and the stored
   * value stays as it is until this environment assigns the field.
   * @default the handler's `onInvalid` option, `'fail'`
   */
  onInvalid?: OnInvalid;
}

/** The decorator returned by {@link Persistent}: usable with legacy and standard decorators. */
export interface PersistentDecorator {
  /** Legacy decorators (`experimentalDecorators: true`). */
  (prototype: object, propertyKey: string | symbol): void;
  /** Standard (TC39) decorators, the TypeScript 5 default. */
  <This, Value>(value: undefined, context: ClassFieldDecoratorContext<This, Value>): void;
}

/**
 * The decorator {@link Persistent} returns for a field with a `schema` or a merge behaviour:
 * TypeScript checks that the field's type fits what the schema returns or what the behaviour merges
 * (a decorator cannot set a field's type; declare it, e.g.
 * `@Persistent({ schema: Count }) count: z.infer<typeof Count> = 0`; `@Persistent({ merge: sum })`
 * on a `string` field does not compile).
 */
export interface SchemaDecorator<Output> {
  /** Legacy decorators (`experimentalDecorators: true`). */
  <K extends string>(prototype: { [P in K]?: Output | undefined }, propertyKey: K): void;
  /** Standard (TC39) decorators. */
  <This, Value extends Output | undefined>(value: undefined, context: ClassFieldDecoratorContext<This, Value>): void;
}

/**
 * Marks a field of a {@link PersistentHandler} subclass as persistent: it is loaded from the
 * function's DynamoDB row on cold start and written back whenever it changes. The field's
 * initializer is its default while nothing is stored.
 *
 * Works with legacy decorators (`experimentalDecorators`, with or without `emitDecoratorMetadata`)
 * and with standard decorators, in tsc output and in esbuild bundles.
 *
 * @example
 * ```ts
 * class Handler extends PersistentHandler<Event, Result> {
 *   @Persistent() count = 0;
 *   @Persistent() lastRun?: Date;
 *   @Persistent({ type: () => Session }) session?: Session;
 *   async handler(event: Event) { this.count += 1; return { count: this.count }; }
 * }
 * ```
 */
export function Persistent<S extends StandardSchema>(options: PersistentOptions & { schema: S }): SchemaDecorator<InferSchemaOutput<S>>;
export function Persistent<T>(options: PersistentOptions & { merge: FieldBehaviour<T> }): SchemaDecorator<T>;
export function Persistent(options?: PersistentOptions): PersistentDecorator;
export function Persistent(options: PersistentOptions = {}): PersistentDecorator {
  if (typeof options !== 'object' || options === null) {
    throw new DecoratorUsageError('(unknown)', '@Persistent() takes an options object, e.g. @Persistent({ type: () => Session }).');
  }
  const problem = fieldOptionProblem(options);
  if (problem !== undefined) throw new DecoratorUsageError('(unknown)', `@Persistent({ ${problem.option} }) ${problem.problem}.`);
  if (options.type !== undefined && typeof options.type !== 'function') {
    throw new DecoratorUsageError(
      '(unknown)',
      '@Persistent({ type }) takes a function returning the class, e.g. { type: () => Session }.',
    );
  }
  return function persistent(target: unknown, key: unknown): void {
    // Standard decorators pass a context object (with `kind`) second; legacy ones a property key.
    if (typeof key === 'object' && key !== null && 'kind' in key) {
      decorateStandard(key as DecoratorContext, options);
    } else {
      decorateLegacy(target, key, options);
    }
  } as PersistentDecorator;
}

function decorateStandard(context: DecoratorContext, options: PersistentOptions): void {
  const name = String(context.name);
  if (context.kind !== 'field') {
    throw new DecoratorUsageError(name, `@Persistent() on "${name}" (a ${context.kind}): it only applies to instance fields.`);
  }
  if (context.static) {
    throw new DecoratorUsageError(name, `@Persistent() on static field "${name}": make it an instance field.`);
  }
  if (context.private || typeof context.name !== 'string') {
    throw new DecoratorUsageError(name, `@Persistent() on "${name}": persistent fields need a public string name.`);
  }
  const spec: FieldSpec = { name, ...specOptions(options) };
  if (context.metadata) {
    recordInMetadata(context.metadata, spec);
  } else {
    // No metadata object (a compiler without Symbol.metadata support): record on first construction.
    context.addInitializer(function (this: unknown) {
      recordOnPrototype(Object.getPrototypeOf(this), spec);
    });
  }
}

function decorateLegacy(target: unknown, key: unknown, options: PersistentOptions): void {
  const name = String(key);
  if (typeof target === 'function') {
    throw new DecoratorUsageError(name, `@Persistent() on static field "${name}": make it an instance field.`);
  }
  if (typeof target !== 'object' || target === null || typeof key !== 'string') {
    throw new DecoratorUsageError(name, `@Persistent() on "${name}": persistent fields need a public string name.`);
  }
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor !== undefined) {
    const what = typeof descriptor.value === 'function' ? 'a method' : 'an accessor';
    throw new DecoratorUsageError(name, `@Persistent() on "${name}" (${what}): it only applies to instance fields.`);
  }
  recordOnPrototype(target, { name, prototype: target, ...specOptions(options) });
}

/** The options a field spec records. */
function specOptions(options: PersistentOptions): Omit<FieldSpec, 'name' | 'prototype'> {
  return {
    ...(options.type && { type: options.type }),
    ...(options.merge && { merge: options.merge }),
    ...(options.schema && { schema: options.schema }),
    ...(options.migrate && { migrate: options.migrate }),
    ...(options.onInvalid && { onInvalid: options.onInvalid }),
  };
}
