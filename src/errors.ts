import { isLibraryInstance, LIBRARY_CLASS } from './persistence/shared';
/**
 * The library's error hierarchy. Every error thrown by `aws-lambda-persistence` is a
 * {@link PersistenceError}; each failure has its own subclass so callers can branch with
 * `instanceof`, and each keeps the underlying SDK error as `cause`.
 *
 * @module
 */

/** Where a failure happened: the table and row key, when known. */
export interface ErrorLocation {
  /** The DynamoDB table name. */
  readonly tableName?: string;
  /** The partition key value of the function's row. */
  readonly tableKey?: string;
}

/**
 * Base class of every error this library throws.
 *
 * @example
 * ```ts
 * try {
 *   await handler(event, context);
 * } catch (error) {
 *   if (error instanceof PersistenceError) console.error(error.tableName, error.message);
 * }
 * ```
 */
export class PersistenceError extends Error {
  /** Marks the library's error classes (src/persistence/shared.ts). */
  static readonly [LIBRARY_CLASS] = true;

  /**
   * `error instanceof PersistenceError` (or any of its subclasses) holds for errors of either copy
   * of the library when a program loads both its CommonJS and its ES module build.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isLibraryInstance(this, value);
  }

  // A literal in every class rather than new.target.name: minifiers (esbuild in CDK and SAM builds)
  // rename classes, and error names show up in logs and in checks by name.
  override readonly name: string = 'PersistenceError';
  /** The DynamoDB table involved, when known. */
  readonly tableName?: string;
  /** The row key involved, when known. */
  readonly tableKey?: string;

  constructor(message: string, options: ErrorLocation & { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.tableName !== undefined) this.tableName = options.tableName;
    if (options.tableKey !== undefined) this.tableKey = options.tableKey;
  }
}

/**
 * An option passed to `bind()` (or a `PERSISTENCE_*` environment variable) is invalid, or a
 * required setting such as the table key cannot be determined.
 *
 * @example
 * ```ts
 * Handler.bind({ tableName: '' }); // throws ConfigurationError: option "tableName" ...
 * ```
 */
export class ConfigurationError extends PersistenceError {
  override readonly name: string = 'ConfigurationError';
  /** The option (or environment variable) at fault. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(message);
    this.option = option;
  }
}

/**
 * A `@Persistent()` decorator was placed where it cannot work (a static field, a method, an
 * accessor), or a class declares persistent fields inconsistently.
 *
 * @example
 * ```ts
 * class Bad extends PersistentHandler {
 *   @Persistent() static total = 0; // throws DecoratorUsageError
 * }
 * ```
 */
export class DecoratorUsageError extends PersistenceError {
  override readonly name: string = 'DecoratorUsageError';
  /** The member the decorator was applied to. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/**
 * A value cannot be stored: it contains a function, a symbol, a circular reference, an instance of
 * a class the codec cannot restore, or it nests deeper than DynamoDB allows. Thrown at assignment
 * (the previous value stays) or, for in-place mutations, when the invocation ends.
 *
 * @example
 * ```ts
 * this.cache = { fn: () => 1 }; // throws SerializationError: field "cache" at cache.fn: functions cannot be stored
 * ```
 */
export class SerializationError extends PersistenceError {
  override readonly name: string = 'SerializationError';
  /** The persistent field whose value was refused. */
  readonly field: string;
  /** Where inside the value the problem is, e.g. `cache.items[3].fn`. */
  readonly path: string;

  constructor(field: string, path: string, problem: string, options: { cause?: unknown } = {}) {
    super(`Cannot store field "${field}": at ${path}: ${problem}`, options);
    this.field = field;
    this.path = path;
  }
}

/**
 * The encoded state would exceed the size the table can hold. Thrown at assignment or by
 * `update()`; the previous value stays and smaller changes keep persisting.
 *
 * @example
 * ```ts
 * this.blob = Buffer.alloc(10_000_000); // throws StateTooLargeError naming "blob" and the sizes
 * ```
 */
export class StateTooLargeError extends PersistenceError {
  override readonly name: string = 'StateTooLargeError';
  /** The field whose new value made the state too large. */
  readonly field: string;
  /** The encoded size the state would have had, in bytes. */
  readonly size: number;
  /** The largest size allowed, in bytes. */
  readonly limit: number;

  constructor(field: string, size: number, limit: number, location: ErrorLocation) {
    super(
      `Cannot store field "${field}": the encoded state would be ${size} bytes, over the limit of ` +
        `${limit} bytes (maxStateBytes). The previous value was kept. Store less in this field, raise ` +
        'maxStateBytes, or keep large data in S3 and persist its key.',
      location,
    );
    this.field = field;
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A DynamoDB request failed (after the SDK's own retries). The changes it carried stay pending and
 * are sent again with the next write.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof PersistenceWriteError) console.error(error.cause); }
 * ```
 */
export class PersistenceWriteError extends PersistenceError {
  override readonly name: string = 'PersistenceWriteError';
  /** The fields whose changes are not durable yet. */
  readonly fields: readonly string[];
  /** The error thrown by the handler itself in the same invocation, if any. */
  readonly handlerError?: unknown;

  constructor(
    message: string,
    options: ErrorLocation & { cause?: unknown; fields?: readonly string[]; handlerError?: unknown },
  ) {
    super(message, options);
    this.fields = options.fields ?? [];
    if ('handlerError' in options) this.handlerError = options.handlerError;
  }
}

/**
 * Reading the function's row failed.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof PersistenceReadError) console.error(error.cause); }
 * ```
 */
export class PersistenceReadError extends PersistenceError {
  override readonly name: string = 'PersistenceReadError';
}

/**
 * The table does not exist and table creation is disabled (`createTable: false`), or it could not
 * be created.
 *
 * @example
 * ```ts
 * Handler.bind({ createTable: false }); // first invocation throws TableNotFoundError if it is missing
 * ```
 */
export class TableNotFoundError extends PersistenceError {
  override readonly name: string = 'TableNotFoundError';
}

/**
 * Other environments kept changing the row: the conditional write still conflicted after every
 * retry allowed by `conflictRetries`.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof WriteConflictError) retryLater(); }
 * ```
 */
export class WriteConflictError extends PersistenceError {
  override readonly name: string = 'WriteConflictError';
}

/**
 * The function's IAM role lacks a DynamoDB permission. The message names the denied action and
 * prints the policy the function needs; `policy` holds it as an object.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof AccessDeniedError) console.log(JSON.stringify(error.policy)); }
 * ```
 */
export class AccessDeniedError extends PersistenceError {
  override readonly name: string = 'AccessDeniedError';
  /** The IAM action that was denied, such as `dynamodb:PutItem`. */
  readonly action: string;
  /** The IAM policy document the function needs. */
  readonly policy: object;

  constructor(action: string, policy: object, location: ErrorLocation & { cause?: unknown }) {
    super(
      `Access denied: the function's role may not call ${action} on table "${location.tableName}". ` +
        `Attach this policy to the function's execution role:\n${JSON.stringify(policy, null, 2)}`,
      location,
    );
    this.action = action;
    this.policy = policy;
  }
}

/**
 * The stored row was not written by this library, or by a newer version of it: its value is not a
 * map, its format version is unknown, or a tagged value cannot be decoded.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof CorruptRowError) console.error(error.tableKey, error.message); }
 * ```
 */
export class CorruptRowError extends PersistenceError {
  override readonly name: string = 'CorruptRowError';
}

/**
 * A stored value does not match its field's schema (`@Persistent({ schema })`, or `schema` of the
 * other styles), after `migrate` if the field has one, and the field's `onInvalid` is `'fail'`.
 * Nothing was changed: the stored value stays as it is.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof InvalidStoredValueError) console.error(error.field, error.problems); }
 * ```
 */
export class InvalidStoredValueError extends PersistenceError {
  /** `'InvalidStoredValueError'`, whatever a bundler renamed the class to. */
  override readonly name: string = 'InvalidStoredValueError';
  /** The field (or key) whose stored value was rejected. */
  readonly field: string;
  /** The schema's issues, as text. */
  readonly problems: string;

  constructor(field: string, problems: string, message: string, options: ErrorLocation & { cause?: unknown } = {}) {
    super(message, options);
    this.field = field;
    this.problems = problems;
  }
}

/**
 * A write could not finish before the invocation's deadline
 * (`context.getRemainingTimeInMillis()` minus `deadlineMarginMs`).
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof DeadlineExceededError) console.warn('raise the timeout'); }
 * ```
 */
export class DeadlineExceededError extends PersistenceError {
  override readonly name: string = 'DeadlineExceededError';
}

/**
 * Reports a corrupt row or field that `onCorruptRow: 'start-fresh'` replaces with the initializers,
 * as a Node.js process warning (stderr, so CloudWatch Logs), since nothing is thrown.
 */
export function warnStartingFresh(error: CorruptRowError): void {
  process.emitWarning(`${error.message} Starting fresh, as onCorruptRow is 'start-fresh'.`, {
    code: 'AWS_LAMBDA_PERSISTENCE_START_FRESH',
  });
}

/**
 * How messages name a row: `"my-fn" of table "AWSLambdaPersistence"`, after the word "row". The one
 * place that wording lives.
 */
export function rowName(location: Required<ErrorLocation>): string {
  return `"${location.tableKey}" of table "${location.tableName}"`;
}

/**
 * Gives each class its documented name as `name`, whatever a bundler renamed its binding to
 * (esbuild makes `ConfigurationError2` when two modules of a bundle declare the name, and names a
 * class expression `_Expiring` when the class refers to itself): Node prints errors and objects
 * with the constructor's name. Keys of an object literal survive minifiers too.
 */
export function keepNames(classes: Readonly<Record<string, Function>>): void {
  // Unbundled and in the library's own builds the names are right already: no redefinition then.
  for (const name in classes) if (classes[name]!.name !== name) Object.defineProperty(classes[name]!, 'name', { value: name, configurable: true });
}

keepNames({
  PersistenceError,
  ConfigurationError,
  DecoratorUsageError,
  SerializationError,
  StateTooLargeError,
  PersistenceWriteError,
  PersistenceReadError,
  TableNotFoundError,
  WriteConflictError,
  AccessDeniedError,
  CorruptRowError,
  InvalidStoredValueError,
  DeadlineExceededError,
});
