import { ConfigurationError, DecoratorUsageError, PersistenceError, PersistenceReadError, PersistenceWriteError, rowName } from '../errors';
import type { FieldSpec } from '../decorators/fieldSpecs';
import { nonEmpty, resolveOptions, ENVIRONMENT, type DynamoDBSender, type PersistenceOptions, type ResolvedOptions } from './options';
import { Invocation } from './Invocation';
import { Stats, type PersistenceStats } from './Stats';
import { createDefaultClient, DynamoDBRowStore, type RowStore } from './RowStore';
import { SizeCache } from './storage/sizes';
import { TrackedState } from './TrackedState';
import { WriteQueue } from './WriteQueue';

/**
 * The parts of the Lambda context the library uses. The `Context` type of `@types/aws-lambda`
 * satisfies it, so handlers may declare their parameter as `Context`.
 *
 * @example
 * ```ts
 * await handler(event, { functionName: 'local', getRemainingTimeInMillis: () => 30_000 });
 * ```
 */
export interface LambdaContext {
  /** The function's name: the row key unless `tableKey` is set. */
  readonly functionName?: string;
  /** The function's ARN: the region and account named in an `AccessDeniedError`'s policy. */
  readonly invokedFunctionArn?: string;
  /** The invocation's id (not used by the library; part of every Lambda context). */
  readonly awsRequestId?: string;
  /** Milliseconds left: writes must finish `deadlineMarginMs` before the deadline it gives. */
  getRemainingTimeInMillis?(): number;
}

/**
 * A Lambda handler function, as returned by {@link PersistentHandler.bind} and
 * {@link withPersistence}.
 *
 * @example
 * ```ts
 * export const handler: BoundHandler<MyEvent, MyResult> = Handler.bind();
 * ```
 */
export type BoundHandler<TEvent, TResult> = ((event: TEvent, context: LambdaContext) => Promise<TResult>) & {
  /** What this execution environment's persistence has done: requests, capacity, conflicts, retries. */
  readonly stats: PersistenceStats;
};

/** How a view (a handler instance, a state object, a map) takes over the tracked state. */
export interface View {
  /** What the view's fields are, for errors: "a @Persistent() field of Handler". */
  readonly fieldDescription: string;
  /** Whether any name may be stored (a map), rather than only the declared fields. */
  readonly open?: boolean;
  /** Binds the view's fields to the state, before the row is read. */
  attach(state: TrackedState): void;
  /** For an open view, the options of a name it stores (a map key's schema, migrate, onInvalid). */
  readonly specOf?: (name: string) => Omit<FieldSpec, 'name'>;
}

/**
 * One execution environment's tracked state and its writes: the invocation lifecycle shared by
 * every way of using the library. Created on the first invocation (or by `PersistentMap.open`).
 */
export class Session {
  /** The invocations running now: one at a time in standard Lambda, several under Managed Instances. */
  private readonly invocations = new Set<Invocation>();
  /** When the row was last read or written, for the refresh policy. */
  private lastSync = Date.now();
  private readonly queue: WriteQueue;

  private constructor(
    readonly state: TrackedState,
    private readonly store: RowStore,
    private readonly options: ResolvedOptions,
    private readonly view: View,
    stats: Stats,
  ) {
    this.queue = new WriteQueue(state, store, {
      conflictRetries: options.conflictRetries,
      signal: () => this.earliestInvocation()?.signal(),
      stats,
    });
  }

  /** Creates the session for `view` and reads its row (one GetItem, or a table creation). */
  static async start(options: ResolvedOptions, client: DynamoDBSender, context: LambdaContext, view: View, stats = new Stats()): Promise<Session> {
    const tableKey = options.tableKey ?? nonEmpty(context.functionName);
    if (tableKey === undefined) {
      throw new ConfigurationError(
        'tableKey',
        'No table key: not running in Lambda (AWS_LAMBDA_FUNCTION_NAME is unset) and none was given. ' +
          `Pass { tableKey: 'my-function' } in the options or set ${ENVIRONMENT.tableKey}.`,
      );
    }
    const sizes = new SizeCache();
    const store = new DynamoDBRowStore(client, options, tableKey, sizes, context.invokedFunctionArn, stats);
    return Session.open(store, sizes, options, context, view, stats);
  }

  /** Creates the session for `view` over `store` and reads its row: the engine's seam, any store will do. */
  static async open(
    store: RowStore,
    sizes: SizeCache,
    options: ResolvedOptions,
    context: LambdaContext,
    view: View,
    stats = new Stats(),
  ): Promise<Session> {
    const state = new TrackedState({
      location: { tableName: store.tableName, tableKey: store.tableKey },
      rowOverhead: () => store.rowOverhead,
      maxBytes: options.maxStateBytes,
      sizes,
      onCorruptField: options.onCorruptRow,
      onInvalid: options.onInvalid,
      open: view.open === true,
      ...(view.specOf !== undefined && { specOf: view.specOf }),
    });
    view.attach(state);
    const session = new Session(state, store, options, view, stats);
    const invocation = new Invocation(context, options.deadlineMarginMs);
    try {
      await session.read(true, invocation);
    } finally {
      invocation.end();
    }
    state.onChange = () => {
      // Started by a plain assignment, which cannot await: the invocation's final flush (or the
      // map operation that made the change) awaits it and retries whatever it failed to store,
      // so its rejection is handled there.
      session.queue.request().catch(() => undefined);
    };
    return session;
  }

  /**
   * Runs one invocation: arms the deadline, refreshes if the policy asks, runs `body`, and makes
   * every change durable before settling, whether `body` returns or throws.
   */
  async run<T>(context: LambdaContext, body: () => Promise<T>): Promise<T> {
    const invocation = await this.begin(context);
    try {
      let result: T;
      try {
        result = await body();
      } catch (handlerError) {
        throw await this.failWith(handlerError, invocation);
      }
      await this.flush(invocation);
      return result;
    } finally {
      this.end(invocation);
    }
  }

  /** Starts an invocation (for middlewares, whose before and after steps are separate calls). */
  async begin(context: LambdaContext): Promise<Invocation> {
    const invocation = new Invocation(context, this.options.deadlineMarginMs);
    this.invocations.add(invocation);
    try {
      await this.refreshIfOlderThan(this.options.refreshAfterMs, invocation);
    } catch (error) {
      this.end(invocation);
      throw error;
    }
    return invocation;
  }

  /** Reads the row again if the copy in memory is older than `maxAgeMs` (the refresh policy). */
  async refreshIfOlderThan(maxAgeMs: number, invocation?: Invocation): Promise<void> {
    if (Date.now() - this.lastSync >= maxAgeMs) await this.read(false, invocation);
  }

  /** Ends an invocation: disarms its deadline. */
  end(invocation: Invocation): void {
    invocation.end();
    this.invocations.delete(invocation);
  }

  /**
   * Flushes after the handler threw, and returns the error to throw: the handler's, with the
   * persistence error attached when saving failed too.
   */
  async failWith(handlerError: unknown, invocation?: Invocation): Promise<unknown> {
    const persistenceError = await this.flush(invocation).then(
      () => undefined,
      (error: unknown) => error,
    );
    return persistenceError === undefined ? handlerError : combine(handlerError, persistenceError);
  }

  /** Assigns several fields and writes them in one request; resolves when durable. */
  async update(changes: Readonly<Record<string, unknown>>, invocation?: Invocation): Promise<void> {
    if (this.view.open !== true) {
      for (const name of Object.keys(changes)) {
        if (!this.state.has(name)) {
          throw new DecoratorUsageError(
            name,
            `update() got "${name}", which is not ${this.view.fieldDescription}. ` +
              `Declare it as persistent, or assign it directly.`,
          );
        }
      }
    }
    this.state.assign(changes);
    await this.queue.request(invocation);
    this.throwProblem();
  }

  /**
   * Resolves when every change so far, in-place mutations included, is durable; its requests are
   * bounded by `invocation`'s deadline (without one, by the earliest of the invocations running).
   */
  async flush(invocation?: Invocation): Promise<void> {
    const refused = this.state.detectMutations();
    // Writes started by assignments may fail on their own; what they did not store is still dirty
    // and goes out with the request below, whose outcome is the one that counts.
    await this.queue.settled();
    await this.queue.request(invocation);
    this.lastSync = Date.now();
    this.throwProblem();
    if (refused.length > 0) throw refused[0];
  }

  /** Reports what went wrong after a write was durable (taking in the row it returned). */
  private throwProblem(): void {
    const problem = this.state.takeProblem();
    if (problem !== undefined) throw problem;
  }

  /** Writes what changed, then reads the row again and takes in other writers' changes. */
  async refresh(): Promise<void> {
    await this.flush();
    await this.read(false);
  }

  /**
   * The running invocation whose deadline comes first: it bounds requests no invocation asked for
   * (writes started by plain assignments), so none of them outlives an invocation waiting on it.
   */
  private earliestInvocation(): Invocation | undefined {
    let earliest: Invocation | undefined;
    const now = Date.now();
    for (const invocation of this.invocations) {
      const at = invocation.deadlineAt ?? Infinity;
      // Past its deadline: Lambda has ended it, whether or not anyone called end().
      if (at <= now) continue;
      if (earliest === undefined || at < (earliest.deadlineAt ?? Infinity)) earliest = invocation;
    }
    return earliest;
  }

  private async read(coldStart: boolean, invocation = this.earliestInvocation()): Promise<void> {
    const signal = invocation?.signal();
    // A refresh must not read a row older than a write still in flight (one started by an
    // assignment nobody awaited): that write's outcome is known first.
    if (!coldStart) await this.queue.settled();
    const writesBefore = this.queue.writesStarted;
    let row;
    try {
      row = await this.store.get(signal);
      if (row === 'table-missing') {
        await this.store.createMissingTable(signal);
        row = null;
      }
    } catch (error) {
      if (error instanceof PersistenceError) throw error;
      throw new PersistenceReadError(
        `Could not read row ${rowName(this.store)}: ${(error as Error)?.message ?? String(error)}`,
        { tableName: this.store.tableName, tableKey: this.store.tableKey, cause: error },
      );
    }
    if (coldStart) this.state.load(row);
    else {
      // A write that started during the read (another invocation's, under Managed Instances) may be
      // in the row read or not: taking the row in would count a summed field's delta twice. That
      // write brings the row back itself (or meets it in a conflict); this read is dropped.
      if (this.queue.writesStarted !== writesBefore) return;
      // A row older than the one this environment last wrote (a recreated table) surfaces as a
      // conflict on the next write, whose re-read is taken in whatever its revision.
      if ((row?.revision ?? 0) >= this.state.storedRevision) this.state.adopt(row);
    }
    this.lastSync = Date.now();
  }
}

/**
 * The environment-wide part of a Lambda entry point: options resolved and the client created at
 * module load (Lambda's init phase), the session started by the first invocation and reused by
 * the next ones. A failed start is retried by the next invocation.
 */
export function sessionStarter(
  options: PersistenceOptions | undefined,
  view: () => View,
): ((context: LambdaContext) => Promise<Session>) & { readonly stats: PersistenceStats } {
  const resolved = resolveOptions(options);
  const client = clientFor(resolved);
  // One environment's counters, from module load on (before the session exists).
  const stats = new Stats();
  return Object.assign(
    startedOnce((context: LambdaContext) => Session.start(resolved, client, context, view(), stats)),
    { stats: stats as PersistenceStats },
  );
}

/** The client the options name, else one the library creates (standard AWS environment). */
export function clientFor(options: ResolvedOptions): DynamoDBSender {
  return options.client ?? createDefaultClient(options);
}

/**
 * `start`, run by the first call and shared by every call while it runs or once it succeeded; a
 * failed start is forgotten, so the next call tries again.
 */
export function startedOnce<A extends unknown[], T>(start: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  let starting: Promise<T> | undefined;
  return async (...args) => {
    const attempt = (starting ??= start(...args));
    try {
      return await attempt;
    } catch (error) {
      if (starting === attempt) starting = undefined;
      throw error;
    }
  };
}

/**
 * The handler threw and saving state failed too: keep the handler's error (callers and retry logic
 * rely on it) and attach the persistence error as `persistenceError`, so neither is hidden.
 */
function combine(handlerError: unknown, persistenceError: unknown): unknown {
  if (typeof handlerError === 'object' && handlerError !== null && Object.isExtensible(handlerError)) {
    Object.defineProperty(handlerError, 'persistenceError', {
      value: persistenceError,
      configurable: true,
      writable: true,
      enumerable: false,
    });
    return handlerError;
  }
  return new PersistenceWriteError(
    `The handler threw ${String(handlerError)}, and saving state failed too: ` +
      `${(persistenceError as Error)?.message ?? String(persistenceError)}`,
    { cause: persistenceError, handlerError },
  );
}

