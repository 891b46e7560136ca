import { Deadline, type DeadlineSignal } from './Deadline';
import type { LambdaContext } from './Session';

/**
 * One invocation as the write path sees it: its own deadline, so that invocations running at once
 * in one process (Lambda Managed Instances) never replace or end each other's. Made by
 * `Session.begin`, ended by `Session.end`.
 */
export class Invocation {
  private readonly deadline: Deadline;

  constructor(context: LambdaContext, deadlineMarginMs: number) {
    this.deadline = new Deadline(deadlineOf(context, deadlineMarginMs));
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
