import { ConfigurationError, DecoratorUsageError, PersistenceError, PersistenceReadError, PersistenceWriteError, rowName } from '../errors';
import type { FieldSpec } from '../decorators/fieldSpecs';
import { nonEmpty, resolveOptions, ENVIRONMENT, type DynamoDBSender, type PersistenceOptions, type ResolvedOptions } from './options';
import { digestOf } from './eventMarks';
import { Invocation } from './Invocation';
import { RunningInvocations } from './RunningInvocations';
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
  /** The invocations running now, and whose each change is. */
  private readonly invocations: RunningInvocations;
  /**
   * Changes made where no running invocation could be named (code outside any bound handler): the
   * next invocation to end takes them on as its own.
   */
  private unowned = false;
  /** The invocation an `update()` is assigning for (it may name one other than the current). */
  private assigning: Invocation | undefined;
  /** An invocation's changes were undone after a write of them failed: the row may hold them, so read it again. */
  private stale = false;
  /** When the row was last read or written, for the refresh policy. */
  private lastSync = Date.now();
  private readonly queue: WriteQueue;

  private constructor(
    readonly state: TrackedState,
    private readonly store: RowStore,
    private readonly options: ResolvedOptions,
    private readonly view: View,
    private readonly stats: Stats,
  ) {
    this.invocations = new RunningInvocations(this, state);
    this.queue = new WriteQueue(state, store, {
      conflictRetries: options.conflictRetries,
      // A write no invocation asked for (changes of no known invocation) has no deadline of its own.
      signal: () => undefined,
      ...(options.onFailure === 'discard' && {
        pendingNote: "The invocation fails, and its changes are undone (onFailure: 'discard'): a retry of the event applies them again.",
      }),
      stats,
      recorded: () => this.invocations.recordedEvents(options.onFailure === 'discard'),
      // A write met a row that holds the event of a running invocation, marked by another attempt:
      // its changes are dropped before the row is taken in, so the write carries only the others'.
      beforeAdopt: (row) => {
        for (const invocation of this.invocations.retriesIn(row)) this.retried(invocation);
      },
      ...(options.onFailure === 'discard' && { held: (name: string) => this.invocations.heldBack(name) }),
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
      eventLimit: options.eventKeyLimit,
      open: view.open === true,
      ...(view.specOf !== undefined && { specOf: view.specOf }),
    });
    view.attach(state);
    const session = new Session(state, store, options, view, stats);
    const invocation = new Invocation(context, options.deadlineMarginMs, session);
    try {
      await session.read(true, invocation);
    } finally {
      invocation.end();
    }
    state.onBeforeChange = (name) => {
      const owner = session.assigning ?? session.current();
      if (owner !== undefined) session.invocations.changing(owner, name);
    };
    state.onChange = () => {
      const owner = session.assigning ?? session.current();
      // A retried event's assignments take no effect: undone at once, so that they never mix with
      // the changes of the invocations running beside it.
      if (owner?.retried === true) return session.discard(owner, false);
      if (owner === undefined) session.unowned = true;
      else owner.changed = true;
      // Discard: an invocation's changes are written when it succeeds, not before.
      if (owner !== undefined && options.onFailure === 'discard') return;
      // Started by a plain assignment, which cannot await: the invocation's final flush (or the
      // map operation that made the change) awaits it and retries whatever it failed to store,
      // so its rejection is handled there. Bounded by the deadline of the invocation that made it.
      session.queue.request(owner).catch(() => undefined);
    };
    return session;
  }

  /**
   * Runs one invocation: arms the deadline, refreshes if the policy asks, runs `body`, and makes
   * its changes durable before settling when `body` returns (undone or saved, as `onFailure` says,
   * when it throws).
   */
  async run<T>(context: LambdaContext, body: () => Promise<T>, event?: unknown): Promise<T> {
    const invocation = await this.begin(context, event);
    try {
      let result: T;
      try {
        result = await invocation.run(body);
      } catch (handlerError) {
        throw await this.failWith(handlerError, invocation);
      }
      await this.finish(invocation);
      return result;
    } finally {
      this.end(invocation);
    }
  }

  /** Starts an invocation (for middlewares, whose before and after steps are separate calls). */
  async begin(context: LambdaContext, event?: unknown): Promise<Invocation> {
    const invocation = new Invocation(context, this.options.deadlineMarginMs, this);
    this.invocations.add(invocation);
    try {
      await this.refreshIfOlderThan(this.stale ? 0 : this.options.refreshAfterMs, invocation);
    } catch (error) {
      this.end(invocation);
      throw error;
    }
    const key = this.options.eventKeyLimit > 0 ? this.options.eventKey(event, context) : undefined;
    if (typeof key === 'string' && key !== '') {
      const digest = (invocation.eventDigest = digestOf(key));
      // The row as last seen holds this event already (a retry in this environment, or one whose
      // first attempt this environment read), or another attempt of it is running here now (a
      // duplicate delivery): nothing of this attempt is applied, without a request.
      if (this.invocations.attemptRunning(invocation, digest) || this.state.eventMark(digest) !== undefined) this.retried(invocation);
    }
    return invocation;
  }

  /** Marks `invocation` as a retry of an event the row holds: its changes so far are undone, later ones never written. */
  private retried(invocation: Invocation): void {
    invocation.retried = true;
    this.stats.skippedRetries += 1;
    this.discard(invocation, false);
  }

  /** Reads the row again if the copy in memory is older than `maxAgeMs` (the refresh policy). */
  async refreshIfOlderThan(maxAgeMs: number, invocation?: Invocation): Promise<void> {
    if (Date.now() - this.lastSync >= maxAgeMs) await this.read(false, invocation);
  }

  /**
   * Ends an invocation: disarms its deadline. Changes it made and could not store stay pending for
   * the next invocation to end (as if no invocation had made them).
   */
  end(invocation: Invocation): void {
    invocation.end();
    this.invocations.delete(invocation);
    if (invocation.changed && !invocation.durable && this.state.hasChanges()) this.unowned = true;
  }

  /**
   * Ends an invocation whose handler returned: its changes are durable when this resolves. With
   * `onFailure: 'discard'`, a failed write undoes them too (the invocation fails as a whole).
   */
  async finish(invocation: Invocation): Promise<void> {
    // A retried event: whatever this attempt changed is dropped, and it succeeds.
    if (invocation.retried) return this.discard(invocation, false);
    try {
      await this.flush(invocation);
    } catch (error) {
      if (this.options.onFailure === 'discard') this.discard(invocation, true);
      throw error;
    }
  }

  /**
   * Ends an invocation whose handler threw, and returns the error to throw. With `onFailure:
   * 'discard'`, its changes are undone and nothing is written; with `'save'`, they are written, and
   * a failed save is attached to the handler's error as `persistenceError`.
   */
  async failWith(handlerError: unknown, invocation = this.current()): Promise<unknown> {
    if (invocation !== undefined && (this.options.onFailure === 'discard' || invocation.retried)) {
      this.discard(invocation, false);
      return handlerError;
    }
    const persistenceError = await this.flush(invocation).then(
      () => undefined,
      (error: unknown) => error,
    );
    return persistenceError === undefined ? handlerError : combine(handlerError, persistenceError);
  }

  /**
   * Undoes an invocation's changes in memory: in-place changes not yet found, and each field it
   * changed goes back to what it held before (unless another invocation changed it since: then
   * that one's value stands). `written`: a write of them was attempted and may have landed, so the
   * next invocation reads the row again.
   */
  private discard(invocation: Invocation, written: boolean): void {
    this.invocations.undo(invocation);
    if (written) {
      // The write may have landed: the next invocation reads the row and takes it as it is.
      this.stale = true;
      this.queue.forgetUncertain();
    }
  }

  /** The invocation whose code runs now (RunningInvocations.current). */
  current(): Invocation | undefined {
    return this.invocations.current();
  }

  /** Assigns several fields and writes them in one request; resolves when durable. */
  async update(changes: Readonly<Record<string, unknown>>, invocation = this.current()): Promise<void> {
    const deferred = invocation !== undefined && this.options.onFailure === 'discard';
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
    this.assigning = invocation;
    try {
      this.state.assign(changes);
    } finally {
      this.assigning = undefined;
    }
    // Discard: written with the rest when the invocation succeeds.
    if (deferred) return;
    await this.queue.request(invocation);
    this.throwProblem();
  }

  /**
   * Resolves when the changes of `invocation` (by default the current one), in-place mutations
   * found now included, are durable, its requests bounded by its own deadline. An invocation that
   * changed nothing neither writes nor waits for another's write. Outside any invocation: every
   * change so far.
   */
  async flush(invocation = this.current()): Promise<void> {
    if (invocation?.retried === true) return this.discard(invocation, false);
    const { refused, changed } = this.state.detectMutations();
    if (invocation !== undefined) {
      // In-place changes found now, and changes no invocation could be named for, are its own.
      if (changed || this.unowned) invocation.changed = true;
      this.unowned = false;
      if (!invocation.changed) {
        if (refused.length > 0) throw refused[0];
        return;
      }
    }
    // A write started by an assignment may fail on its own; what it did not store is still dirty
    // and goes out with this request, whose outcome is the one that counts.
    await this.queue.settled();
    if (invocation !== undefined) invocation.writing = true;
    try {
      await this.queue.request(invocation);
    } finally {
      if (invocation !== undefined) invocation.writing = false;
    }
    if (invocation !== undefined) {
      invocation.durable = true;
      // Stored: no longer the invocation's to undo.
      this.invocations.forget(invocation);
    }
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

  private async read(coldStart: boolean, invocation = this.current()): Promise<void> {
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
    this.stale = false;
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
