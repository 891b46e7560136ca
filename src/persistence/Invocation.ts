import { AsyncLocalStorage } from 'node:async_hooks';
import { Deadline, type DeadlineSignal } from './Deadline';
import type { LambdaContext } from './Session';
import { shared } from './shared';
import type { SavedField } from './TrackedState';
import { newMark } from './eventMarks';

/**
 * The invocation whose code is running, carried by Node's AsyncLocalStorage: each bound handler
 * runs its invocation inside `run`, so an assignment anywhere in the handler's async call tree finds
 * the invocation that made it, however many run at once in the process (Lambda Managed Instances).
 * Node's own storage rather than `@aws/lambda-invoke-store`: that one is a plain module-level
 * value unless `AWS_LAMBDA_MAX_CONCURRENCY` is set, and carries the request id, not this object;
 * it is consulted only where the library cannot wrap the handler (Session.current). One storage for
 * both builds of the library (shared.ts). Measured: `getStore()` ~0.01 µs, `run` ~0.1-0.3 µs per
 * invocation (Node 20).
 */
const scope = shared('invocationScope', () => new AsyncLocalStorage<Invocation>());

/**
 * One invocation as the engine sees it: its own deadline, so that invocations running at once in
 * one process never replace or end each other's, and whether it changed the state, so that it
 * settles on its own changes only. Made by `Session.begin`, ended by `Session.end`.
 */
export class Invocation {
  private readonly deadline: Deadline;
  /** The Lambda request id (`context.awsRequestId`). */
  readonly requestId: string | undefined;
  /**
   * Whether it changed the state (an assignment, `update()`, a map call, an in-place change found at
   * its end): only then does its end write, and wait for, anything.
   */
  changed = false;
  /** Whether its changes were found durable at its end (a successful flush). */
  durable = false;
  /** Each field it changed and not yet stored, with what the field held before: what an undo puts back. */
  readonly saved = new Map<string, SavedField>();
  /** The digest of its event's key (eventMarks.ts), when it has one: what its write records. */
  eventDigest: string | undefined;
  /** Its mark, beside its event's digest in the row: tells its own write from another attempt's. */
  readonly mark = newMark();
  /** A retry of an event the row already holds: its changes are dropped, nothing is written. */
  retried = false;
  /** While its changes are being written (its end, or its own flush()): only then do they go out (onFailure: 'discard'). */
  writing = false;

  constructor(
    context: LambdaContext,
    deadlineMarginMs: number,
    /** The engine (Session) it belongs to: a handler may run invocations of two (a handler and a map). */
    readonly owner?: object,
  ) {
    this.deadline = new Deadline(deadlineOf(context, deadlineMarginMs));
    this.requestId = typeof context.awsRequestId === 'string' ? context.awsRequestId : undefined;
  }

  /** The invocation whose code runs now (inside `run`), if any. */
  static current(): Invocation | undefined {
    return scope.getStore();
  }

  /** Runs `body` as this invocation's code: everything it starts, however deep, finds it as current. */
  run<T>(body: () => T): T {
    return scope.run(this, body);
  }

  /** When its requests must be done (ms since the epoch); undefined without a deadline. */
  get deadlineAt(): number | undefined {
    return this.deadline.at;
  }

  /** The abort signal for its next request: the deadline armed on first use; undefined for none. */
  signal(): DeadlineSignal | undefined {
    return this.deadline.requestSignal();
  }

  /** Disarms the deadline: requests still in flight are no longer aborted. */
  end(): void {
    this.deadline.end();
  }
}

/** The time by which writes must be done, from the context's remaining time and the safety margin. */
function deadlineOf(context: LambdaContext, marginMs: number): number | undefined {
  const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  return typeof remaining === 'number' && Number.isFinite(remaining) ? Date.now() + remaining - marginMs : undefined;
}
