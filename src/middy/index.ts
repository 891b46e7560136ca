/**
 * The middy middleware of aws-lambda-persistence: persistent state for middy handlers, on
 * `context.state`.
 *
 * @example
 * ```ts
 * import middy from '@middy/core';
 * import type { Context } from 'aws-lambda';
 * import { persistence, type ContextWithState } from 'aws-lambda-persistence/middy';
 *
 * const defaults = { count: 0 };
 * export const handler = middy(async (event: unknown, context: ContextWithState<Context, typeof defaults>) => {
 *   context.state.count += 1;
 *   return { count: context.state.count };
 * }).use(persistence(defaults)); // last, so that its after and onError always run
 * ```
 *
 * @packageDocumentation
 */
// Only the library's public entry is imported: the build keeps it external, so this subpath and
// the main entry share one copy of the library (one error hierarchy for instanceof).
import { persistentState, type LambdaContext, type PersistenceStats, type StateOptions } from '../index';

/**
 * A Lambda context carrying the state the middleware put on it.
 *
 * @typeParam C - the context type (usually `Context` from `@types/aws-lambda`)
 * @typeParam S - the state's shape
 *
 * @example
 * ```ts
 * async function handle(event: unknown, context: ContextWithState<Context, { count: number }>) {
 *   context.state.count += 1;
 * }
 * ```
 */
export type ContextWithState<C, S extends object> = C & {
  /** The persistent state, put there by the middleware's `before`. */
  state: S;
};

/** The part of a middy request the middleware uses. */
export interface PersistenceRequest {
  /** The Lambda context; `before` adds `state` to it. */
  context: LambdaContext;
  /** The event (its key, by the `eventKey` option, makes a retry of it apply nothing again). */
  event?: unknown;
  /** What the handler (or a middleware) threw, in `onError`. */
  error?: unknown;
}

/**
 * A middy middleware object: `before` reads the state (once per environment) and puts it on
 * `request.context.state`; `after` and `onError` make every change durable before the invocation
 * settles. Structurally typed, so this package needs no import of `@middy/core`.
 *
 * @example
 * ```ts
 * const middleware: PersistenceMiddleware = persistence({ count: 0 });
 * ```
 */
export interface PersistenceMiddleware {
  /** Reads the row on the environment's first invocation and puts the state on `context.state`. */
  before: (request: PersistenceRequest) => Promise<void>;
  /** Resolves when every change, in-place ones included, is durable. */
  after: (request: PersistenceRequest) => Promise<void>;
  /** Saves what changed, keeping `request.error` and attaching a failed save as its `persistenceError`. */
  onError: (request: PersistenceRequest) => Promise<void>;
  /** What this execution environment's persistence has done: requests, capacity, conflicts, retries. */
  readonly stats: PersistenceStats;
}

/**
 * Creates the middleware for one function: each key of `defaults` is a persistent field, its value
 * the default while nothing is stored. Options are those of `Handler.bind()` (and the same
 * `PERSISTENCE_*` environment variables), resolved and checked here, at module load.
 *
 * When the handler (or another middleware) throws, the state is saved anyway and the error is
 * rethrown unchanged; if saving fails too, the save's error is attached as `persistenceError`.
 *
 * Use it last: middy runs `after` and `onError` hooks in reverse order and stops at the first that
 * returns a value, so the last middleware used is the one whose save always runs. (Used earlier
 * and skipped, the changes are saved at the start of the next invocation in the environment.)
 *
 * @example
 * ```ts
 * export const handler = middy(baseHandler).use(persistence({ cursor: undefined as string | undefined }));
 * ```
 */
export function persistence<S extends object>(defaults: S, options?: StateOptions<S>): PersistenceMiddleware {
  const lifecycle = persistentState(defaults, options);
  return {
    stats: lifecycle.stats,
    async before(request) {
      (request.context as { state?: S }).state = await lifecycle.begin(request.context, request.event);
    },
    async after(request) {
      await lifecycle.end(request.context);
    },
    // Also reached when `after` failed to save: the invocation has ended then, and fail() saves
    // nothing twice; what was not stored stays dirty for the next invocation.
    async onError(request) {
      request.error = await lifecycle.fail(request.error, request.context);
    },
  };
}
