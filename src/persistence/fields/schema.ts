import { InvalidStoredValueError } from '../../errors';
import type { FieldBehaviour, ReadOutcome } from './FieldBehaviour';

/**
 * Validation of stored values with any Standard Schema validator (zod 4, valibot, arktype, ...):
 * the interface those libraries implement, declared here so that the library depends on none of
 * them (https://standardschema.dev).
 */

/** A Standard Schema validator, as zod 4, valibot 1 and arktype 2 implement it. */
export interface StandardSchema<Input = unknown, Output = Input> {
  /** The Standard Schema interface of the validator. */
  readonly '~standard': {
    /** The version of the Standard Schema interface: 1. */
    readonly version: 1;
    /** The library that made the validator: `zod`, `valibot`, `arktype`, ... */
    readonly vendor: string;
    /** Checks a value: its output (possibly transformed), or the issues found. */
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    /** The types the validator accepts and returns, for type inference only. */
    readonly types?:
      | {
          /** What the validator accepts. */
          readonly input: Input;
          /** What the validator returns. */
          readonly output: Output;
        }
      | undefined;
  };
}

/** What a Standard Schema's `validate` returns: the (possibly transformed) value, or the issues. */
export type StandardSchemaResult<Output> =
  | {
      /** The value the validator returns. */
      readonly value: Output;
      /** None: the value passed. */
      readonly issues?: undefined;
    }
  | {
      /** Why the value did not pass. */
      readonly issues: ReadonlyArray<{
        /** What is wrong. */
        readonly message: string;
        /** Where in the value, from its top: keys and indexes (or objects holding them). */
        readonly path?:
          | ReadonlyArray<
              | PropertyKey
              | {
                  /** A key or index. */
                  readonly key: PropertyKey;
                }
            >
          | undefined;
      }>;
    };

/** The type of the values a schema accepts and returns (`z.infer<typeof schema>` for zod). */
export type InferSchemaOutput<S> = S extends StandardSchema<unknown, infer Output> ? Output : unknown;

/**
 * What to do with a stored value that its field's schema rejects (after `migrate`): `'fail'` throws
 * an `InvalidStoredValueError` naming the field, the value's shape and the fix, and changes
 * nothing; `'use-initializer'` warns and gives the field its initializer, leaving the stored value
 * as it is until this environment assigns the field.
 */
export type OnInvalid = 'fail' | 'use-initializer';

/** Whether `value` looks like a Standard Schema validator. */
export function isStandardSchema(value: unknown): value is StandardSchema {
  const standard = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
  return typeof value === 'object' || typeof value === 'function' ? typeof standard?.validate === 'function' : false;
}

/**
 * Runs `schema` on `value`: `{ value }` (the schema's output) or `{ problems }` (its issues, as
 * text). A schema that answers with a Promise (asynchronous refinements) is refused: values are
 * read inside a synchronous step of the cold start.
 */
export function runSchema(schema: StandardSchema, value: unknown, field: string): { value: unknown } | { problems: string } {
  const result = schema['~standard'].validate(value);
  if (typeof (result as Promise<unknown>)?.then === 'function') {
    // An unhandled rejection of the ignored promise would crash the process.
    (result as Promise<unknown>).then(undefined, () => undefined);
    throw new TypeError(
      `The schema of field "${field}" validates asynchronously (it returned a Promise): stored values are checked ` +
        'synchronously when the row is read. Use a schema without async refinements or transforms.',
    );
  }
  const outcome = result as StandardSchemaResult<unknown>;
  if (outcome.issues === undefined) return { value: outcome.value };
  const problems = outcome.issues
    .slice(0, 5)
    .map((issue) => {
      const path = (issue.path ?? []).map((part) => String(typeof part === 'object' && part !== null ? part.key : part)).join('.');
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    })
    .join('; ');
  return { problems: outcome.issues.length > 5 ? `${problems}; and ${outcome.issues.length - 5} more` : problems };
}

/** A short description of a value's shape for an error message: `a string ("hello")`, `an array of 3`, `an object with keys a, b`. */
export function shapeOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `a ${typeof value} (${String(value)})`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    if (name !== undefined && name !== 'Object') return `a ${name}`;
    const keys = Object.keys(value);
    return keys.length === 0 ? 'an empty object' : `an object with keys ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}`;
  }
  return `a ${typeof value}`;
}

/**
 * What is wrong with the `schema`, `migrate` and `onInvalid` options: the option and the rest of a
 * sentence starting with its name ("takes ..."); undefined when nothing is.
 */
export function schemaOptionProblem(options: { schema?: unknown; migrate?: unknown; onInvalid?: unknown }): OptionProblem | undefined {
  if (options.schema !== undefined && !isStandardSchema(options.schema)) {
    return { option: 'schema', problem: 'takes a Standard Schema validator (zod 4, valibot, arktype: an object with ["~standard"].validate), e.g. { schema: z.number() }' };
  }
  if (options.migrate !== undefined && typeof options.migrate !== 'function') {
    return { option: 'migrate', problem: 'takes a function (stored) => value, e.g. { migrate: (stored) => Number(stored) }' };
  }
  if (options.onInvalid !== undefined && options.onInvalid !== 'fail' && options.onInvalid !== 'use-initializer') {
    return { option: 'onInvalid', problem: "takes 'fail' or 'use-initializer'" };
  }
  return undefined;
}

/** A field option that is wrong: which, and the rest of the sentence after its name. */
export interface OptionProblem {
  readonly option: string;
  readonly problem: string;
}

/** The options of a field that checks its stored values. */
export interface SchemaOptions {
  readonly schema?: StandardSchema | undefined;
  readonly migrate?: ((stored: unknown) => unknown) | undefined;
  readonly onInvalid?: OnInvalid | undefined;
}

/**
 * The behaviour of `schema`, `migrate` and `onInvalid`: a stored value goes through the schema
 * first; a value it rejects (or, without a schema, every value) goes through `migrate`, and the
 * schema checks the result. A value still rejected is `onInvalid`'s: fail, or the initializer.
 */
export function storedValueCheck({ schema, migrate, onInvalid }: SchemaOptions): FieldBehaviour {
  return {
    label: 'schema',
    read(stored, field): ReadOutcome {
      const { name } = field;
      let value = stored;
      let problems: string | undefined;
      if (schema !== undefined) {
        const checked = runSchema(schema, value, name);
        if ('value' in checked) value = checked.value;
        else problems = checked.problems;
      }
      if (migrate !== undefined && (schema === undefined || problems !== undefined)) {
        const rejected = problems;
        try {
          value = migrate(stored);
        } catch (error) {
          throw new InvalidStoredValueError(
            name,
            String((error as Error)?.message ?? error),
            `${field.row}: migrate of field "${name}" threw on the stored value (${shapeOf(stored)}): ` +
              `${(error as Error)?.message ?? String(error)}. Nothing was changed; fix migrate for this shape.`,
            { ...field.location, cause: error },
          );
        }
        problems = undefined;
        if (schema !== undefined) {
          const checked = runSchema(schema, value, name);
          if ('value' in checked) value = checked.value;
          else problems = rejected === undefined ? checked.problems : `${checked.problems} (after migrate, which ran because of: ${rejected})`;
        }
      }
      if (problems === undefined) return { value };
      const what = `${field.row}: the stored value of field "${name}" (${shapeOf(stored)}) does not match its schema: ${problems}.`;
      if ((onInvalid ?? field.onInvalid ?? 'fail') === 'fail') {
        const fix =
          migrate === undefined
            ? 'Add migrate: (stored) => ... to turn it into today\'s shape, or '
            : 'migrate ran and its result does not match the schema either: check what migrate returns for this shape, or use ';
        throw new InvalidStoredValueError(
          name,
          problems,
          `${what} Nothing was changed. ${fix}` +
            `onInvalid: 'use-initializer' to start from the initializer (the stored value stays until the field is assigned).`,
          field.location,
        );
      }
      // Already standing in for this very stored value (a re-read found it unchanged): warned before.
      if (!field.standingIn) {
        process.emitWarning(`${what} Using the initializer; the stored value stays until the field is assigned (onInvalid: 'use-initializer').`, {
          code: 'AWS_LAMBDA_PERSISTENCE_INVALID_VALUE',
        });
      }
      return { useInitializer: true };
    },
  };
}
