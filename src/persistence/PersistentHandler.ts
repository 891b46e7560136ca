import { ConfigurationError, keepNames } from '../errors';
import { shared } from './shared';
import { fieldSpecsOf } from '../decorators/fieldSpecs';
import type { PersistenceOptions } from './options';
import { sessionStarter, type BoundHandler, type LambdaContext, type Session } from './Session';

const SESSION = Symbol('aws-lambda-persistence.session');

/** Set while `bind()` constructs its instance: any other construction is not persisted. */
let constructingForBind = false;
/** Classes already warned about, so each says it once. */
const warned = shared('unboundWarned', () => new WeakSet<Function>());

/**
 * Whether this process runs in Lambda (or as if: SAM local, a test harness): Lambda sets
 * AWS_LAMBDA_FUNCTION_NAME and the runtime AWS_LAMBDA_RUNTIME_API. Unit tests that construct a
 * handler with `new` usually run without either.
 */
function inLambda(): boolean {
  return Boolean(process.env.AWS_LAMBDA_RUNTIME_API || process.env.AWS_LAMBDA_FUNCTION_NAME);
}

/**
 * Base class of a Lambda handler whose `@Persistent()` fields survive between invocations, in one
 * DynamoDB item per function. Subclass it, implement `handler(event, context)` (the shape of the
 * Powertools `LambdaInterface`), and export `YourClass.bind()` as the Lambda entry point.
 *
 * On the first invocation of an execution environment the row is read once (strongly consistent)
 * and the fields take the stored values; fields with nothing stored keep their initializers. Every
 * change is written before the invocation's promise settles; an invocation whose `handler` throws
 * leaves nothing (by default: see the `onFailure` option).
 *
 * @typeParam TEvent - the event type
 * @typeParam TResult - what `handler` resolves to
 *
 * @example
 * ```ts
 * import { Persistent, PersistentHandler } from 'aws-lambda-persistence';
 * import type { Context } from 'aws-lambda';
 *
 * class Handler extends PersistentHandler<{ name: string }, { count: number }> {
 *   @Persistent() count = 0;
 *   @Persistent() lastRun?: Date;
 *
 *   async handler(event: { name: string }, context: Context) {
 *     await this.update({ count: this.count + 1, lastRun: new Date() });
 *     return { count: this.count };
 *   }
 * }
 * export const handler = Handler.bind();
 * ```
 */
export abstract class PersistentHandler<TEvent = unknown, TResult = unknown> {
  /** @internal Set by `bind()` on the instance it creates. */
  private [SESSION]?: Session;

  constructor() {
    // `new Handler()` with `handler.bind(instance)` (Function.prototype.bind, the name invites it)
    // runs the handler without the library: nothing is read or written. Fine in a unit test; in
    // Lambda it silently persists nothing, so say so, once per class.
    const Handler = new.target as Function;
    if (!constructingForBind && inLambda() && !warned.has(Handler)) {
      warned.add(Handler);
      process.emitWarning(
        `${Handler.name} was constructed with new in a Lambda environment: its @Persistent() fields are not ` +
          `read or saved. Export the entry point bind() makes instead: export const handler = ${Handler.name}.bind();`,
        { code: 'AWS_LAMBDA_PERSISTENCE_UNBOUND' },
      );
    }
  }

  /** Handles one invocation. Assignments to `@Persistent()` fields are saved before it settles. */
  abstract handler(event: TEvent, context: LambdaContext): Promise<TResult>;

  /**
   * Assigns several persistent fields at once. With `onFailure: 'save'`, writes them in one write
   * request (plus one per field over `largeFieldBytes`, kept in an item of its own) and resolves
   * when they are durable; with the default `'discard'`, they are written with the invocation's other
   * changes, in one request, when it succeeds (call {@link flush} to write at once). Every value is
   * checked before any is assigned: a value that cannot be stored throws and leaves all fields as
   * they were.
   *
   * Outside `bind()` (a handler constructed with `new` in a unit test) it only assigns.
   *
   * @example
   * ```ts
   * await this.update({ cursor: next, lastRun: new Date() });
   * ```
   */
  // `Pick<this, K>` (rather than a mapped type over `this`) is what TypeScript can check inside the
  // subclass's own methods: `this.update({ count: 1 })` type-checks, `{ count: 'x' }` does not.
  update<K extends keyof this>(changes: Pick<this, K>): Promise<void> {
    const session = this[SESSION];
    if (session === undefined) {
      Object.assign(this, changes);
      return Promise.resolve();
    }
    return session.update(changes as Record<string, unknown>);
  }

  /**
   * Resolves when every change this invocation made so far, including in-place mutations of field
   * values, is durable (with `onFailure: 'discard'`, what it stores is then kept even if the
   * invocation fails later). The bound handler does this itself before each invocation settles; call it to be
   * sure of durability at a point of your choosing.
   *
   * @example
   * ```ts
   * this.items.push(item);
   * await this.flush();
   * ```
   */
  flush(): Promise<void> {
    return this[SESSION]?.flush() ?? Promise.resolve();
  }

  /**
   * Creates the Lambda entry point for this handler class. Options are resolved (and checked) here,
   * at module load; the instance is created and its row read on the first invocation.
   *
   * @example
   * ```ts
   * export const handler = Handler.bind({ tableName: 'my-state' });
   * ```
   */
  static bind<TEvent, TResult>(
    this: new () => PersistentHandler<TEvent, TResult>,
    options?: PersistenceOptions,
  ): BoundHandler<TEvent, TResult> {
    if (typeof this !== 'function' || typeof this.prototype?.handler !== 'function') {
      throw new ConfigurationError(
        'handler',
        'bind() must be called on a subclass of PersistentHandler that implements handler(event, context).',
      );
    }
    const Handler = this as new () => PersistentHandler<unknown, unknown>;
    let instance: PersistentHandler<unknown, unknown> | undefined;
    const start = sessionStarter(options, () => ({
      fieldDescription: `a @Persistent() field of ${Handler.name}`,
      attach(state) {
        constructingForBind = true;
        let created: PersistentHandler<unknown, unknown>;
        try {
          created = new Handler();
        } finally {
          constructingForBind = false;
        }
        state.attach(created, fieldSpecsOf(Handler));
        instance = created;
      },
    }));
    const persistentHandler = async function persistentHandler(event: TEvent, context: LambdaContext): Promise<TResult> {
      const session = await start(context ?? {});
      const handler = instance!;
      handler[SESSION] = session;
      return session.run(context ?? {}, () => handler.handler(event, context ?? {}), event) as Promise<TResult>;
    };
    return Object.assign(persistentHandler, { stats: start.stats });
  }
}

keepNames({ PersistentHandler });
