import { ConfigurationError } from '../errors';
import type { OnInvalid } from './fields/schema';
import { KEY_LIMIT, MAX_TABLE_KEY_BYTES } from './storage/sizes';
import { RESERVED_ATTRIBUTES } from './storage/itemFormat';
import type { DeadlineSignal } from './Deadline';
import type { LambdaContext } from './Session';

/**
 * Something that can send DynamoDB commands: a `DynamoDBClient` or a `DynamoDBDocumentClient`.
 *
 * @example
 * ```ts
 * Handler.bind({ client: new DynamoDBClient({ region: 'eu-west-1', maxAttempts: 5 }) });
 * ```
 */
export interface DynamoDBSender {
  /**
   * Sends one SDK command (GetItem, PutItem, …); `abortSignal` is the invocation's deadline, with
   * the SDK's abort-signal interface ({@link DeadlineSignal}).
   */
  send(command: unknown, options?: { abortSignal?: DeadlineSignal }): Promise<unknown>;
}

/**
 * How a table created by the library is billed.
 *
 * @example
 * ```ts
 * Handler.bind({ billing: { mode: 'PAY_PER_REQUEST' } });
 * ```
 */
export type BillingOptions =
  | {
      /** Provisioned capacity; 1 RCU / 1 WCU stays inside the DynamoDB free tier. */
      mode: 'PROVISIONED';
      /** @default 1 */
      readCapacityUnits?: number;
      /** @default 1 */
      writeCapacityUnits?: number;
    }
  | {
      /** On-demand capacity, billed per request. */
      mode: 'PAY_PER_REQUEST';
    };

/**
 * When a warm environment re-reads the row before an invocation: `'cold-start'` never (zero reads
 * when warm), `'every-invocation'` always, `{ maxAgeMs }` when the last read or write is older.
 *
 * @example
 * ```ts
 * Handler.bind({ refresh: { maxAgeMs: 60_000 } });
 * ```
 */
export type RefreshPolicy =
  | 'cold-start'
  | 'every-invocation'
  | {
      /** Re-read the row when the copy in memory is older than this many milliseconds. */
      maxAgeMs: number;
    };

/**
 * Options for `PersistentHandler.bind()`. Every option has an environment variable, and the
 * environment wins over the value passed in code (as in the Python package this library redesigns),
 * so one build can be pointed at another table by configuration alone.
 *
 * @example
 * ```ts
 * export const handler = Handler.bind({ tableName: 'my-state', createTable: false });
 * ```
 */
export interface PersistenceOptions {
  /**
   * The DynamoDB table holding one row per function. Environment: `PERSISTENCE_TABLE_NAME`.
   * @default 'AWSLambdaPersistence'
   */
  tableName?: string;
  /**
   * The partition key value of this function's row, at most 1,984 UTF-8 bytes. Environment:
   * `PERSISTENCE_TABLE_KEY`.
   * @default process.env.AWS_LAMBDA_FUNCTION_NAME (the function name)
   */
  tableKey?: string;
  /**
   * The name of the partition key attribute. Environment: `PERSISTENCE_KEY_FIELD_NAME`.
   * @default 'key'
   */
  keyFieldName?: string;
  /**
   * The attribute holding the state, a map of field name to value. Environment:
   * `PERSISTENCE_VALUE_FIELD_NAME`.
   * @default 'value'
   */
  valueFieldName?: string;
  /**
   * A `DynamoDBClient` or `DynamoDBDocumentClient` to use. Without one the library creates a
   * `DynamoDBClient` that honours the standard AWS environment (region, credentials,
   * `AWS_ENDPOINT_URL_DYNAMODB`).
   * @default a new DynamoDBClient({ maxAttempts })
   */
  client?: DynamoDBSender;
  /**
   * Create the table on first use when it is missing. Turn off for tables managed by
   * infrastructure code; a missing table is then a `TableNotFoundError`. Environment:
   * `PERSISTENCE_CREATE_TABLE` (`true`/`false`).
   * @default true
   */
  createTable?: boolean;
  /**
   * Billing of a table the library creates. Environment: `PERSISTENCE_BILLING_MODE`
   * (`PROVISIONED` or `PAY_PER_REQUEST`).
   * @default { mode: 'PROVISIONED', readCapacityUnits: 1, writeCapacityUnits: 1 }
   */
  billing?: BillingOptions;
  /**
   * Attempts per DynamoDB request (first try included) of the client the library creates, using
   * the SDK's standard retry strategy. Ignored when `client` is given. Environment:
   * `PERSISTENCE_MAX_ATTEMPTS`.
   * @default 3
   */
  maxAttempts?: number;
  /**
   * How long the client the library creates waits for a connection to DynamoDB before the attempt
   * fails (and the SDK retries it, up to `maxAttempts`). Ignored when `client` is given. Environment:
   * `PERSISTENCE_CONNECT_TIMEOUT_MS`.
   * @default 1000
   */
  connectTimeoutMs?: number;
  /**
   * How long the client the library creates waits for an answer to one attempt of a request before
   * it fails (and the SDK retries it): an endpoint that accepts connections and never answers then
   * costs `maxAttempts` times this, not the whole invocation. Ignored when `client` is given.
   * Environment: `PERSISTENCE_REQUEST_TIMEOUT_MS`.
   * @default 3000
   */
  requestTimeoutMs?: number;
  /**
   * The most times a conditional write that lost a race with another environment is re-read,
   * merged and retried before a `WriteConflictError` (each after a jittered backoff, and never past
   * the invocation's deadline, which usually ends the retries first). Only writes that must be
   * conditional race: a row's first write, a large (packed or split) state, and fields with a merge
   * function changed by two environments at once, or the first value of a `merge: keys` field.
   * Environment: `PERSISTENCE_CONFLICT_RETRIES`.
   * @default 50
   */
  conflictRetries?: number;
  /**
   * Writes must finish this many milliseconds before the invocation's deadline
   * (`context.getRemainingTimeInMillis()`); a write that cannot fails the invocation with a
   * `DeadlineExceededError` instead of being cut off by the timeout. Environment:
   * `PERSISTENCE_DEADLINE_MARGIN_MS`.
   * @default 500
   */
  deadlineMarginMs?: number;
  /**
   * The largest encoded state accepted, in bytes. A state up to ~400 KB is stored as a readable map
   * in the row; a larger one is compressed and, if still too large, split across several items.
   * An assignment that would exceed this throws a `StateTooLargeError`. Environment:
   * `PERSISTENCE_MAX_STATE_BYTES`.
   * @default 4194304 (4 MiB)
   */
  maxStateBytes?: number;
  /**
   * A field whose encoded value is larger than this many bytes is stored in an item of its own
   * (two, in fact: the live value and the one before, which the next change overwrites), and the row
   * only points to it, so that a change to the other fields costs what they weigh: DynamoDB bills a
   * write by the whole item's size, 1 WCU per KB. Such a change then writes the field's item and the
   * row (two requests), and a cold start reads the row and then those items (one `BatchGetItem`).
   * With the default, a state under 4 KB is always one item. Values over 350 KB stay with the
   * state in the row (packed, or split into parts). Environment: `PERSISTENCE_LARGE_FIELD_BYTES`.
   * @default 4096
   */
  largeFieldBytes?: number;
  /**
   * What to do with a row this library cannot read: one written by another program (such as a
   * pickle of the Python package), by a newer release (unknown format version or tag), or damaged.
   * `'fail'` throws a `CorruptRowError` naming table, key and problem and leaves the row alone.
   * `'start-fresh'` emits a process warning and treats the row (or, for one undecodable field, that
   * field) as absent: the initializers stand and the next write replaces it. Environment:
   * `PERSISTENCE_ON_CORRUPT_ROW`.
   * @default 'fail'
   */
  onCorruptRow?: 'fail' | 'start-fresh';
  /**
   * A stored value that its field's `schema` rejects (after `migrate`), for fields that do not set
   * `onInvalid` themselves: `'fail'` throws an `InvalidStoredValueError` naming the field, the
   * value's shape and the fix, and changes nothing; `'use-initializer'` warns and gives the field
   * its initializer, and the stored value stays until the field is assigned. Environment:
   * `PERSISTENCE_ON_INVALID`.
   * @default 'fail'
   */
  onInvalid?: OnInvalid;
  /**
   * What an invocation that fails (its handler throws, or its changes cannot be stored) leaves.
   * `'discard'`: nothing. Its changes are written once, in one request, when it succeeds; when it
   * fails they are undone in memory too (its fields show what they held before it, other
   * invocations' changes kept), so Lambda's retry of the event starts from the same state and applies
   * it once. `update()` assigns at once and is written with the rest; `flush()` writes at once (what
   * it stored stays). `'save'`: what it changed before it failed is written, as 0.1 did (a retried
   * event then counts again: a `sum` counter moves once per attempt). Applies to the bound handler
   * styles (`PersistentHandler`, `withPersistence`, `persistentState`, middy); a `PersistentMap`
   * writes each call at once. Environment: `PERSISTENCE_ON_FAILURE`.
   * @default 'discard'
   */
  onFailure?: 'discard' | 'save';
  /**
   * The key of an invocation's event, for exactly once across retries: a write of the invocation's
   * changes records it in the same request, and a retry of the event (in any environment) that
   * finds it in the row applies nothing again. Lambda runs a failed asynchronous event twice more
   * and may deliver one twice; give the key of what repeats, e.g. an SQS message id
   * (`(event) => event.Records[0].messageId` for a batch of one), an order id, Powertools
   * idempotency's JMESPath result. Undefined (the function returns it): no key for that invocation.
   * Not from the environment (a function).
   * @default (event, context) => context.awsRequestId (the request id, which Lambda keeps for the retries of an asynchronous event)
   */
  eventKey?: (event: unknown, context: LambdaContext) => string | undefined;
  /**
   * How many events the row remembers at most (each ~28 bytes in the row; also for at most 6 h 10 min,
   * Lambda's maximum event age plus a margin): a retry of an event older than the last this many
   * is applied again. 0 records none. docs/limits.md says what a busy function gets. Environment:
   * `PERSISTENCE_EVENT_KEY_LIMIT`.
   * @default 32
   */
  eventKeyLimit?: number;
  /**
   * When a warm environment re-reads the row, to see other environments' changes. Fields changed
   * by this environment and not yet written keep their values. Environment: `PERSISTENCE_REFRESH`
   * (`cold-start`, `every-invocation`, or a maximum age in milliseconds).
   * @default 'cold-start'
   */
  refresh?: RefreshPolicy;
  /**
   * How long to wait for a table the library created to become ACTIVE. Environment:
   * `PERSISTENCE_TABLE_CREATION_TIMEOUT_MS`.
   * @default 60000
   */
  tableCreationTimeoutMs?: number;
}

/** The options after defaults and environment overrides are applied. */
export interface ResolvedOptions {
  readonly tableName: string;
  /** Undefined when neither the option, `PERSISTENCE_TABLE_KEY` nor `AWS_LAMBDA_FUNCTION_NAME` is set. */
  readonly tableKey: string | undefined;
  readonly keyFieldName: string;
  readonly valueFieldName: string;
  readonly client: DynamoDBSender | undefined;
  readonly createTable: boolean;
  readonly billing: Required<BillingOptions> | { mode: 'PAY_PER_REQUEST' };
  readonly maxAttempts: number;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly conflictRetries: number;
  readonly deadlineMarginMs: number;
  readonly tableCreationTimeoutMs: number;
  /** Re-read the row when the last read or write is older than this (0: every invocation). */
  readonly refreshAfterMs: number;
  readonly maxStateBytes: number;
  readonly largeFieldBytes: number;
  readonly onCorruptRow: 'fail' | 'start-fresh';
  readonly onInvalid: OnInvalid;
  readonly onFailure: 'discard' | 'save';
  readonly eventKey: (event: unknown, context: LambdaContext) => string | undefined;
  readonly eventKeyLimit: number;
}

/** Literal defaults, applied once in {@link resolveOptions}. */
export const DEFAULTS = {
  tableName: 'AWSLambdaPersistence',
  keyFieldName: 'key',
  valueFieldName: 'value',
  createTable: true,
  readCapacityUnits: 1,
  writeCapacityUnits: 1,
  maxAttempts: 3,
  connectTimeoutMs: 1000,
  requestTimeoutMs: 3000,
  conflictRetries: 50,
  deadlineMarginMs: 500,
  tableCreationTimeoutMs: 60_000,
  maxStateBytes: 4 * 1024 * 1024,
  largeFieldBytes: 4096,
  onCorruptRow: 'fail',
  onInvalid: 'fail',
  onFailure: 'discard',
  eventKeyLimit: 32,
} as const;

/** Bookkeeping attributes stored beside the value; user attribute names must not collide. */


/** Environment variable for each option that has one. */
export const ENVIRONMENT = {
  tableName: 'PERSISTENCE_TABLE_NAME',
  tableKey: 'PERSISTENCE_TABLE_KEY',
  keyFieldName: 'PERSISTENCE_KEY_FIELD_NAME',
  valueFieldName: 'PERSISTENCE_VALUE_FIELD_NAME',
  createTable: 'PERSISTENCE_CREATE_TABLE',
  billingMode: 'PERSISTENCE_BILLING_MODE',
  maxAttempts: 'PERSISTENCE_MAX_ATTEMPTS',
  connectTimeoutMs: 'PERSISTENCE_CONNECT_TIMEOUT_MS',
  requestTimeoutMs: 'PERSISTENCE_REQUEST_TIMEOUT_MS',
  conflictRetries: 'PERSISTENCE_CONFLICT_RETRIES',
  deadlineMarginMs: 'PERSISTENCE_DEADLINE_MARGIN_MS',
  tableCreationTimeoutMs: 'PERSISTENCE_TABLE_CREATION_TIMEOUT_MS',
  refresh: 'PERSISTENCE_REFRESH',
  maxStateBytes: 'PERSISTENCE_MAX_STATE_BYTES',
  largeFieldBytes: 'PERSISTENCE_LARGE_FIELD_BYTES',
  onCorruptRow: 'PERSISTENCE_ON_CORRUPT_ROW',
  onInvalid: 'PERSISTENCE_ON_INVALID',
  onFailure: 'PERSISTENCE_ON_FAILURE',
  eventKeyLimit: 'PERSISTENCE_EVENT_KEY_LIMIT',
} as const;

const KNOWN_OPTIONS = new Set<string>([
  'tableName',
  'tableKey',
  'keyFieldName',
  'valueFieldName',
  'client',
  'createTable',
  'billing',
  'maxAttempts',
  'connectTimeoutMs',
  'requestTimeoutMs',
  'conflictRetries',
  'deadlineMarginMs',
  'tableCreationTimeoutMs',
  'refresh',
  'maxStateBytes',
  'largeFieldBytes',
  'onCorruptRow',
  'onInvalid',
  'onFailure',
  'eventKey',
  'eventKeyLimit',
]);

// DynamoDB table names: 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'.
/** DynamoDB's rule for table names; the CLI's templates use its source as an AllowedPattern. */
export const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/**
 * Applies environment overrides and defaults to `options` and validates the result. Called once by
 * `bind()`, so bad options fail at module load with a message that says the fix.
 */
export function resolveOptions(
  options: PersistenceOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('options', `bind() takes an options object, got ${describeGiven(options)}.`);
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) {
      throw new ConfigurationError(
        name,
        `Unknown option "${name}". Known options: ${[...KNOWN_OPTIONS].join(', ')}.`,
      );
    }
  }

  const tableName = text(env, 'tableName', options.tableName) ?? DEFAULTS.tableName;
  if (!TABLE_NAME.test(tableName)) {
    throw new ConfigurationError(
      'tableName',
      `Option "tableName" (${ENVIRONMENT.tableName}) must be 3-255 characters of letters, digits, ` +
        `'_', '-' or '.', got ${JSON.stringify(tableName)}.`,
    );
  }
  const tableKey = text(env, 'tableKey', options.tableKey) ?? nonEmpty(env.AWS_LAMBDA_FUNCTION_NAME);
  if (tableKey !== undefined && Buffer.byteLength(tableKey) > MAX_TABLE_KEY_BYTES) {
    throw new ConfigurationError(
      'tableKey',
      `Option "tableKey" (${ENVIRONMENT.tableKey}) is ${Buffer.byteLength(tableKey)} bytes: DynamoDB keys hold 2,048 ` +
        `and the keys of a large state's part items add up to ${KEY_LIMIT - MAX_TABLE_KEY_BYTES} to it. Use at most ` +
        `${MAX_TABLE_KEY_BYTES} bytes.`,
    );
  }
  const keyFieldName = text(env, 'keyFieldName', options.keyFieldName) ?? DEFAULTS.keyFieldName;
  const valueFieldName = text(env, 'valueFieldName', options.valueFieldName) ?? DEFAULTS.valueFieldName;
  for (const [option, value] of [
    ['keyFieldName', keyFieldName],
    ['valueFieldName', valueFieldName],
  ] as const) {
    if (RESERVED_ATTRIBUTES.includes(value)) {
      throw new ConfigurationError(
        option,
        `Option "${option}" cannot be "${value}": the library stores its own bookkeeping under ` +
          `${RESERVED_ATTRIBUTES.join(', ')}. Choose another attribute name.`,
      );
    }
    if (value === '__proto__') {
      throw new ConfigurationError(
        option,
        `Option "${option}" cannot be "__proto__": JavaScript objects treat that name as their prototype. ` +
          'Choose another attribute name.',
      );
    }
  }
  if (keyFieldName === valueFieldName) {
    throw new ConfigurationError(
      'valueFieldName',
      `Options "keyFieldName" and "valueFieldName" must differ, both are "${keyFieldName}".`,
    );
  }

  const client = options.client;
  if (client !== undefined && typeof (client as Partial<DynamoDBSender>)?.send !== 'function') {
    throw new ConfigurationError(
      'client',
      'Option "client" must be a DynamoDBClient or DynamoDBDocumentClient (an object with send()), ' +
        `got ${describeGiven(client)}.`,
    );
  }

  const createTable = flag(env, 'createTable', options.createTable) ?? DEFAULTS.createTable;
  const billing = resolveBilling(env, options.billing);
  const maxAttempts = count(env, 'maxAttempts', options.maxAttempts, 1) ?? DEFAULTS.maxAttempts;
  const connectTimeoutMs = count(env, 'connectTimeoutMs', options.connectTimeoutMs, 1) ?? DEFAULTS.connectTimeoutMs;
  const requestTimeoutMs = count(env, 'requestTimeoutMs', options.requestTimeoutMs, 1) ?? DEFAULTS.requestTimeoutMs;
  const conflictRetries =
    count(env, 'conflictRetries', options.conflictRetries, 0) ?? DEFAULTS.conflictRetries;
  const deadlineMarginMs =
    count(env, 'deadlineMarginMs', options.deadlineMarginMs, 0) ?? DEFAULTS.deadlineMarginMs;
  const tableCreationTimeoutMs =
    count(env, 'tableCreationTimeoutMs', options.tableCreationTimeoutMs, 1) ??
    DEFAULTS.tableCreationTimeoutMs;
  const refreshAfterMs = resolveRefresh(env, options.refresh);
  const maxStateBytes = count(env, 'maxStateBytes', options.maxStateBytes, 1024) ?? DEFAULTS.maxStateBytes;
  // Below ~1 KB a field item would cost as much to write as the row it leaves (1 WCU either way).
  const largeFieldBytes = count(env, 'largeFieldBytes', options.largeFieldBytes, 1024) ?? DEFAULTS.largeFieldBytes;
  const onCorruptRow = oneOf(env, 'onCorruptRow', options.onCorruptRow, ['fail', 'start-fresh']);
  const onInvalid = oneOf(env, 'onInvalid', options.onInvalid, ['fail', 'use-initializer']);
  const onFailure = oneOf(env, 'onFailure', options.onFailure, ['discard', 'save']);
  if (options.eventKey !== undefined && typeof options.eventKey !== 'function') {
    throw new ConfigurationError(
      'eventKey',
      `Option "eventKey" takes a function (event, context) => key, e.g. (event) => event.Records[0].messageId; got ${describeGiven(options.eventKey)}.`,
    );
  }
  const eventKey = options.eventKey ?? requestIdOf;
  const eventKeyLimit = count(env, 'eventKeyLimit', options.eventKeyLimit, 0) ?? DEFAULTS.eventKeyLimit;

  return {
    tableName,
    tableKey,
    keyFieldName,
    valueFieldName,
    client,
    createTable,
    billing,
    maxAttempts,
    connectTimeoutMs,
    requestTimeoutMs,
    conflictRetries,
    deadlineMarginMs,
    tableCreationTimeoutMs,
    refreshAfterMs,
    maxStateBytes,
    largeFieldBytes,
    onCorruptRow,
    onInvalid,
    onFailure,
    eventKey,
    eventKeyLimit,
  };
}

/** The default event key: the Lambda request id. */
function requestIdOf(_event: unknown, context: LambdaContext): string | undefined {
  return typeof context?.awsRequestId === 'string' && context.awsRequestId !== '' ? context.awsRequestId : undefined;
}

/** An option that takes one of `choices`: its environment variable, else the option, else the default. */
function oneOf<N extends 'onCorruptRow' | 'onInvalid' | 'onFailure', C extends string>(
  env: NodeJS.ProcessEnv,
  name: N,
  given: C | undefined,
  choices: readonly C[],
): C {
  const value: unknown = nonEmpty(env[ENVIRONMENT[name]]) ?? given ?? DEFAULTS[name];
  if (!choices.includes(value as C)) {
    throw new ConfigurationError(
      name,
      `Option "${name}" (${ENVIRONMENT[name]}) must be ${choices.map((choice) => `'${choice}'`).join(' or ')}, got ${describeGiven(value)}.`,
    );
  }
  return value as C;
}

function resolveRefresh(env: NodeJS.ProcessEnv, refresh: RefreshPolicy | undefined): number {
  const fromEnv = nonEmpty(env[ENVIRONMENT.refresh]);
  const policy: unknown = fromEnv === undefined ? refresh : /^\d+$/.test(fromEnv) ? { maxAgeMs: Number(fromEnv) } : fromEnv;
  if (policy === undefined || policy === 'cold-start') return Infinity;
  if (policy === 'every-invocation') return 0;
  const maxAgeMs = (policy as { maxAgeMs?: unknown })?.maxAgeMs;
  if (typeof policy === 'object' && typeof maxAgeMs === 'number' && Number.isInteger(maxAgeMs) && maxAgeMs >= 0) {
    return maxAgeMs;
  }
  throw new ConfigurationError(
    'refresh',
    `Option "refresh" (${ENVIRONMENT.refresh}) must be 'cold-start', 'every-invocation' or ` +
      `{ maxAgeMs: <whole number> } (in ${ENVIRONMENT.refresh}, a whole number of milliseconds, e.g. 60000), ` +
      `got ${describeGiven(fromEnv ?? policy)}.`,
  );
}

function resolveBilling(
  env: NodeJS.ProcessEnv,
  billing: BillingOptions | undefined,
): ResolvedOptions['billing'] {
  const fromEnv = nonEmpty(env[ENVIRONMENT.billingMode]);
  const mode = fromEnv ?? billing?.mode ?? 'PROVISIONED';
  if (mode !== 'PROVISIONED' && mode !== 'PAY_PER_REQUEST') {
    throw new ConfigurationError(
      'billing',
      `Option "billing.mode" (${ENVIRONMENT.billingMode}) must be "PROVISIONED" or ` +
        `"PAY_PER_REQUEST", got ${JSON.stringify(mode)}.`,
    );
  }
  if (mode === 'PAY_PER_REQUEST') return { mode };
  const given = billing?.mode === 'PROVISIONED' ? billing : undefined;
  const units = (name: 'readCapacityUnits' | 'writeCapacityUnits'): number => {
    const value = given?.[name] ?? DEFAULTS[name];
    if (!Number.isInteger(value) || value < 1) {
      throw new ConfigurationError(
        'billing',
        `Option "billing.${name}" must be a whole number of at least 1, got ${describeGiven(value)}.`,
      );
    }
    return value;
  };
  return { mode, readCapacityUnits: units('readCapacityUnits'), writeCapacityUnits: units('writeCapacityUnits') };
}

type TextOption = 'tableName' | 'tableKey' | 'keyFieldName' | 'valueFieldName';

function text(env: NodeJS.ProcessEnv, option: TextOption, value: unknown): string | undefined {
  const fromEnv = nonEmpty(env[ENVIRONMENT[option]]);
  if (fromEnv !== undefined) return fromEnv;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigurationError(
      option,
      `Option "${option}" must be a non-empty string, got ${describeGiven(value)}. ` +
        `Pass a string or set ${ENVIRONMENT[option]}.`,
    );
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, option: 'createTable', value: unknown): boolean | undefined {
  const fromEnv = nonEmpty(env[ENVIRONMENT[option]])?.toLowerCase();
  if (fromEnv !== undefined) {
    if (fromEnv === 'true' || fromEnv === '1') return true;
    if (fromEnv === 'false' || fromEnv === '0') return false;
    throw new ConfigurationError(
      option,
      `${ENVIRONMENT[option]} must be "true" or "false", got ${JSON.stringify(fromEnv)}.`,
    );
  }
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    throw new ConfigurationError(option, `Option "${option}" must be true or false, got ${describeGiven(value)}.`);
  }
  return value;
}

type CountOption =
  | 'maxAttempts'
  | 'eventKeyLimit'
  | 'connectTimeoutMs'
  | 'requestTimeoutMs'
  | 'conflictRetries'
  | 'deadlineMarginMs'
  | 'tableCreationTimeoutMs'
  | 'maxStateBytes'
  | 'largeFieldBytes';

function count(env: NodeJS.ProcessEnv, option: CountOption, value: unknown, min: number): number | undefined {
  const fromEnv = nonEmpty(env[ENVIRONMENT[option]]);
  const candidate = fromEnv !== undefined ? Number(fromEnv) : value;
  if (candidate === undefined) return undefined;
  if (typeof candidate !== 'number' || !Number.isInteger(candidate) || candidate < min) {
    const source = fromEnv !== undefined ? `${ENVIRONMENT[option]}` : `Option "${option}"`;
    throw new ConfigurationError(
      option,
      `${source} must be a whole number of at least ${min}, got ${describeGiven(fromEnv ?? value)}.`,
    );
  }
  return candidate;
}

/** `value`, or undefined when it is missing or empty (an environment variable set to ''). */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** What a message says a bad option or argument was: `"text"`, `null`, `an array`, `an instance of Date`, `number 3`. */
export function describeGiven(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null
    ? 'an object'
    : `an instance of ${(prototype?.constructor as { name?: string } | undefined)?.name || 'a class'}`;
}
