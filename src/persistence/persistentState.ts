import { ConfigurationError } from '../errors';
import { fieldOptionProblem } from './fields/behaviours';
import type { MergeStrategy } from './fields/FieldBehaviour';
import type { StandardSchema } from './fields/schema';
import type { FieldSpec } from '../decorators/fieldSpecs';
import type { PersistenceStats } from './Stats';
import { describeGiven, type PersistenceOptions } from './options';
import type { Invocation } from './Invocation';
import { sessionStarter, type LambdaContext, type Session, type View } from './Session';

/** withPersistence's way to run its handler inside the invocation's async context (not public). */
const RUN_IN = Symbol('aws-lambda-persistence.runIn');

/**
 * The lifecycle of a state object for code that does not write classes, in the steps a
 * middleware framework calls separately. Created by {@link persistentState}; used by
 * {@link withPersistence} and the middy middleware (`aws-lambda-persistence/middy`).
 *
 * @typeParam S - the state's shape, inferred from the defaults
 *
 * @example
 * ```ts
 * const lifecycle = persistentState({ count: 0 });
 * export async function handler(event: unknown, context: Context) {
 *   const state = await lifecycle.begin(context);
 *   try {
 *     state.count += 1;
 *   } catch (error) {
 *     throw await lifecycle.fail(error);
 *   }
 *   await lifecycle.end();
 *   return state.count;
 * }
 * ```
 */
export interface PersistentStateLifecycle<S extends object> {
  /**
   * Starts an invocation and resolves to the state: on the environment's first invocation after
   * reading the row (one GetItem), later at once (or after a refresh, if the policy asks). `event`
   * gives the invocation's event key (the `eventKey` option; by default the context's request id).
   */
  begin(context: LambdaContext, event?: unknown): Promise<S>;
  /**
   * Ends the invocation begun with `context` (when invocations run at once in one process, Lambda
   * Managed Instances, pass it; without it, the one begun last): resolves when every change,
   * in-place ones included, is durable.
   */
  end(context?: LambdaContext): Promise<void>;
  /**
   * Ends an invocation whose handler threw, and returns the error to rethrow. By default
   * (`onFailure: 'discard'`) its changes are undone and `error` is returned; with `'save'`, what it
   * changed is saved and `error` is returned
   * with a `persistenceError` property attached when saving failed too.
   */
  fail(error: unknown, context?: LambdaContext): Promise<unknown>;
  /**
   * Assigns several fields; with `onFailure: 'save'` writes them in one write request (plus one per
   * field over `largeFieldBytes`, kept in an item of its own) and resolves when durable, with the
   * default `'discard'` they are written with the rest at `end`. Only between `begin` and `end`.
   */
  update(changes: Partial<S>, context?: LambdaContext): Promise<void>;
  /** What this execution environment's persistence has done: requests, capacity, conflicts, retries. */
  readonly stats: PersistenceStats;
}

/** How each key of a state combines concurrent changes (see {@link MergeStrategy}); unnamed keys: last writer wins. */
export type StateMerge<S extends object> = { readonly [K in keyof S]?: MergeStrategy<S[K]> };

/**
 * Options of {@link withPersistence}, {@link persistentState} and the middy middleware: those of
 * `Handler.bind()`, plus `merge` per key of the state.
 *
 * @example
 * ```ts
 * withPersistence({ count: 0, seen: {} as Record<string, number> }, handler, { merge: { count: sum, seen: keys } }); // sum, keys: imported from the package
 * ```
 */
export interface StateOptions<S extends object> extends PersistenceOptions {
  /**
   * How concurrent changes to a key from several environments combine, per key: `sum` for
   * counters, `keys` for maps and objects (both imported from the package), a function for anything else.
   * @default every key 'last-writer-wins'
   */
  merge?: StateMerge<S>;
  /**
   * A Standard Schema validator per key (zod, valibot, arktype), checking each stored value when
   * the row is read, as `@Persistent({ schema })` does: `{ schema: { count: z.number() } }`.
   * @default no key checked
   */
  schema?: { readonly [K in keyof S]?: StandardSchema };
  /**
   * Per key, turns a stored value of an older shape into today's, as `@Persistent({ migrate })`
   * does; the result is written back with the next write.
   */
  migrate?: { readonly [K in keyof S]?: (stored: unknown) => S[K] };
}

/**
 * Creates the state lifecycle of one Lambda function from `defaults`: each key is a persistent
 * field, its value the default while nothing is stored. Options are resolved (and checked) here;
 * call it at module load.
 *
 * @example
 * ```ts
 * const lifecycle = persistentState({ lastRun: undefined as Date | undefined }, { tableName: 'my-state' });
 * ```
 */
export function persistentState<S extends object>(defaults: S, options?: StateOptions<S>): PersistentStateLifecycle<S> {
  checkDefaults(defaults);
  const { merge, schema, migrate, ...persistence } = options ?? {};
  const specs = keySpecs(defaults, { merge, schema, migrate });
  let state: S | undefined;
  const start = sessionStarter(persistence, () => stateView(defaults, specs, (created) => (state = created)));
  // The invocations begun and not yet ended, by context, in the order they began.
  const active = new Map<LambdaContext, { session: Session; invocation: Invocation }>();
  const take = (step: string, context: LambdaContext | undefined, remove: boolean) => {
    const key = context !== undefined ? context : [...active.keys()].pop();
    // A context that began no open invocation (it ended already) names none.
    const entry = key === undefined ? undefined : active.get(key);
    if (entry === undefined) {
      if (step === 'fail') return undefined;
      throw new ConfigurationError('lifecycle', `${step}() was called outside an invocation: call begin(context) first.`);
    }
    if (remove) active.delete(key!);
    return entry;
  };
  const end = async (context?: LambdaContext): Promise<void> => {
    const { session, invocation } = take('end', context, true)!;
    try {
      await session.finish(invocation);
    } finally {
      session.end(invocation);
    }
  };
  const lifecycle: PersistentStateLifecycle<S> & { [RUN_IN]?: <T>(context: LambdaContext, body: () => T) => T } = {
    stats: start.stats,
    async begin(context, event) {
      const key = context ?? {};
      // One invocation at a time (standard Lambda): one still open never got its end (a framework
      // skipped the step), so save its changes now. Under Managed Instances invocations overlap.
      if (!concurrentInvocations()) while (active.size > 0) await end();
      const session = await start(key);
      active.set(key, { session, invocation: await session.begin(key, event) });
      return state!;
    },
    end,
    async fail(error, context) {
      const ending = take('fail', context, true);
      // The invocation failed before it began (the row could not be read): nothing to save.
      if (ending === undefined) return error;
      try {
        return await ending.session.failWith(error, ending.invocation);
      } finally {
        ending.session.end(ending.invocation);
      }
    },
    async update(changes, context) {
      const { session, invocation } = take('update', context, false)!;
      return session.update(changes as Record<string, unknown>, invocation);
    },
  };
  // The handler withPersistence calls runs as its invocation's code: its changes are attributed to it.
  lifecycle[RUN_IN] = (context, body) => {
    const entry = active.get(context);
    return entry === undefined ? body() : entry.invocation.run(body);
  };
  return lifecycle;
}

/**
 * Whether this process runs several invocations at once: Lambda Managed Instances, whose runtime
 * sets AWS_LAMBDA_MAX_CONCURRENCY.
 */
function concurrentInvocations(): boolean {
  return Number(process.env.AWS_LAMBDA_MAX_CONCURRENCY) > 1;
}

/**
 * Turns an async function into a Lambda handler whose third argument is persistent state: each
 * key of `defaults` is a field, its value the default while nothing is stored, and `state` is
 * typed from it. Assignments and in-place changes to `state` are saved before the invocation
 * settles; a function that throws leaves nothing (see the `onFailure` option), exactly as with `@Persistent()` fields.
 *
 * `state` is the same object in every invocation of an execution environment; it is sealed, so
 * assigning a key that is not in `defaults` throws instead of being silently lost. Declare the
 * context parameter as `Context` from `@types/aws-lambda` if you like: the returned handler then
 * takes that type.
 *
 * @example
 * ```ts
 * import { withPersistence } from 'aws-lambda-persistence';
 *
 * export const handler = withPersistence(
 *   { count: 0, lastRun: undefined as Date | undefined },
 *   async (event: { name: string }, context, state) => {
 *     state.count += 1;
 *     state.lastRun = new Date();
 *     return { count: state.count };
 *   },
 * );
 * ```
 */
export function withPersistence<S extends object, TEvent = unknown, TResult = unknown, TContext extends LambdaContext = LambdaContext>(
  defaults: S,
  handler: (event: TEvent, context: TContext, state: S) => Promise<TResult>,
  options?: StateOptions<S>,
): ((event: TEvent, context: TContext) => Promise<TResult>) & {
  /** What this execution environment's persistence has done: requests, capacity, conflicts, retries. */
  readonly stats: PersistenceStats;
} {
  if (typeof handler !== 'function') {
    throw new ConfigurationError('handler', 'withPersistence(defaults, handler) takes the handler function second.');
  }
  const lifecycle = persistentState(defaults, options) as PersistentStateLifecycle<S> & { [RUN_IN]: <T>(context: LambdaContext, body: () => T) => T };
  const persistentHandler = async function persistentHandler(event: TEvent, context: TContext): Promise<TResult> {
    const state = await lifecycle.begin(context, event);
    let result: TResult;
    try {
      result = await lifecycle[RUN_IN](context, () => handler(event, context, state));
    } catch (error) {
      throw await lifecycle.fail(error, context);
    }
    await lifecycle.end(context);
    return result;
  };
  return Object.assign(persistentHandler, { stats: lifecycle.stats });
}

function checkDefaults(defaults: unknown): void {
  const prototype = typeof defaults === 'object' && defaults !== null ? Object.getPrototypeOf(defaults) : undefined;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new ConfigurationError(
      'defaults',
      `The defaults must be a plain object of field names and default values, e.g. { count: 0 }; got ${describeGiven(defaults)}.`,
    );
  }
}

/** A fresh state object with the defaults' keys as fields. */
function stateView<S extends object>(defaults: S, specs: ReadonlyMap<string, FieldSpec>, created: (state: S) => void): View {
  return {
    fieldDescription: 'a key of the defaults given to withPersistence() or persistentState()',
    attach(tracked) {
      const state = { ...defaults };
      tracked.attach(
        state,
        Object.keys(defaults).map((name) => specs.get(name) ?? { name }),
      );
      created(Object.seal(state));
    },
  };
}

/** The field spec of each key that has options (`merge`, `schema`, `migrate`), checked. */
function keySpecs<S extends object>(defaults: S, options: { merge?: unknown; schema?: unknown; migrate?: unknown }): Map<string, FieldSpec> {
  const specs = new Map<string, FieldSpec>();
  for (const option of ['merge', 'schema', 'migrate'] as const) {
    const perKey = options[option];
    if (perKey === undefined) continue;
    if (typeof perKey !== 'object' || perKey === null) {
      const example = { merge: '{ count: sum }', schema: '{ count: z.number() }', migrate: '{ count: (stored) => Number(stored) }' }[option];
      throw new ConfigurationError(option, `Option "${option}" takes an object with an entry per key, e.g. ${example}; got ${describeGiven(perKey)}.`);
    }
    for (const [key, value] of Object.entries(perKey)) {
      if (!Object.prototype.hasOwnProperty.call(defaults, key)) {
        throw new ConfigurationError(option, `Option "${option}" names "${key}", which is not a key of the defaults.`);
      }
      if (value === undefined) continue;
      const problem = fieldOptionProblem({ [option]: value });
      if (problem !== undefined) throw new ConfigurationError(option, `Option "${option}.${key}" ${problem.problem}.`);
      specs.set(key, { ...(specs.get(key) ?? { name: key }), [option]: value });
    }
  }
  return specs;
}
